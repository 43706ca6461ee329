/**
 * Settling the attempts a bucket's journal holds unresolved (`Prepared` or `InDoubt`: an extrinsic
 * journaled before its broadcast whose outcome is not known), oldest first, each through the chain:
 *
 * - found on chain: its receipt is recorded, and published as `CheckpointSubmitted { settled: true }`;
 * - dead (its nonce used by another extrinsic, past the end of its mortal era and not on chain, or its
 *   signatures no longer verify): marked `Failed`, its fee estimate dropped from the spend ledger;
 * - otherwise pending: it may still land. The chain holding its commitment at the best block means it is
 *   very likely included but not final: its receipt is awaited (bounded by `submissionTimeout`). When
 *   the chain is still behind it, the newest one is sent again as the same signed bytes (same nonce, so
 *   it can never be included twice). Superseded or in conflict, it is never sent again.
 *
 * Only `Recovery` runs this, under the bucket's lock, once before each round.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { BucketInfo, CheckpointReceipt, PreparedCheckpoint } from "../ChainClient.js"
import { ChainClient, validUntil } from "../ChainClient.js"
import { CheckpointConfig } from "../CheckpointConfig.js"
import { CheckpointEvent, CheckpointEvents } from "../CheckpointEvents.js"
import * as CommitmentRelation from "../CommitmentRelation.js"
import type { BucketId } from "../Domain.js"
import { RoundJournal } from "../RoundJournal.js"
import * as Sending from "./sending.js"
import { SpendLedger } from "./spending.js"

/** What settling one unresolved attempt showed. */
type Settled =
  | { readonly _tag: "Included"; readonly receipt: CheckpointReceipt }
  | { readonly _tag: "Dead" }
  | { readonly _tag: "Pending"; readonly prepared: PreparedCheckpoint }

/** What settling a bucket's unresolved attempts left. */
export interface Unresolved {
  /** The newest receipt found on chain. */
  readonly latest: Option.Option<CheckpointReceipt>
  /** The attempts that may still land, oldest first. */
  readonly pending: ReadonlyArray<PreparedCheckpoint>
}

/** The settling of unresolved attempts over the services of a round. */
export const make = Effect.gen(function*() {
  const chain = yield* ChainClient
  const settings = yield* CheckpointConfig
  const journal = yield* RoundJournal
  const events = yield* CheckpointEvents
  const ledger = yield* SpendLedger
  const { broadcast, read, stillValid } = yield* Sending.make

  /**
   * Settles one unresolved attempt through the chain. A pending attempt is sent again, as the same
   * signed bytes, only if `resend` (the newest one) and the chain is still behind it.
   */
  const settleAttempt = (bucketId: BucketId, bucket: BucketInfo, prepared: PreparedCheckpoint, resend: boolean) =>
    Effect.gen(function*() {
      const settle = (status: "InDoubt" | "Failed", detail: string) => journal.settle(prepared, status, detail)
      const included = (receipt: CheckpointReceipt) =>
        Effect.as(journal.recordReceipt(prepared, receipt), { _tag: "Included", receipt } as Settled)
      // Never included: whatever this process reserved for it was not paid.
      const dead = (detail: string) =>
        Effect.as(
          Effect.zipRight(settle("Failed", detail), ledger.release(prepared.extrinsicHash)),
          { _tag: "Dead" } as Settled
        )
      const pending = (detail: string) => Effect.as(settle("InDoubt", detail), { _tag: "Pending", prepared } as Settled)
      // Read before searching, so that an extrinsic included meanwhile is found by the search.
      const nonceUsed = yield* read("nonceUsed", chain.nonceUsed(prepared))
      const found = yield* read("findReceipt", chain.findReceipt(prepared)).pipe(
        Effect.catchTag(
          "DispatchFailed",
          (error) => Effect.zipRight(settle("Failed", `${error.module}.${error.error}`), Effect.succeed(Option.none()))
        )
      )
      if (Option.isSome(found)) return yield* included(found.value)
      if (nonceUsed) return yield* dead(`its nonce ${prepared.nonce} was used by another extrinsic`)
      const lastBlock = validUntil(prepared)
      // findReceipt searched every finalized block up to the end of its era: past that, it never lands.
      const finalized = yield* read("finalizedBlock", chain.finalizedBlock)
      if (finalized.number > lastBlock) {
        return yield* dead(`not on chain by block #${lastBlock}, the end of its mortal era`)
      }
      const best = yield* read("bestBlock", chain.bestBlock)
      const atBest = yield* read("bucket", chain.bucket(bucketId, best.hash))
      const relation = CommitmentRelation.toSnapshot(atBest, prepared.submission.commitment)
      if (relation === "Same") {
        // Very likely this extrinsic, included but not final: wait (bounded) for its receipt.
        const untilFound = Schedule.recurUntil<Option.Option<CheckpointReceipt>>(Option.isSome).pipe(
          Schedule.intersect(Schedule.spaced("1 second")),
          Schedule.map(([receipt]) => receipt)
        )
        const later = yield* read("findReceipt", chain.findReceipt(prepared)).pipe(
          Effect.orElseSucceed(() => Option.none<CheckpointReceipt>()),
          Effect.repeat(untilFound),
          Effect.timeoutOption(settings.submissionTimeout),
          Effect.map(Option.flatten)
        )
        return Option.isSome(later)
          ? yield* included(later.value)
          : yield* pending("the chain holds this commitment; its receipt is not final yet")
      }
      const until = `may still be included until block #${lastBlock} (now #${best.number})`
      if (relation !== "Behind") {
        // Superseded or in conflict: it must not be sent again, but it may still land by itself.
        return yield* pending(
          `${until}; not sent again: the chain's snapshot is ${relation === "Later" ? "later" : "in conflict"}`
        )
      }
      if (!resend) return yield* pending(`${until}; a newer attempt is pending`)
      // The same signed bytes can be sent again safely (same nonce), if they still verify.
      const valid = yield* stillValid(bucket, prepared.submission.commitment, prepared.submission.signatures)
      if (valid.length < prepared.submission.signatures.length) {
        // The pallet would refuse it at dispatch: even if it lands, it changes no snapshot.
        return yield* dead("its signatures no longer verify")
      }
      return yield* broadcast(prepared).pipe(
        Effect.map((receipt): Settled => ({ _tag: "Included", receipt })),
        Effect.catchIf(
          (error) => error.error === "Stale" || (error.paid && Option.isSome(error.module)),
          (): Effect.Effect<Settled> => Effect.succeed({ _tag: "Dead" })
        ),
        Effect.catchIf(
          (error) => error.paid,
          (): Effect.Effect<Settled> => Effect.succeed({ _tag: "Pending", prepared })
        )
      )
    })

  /**
   * Settles what earlier attempts left unresolved, oldest first; only the newest is ever sent again. The
   * caller holds the bucket's lock.
   */
  const settleUnresolved = (bucketId: BucketId) =>
    Effect.gen(function*() {
      const unresolved = yield* journal.unresolved(bucketId)
      let latest = Option.none<CheckpointReceipt>()
      const pending: Array<PreparedCheckpoint> = []
      // The chain is read only when there is something to settle (the common round has nothing).
      if (unresolved.length === 0) return { latest, pending } satisfies Unresolved
      const bucket = yield* read("bucket", chain.bucket(bucketId))
      for (let i = 0; i < unresolved.length; i++) {
        const settled = yield* settleAttempt(bucketId, bucket, unresolved[i], i === unresolved.length - 1)
        if (settled._tag === "Included") {
          latest = Option.some(settled.receipt)
          yield* events.publish(
            CheckpointEvent.CheckpointSubmitted({ bucketId, receipt: settled.receipt, settled: true })
          )
        }
        if (settled._tag === "Pending") pending.push(settled.prepared)
      }
      return { latest, pending } satisfies Unresolved
    })

  return { settleUnresolved }
})

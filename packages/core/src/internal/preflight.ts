/**
 * The submitter's checks before anything is signed, under the bucket's lock, in the order it makes them.
 * Each ends the submission with a result that pays nothing — `AlreadyCheckpointed`, or a
 * `SubmissionRefused` with its reason — or lets it go on:
 *
 * - `majority`: the decision meets the threshold (`NoConsensus`);
 * - `snapshot`: the chain (finalized, and at the best block) already holds this commitment or a later one
 *   (`AlreadyCheckpointed`); another commitment over the same range (`ConflictsWithSnapshot`); our range
 *   would go backwards (`RangeRegression`);
 * - `noneInDoubt`: no earlier attempt of the bucket is unresolved in the journal
 *   (`PreviousSubmissionInDoubt`; see `Recovery` for why it is refused here, never settled);
 * - `signer`: an account signs for the bucket (`NoSigner`) and is its Writer or Admin (`NotBucketWriter`);
 * - `signatures`: enough signatures still valid for the bucket as it is now (`InsufficientSignatures`).
 *
 * The spend guardrails come after these (`internal/guardrails`), then the preparation of the extrinsic,
 * whose failures are refusals too (`notPrepared`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BucketInfo, ChainWriteError, CheckpointSignature } from "../ChainClient.js"
import { ChainClient, validUntil } from "../ChainClient.js"
import type { ChainUnavailable } from "../ChainClient.js"
import { CheckpointConfig, forBucket } from "../CheckpointConfig.js"
import { AlreadyCheckpointed, type RefusalReason, SubmissionRefused } from "../CheckpointResult.js"
import * as CommitmentRelation from "../CommitmentRelation.js"
import type { Decision } from "../Consensus.js"
import type { AccountId, BucketId, Commitment } from "../Domain.js"
import { RoundJournal } from "../RoundJournal.js"
import { requiredSignatures } from "../Threshold.js"
import * as Sending from "./sending.js"

/** A refusal: nothing was signed or sent. */
export const refused = (bucketId: BucketId, reason: RefusalReason, detail: string) =>
  new SubmissionRefused({ bucketId, reason, detail })

/**
 * A failure to estimate or prepare an extrinsic: nothing was sent, so a refusal — for the reason the
 * port gives, or `PrepareFailed` for one it does not promise — unless the chain could not be reached.
 */
export const notPrepared =
  (bucketId: BucketId) => (error: ChainWriteError): Effect.Effect<never, SubmissionRefused | ChainUnavailable> => {
    if (error._tag === "ChainUnavailable") return Effect.fail(error)
    if (error._tag === "SubmissionFailed") {
      switch (error.stage) {
        case "NoSigner":
        case "Unsupported":
          return Effect.fail(refused(bucketId, error.stage, error.detail))
        case "Signing":
          return Effect.fail(refused(bucketId, "SigningFailed", error.detail))
      }
    }
    return Effect.fail(refused(bucketId, "PrepareFailed", `${error._tag}: ${error.message}`))
  }

/** The bucket as it is when paying: finalized (membership, primaries, threshold) and at the best block. */
export interface Fresh {
  readonly finalized: BucketInfo
  readonly atBest: BucketInfo
  readonly bestBlock: number
}

/** The chain already holds this commitment, or a later one, in `state`. */
const alreadyIn = (state: BucketInfo, commitment: Commitment, decision: Decision) => {
  const relation = CommitmentRelation.toSnapshot(state, commitment)
  return (relation === "Same" || relation === "Later") && Option.isSome(state.snapshot)
    ? new AlreadyCheckpointed(
      { bucketId: decision.bucketId, snapshot: state.snapshot.value, relation, decision },
      true
    )
    : undefined
}

/** The checks before signing, over the services of a round. */
export const make = Effect.gen(function*() {
  const chain = yield* ChainClient
  const settings = yield* CheckpointConfig
  const journal = yield* RoundJournal
  const { read, stillValid } = yield* Sending.make

  /** The decided commitment and its signatures, if the decision meets the threshold. */
  const majority = (decision: Decision) =>
    Option.isSome(decision.majority) && decision.thresholdMet
      ? Effect.succeed(decision.majority.value)
      : Effect.fail(refused(decision.bucketId, "NoConsensus", "the decision does not meet the threshold"))

  /**
   * `AlreadyCheckpointed` when the chain holds this commitment or a later one — said by the bucket as the
   * round pinned it (finalized: nothing read again, the idle bucket's round), else read again — or the
   * fresh bucket, where paying would neither conflict with its snapshot nor move it backwards.
   */
  const snapshot = (decision: Decision, commitment: Commitment, pinned: BucketInfo | undefined) =>
    Effect.gen(function*() {
      const { bucketId } = decision
      const held = pinned === undefined || pinned.bucketId !== bucketId
        ? undefined
        : alreadyIn(pinned, commitment, decision)
      if (held !== undefined) return held
      const finalized = yield* read("bucket", chain.bucket(bucketId))
      const best = yield* read("bestBlock", chain.bestBlock)
      const atBest = yield* read("bucket", chain.bucket(bucketId, best.hash))
      for (const state of [finalized, atBest]) {
        const already = alreadyIn(state, commitment, decision)
        if (already !== undefined) return already
      }
      const relation = CommitmentRelation.toSnapshot(atBest, commitment)
      if (relation === "Conflict") {
        const held = Option.getOrThrow(atBest.snapshot).commitment
        return yield* refused(
          bucketId,
          "ConflictsWithSnapshot",
          `the chain holds root ${held.mmrRoot} over ${held.startSeq}+${held.leafCount}; ` +
            `the providers signed ${commitment.mmrRoot} over ${commitment.startSeq}+${commitment.leafCount}`
        )
      }
      const regression = CommitmentRelation.regression(atBest, commitment)
      if (regression !== undefined) return yield* refused(bucketId, "RangeRegression", regression)
      return { finalized, atBest, bestBlock: best.number } satisfies Fresh
    })

  /**
   * An earlier extrinsic still unresolved in the journal holds the bucket: a second one could be paid
   * for too, or land after it and move the snapshot backwards. Recovery settles it; this only refuses.
   */
  const noneInDoubt = (bucketId: BucketId, fresh: Fresh) =>
    Effect.gen(function*() {
      const unresolved = yield* journal.unresolved(bucketId)
      const newest = unresolved[unresolved.length - 1]
      if (newest === undefined) return
      return yield* refused(
        bucketId,
        "PreviousSubmissionInDoubt",
        `extrinsic ${newest.extrinsicHash} may still be included until block #${
          validUntil(newest)
        } (now #${fresh.bestBlock}); nothing new is signed for this bucket before it lands or expires ` +
          `(recovery settles it before the bucket's next round)`
      )
    })

  /** The account that signs for the bucket, a Writer or Admin of it. */
  const signer = (bucketId: BucketId, fresh: Fresh) =>
    Effect.gen(function*() {
      const account = chain.signerFor(bucketId)
      if (Option.isNone(account)) {
        return yield* refused(bucketId, "NoSigner", "no account is configured to sign submissions")
      }
      const role = fresh.finalized.roleOf(account.value)
      if (role !== "Admin" && role !== "Writer") {
        return yield* refused(
          bucketId,
          "NotBucketWriter",
          `${account.value} is ${role === undefined ? "not a member" : `a ${role}`} of bucket ${bucketId}`
        )
      }
      return account.value satisfies AccountId
    })

  /**
   * The signatures still valid for the bucket as it is now, if they are enough:
   * `max(ceil(total · pct / 100), min_providers)` of its current primaries.
   */
  const signatures = (fresh: Fresh, commitment: Commitment, signed: ReadonlyArray<CheckpointSignature>) =>
    Effect.gen(function*() {
      const { finalized } = fresh
      const valid = yield* stillValid(finalized, commitment, signed)
      const required = requiredSignatures({
        total: new Set(finalized.primaryProviders).size,
        thresholdPercent: forBucket(settings, finalized.bucketId).consensusThreshold,
        minProviders: finalized.minProviders
      })
      if (valid.length < required || valid.length === 0) {
        return yield* refused(
          finalized.bucketId,
          "InsufficientSignatures",
          `${valid.length} signatures still valid for the bucket as it is now; ${required} required`
        )
      }
      return valid
    })

  return { majority, snapshot, noneInDoubt, signer, signatures }
})

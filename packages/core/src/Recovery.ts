/**
 * What an earlier attempt left behind, settled once before a round, and nowhere else:
 *
 * - submissions whose outcome was not known (the process died, finality timed out, the connection
 *   dropped) are settled through the chain, under the bucket's lock (`internal/settling`): a receipt
 *   found is the checkpoint (published as settled, never paid again); one that may still land is sent
 *   again as the same signed bytes when the chain is still behind it, and otherwise holds the bucket
 *   until it lands or expires;
 * - once per bucket, at its first attempt after a start, a recent journaled round that met the threshold
 *   and was never submitted is submitted with its signatures (verified again against the chain) instead
 *   of asking every provider again. Later attempts always ask the providers: new data, or another
 *   checkpointer's submission, is never hidden behind an old round.
 *
 * Why the submitter refuses rather than settles. Between recovery and the payment the round collects,
 * without the bucket's lock, and an attempt may be left unresolved meanwhile: by another process
 * sharing the journal (a second runner of the cluster holding the bucket's lease, a second `checkpointer`
 * on the same directory), by a concurrent round of this process whose finality timed out, or it is one
 * recovery could not settle yet (it may still land). Paying then could pay twice, so the submitter reads
 * the journal under the lock it pays under and refuses (`PreviousSubmissionInDoubt`, nothing signed) —
 * a cheap read, no chain search — and the bucket's next round settles it here. A library user calling
 * `Submitter.submit` directly after a restart gets the same refusal until a round (or `settle`) has run.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { CheckpointReceipt } from "./ChainClient.js"
import type { ChainClient } from "./ChainClient.js"
import { CheckpointConfig } from "./CheckpointConfig.js"
import type { CheckpointEvents } from "./CheckpointEvents.js"
import { type AlreadyCheckpointed, Submitted } from "./CheckpointResult.js"
import * as CommitmentRelation from "./CommitmentRelation.js"
import type { Decision } from "./Consensus.js"
import type { BucketId } from "./Domain.js"
import * as Settling from "./internal/settling.js"
import type { SpendLedger } from "./internal/spending.js"
import { RoundJournal } from "./RoundJournal.js"
import type { SignatureVerifier } from "./SignatureVerifier.js"
import { type SubmitError, Submitter } from "./Submitter.js"

/**
 * What recovery found for a bucket.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recovered {
  /** The newest receipt of an earlier submission found on chain now. */
  readonly settled: Option.Option<CheckpointReceipt>
  /** A journaled round submitted with its signatures: the round is done. */
  readonly reused: Option.Option<Submitted>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RecoveryService {
  /** Settles what earlier attempts of the bucket left unresolved, then reuses a journaled round once. */
  readonly settle: (bucketId: BucketId) => Effect.Effect<Recovered, SubmitError>
}

/**
 * A round's result in the light of what recovery settled before it: when the round found on chain exactly
 * the commitment whose receipt recovery settled (`AlreadyCheckpointed`, `Same`), its result is that
 * receipt — `Submitted { settled: true }`: the checkpoint is the earlier submission, paid for once.
 *
 * @since 0.1.0
 * @category functions
 */
export const settledResult = (
  recovered: Recovered,
  result: Submitted | AlreadyCheckpointed,
  earlier: ReadonlyArray<Decision>
): Option.Option<Submitted> =>
  result._tag === "AlreadyCheckpointed" && result.relation === "Same" && Option.isSome(recovered.settled) &&
    CommitmentRelation.same(recovered.settled.value.commitment, result.snapshot.commitment)
    ? Option.some(
      new Submitted({ receipt: recovered.settled.value, decision: result.decision, settled: true, earlier }, true)
    )
    : Option.none()

/**
 * @since 0.1.0
 * @category tags
 */
export class Recovery extends Context.Tag("@checkpointer/core/Recovery")<Recovery, RecoveryService>() {
  static readonly layer: Layer.Layer<
    Recovery,
    never,
    | Submitter
    | SpendLedger
    | RoundJournal
    | CheckpointConfig
    | ChainClient
    | SignatureVerifier
    | CheckpointEvents
  > = Layer.effect(
    Recovery,
    Effect.gen(function*() {
      const submitter = yield* Submitter
      const journal = yield* RoundJournal
      const settings = yield* CheckpointConfig
      const { settleUnresolved } = yield* Settling.make
      /** Buckets already recovered by this process: reuse is for the first attempt after a start only. */
      const recovered = new Set<BucketId>()

      const settle = Effect.fn("Recovery.settle")(function*(bucketId: BucketId) {
        const { latest: settled } = yield* journal.exclusive(bucketId, settleUnresolved(bucketId))
        const first = !recovered.has(bucketId)
        recovered.add(bucketId)
        const reuse = first ? yield* journal.reusable(bucketId, settings.reuseSignaturesFor) : Option.none<Decision>()
        if (Option.isNone(reuse)) return { settled, reused: Option.none() } satisfies Recovered
        const reused = yield* Effect.either(submitter.submit(reuse.value))
        if (Either.isRight(reused) && reused.right._tag === "Submitted") {
          return { settled, reused: Option.some(new Submitted({ ...reused.right, reused: true }, true)) }
        }
        // Already on chain (or superseded), or no longer usable: the round asks the providers afresh.
        if (Either.isLeft(reused)) {
          // A spend guardrail's refusal (fee, budget, balance) does not depend on the signatures: a fresh
          // round would ask every provider only to be refused the same way.
          if (reused.left._tag === "SubmissionRefused" && reused.left.spend !== undefined) return yield* reused.left
          yield* Effect.logInfo(`journaled signatures not usable, asking the providers again: ${reused.left.message}`)
        }
        return { settled, reused: Option.none() } satisfies Recovered
      })

      return Recovery.of({ settle })
    })
  )
}

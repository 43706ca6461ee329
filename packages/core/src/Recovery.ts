/**
 * What an earlier attempt left behind, settled before a round, and nowhere else:
 *
 * - submissions whose outcome was not known (the process died, finality timed out, the connection
 *   dropped) are settled through the chain by the submitter: a receipt found is the checkpoint (published
 *   as settled, never paid again); one that may still land holds the bucket until it does or expires;
 * - once per bucket, at its first attempt after a start, a recent journaled round that met the threshold
 *   and was never submitted is submitted with its signatures (verified again against the chain) instead
 *   of asking every provider again. Later attempts always ask the providers: new data, or another
 *   checkpointer's submission, is never hidden behind an old round.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { CheckpointReceipt } from "./ChainClient.js"
import { CheckpointConfig } from "./CheckpointConfig.js"
import { Submitted } from "./CheckpointResult.js"
import type { Decision } from "./Consensus.js"
import type { BucketId } from "./Domain.js"
import { RoundJournal } from "./RoundJournal.js"
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
  readonly settle: (bucketId: BucketId) => Effect.Effect<Recovered, SubmitError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Recovery extends Context.Tag("@checkpointer/core/Recovery")<Recovery, RecoveryService>() {
  static readonly layer: Layer.Layer<Recovery, never, Submitter | RoundJournal | CheckpointConfig> = Layer.effect(
    Recovery,
    Effect.gen(function*() {
      const submitter = yield* Submitter
      const journal = yield* RoundJournal
      const settings = yield* CheckpointConfig
      /** Buckets already recovered by this process: reuse is for the first attempt after a start only. */
      const recovered = new Set<BucketId>()

      const settle = Effect.fn("Recovery.settle")(function*(bucketId: BucketId) {
        const settled = yield* submitter.resume(bucketId)
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
          yield* Effect.logInfo(`journaled signatures not usable, asking the providers again: ${reused.left.message}`)
        }
        return { settled, reused: Option.none() } satisfies Recovered
      })

      return Recovery.of({ settle })
    })
  )
}

/**
 * What a round looks like from outside: one span per round and one per step, through Effect's tracer
 * (exported wherever the application sends its traces, e.g. OTLP), and the round's log annotations.
 *
 * ```
 * checkpointer.round             bucket, outcome                      (CheckpointManager.attemptCheckpoint)
 * ├─ checkpointer.discover       bucket, block, providers, undiscoverable, cached
 * ├─ checkpointer.provider.request × each attempt at each provider: provider, endpoint, attempt, status
 * ├─ checkpointer.decide         result, threshold_met, agreeing (the majority group's size), required,
 * │                              threshold_percent, total, ended_by, outcomes
 * └─ checkpointer.submit         outcome, extrinsic_hash, block, block_hash, fee
 * ```
 *
 * The `checkpointer.*` spans are the round's outline; the spans named `Service.method` between them
 * (`Effect.fn`) are the implementation's detail. Every log line written inside a round carries the
 * annotations `bucket` and `round` (the round span's id, which also finds its trace). Nothing here
 * changes what a round does: each function only wraps a step and reads its result.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import type { AlreadyCheckpointed, Submitted } from "./CheckpointResult.js"
import type { Collection } from "./CommitmentCollector.js"
import type { Decision } from "./Consensus.js"
import type { BucketId, ProviderInfo } from "./Domain.js"
import type { ProviderRequestError } from "./ProviderApi.js"
import type { Discovered } from "./ProviderDiscovery.js"

/**
 * The names of the round's spans.
 *
 * @since 0.1.0
 * @category constants
 */
export const SpanName = {
  round: "checkpointer.round",
  discover: "checkpointer.discover",
  providerRequest: "checkpointer.provider.request",
  decide: "checkpointer.decide",
  submit: "checkpointer.submit"
} as const

/** What an exit was: the result's or the error's tag, else `Interrupted` or `Defect`. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  const tagOf = (value: unknown) =>
    typeof value === "object" && value !== null && "_tag" in value && typeof value._tag === "string"
      ? value._tag
      : undefined
  if (Exit.isSuccess(exit)) return tagOf(exit.value) ?? "Done"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return tagOf(failure.value) ?? "Failed"
  return Cause.isInterruptedOnly(exit.cause) ? "Interrupted" : "Defect"
}

/**
 * Runs `evaluate` in a new span that is the parent of every span under it, and hands it the span (to
 * record attributes as they become known).
 */
const inSpan = <A, E, R>(
  name: string,
  attributes: Record<string, unknown>,
  evaluate: (span: Tracer.Span) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
  Effect.useSpan(name, { attributes }, (span) => Effect.withParentSpan(evaluate(span), span))

/** Records the span's `outcome` when the effect ends. */
const recordOutcome = (span: Tracer.Span) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.onExit(self, (exit) => Effect.sync(() => span.attribute("outcome", outcomeOf(exit))))

/**
 * A whole round of a bucket (`CheckpointManager.attemptCheckpoint`): its span, with `bucket` and
 * `outcome` (`Submitted`, `AlreadyCheckpointed`, or the error's tag: the same values as the `outcome`
 * label of `checkpointer_rounds_total`), and `bucket` and `round` on every log line written inside it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const round = (bucketId: BucketId) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  inSpan(SpanName.round, { bucket: bucketId.toString() }, (span) =>
    Effect.logDebug("round started").pipe(
      Effect.zipRight(self),
      Effect.onExit((exit) => Effect.logDebug(`round ended: ${outcomeOf(exit)}`)),
      recordOutcome(span),
      Effect.annotateLogs({ bucket: bucketId.toString(), round: span.spanId })
    ))

/**
 * The discovery of a round: the finalized block it read, how many providers can be asked, how many
 * cannot, whether their records came from the cache.
 *
 * @since 0.1.0
 * @category combinators
 */
export const discover = (bucketId: BucketId) => <E, R>(self: Effect.Effect<Discovered, E, R>) =>
  inSpan(SpanName.discover, { bucket: bucketId.toString() }, (span) =>
    Effect.tap(self, (discovered) => {
      span.attribute("block", discovered.at.number)
      span.attribute("primaries", discovered.bucket.primaryProviders.length)
      span.attribute("providers", discovered.providers.length)
      span.attribute("undiscoverable", discovered.undiscoverable.length)
      span.attribute("cached", discovered.cached)
      return Effect.logDebug(
        `discovered ${discovered.providers.length} of ${discovered.bucket.primaryProviders.length} primaries at block #${discovered.at.number}${
          discovered.cached ? " (provider records cached)" : ""
        }`
      )
    }))

/**
 * One request to one provider (each retry is a request of its own): `provider`, `endpoint`, `attempt`
 * (from 1), and `status`: `Ok`, the failure's reason (`Timeout`, `Transport`, `Status` with
 * `http_status`, `RateLimited`, `Decode`, `TooLarge`, `Refused`), or `Interrupted` when the round ended
 * without waiting for it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const providerRequest = (provider: ProviderInfo, attempt: number) =>
<A, R>(
  self: Effect.Effect<A, ProviderRequestError, R>
) =>
  inSpan(
    SpanName.providerRequest,
    { provider: provider.accountId, endpoint: provider.endpoint, attempt },
    (span) =>
      self.pipe(
        Effect.tapBoth({
          onSuccess: () => Effect.sync(() => span.attribute("status", "Ok")),
          onFailure: (error) =>
            Effect.sync(() => {
              span.attribute("status", error.reason)
              if (error.status !== undefined) span.attribute("http_status", error.status)
            }).pipe(Effect.zipRight(Effect.logDebug(`attempt ${attempt} failed: ${error.message}`)))
        }),
        Effect.onInterrupt(() => Effect.sync(() => span.attribute("status", "Interrupted"))),
        Effect.annotateLogs({ provider: provider.accountId })
      )
  )

/**
 * The decision of a round, from what was collected: `result` (the resolution: `ProceedWithMajority`,
 * `WaitForSync`, ...), `threshold_met`, `agreeing` (the majority group's size), `required`,
 * `threshold_percent`, `total` (every primary), `ended_by` (how the collection ended) and `outcomes`
 * (`provider=Outcome` for each primary).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decide = (collection: Collection, decideNow: () => Decision): Effect.Effect<Decision> =>
  inSpan(SpanName.decide, { bucket: collection.bucket.bucketId.toString() }, (span) =>
    Effect.sync(decideNow).pipe(
      Effect.tap((decision) => {
        span.attribute("result", decision.resolution._tag)
        span.attribute("threshold_met", decision.thresholdMet)
        span.attribute("agreeing", decision.agreeing)
        span.attribute("required", decision.required)
        span.attribute("threshold_percent", decision.thresholdPercent)
        span.attribute("total", decision.totalProviders)
        span.attribute("ended_by", collection.endedBy)
        span.attribute("outcomes", decision.outcomes.map((o) => `${o.provider}=${o._tag}`))
        return Effect.logDebug(
          `decided ${decision.resolution._tag}: ${decision.agreeing} agree, ${decision.required} required (${decision.totalProviders} primaries; collection ended by ${collection.endedBy})`
        )
      })
    ))

/**
 * The submission of a round's decision: `outcome`, and for a checkpoint on chain its `extrinsic_hash`,
 * `block`, `block_hash` and `fee` (planck, as text: it may exceed a double), `settled` when it was an
 * earlier submission's; the chain's snapshot `block` when it already held the commitment.
 *
 * @since 0.1.0
 * @category combinators
 */
export const submit = (bucketId: BucketId) =>
<E extends { readonly _tag: string }, R>(
  self: Effect.Effect<Submitted | AlreadyCheckpointed, E, R>
) =>
  inSpan(SpanName.submit, { bucket: bucketId.toString() }, (span) =>
    self.pipe(
      Effect.tap((result) => {
        if (result._tag === "AlreadyCheckpointed") {
          span.attribute("relation", result.relation)
          span.attribute("block", result.snapshot.checkpointBlock)
          return Effect.logDebug(
            `nothing to pay: the chain holds ${result.relation === "Same" ? "this" : "a later"} commitment`
          )
        }
        const { receipt } = result
        span.attribute("extrinsic_hash", receipt.extrinsicHash)
        span.attribute("block", receipt.blockNumber)
        span.attribute("block_hash", receipt.blockHash)
        if (receipt.fee !== undefined) span.attribute("fee", receipt.fee.toString())
        span.attribute("settled", result.settled)
        return Effect.logDebug(`checkpoint ${receipt.extrinsicHash} in block #${receipt.blockNumber}`)
      }),
      Effect.tapError((error) => Effect.logDebug(`not submitted: ${error._tag}`)),
      recordOutcome(span)
    ))

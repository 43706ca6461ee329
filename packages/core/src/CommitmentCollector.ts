/**
 * One collection round: ask every provider of a bucket for its signed commitment, in parallel and
 * bounded, and turn each answer into a `ProviderOutcome`.
 *
 * Per provider: `GET /checkpoint-signature` with a per-attempt timeout; transient failures (timeouts,
 * connection errors, 5xx, 429) retried on the `RetryPolicy` schedule, the rest not; the answer checked
 * against the bucket asked for and the on-chain snapshot (a range that goes backwards is refused, a
 * delete that moves the start forward is not); its signature verified against the provider's
 * registered key.
 *
 * The round ends once the threshold is met and the grace window is over, but only when no answer still
 * outstanding could change the decision (no other commitment could still reach the threshold; at 50 % or
 * less two can, and which one is paid for must not depend on who answers first); as soon as the
 * threshold can no longer be met; when every provider has answered; and never later than the round
 * deadline. Providers still in flight are interrupted.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { BucketInfo } from "./ChainClient.js"
import { CheckpointConfig, forBucket } from "./CheckpointConfig.js"
import { encodeCommitmentPayload } from "./CommitmentPayload.js"
import * as CommitmentRelation from "./CommitmentRelation.js"
import type { ProviderOutcome } from "./Consensus.js"
import { GroupTally } from "./Consensus.js"
import type { AccountId, ProviderInfo } from "./Domain.js"
import * as Metrics from "./Metrics.js"
import { ProviderApi, ProviderRequestError } from "./ProviderApi.js"
import type { SignedCommitment } from "./ProviderApi.js"
import { ProviderHealth } from "./ProviderHealth.js"
import { RetryPolicy } from "./RetryPolicy.js"
import * as RoundTrace from "./RoundTrace.js"
import { SignatureVerifier } from "./SignatureVerifier.js"
import { requiredSignatures } from "./Threshold.js"

/**
 * A primary that cannot be asked: no provider record on chain, or a multiaddr that is not an HTTP
 * endpoint. It still counts towards the total.
 *
 * @since 0.1.0
 * @category models
 */
export interface Undiscoverable {
  readonly account: AccountId
  readonly detail: string
}

/**
 * What a round collects from.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoundTarget {
  /** The bucket as read from chain for this round: primaries, `min_providers`, snapshot floor. */
  readonly bucket: BucketInfo
  /** The primaries that can be asked, with their endpoints and registered keys. */
  readonly providers: ReadonlyArray<ProviderInfo>
  readonly undiscoverable: ReadonlyArray<Undiscoverable>
}

/**
 * How a round ended.
 *
 * @since 0.1.0
 * @category models
 */
export type RoundEnd = "AllAnswered" | "ThresholdMet" | "ThresholdUnreachable" | "Deadline"

/**
 * The result of a round: one outcome per primary, and why and when it ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Collection {
  readonly bucket: BucketInfo
  readonly outcomes: ReadonlyArray<ProviderOutcome>
  readonly required: number
  readonly endedBy: RoundEnd
  readonly startedAtMillis: number
  readonly finishedAtMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CommitmentCollectorService {
  readonly collect: (target: RoundTarget) => Effect.Effect<Collection>
}

/**
 * The round collector.
 *
 * @since 0.1.0
 * @category tags
 */
export class CommitmentCollector extends Context.Tag("@checkpointer/core/CommitmentCollector")<
  CommitmentCollector,
  CommitmentCollectorService
>() {
  static readonly layer: Layer.Layer<
    CommitmentCollector,
    never,
    ProviderApi | SignatureVerifier | RetryPolicy | CheckpointConfig | ProviderHealth
  > = Layer.effect(
    CommitmentCollector,
    Effect.gen(function*() {
      const api = yield* ProviderApi
      const verifier = yield* SignatureVerifier
      const retry = yield* RetryPolicy
      const settings = yield* CheckpointConfig

      /** Checks an answer against the request and the chain, then its signature. */
      const judge = (
        provider: ProviderInfo,
        bucket: BucketInfo,
        signed: SignedCommitment,
        latencyMillis: number,
        attempts: number
      ): Effect.Effect<ProviderOutcome> => {
        const base = { provider: provider.accountId, latencyMillis, attempts }
        if (signed.bucketId !== bucket.bucketId) {
          return Effect.succeed({
            _tag: "InvalidResponse",
            ...base,
            reason: "WrongBucket",
            detail: `asked for bucket ${bucket.bucketId}, the answer is for bucket ${signed.bucketId}`
          })
        }
        const regression = CommitmentRelation.regression(bucket, signed.commitment)
        if (regression !== undefined) {
          return Effect.succeed({ _tag: "InvalidResponse", ...base, reason: "RangeRegression", detail: regression })
        }
        const message = encodeCommitmentPayload({ bucketId: bucket.bucketId, ...signed.commitment })
        return verifier.verify({ signature: signed.signature, message, publicKey: provider.publicKey }).pipe(
          Effect.match({
            onFailure: (error): ProviderOutcome => ({
              _tag: "BadSignature",
              ...base,
              commitment: signed.commitment,
              reason: error.reason,
              detail: error.detail
            }),
            onSuccess: (): ProviderOutcome => ({
              _tag: "Answered",
              ...base,
              commitment: signed.commitment,
              signature: signed.signature
            })
          })
        )
      }

      const health = yield* ProviderHealth

      // Each provider's latency histogram, tagged once rather than at every answer (a tagged metric's key is
      // built and hashed when it is made).
      const latencyOf = (provider: AccountId) => Metric.tagged(Metrics.providerLatency, "provider", provider)
      const latencies = new Map<AccountId, ReturnType<typeof latencyOf>>()
      const latencyMetric = (provider: AccountId) => {
        let metric = latencies.get(provider)
        if (metric === undefined) {
          metric = latencyOf(provider)
          latencies.set(provider, metric)
        }
        return metric
      }

      /** Health and latency bookkeeping for one provider's outcome. */
      const observe = (outcome: ProviderOutcome) =>
        Effect.gen(function*() {
          const latency = "latencyMillis" in outcome ? outcome.latencyMillis : undefined
          if (latency !== undefined) yield* Metric.update(latencyMetric(outcome.provider), latency)
          if (outcome._tag === "Answered") yield* health.recordSuccess(outcome.provider, latency ?? 0)
          else if (outcome._tag !== "NotAwaited") {
            yield* health.recordFailure(
              outcome.provider,
              `${outcome._tag}: ${"detail" in outcome ? outcome.detail : ""}`
            )
          }
        })

      const ask = Effect.fn("CommitmentCollector.ask")(function*(provider: ProviderInfo, bucket: BucketInfo) {
        // An open circuit breaker: the provider is not asked, and counts as not answering at once.
        if (!(yield* health.allowRequest(provider.accountId))) {
          return {
            _tag: "Unreachable",
            provider: provider.accountId,
            reason: "Request",
            detail: "circuit breaker open after repeated failures",
            attempts: 0
          } satisfies ProviderOutcome
        }
        const attempts = yield* Ref.make(0)
        const started = yield* Clock.currentTimeMillis
        // One bound per attempt: the API's own when it enforces the one asked for (no second timeout
        // to fork and join per request), ours otherwise.
        const request = api.checkpointSignature(provider.endpoint, bucket.bucketId, {
          timeout: settings.providerTimeout
        })
        const attempt = Ref.updateAndGet(attempts, (n) => n + 1).pipe(
          Effect.flatMap((n) =>
            (api.enforcesTimeouts === true ? request : request.pipe(
              Effect.timeoutFail({
                duration: settings.providerTimeout,
                onTimeout: () =>
                  new ProviderRequestError({
                    endpoint: provider.endpoint,
                    reason: "Timeout",
                    detail: "no complete answer within the provider timeout"
                  })
              })
            )).pipe(RoundTrace.providerRequest(provider, n))
          )
        )
        const result = yield* Effect.either(
          Effect.retry(attempt, { schedule: retry.providerRequest, while: (error) => error.retryable })
        )
        const latencyMillis = (yield* Clock.currentTimeMillis) - started
        const tries = yield* Ref.get(attempts)
        if (Either.isRight(result)) return yield* judge(provider, bucket, result.right, latencyMillis, tries)
        const error = result.left
        const outcome: ProviderOutcome = error.retryable || error.reason === "Refused"
          ? {
            _tag: "Unreachable",
            provider: provider.accountId,
            reason: "Request",
            detail: error.message,
            attempts: tries
          }
          : {
            _tag: "InvalidResponse",
            provider: provider.accountId,
            reason: error.reason === "Decode" || error.reason === "TooLarge" ? "Malformed" : "Rejected",
            detail: error.message,
            latencyMillis,
            attempts: tries
          }
        return outcome
      })

      const collect = Effect.fn("CommitmentCollector.collect")(function*(target: RoundTarget) {
        const { bucket } = target
        const startedAtMillis = yield* Clock.currentTimeMillis
        // Each account once, even if the chain data listed it twice.
        const providers = Array.from(new Map(target.providers.map((p) => [p.accountId as string, p])).values())
        const primaries = Array.from(new Set(bucket.primaryProviders))
        const required = requiredSignatures({
          total: primaries.length,
          thresholdPercent: forBucket(settings, bucket.bucketId).consensusThreshold,
          minProviders: bucket.minProviders
        })
        const fixed: Array<ProviderOutcome> = target.undiscoverable.map((u) => ({
          _tag: "Unreachable",
          provider: u.account,
          reason: "Undiscoverable",
          detail: u.detail,
          attempts: 0
        }))
        // The round's own state, changed only in synchronous steps (so atomically between its fibers): the
        // outcomes so far, and the group sizes kept as they arrive (not regrouped per answer).
        const answers = new Map<AccountId, ProviderOutcome>()
        const tally = new GroupTally()
        let graceStarted = false
        let graceOver = false
        const done = yield* Deferred.make<RoundEnd>()

        /**
         * Records an outcome, then: finished; threshold met (start the grace window, or end if it is over
         * and nothing pending could change the decision); or hopeless?
         */
        const record = (account: AccountId, outcome: ProviderOutcome) =>
          Effect.suspend(() => {
            tally.add(outcome)
            answers.set(account, outcome)
            return review
          })
        const review: Effect.Effect<unknown, never, Scope.Scope> = Effect.suspend(() => {
          const pending = providers.length - answers.size
          if (pending <= 0) return Deferred.succeed(done, "AllAnswered")
          if (tally.best >= required) {
            // Not settled at the grace window's end: the round goes on until it is (or all answered, or the
            // deadline), each answer reviewed again.
            if (graceOver) {
              return tally.settled(pending, required)
                ? Deferred.succeed(done, "ThresholdMet")
                : Effect.void
            }
            if (graceStarted) return Effect.void
            graceStarted = true
            return Effect.sleep(settings.graceWindow).pipe(
              Effect.zipRight(Effect.suspend(() => {
                graceOver = true
                return review
              })),
              Effect.forkScoped
            )
          }
          return tally.canStillMeet(pending, required) ? Effect.void : Deferred.succeed(done, "ThresholdUnreachable")
        })

        const workers = yield* Effect.forEach(
          providers,
          (provider) =>
            ask(provider, bucket).pipe(
              // A bug in one provider's path (a defect) is that provider's outcome; it must not leave the
              // round waiting for its deadline.
              Effect.catchAllDefect((defect): Effect.Effect<ProviderOutcome> =>
                Effect.succeed({
                  _tag: "Unreachable",
                  provider: provider.accountId,
                  reason: "Request",
                  detail: `internal error while asking this provider: ${String(defect)}`,
                  attempts: 0
                })
              ),
              Effect.tap(observe),
              Effect.flatMap((outcome) => record(provider.accountId, outcome))
            ),
          { concurrency: settings.maxConcurrency, discard: true }
        ).pipe(Effect.forkScoped)

        yield* review
        const endedBy = yield* Effect.raceFirst(
          Deferred.await(done),
          Effect.as(Effect.sleep(settings.roundDeadline), "Deadline" as const)
        )
        yield* Fiber.interrupt(workers)

        const missing: Array<ProviderOutcome> = providers
          .filter((p) => !answers.has(p.accountId))
          .map((p): ProviderOutcome =>
            endedBy === "Deadline"
              ? {
                _tag: "Unreachable",
                provider: p.accountId,
                reason: "Deadline",
                detail: "no answer before the round deadline",
                attempts: 0
              }
              : {
                _tag: "NotAwaited",
                provider: p.accountId,
                reason: endedBy === "ThresholdMet" ? "ThresholdMet" : "ThresholdUnreachable",
                attempts: 0
              }
          )
        // One outcome per primary, in the bucket's primary order.
        const byAccount = new Map<string, ProviderOutcome>(
          [...fixed, ...answers.values(), ...missing].map((o) => [o.provider, o])
        )
        const outcomes = primaries.flatMap((account) => {
          const outcome = byAccount.get(account)
          return outcome === undefined ? [] : [outcome]
        })
        return {
          bucket,
          outcomes,
          required,
          endedBy,
          startedAtMillis,
          finishedAtMillis: yield* Clock.currentTimeMillis
        } satisfies Collection
      }, Effect.scoped)

      return CommitmentCollector.of({ collect })
    })
  )
}

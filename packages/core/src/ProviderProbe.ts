/**
 * Provider health probes: every provider of a loop's buckets asked `GET /health` at an interval, the
 * outcome fed to `ProviderHealth`, so that a provider that stops answering becomes Unreachable (its
 * breaker open) before a round needs it, and one that answers again recovers without waiting for a
 * round.
 *
 * - **What is probed**: the providers each bucket had at its latest discovery (`ProviderDiscovery.known`:
 *   no chain read). A bucket never discovered yet is discovered once, through the same cache the rounds
 *   use; after that, only rounds read the chain.
 * - **How**: through the same `ProviderApi` as the rounds (so the same `EndpointPolicy`), each probe bounded
 *   by the rounds' `providerTimeout`, one attempt (the next probe is the retry), each provider once per
 *   pass however many buckets it serves, at most `concurrency` at once.
 * - **When**: a pass every `interval`, jittered 0.8–1.2× (`Schedule.jittered`), counted from the end of
 *   the previous pass, so passes never overlap and probes of many processes do not fall in step; the first
 *   pass one (jittered) interval after the start. A zero or absent interval: no probes.
 * - **What passes**: an answer whose body decodes (`ProviderApi.HealthBody`) with status `healthy`;
 *   anything else fails with its reason: `NotHealthy` (another status), or the request's
 *   (`Timeout`, `Transport`, `Status`, `RateLimited`, `Decode`, `TooLarge`, `Refused`).
 *
 * Each probe is counted in `checkpointer_provider_probes_total{provider,outcome}` and shows as the
 * provider's `lastProbe` in `ProviderHealth`, with the endpoint probed (what the status page and
 * `checkpointer_provider_info` show beside the provider's address).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { CheckpointConfig } from "./CheckpointConfig.js"
import type { AccountId, BucketId, Endpoint, ProviderInfo } from "./Domain.js"
import * as Metrics from "./Metrics.js"
import { ProviderApi, ProviderRequestError } from "./ProviderApi.js"
import { ProviderDiscovery } from "./ProviderDiscovery.js"
import { ProviderHealth } from "./ProviderHealth.js"

/**
 * When and how widely to probe.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProbeSettings {
  /** Between two passes (jittered 0.8–1.2×); none or zero: no probes. */
  readonly interval: Option.Option<Duration.Duration>
  /** Probes in flight at once. */
  readonly concurrency: number
}

/**
 * How one probe ended: `Ok`, `NotHealthy` (the provider answered with another status than `healthy`), or
 * the reason its request failed.
 *
 * @since 0.1.0
 * @category models
 */
export type ProbeOutcome = "Ok" | "NotHealthy" | ProviderRequestError["reason"]

/**
 * One probe's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProbeResult {
  readonly provider: AccountId
  readonly endpoint: Endpoint
  readonly outcome: ProbeOutcome
  /** How long the provider took to answer; absent when it did not (transport failure, timeout, refused). */
  readonly latencyMillis: number | undefined
  /** Why it failed, in words (empty when it passed). */
  readonly detail: string
}

/** Request failures that still got an answer from the provider, so a latency. */
const answered = (reason: ProviderRequestError["reason"]) =>
  reason === "Status" || reason === "RateLimited" || reason === "Decode" || reason === "TooLarge"

const describe = (error: ProviderRequestError): string => {
  const status = error.status === undefined ? "" : ` ${error.status}`
  const code = error.errorCode === undefined ? "" : ` (${error.errorCode})`
  return `${error.reason}${status}${code}: ${error.detail}`
}

/**
 * Probes one provider and records the outcome (health, metric); never fails.
 *
 * @since 0.1.0
 * @category probing
 */
export const probe = Effect.fn("ProviderProbe.probe")(function*(provider: ProviderInfo) {
  const api = yield* ProviderApi
  const health = yield* ProviderHealth
  const settings = yield* CheckpointConfig
  const started = yield* Clock.currentTimeMillis
  const request = api.health(provider.endpoint, { timeout: settings.providerTimeout })
  const report = yield* Effect.either(
    api.enforcesTimeouts === true ? request : request.pipe(
      Effect.timeoutFail({
        duration: settings.providerTimeout,
        onTimeout: () =>
          new ProviderRequestError({
            endpoint: provider.endpoint,
            reason: "Timeout",
            detail: `no complete answer within ${Duration.format(settings.providerTimeout)}`
          })
      })
    )
  )
  const elapsed = (yield* Clock.currentTimeMillis) - started
  const result: ProbeResult = Either.match(report, {
    onLeft: (error) => ({
      provider: provider.accountId,
      endpoint: provider.endpoint,
      outcome: error.reason,
      latencyMillis: answered(error.reason) ? elapsed : undefined,
      detail: describe(error)
    }),
    onRight: (body) => ({
      provider: provider.accountId,
      endpoint: provider.endpoint,
      outcome: body.status === "healthy" ? "Ok" : "NotHealthy",
      latencyMillis: elapsed,
      detail: body.status === "healthy"
        ? ""
        : `NotHealthy: the provider reports status ${JSON.stringify(body.status.slice(0, 80))}, not "healthy"`
    })
  })
  yield* health.recordProbe(
    provider.accountId,
    result.outcome === "Ok"
      ? { ok: true, latencyMillis: elapsed, endpoint: provider.endpoint }
      : { ok: false, error: result.detail, latencyMillis: result.latencyMillis, endpoint: provider.endpoint }
  )
  yield* Metric.increment(
    Metric.tagged(Metric.tagged(Metrics.providerProbes, "provider", provider.accountId), "outcome", result.outcome)
  )
  return result
})

/**
 * Probes each of these providers once (the first entry of an account, if listed twice), at most
 * `concurrency` at once.
 *
 * @since 0.1.0
 * @category probing
 */
export const probeAll = (providers: ReadonlyArray<ProviderInfo>, concurrency: number) =>
  Effect.suspend(() => {
    const distinct = new Map<AccountId, ProviderInfo>()
    for (const provider of providers) if (!distinct.has(provider.accountId)) distinct.set(provider.accountId, provider)
    return Effect.forEach(Array.from(distinct.values()), probe, { concurrency: Math.max(1, Math.floor(concurrency)) })
  })

/**
 * The providers of these buckets as last discovered; a bucket never discovered is discovered now (a
 * bucket that cannot be is left out of this pass).
 *
 * @since 0.1.0
 * @category probing
 */
export const providersOf = (buckets: ReadonlyArray<BucketId>, concurrency: number) =>
  Effect.gen(function*() {
    const discovery = yield* ProviderDiscovery
    const lists = yield* Effect.forEach(buckets, (bucketId) =>
      Effect.flatMap(discovery.known(bucketId), (known) =>
        Option.isSome(known) ? Effect.succeed(known.value) : discovery.discover(bucketId).pipe(
          Effect.map((found) =>
            found.providers
          ),
          Effect.catchAll((error) =>
            Effect.as(
              Effect.logDebug(`health probes: bucket ${bucketId} not discovered yet: ${error.message}`),
              []
            )
          )
        )), { concurrency: Math.max(1, Math.floor(concurrency)) })
    return lists.flat()
  })

/**
 * Probes the providers of `buckets` (read at each pass) every `interval`, for as long as it runs (fork
 * it); returns at once when probes are off.
 *
 * @since 0.1.0
 * @category probing
 */
export const run = (
  buckets: Effect.Effect<ReadonlyArray<BucketId>>,
  settings: ProbeSettings
): Effect.Effect<void, never, ProviderApi | ProviderHealth | ProviderDiscovery | CheckpointConfig> => {
  if (Option.isNone(settings.interval) || !Duration.greaterThan(settings.interval.value, Duration.zero)) {
    return Effect.void
  }
  const pass = buckets.pipe(
    Effect.flatMap((ids) => providersOf(ids, settings.concurrency)),
    Effect.flatMap((providers) => probeAll(providers, settings.concurrency)),
    // A defect in one pass is logged; the next pass runs as scheduled.
    Effect.catchAllCause((cause) => Effect.logWarning("health probe pass failed", cause))
  )
  return pass.pipe(
    Effect.schedule(Schedule.jittered(Schedule.spaced(settings.interval.value))),
    Effect.asVoid
  )
}

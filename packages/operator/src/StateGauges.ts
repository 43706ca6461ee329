/**
 * State read rather than counted, as gauges sampled when scraped: the chain connection, the loop running
 * or paused, buckets paused or overdue, and each provider's breaker, health status and endpoint; and
 * `@checkpointer/core`'s `checkpointer_seconds_since_last_checkpoint` brought up to the moment.
 * `OperatorRouter`'s `/metrics` samples them before every scrape; an application exporting metrics some
 * other way runs `sample` on its own schedule.
 *
 * Enumerations are one series per value, 1 for the current one and 0 for the others (the Prometheus
 * convention, so that `max by (provider)` and alerts on `== 1` both work).
 *
 * @since 0.1.0
 */
import { Metrics, ProviderHealth } from "@checkpointer/core"
import type { CheckpointLoop } from "@checkpointer/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type { ChainConnection } from "./ChainConnection.js"
import * as Readiness from "./Readiness.js"

/**
 * 1 while the chain is connected.
 *
 * @since 0.1.0
 * @category metrics
 */
export const chainConnected = Metric.gauge("checkpointer_chain_connected", {
  description: "1 while the chain is connected (sampled when scraped)"
})

/**
 * 1 while the loop runs (0 once stopped).
 *
 * @since 0.1.0
 * @category metrics
 */
export const loopRunning = Metric.gauge("checkpointer_loop_running", {
  description: "1 while the checkpoint loop runs (sampled when scraped)"
})

/**
 * 1 while the whole loop is paused (by request, or for the signer's balance).
 *
 * @since 0.1.0
 * @category metrics
 */
export const loopPaused = Metric.gauge("checkpointer_loop_paused", {
  description: "1 while the whole checkpoint loop is paused (sampled when scraped)"
})

/**
 * Buckets paused (each by itself after too many failures, or all for the signer's balance).
 *
 * @since 0.1.0
 * @category metrics
 */
export const bucketsPaused = Metric.gauge("checkpointer_buckets_paused", {
  description: "buckets the loop holds paused (sampled when scraped)"
})

/**
 * Buckets without a successful checkpoint for longer than the loop's `overdueAfter`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const bucketsOverdue = Metric.gauge("checkpointer_buckets_overdue", {
  description: "buckets without a successful checkpoint for longer than overdueAfter (sampled when scraped)"
})

/**
 * Each provider's circuit breaker, tagged `provider` and `state` (`Closed`, `Open`, `HalfOpen`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const breakerState = Metric.gauge("checkpointer_provider_breaker_state", {
  description: "1 for the provider's current breaker state, 0 for the others (sampled when scraped)"
})

/**
 * Each provider's health status, tagged `provider` and `status` (`Unknown`, `Healthy`, `Degraded`,
 * `Unreachable`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const providerStatus = Metric.gauge("checkpointer_provider_status", {
  description: "1 for the provider's current health status, 0 for the others (sampled when scraped)"
})

/**
 * Where each provider is asked, tagged `provider` and `endpoint` (1; an info metric: join it on `provider`
 * to see the endpoint beside any provider series). The endpoint is the one the loop's health probes last
 * used, as discovery gave it: a provider not yet probed has no series, and one whose endpoint changed has
 * its old series set to 0.
 *
 * @since 0.1.0
 * @category metrics
 */
export const providerInfo = Metric.gauge("checkpointer_provider_info", {
  description: "1 for the endpoint the provider is asked at (its last health probe's), 0 for one it no longer is"
})

const BREAKER_STATES = ["Closed", "Open", "HalfOpen"] as const
const STATUSES = ["Unknown", "Healthy", "Degraded", "Unreachable"] as const

const flag = (on: boolean) => (on ? 1 : 0)

/**
 * The label sets of the tagged gauges, made once each: a gauge updated with the same label array finds
 * its series in Effect's per-metric cache, where `Metric.tagged` builds and hashes a new key at every set
 * (a scrape of 1,000 buckets: ~2 ms instead of ~15).
 */
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
/** Each provider's endpoint as last sampled (the registry is the process's, so this is too). */
const endpoints = new Map<string, string>()
/** The `bucket` label sets, by bucket id (a bigint key: no string made per bucket per scrape). */
const bucketLabelSets = new Map<bigint, ReadonlyArray<MetricLabel.MetricLabel>>()
const bucketLabels = (bucketId: bigint) => {
  let labels = bucketLabelSets.get(bucketId)
  if (labels === undefined) {
    labels = [MetricLabel.make("bucket", bucketId.toString())]
    bucketLabelSets.set(bucketId, labels)
  }
  return labels
}
const labelsOf = (...pairs: ReadonlyArray<readonly [string, string]>) => {
  const id = pairs.map(([k, v]) => `${k}\u0000${v}`).join("\u0001")
  let labels = labelSets.get(id)
  if (labels === undefined) {
    labels = pairs.map(([k, v]) => MetricLabel.make(k, v))
    labelSets.set(id, labels)
  }
  return labels
}

/**
 * Sets every gauge of this module from the services now.
 *
 * @since 0.1.0
 * @category sampling
 */
export const sample: Effect.Effect<
  void,
  never,
  CheckpointLoop.CheckpointLoop | ChainConnection | ProviderHealth.ProviderHealth
> = Effect.gen(function*() {
  const facts = yield* Readiness.facts
  yield* Metric.set(chainConnected, flag(facts.chain._tag === "Connected"))
  yield* Metric.set(loopRunning, flag(facts.running))
  yield* Metric.set(loopPaused, flag(Option.isSome(facts.pausedBecause)))
  yield* Metric.set(bucketsPaused, facts.buckets.filter((b) => b.paused).length)
  yield* Metric.set(bucketsOverdue, facts.buckets.filter((b) => b.overdue).length)
  // The loop updates this at each pass and watchdog tick; a scrape wants it as of now.
  const now = yield* Clock.currentTimeMillis
  const providers = yield* Effect.flatMap(ProviderHealth.ProviderHealth, (health) => health.all)
  yield* Effect.sync(() => {
    for (const bucket of facts.buckets) {
      Metrics.secondsSinceLastCheckpoint.unsafeUpdate(
        Math.floor((now - bucket.sinceMillis) / 1000),
        bucketLabels(bucket.bucketId)
      )
    }
    for (const provider of providers) {
      const endpoint = provider.lastProbe?.endpoint
      if (endpoint !== undefined) {
        const before = endpoints.get(provider.provider)
        if (before !== endpoint) {
          if (before !== undefined) {
            providerInfo.unsafeUpdate(0, labelsOf(["provider", provider.provider], ["endpoint", before]))
          }
          endpoints.set(provider.provider, endpoint)
        }
        providerInfo.unsafeUpdate(1, labelsOf(["provider", provider.provider], ["endpoint", endpoint]))
      }
      for (const state of BREAKER_STATES) {
        breakerState.unsafeUpdate(
          flag(provider.breaker === state),
          labelsOf(["provider", provider.provider], ["state", state])
        )
      }
      for (const status of STATUSES) {
        providerStatus.unsafeUpdate(
          flag(provider.status === status),
          labelsOf(["provider", provider.provider], ["status", status])
        )
      }
    }
  })
})

/**
 * The metrics Checkpointer records by itself (`effect/Metric`, exported however the application
 * chooses, e.g. through `@effect/opentelemetry`): rounds, outcomes by tag, per-provider latency,
 * signatures collected, broadcasts and paid transactions, and time since each bucket's last
 * successful checkpoint.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Rounds run (each `submitCheckpoint`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const rounds = Metric.counter("checkpointer_rounds_total", {
  description: "checkpoint rounds run",
  incremental: true
})

/**
 * Round results, tagged `outcome` (`Submitted`, `AlreadyCheckpointed`, `InsufficientConsensus`, ...) and
 * `bucket`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const outcomes = Metric.counter("checkpointer_round_outcomes_total", {
  description: "checkpoint round results by outcome",
  incremental: true
})

/**
 * Provider answer latency in milliseconds, tagged `provider`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const providerLatency = Metric.histogram(
  "checkpointer_provider_latency_ms",
  MetricBoundaries.exponential({ start: 5, factor: 2, count: 14 }),
  "provider answer latency"
)

/**
 * Valid signatures on the majority commitment, summed over rounds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const signaturesCollected = Metric.counter("checkpointer_signatures_collected_total", {
  description: "valid signatures on the majority commitment",
  incremental: true
})

/**
 * Checkpoint extrinsics broadcast.
 *
 * @since 0.1.0
 * @category metrics
 */
export const submissions = Metric.counter("checkpointer_submissions_total", {
  description: "checkpoint extrinsics broadcast",
  incremental: true
})

/**
 * Transactions whose fee was paid (included, whether the pallet accepted them or not).
 *
 * @since 0.1.0
 * @category metrics
 */
export const paidTransactions = Metric.counter("checkpointer_paid_transactions_total", {
  description: "checkpoint transactions included on chain (fee paid)",
  incremental: true
})

/**
 * Seconds since a bucket's last successful checkpoint, tagged `bucket` (updated by the loop).
 *
 * @since 0.1.0
 * @category metrics
 */
export const secondsSinceLastCheckpoint = Metric.gauge("checkpointer_seconds_since_last_checkpoint", {
  description: "seconds since the bucket's last successful checkpoint"
})

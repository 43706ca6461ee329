/**
 * The metrics Checkpointer records by itself (`effect/Metric`, exported however the application
 * chooses: `@checkpointer/operator` serves them at `/metrics` in the Prometheus text format, through
 * `@effect/opentelemetry`): rounds by outcome, per-provider request latency, signatures collected,
 * broadcasts, paid transactions and the fees they paid, provider health probes by outcome, and time
 * since each bucket's last successful checkpoint.
 *
 * Names follow Prometheus's conventions: a `checkpointer_` prefix, base units in the name (`_seconds`,
 * `_planck`), `_total` on counters. State that is read rather than counted (breakers, a paused loop) is
 * sampled when scraped, by `@checkpointer/operator`'s `StateGauges`.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Rounds run (each `submitCheckpoint`), whatever their outcome: the sum of `outcomes` over its labels.
 *
 * @since 0.1.0
 * @category metrics
 */
export const rounds = Metric.counter("checkpointer_rounds_run_total", {
  description: "checkpoint rounds run, all outcomes (checkpointer_rounds_total has them by outcome)",
  incremental: true
})

/**
 * Round results, tagged `outcome` (`Submitted`, `AlreadyCheckpointed`, `InsufficientConsensus`, ...) and
 * `bucket`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const outcomes = Metric.counter("checkpointer_rounds_total", {
  description: "checkpoint rounds by outcome and bucket",
  incremental: true
})

/**
 * Provider request latency, tagged `provider`, of the requests a provider answered (with a valid
 * commitment or not; a transport failure or timeout has no latency): updated with milliseconds (as the
 * collector measures them), recorded in seconds, in buckets from 5 ms to 20.48 s.
 *
 * @since 0.1.0
 * @category metrics
 */
export const providerLatency = Metric.histogram(
  "checkpointer_provider_request_seconds",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 14 }),
  "latency of provider requests that got an answer, in seconds"
).pipe(Metric.mapInput((millis: number) => millis / 1000))

/**
 * Health probes (`GET /health`, run by the loop), tagged `provider` and `outcome`: `Ok`, `NotHealthy` (an
 * answer whose status is not `healthy`), or why the request failed (`Timeout`, `Transport`, `Status`,
 * `RateLimited`, `Decode`, `TooLarge`, `Refused`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const providerProbes = Metric.counter("checkpointer_provider_probes_total", {
  description: "provider health probes (GET /health) by provider and outcome",
  incremental: true
})

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
export const submissions = Metric.counter("checkpointer_broadcasts_total", {
  description: "checkpoint extrinsics broadcast",
  incremental: true
})

/**
 * Transactions whose fee was paid (included, whether the pallet accepted them or not).
 *
 * @since 0.1.0
 * @category metrics
 */
export const paidTransactions = Metric.counter("checkpointer_transactions_paid_total", {
  description: "checkpoint transactions included on chain (fee paid)",
  incremental: true
})

/**
 * Fees paid, in planck, as the chain reports them on the receipts of included checkpoints (a rejected
 * extrinsic's fee is paid too, but its outcome carries no amount: it is counted by `paidTransactions`
 * only). Exact in process (a bigint); exporters read it as a float.
 *
 * @since 0.1.0
 * @category metrics
 */
export const feesPaid = Metric.counter("checkpointer_fees_paid_planck_total", {
  description: "fees paid by checkpoint transactions, in planck (the chain's smallest unit)",
  incremental: true,
  bigint: true
})

/**
 * Seconds since a bucket's last successful checkpoint, tagged `bucket` (updated by the loop).
 *
 * @since 0.1.0
 * @category metrics
 */
export const secondsSinceLastCheckpoint = Metric.gauge("checkpointer_seconds_since_last_checkpoint", {
  description: "seconds since the bucket's last successful checkpoint (or since the loop started)"
})

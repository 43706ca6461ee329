/**
 * Whether this Checkpointer is doing its job: the chain connected, the loop running and not paused, and
 * no bucket gone without a checkpoint for longer than the loop's watchdog allows (`overdueAfter`). What
 * is not ready says why, as data (`Report`, served by `/readyz` with HTTP 503).
 *
 * The rule is a pure function of the facts (`assess`); `check` gathers them from the services.
 *
 * @since 0.1.0
 */
import { CheckpointLoop, Domain } from "@checkpointer/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ChainConnection, type ChainStatus } from "./ChainConnection.js"

/**
 * The chain is not reachable.
 *
 * @since 0.1.0
 * @category models
 */
export class ChainDisconnected extends Schema.TaggedClass<ChainDisconnected>()("ChainDisconnected", {
  detail: Schema.String
}) {}

/**
 * The loop has stopped (`stop`, or its scope closed): nothing will be checkpointed.
 *
 * @since 0.1.0
 * @category models
 */
export class LoopStopped extends Schema.TaggedClass<LoopStopped>()("LoopStopped", {}) {}

/**
 * The whole loop is paused until `resume`, for this reason (`paused by request`, or the signer's balance
 * below the minimum).
 *
 * @since 0.1.0
 * @category models
 */
export class LoopPaused extends Schema.TaggedClass<LoopPaused>()("LoopPaused", {
  reason: Schema.String
}) {}

/**
 * A bucket without a successful checkpoint since `since`, longer than the loop's `overdueAfter`.
 *
 * @since 0.1.0
 * @category models
 */
export class OverdueBucket extends Schema.Class<OverdueBucket>("OverdueBucket")({
  bucket: Domain.BucketId,
  /** Its last successful checkpoint, or the loop's start when it has had none. */
  since: Schema.DateTimeUtc
}) {}

/**
 * Buckets overdue: `count` in all, the longest overdue of them listed (at most `MAX_LISTED`).
 *
 * @since 0.1.0
 * @category models
 */
export class BucketsOverdue extends Schema.TaggedClass<BucketsOverdue>()("BucketsOverdue", {
  count: Schema.Number,
  buckets: Schema.Array(OverdueBucket)
}) {}

/**
 * Why not ready.
 *
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Union(ChainDisconnected, LoopStopped, LoopPaused, BucketsOverdue)

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * The verdict: ready exactly when there is no reason not to be.
 *
 * @since 0.1.0
 * @category models
 */
export class Report extends Schema.Class<Report>("ReadinessReport")({
  ready: Schema.Boolean,
  reasons: Schema.Array(Reason)
}) {}

/**
 * What readiness is judged on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Facts {
  readonly chain: ChainStatus
  readonly running: boolean
  readonly pausedBecause: Option.Option<string>
  readonly buckets: ReadonlyArray<CheckpointLoop.BucketLoopStatus>
}

/**
 * Overdue buckets listed in a report at most (a report stays small with thousands of buckets).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_LISTED = 10

/**
 * The readiness rule.
 *
 * @since 0.1.0
 * @category functions
 */
export const assess = (facts: Facts): Report => {
  const reasons: Array<Reason> = []
  if (facts.chain._tag === "Disconnected") reasons.push(new ChainDisconnected({ detail: facts.chain.detail }))
  if (!facts.running) reasons.push(new LoopStopped())
  else if (Option.isSome(facts.pausedBecause)) reasons.push(new LoopPaused({ reason: facts.pausedBecause.value }))
  const overdue = facts.buckets.filter((b) => b.overdue).sort((a, b) => a.sinceMillis - b.sinceMillis)
  if (overdue.length > 0) {
    reasons.push(
      new BucketsOverdue({
        count: overdue.length,
        buckets: overdue.slice(0, MAX_LISTED).map((b) =>
          new OverdueBucket({ bucket: b.bucketId, since: DateTime.unsafeMake(b.sinceMillis) })
        )
      })
    )
  }
  return new Report({ ready: reasons.length === 0, reasons })
}

/**
 * The facts, from the loop and the chain connection.
 *
 * @since 0.1.0
 * @category accessors
 */
export const facts: Effect.Effect<Facts, never, CheckpointLoop.CheckpointLoop | ChainConnection> = Effect.gen(
  function*() {
    const loop = yield* CheckpointLoop.CheckpointLoop
    const connection = yield* ChainConnection
    return {
      chain: yield* connection.status,
      running: yield* loop.isRunning,
      pausedBecause: yield* loop.pausedBecause,
      buckets: yield* loop.status
    }
  }
)

/**
 * Readiness now.
 *
 * @since 0.1.0
 * @category accessors
 */
export const check: Effect.Effect<Report, never, CheckpointLoop.CheckpointLoop | ChainConnection> = Effect.map(
  facts,
  assess
)

/**
 * The loop's liveness watchdog: each bucket's `secondsSinceLastCheckpoint` gauge, and one
 * `CheckpointOverdue` per overdue spell (no successful checkpoint for `overdueAfter`; a success ends the
 * spell). It looks at every bucket, so it keeps its own time — at most once a minute, at least once a
 * second, and ten times per `overdueAfter` — not the scheduling passes', and watches while the loop is
 * paused or the chain is silent.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { CheckpointEvent } from "../CheckpointEvents.js"
import type { BucketId } from "../Domain.js"
import * as Metrics from "../Metrics.js"
import { type BucketState, sinceOf } from "./loopBucket.js"
import type * as MapRef from "./mapRef.js"

/** A loop's watchdog over its buckets' states. */
export interface Watchdog {
  /** Whether a bucket has had no successful checkpoint for `overdueAfter` or longer. */
  readonly isOverdue: (state: BucketState, now: number) => boolean
  /** One look at every bucket: the gauges set, newly overdue buckets marked and announced. */
  readonly watch: Effect.Effect<void>
  /** `watch` on the watchdog's own time, forever. */
  readonly run: Effect.Effect<never>
}

/** How often the watchdog looks. */
export const watchInterval = (overdueAfter: Option.Option<Duration.Duration>): Duration.Duration =>
  Option.match(overdueAfter, {
    onNone: () => Duration.minutes(1),
    onSome: (d) => Duration.min(Duration.minutes(1), Duration.max(Duration.seconds(1), Duration.times(d, 0.1)))
  })

export const make = (
  overdueAfter: Option.Option<Duration.Duration>,
  states: MapRef.MapRef<BucketId, BucketState>,
  publish: (event: CheckpointEvent) => Effect.Effect<void>
): Watchdog => {
  const overdueMillis = Option.map(overdueAfter, Duration.toMillis)
  const isOverdue = (state: BucketState, now: number): boolean =>
    Option.isSome(overdueMillis) && now - sinceOf(state) >= overdueMillis.value

  // Each bucket's gauge tagged once: a tagged metric's key is built and hashed when it is made.
  const gauges = new Map<BucketId, Metric.Metric.Gauge<number>>()
  const gaugeOf = (bucketId: BucketId) => {
    let gauge = gauges.get(bucketId)
    if (gauge === undefined) {
      gauge = Metric.tagged(Metrics.secondsSinceLastCheckpoint, "bucket", bucketId.toString())
      gauges.set(bucketId, gauge)
    }
    return gauge
  }

  const watch = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const overdue = yield* Ref.modify(states, (m): [Array<BucketState>, Map<BucketId, BucketState>] => {
      const found: Array<BucketState> = []
      for (const state of m.values()) {
        if (!state.overdueReported && isOverdue(state, now)) {
          found.push(state)
          m.set(state.bucketId, { ...state, overdueReported: true })
        }
      }
      return [found, m]
    })
    for (const state of Array.from((yield* Ref.get(states)).values())) {
      yield* Metric.set(gaugeOf(state.bucketId), Math.floor((now - sinceOf(state)) / 1000))
    }
    for (const state of overdue) {
      yield* publish(CheckpointEvent.CheckpointOverdue({ bucketId: state.bucketId, sinceMillis: sinceOf(state) }))
    }
  })

  return { isOverdue, watch, run: Effect.forever(Effect.zipRight(Effect.sleep(watchInterval(overdueAfter)), watch)) }
}

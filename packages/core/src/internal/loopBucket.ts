/**
 * A bucket as the loop keeps it: the record every part of the loop reads and changes (the due index, the
 * failure schedule, the watchdog, the commands), the table of them, and its public view, `BucketLoopStatus`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { BucketLoopStatus } from "../CheckpointLoop.js"
import type { CheckpointResult } from "../CheckpointResult.js"
import type { BucketId } from "../Domain.js"
import * as MapRef from "./mapRef.js"

export interface BucketState {
  readonly bucketId: BucketId
  readonly dirty: boolean
  /** Bumped by every `markDirty`: a round clears `dirty` only if nothing was written meanwhile. */
  readonly generation: number
  readonly paused: boolean
  readonly inFlight: boolean
  readonly rerun: boolean
  readonly failureStreak: number
  readonly lastAttemptMillis: number | undefined
  readonly lastSuccessMillis: number | undefined
  readonly lastResult: CheckpointResult["_tag"] | undefined
  readonly nextDueBlock: number | undefined
  readonly nextDueMillis: number | undefined
  readonly retryNotBeforeMillis: number | undefined
  readonly overdueReported: boolean
  readonly sinceMillis: number
}

/** A bucket the loop takes up at `now`: clean, never attempted, due at the next pass. */
export const fresh = (bucketId: BucketId, now: number): BucketState => ({
  bucketId,
  dirty: false,
  generation: 0,
  paused: false,
  inFlight: false,
  rerun: false,
  failureStreak: 0,
  lastAttemptMillis: undefined,
  lastSuccessMillis: undefined,
  lastResult: undefined,
  nextDueBlock: undefined,
  nextDueMillis: undefined,
  retryNotBeforeMillis: undefined,
  overdueReported: false,
  sinceMillis: now
})

/** What the liveness of a bucket counts from: its last successful checkpoint, or when it was taken up. */
export const sinceOf = (state: BucketState): number => state.lastSuccessMillis ?? state.sinceMillis

/** The public view of a bucket's state. */
export const toStatus = (state: BucketState, overdue: boolean): BucketLoopStatus => ({
  bucketId: state.bucketId,
  dirty: state.dirty,
  paused: state.paused,
  inFlight: state.inFlight,
  failureStreak: state.failureStreak,
  lastAttemptMillis: Option.fromNullable(state.lastAttemptMillis),
  lastSuccessMillis: Option.fromNullable(state.lastSuccessMillis),
  lastResult: Option.fromNullable(state.lastResult),
  nextDueBlock: Option.fromNullable(state.nextDueBlock),
  nextDueMillis: Option.fromNullable(state.nextDueMillis),
  retryNotBeforeMillis: Option.fromNullable(state.retryNotBeforeMillis),
  sinceMillis: sinceOf(state),
  overdue
})

/** The loop's buckets, by id; one bucket's change costs that bucket, not a copy of them all. */
export interface Table {
  readonly states: MapRef.MapRef<BucketId, BucketState>
  /** A bucket the loop has not seen yet, taken up at `now`. */
  readonly takeUp: (bucketId: BucketId, now: number) => BucketState
  /** Changes a bucket's state, taking it up first if it is new. */
  readonly modify: (bucketId: BucketId, change: (state: BucketState) => BucketState) => Effect.Effect<void>
  /** Every bucket's id. */
  readonly ids: Effect.Effect<Array<BucketId>>
}

/** A table of these buckets, taken up at `now`; `onTakeUp` learns of every bucket taken up, then or later. */
export const makeTable = (
  initial: ReadonlyArray<BucketId>,
  now: number,
  onTakeUp: (bucketId: BucketId) => void
): Effect.Effect<Table> => {
  const takeUp = (bucketId: BucketId, now: number) => {
    onTakeUp(bucketId)
    return fresh(bucketId, now)
  }
  // Taken up when the effect runs, not when it is made.
  return Effect.map(MapRef.make(() => initial.map((b) => [b, takeUp(b, now)] as const)), (states) => ({
    states,
    takeUp,
    modify: (bucketId, change) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => MapRef.update(states, (m) => m.set(bucketId, change(m.get(bucketId) ?? takeUp(bucketId, now))))
      ),
    ids: Effect.map(Ref.get(states), (m) => Array.from(m.keys()))
  }))
}

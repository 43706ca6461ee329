/**
 * When each bucket of a loop is due, and which buckets a scheduling pass looks at — so that a finalized
 * head costs the buckets due, not every bucket.
 *
 * The due index files each bucket due by blocks under its next due block (`dueAt`); a head takes the
 * blocks filed up to it. Buckets to look at on the next head (`nextHead`) are the new ones and those held
 * back at their due point (in flight, paused, failing), looked at again on every head until they are
 * taken, as a scan of all buckets did. Buckets due by time are looked at on every pass.
 *
 * The index is held in memory and changed in place, with no effects, so it is tested directly; `passes`
 * says when the loop runs a pass over it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { Interval } from "../CheckpointLoop.js"
import type { BucketId } from "../Domain.js"
import type { BucketState } from "./loopBucket.js"
import type * as MapRef from "./mapRef.js"

/** A loop's due index: see the module's comment. */
export interface DueIndex {
  /** The interval a bucket is due at. */
  readonly intervalOf: (bucketId: BucketId) => Interval
  /** Some bucket is due by blocks: the loop follows finalized heads. */
  readonly byBlocks: boolean
  /** The shortest interval by time, if any bucket is due by time: the loop passes at least this often. */
  readonly shortestTime: Duration.Duration | undefined
  /** Takes up a bucket: looked at on the next head (by blocks) or on every pass (by time). */
  readonly track: (bucketId: BucketId) => void
  /**
   * The buckets a pass looks at: every bucket due by time; on a finalized head also those due by blocks
   * filed at or before it and those left for the next head (taken out here: the pass files each again).
   */
  readonly candidates: (head: number | undefined) => Array<BucketId>
  /**
   * A scheduling pass: moves every due bucket that is not held back to its next due point (in `states`,
   * in place) and returns those with work — dirty, or every one with `submitOnEmpty`. A bucket in flight,
   * paused or failing (its own timer retries it) is held back, and looked at again on the next head.
   */
  readonly pass: (
    states: Map<BucketId, BucketState>,
    head: number | undefined,
    now: number,
    submitOnEmpty: boolean
  ) => Array<BucketId>
  /** How long from `now` until the next bucket due by time (at most the shortest interval by time). */
  readonly untilNextDue: (states: Iterable<BucketState>, now: number) => Duration.Duration
}

/** An empty due index for buckets due at `interval`, or at their own in `bucketIntervals`. */
export const make = (interval: Interval, bucketIntervals: ReadonlyMap<BucketId, Interval>): DueIndex => {
  const intervalOf = (bucketId: BucketId): Interval => bucketIntervals.get(bucketId) ?? interval
  const intervals = [interval, ...bucketIntervals.values()]
  const byBlocks = intervals.some((i) => i._tag === "Blocks")
  const shortestTime = intervals.reduce<Duration.Duration | undefined>(
    (shortest, i) =>
      i._tag === "Blocks" ? shortest : shortest === undefined ? i.duration : Duration.min(shortest, i.duration),
    undefined
  )

  const dueAt = new Map<number, Array<BucketId>>()
  let nextHead = new Set<BucketId>()
  let scannedUpTo: number | undefined = undefined
  const byTimeBuckets = new Set<BucketId>()

  const track = (bucketId: BucketId) => {
    if (intervalOf(bucketId)._tag === "Blocks") nextHead.add(bucketId)
    else byTimeBuckets.add(bucketId)
  }

  const candidates = (head: number | undefined): Array<BucketId> => {
    const found = Array.from(byTimeBuckets)
    if (head === undefined) return found
    for (const bucketId of nextHead) found.push(bucketId)
    nextHead = new Set()
    const take = (block: number) => {
      const filed = dueAt.get(block)
      if (filed === undefined) return
      dueAt.delete(block)
      for (const bucketId of filed) found.push(bucketId)
    }
    const from = scannedUpTo === undefined ? head : scannedUpTo + 1
    if (head - from + 1 <= dueAt.size) {
      for (let block = from; block <= head; block++) take(block)
    } else {
      // A long gap between heads (or the first one): fewer due blocks filed than blocks passed.
      for (const block of Array.from(dueAt.keys())) if (block <= head) take(block)
    }
    scannedUpTo = scannedUpTo === undefined ? head : Math.max(scannedUpTo, head)
    return found
  }

  /** The bucket's next due point from this pass; one due by blocks is filed under its next due block. */
  const advance = (state: BucketState, bucketInterval: Interval, head: number | undefined, now: number) => {
    if (bucketInterval._tag === "Duration") {
      return { ...state, nextDueMillis: now + Duration.toMillis(bucketInterval.duration) }
    }
    if (head === undefined) return state
    const due = head + bucketInterval.blocks
    const filed = dueAt.get(due)
    if (filed === undefined) dueAt.set(due, [state.bucketId])
    else filed.push(state.bucketId)
    return { ...state, nextDueBlock: due }
  }

  const pass = (states: Map<BucketId, BucketState>, head: number | undefined, now: number, submitOnEmpty: boolean) => {
    const due: Array<BucketId> = []
    for (const bucketId of candidates(head)) {
      const state = states.get(bucketId)
      if (state === undefined) continue
      const bucketInterval = intervalOf(bucketId)
      // A bucket due by blocks is looked at on finalized heads only, one due by time on any pass.
      const isDue = bucketInterval._tag === "Blocks"
        ? head !== undefined && (state.nextDueBlock === undefined || head >= state.nextDueBlock)
        : state.nextDueMillis === undefined || now >= state.nextDueMillis
      if (!isDue) {
        // Filed under a later block already: not due yet.
        continue
      }
      if (state.paused || state.inFlight || state.failureStreak > 0) {
        if (bucketInterval._tag === "Blocks") nextHead.add(bucketId)
        continue
      }
      states.set(bucketId, advance(state, bucketInterval, head, now))
      if (state.dirty || submitOnEmpty) due.push(bucketId)
    }
    return due
  }

  const untilNextDue = (states: Iterable<BucketState>, now: number) => {
    let next = now + Duration.toMillis(shortestTime ?? Duration.zero)
    for (const state of states) {
      if (intervalOf(state.bucketId)._tag !== "Duration" || state.nextDueMillis === undefined) continue
      if (state.nextDueMillis > now && state.nextDueMillis < next) next = state.nextDueMillis
    }
    return Duration.millis(next - now)
  }

  return { intervalOf, byBlocks, shortestTime, track, candidates, pass, untilNextDue }
}

/**
 * When the loop runs its scheduling `pass`: time-driven, whenever the next bucket due by time is (at least
 * once per shortest interval by time); block-driven, once per finalized head — followed again 5 seconds
 * after the subscription fails or ends. Forever.
 */
export const passes = <E extends { readonly message: string }>(
  index: DueIndex,
  states: MapRef.MapRef<BucketId, BucketState>,
  finalizedHeads: Stream.Stream<{ readonly number: number }, E>,
  pass: (head: number | undefined) => Effect.Effect<void>
): Effect.Effect<void> => {
  const byHeads = finalizedHeads.pipe(
    Stream.runForEach((head) => pass(head.number)),
    Effect.catchAll((error) => Effect.logError(`the loop lost the chain's finalized heads: ${error.message}`)),
    Effect.zipRight(Effect.sleep("5 seconds")),
    Effect.forever
  )
  const untilNextDue = Effect.zipWith(
    Clock.currentTimeMillis,
    Ref.get(states),
    (now, m) => index.untilNextDue(m.values(), now)
  )
  const byTime = Effect.flatMap(untilNextDue, Effect.sleep).pipe(Effect.zipRight(pass(undefined)), Effect.forever)
  return Effect.all(
    [index.byBlocks ? byHeads : Effect.void, index.shortestTime === undefined ? Effect.void : byTime],
    { concurrency: "unbounded", discard: true }
  )
}

import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import { Blocks, Every } from "../src/CheckpointLoop.js"
import { ProvidersUnreachable, SubmissionRefused } from "../src/CheckpointResult.js"
import type { BucketId } from "../src/Domain.js"
import { type BucketState, fresh } from "../src/internal/loopBucket.js"
import * as LoopRetry from "../src/internal/loopRetry.js"
import * as LoopSchedule from "../src/internal/loopSchedule.js"

const bucket = (n: number) => BigInt(n) as BucketId

/** A due index over these buckets, each taken up, with their states. */
const world = (buckets: ReadonlyArray<BucketId>, index = LoopSchedule.make(Blocks(10), new Map())) => {
  const states = new Map<BucketId, BucketState>()
  for (const b of buckets) {
    index.track(b)
    states.set(b, { ...fresh(b, 0), dirty: true })
  }
  return { index, states }
}

describe("the due index, by blocks", () => {
  it("a new bucket is due at the next head, then every n blocks after the head it was taken at", () => {
    const { index, states } = world([bucket(1)])
    assert.deepStrictEqual(index.pass(states, 100, 0, false), [bucket(1)])
    assert.strictEqual(states.get(bucket(1))!.nextDueBlock, 110)
    for (let head = 101; head < 110; head++) assert.deepStrictEqual(index.pass(states, head, 0, false), [])
    assert.deepStrictEqual(index.pass(states, 110, 0, false), [bucket(1)])
    assert.strictEqual(states.get(bucket(1))!.nextDueBlock, 120)
  })

  it("a head between due points looks at no bucket: its cost is the buckets due, not every bucket", () => {
    const buckets = Array.from({ length: 1000 }, (_, i) => bucket(i))
    const { index, states } = world(buckets)
    index.pass(states, 100, 0, false)
    assert.deepStrictEqual(index.candidates(101), [])
    assert.strictEqual(index.candidates(110).length, 1000)
  })

  it("a bucket held back at its due point (in flight, paused, failing) is looked at again on every head", () => {
    const { index, states } = world([bucket(1)])
    states.set(bucket(1), { ...states.get(bucket(1))!, inFlight: true })
    assert.deepStrictEqual(index.pass(states, 100, 0, false), [])
    assert.deepStrictEqual(index.pass(states, 101, 0, false), [])
    states.set(bucket(1), { ...states.get(bucket(1))!, inFlight: false, failureStreak: 1 })
    assert.deepStrictEqual(index.pass(states, 102, 0, false), [])
    states.set(bucket(1), { ...states.get(bucket(1))!, failureStreak: 0 })
    assert.deepStrictEqual(index.pass(states, 103, 0, false), [bucket(1)])
    assert.strictEqual(states.get(bucket(1))!.nextDueBlock, 113)
  })

  it("after a long gap between heads, every bucket filed at or before the new head is due", () => {
    const { index, states } = world([bucket(1), bucket(2)])
    index.pass(states, 100, 0, false)
    assert.deepStrictEqual(index.pass(states, 5000, 0, false), [bucket(1), bucket(2)])
    assert.strictEqual(states.get(bucket(2))!.nextDueBlock, 5010)
  })

  it("a clean bucket is moved to its next due point but not started, unless submitOnEmpty", () => {
    const { index, states } = world([bucket(1)])
    states.set(bucket(1), { ...states.get(bucket(1))!, dirty: false })
    assert.deepStrictEqual(index.pass(states, 100, 0, false), [])
    assert.strictEqual(states.get(bucket(1))!.nextDueBlock, 110)
    assert.deepStrictEqual(index.pass(states, 110, 0, true), [bucket(1)])
  })

  it("a bucket the loop no longer holds is dropped from the index", () => {
    const { index, states } = world([bucket(1)])
    states.delete(bucket(1))
    assert.deepStrictEqual(index.pass(states, 100, 0, false), [])
    assert.deepStrictEqual(index.candidates(101), [])
  })
})

describe("the due index, by time", () => {
  const index = () => LoopSchedule.make(Every("1 minute"), new Map([[bucket(2), Every("10 seconds")]]))

  it("follows no heads, and passes at least once per shortest interval", () => {
    const { byBlocks, shortestTime } = index()
    assert.isFalse(byBlocks)
    assert.isTrue(Duration.equals(shortestTime!, Duration.seconds(10)))
  })

  it("a bucket is due at the first pass, then every interval; not on a finalized head in between", () => {
    const { index: due, states } = world([bucket(1)], index())
    assert.deepStrictEqual(due.pass(states, undefined, 0, false), [bucket(1)])
    assert.strictEqual(states.get(bucket(1))!.nextDueMillis, 60_000)
    assert.deepStrictEqual(due.pass(states, 7, 59_999, false), [])
    assert.deepStrictEqual(due.pass(states, undefined, 60_000, false), [bucket(1)])
  })

  it("the next pass is when the next bucket due by time is", () => {
    const { index: due, states } = world([bucket(1), bucket(2)], index())
    due.pass(states, undefined, 0, false)
    assert.strictEqual(Duration.toMillis(due.untilNextDue(states.values(), 3_000)), 7_000)
    assert.strictEqual(Duration.toMillis(due.untilNextDue(states.values(), 10_000)), 10_000)
  })
})

describe("buckets due by blocks and by time in one loop", () => {
  it("follows heads when any bucket is due by blocks; those due by time are looked at on every pass", () => {
    const { index, states } = world(
      [bucket(1), bucket(2)],
      LoopSchedule.make(Blocks(10), new Map([[bucket(2), Every("1 minute")]]))
    )
    assert.isTrue(index.byBlocks)
    assert.deepStrictEqual(index.pass(states, undefined, 0, false), [bucket(2)])
    assert.deepStrictEqual(index.pass(states, 100, 1_000, false), [bucket(1)])
  })
})

describe("a round's outcome on its bucket", () => {
  const settings = { maxConsecutiveFailures: 3 }
  const failed = new ProvidersUnreachable({ bucketId: bucket(1), providers: [], notAwaited: [] })

  it("each failure lengthens the streak and sets the retry; the bucket pauses itself at the maximum", () => {
    let state = fresh(bucket(1), 0)
    for (let n = 1; n <= 3; n++) {
      state = LoopRetry.afterRound(state, state, failed, 1_000, Duration.seconds(30), settings)
      assert.strictEqual(state.failureStreak, n)
      assert.strictEqual(state.retryNotBeforeMillis, 31_000)
      assert.strictEqual(state.paused, n === 3)
    }
  })

  it("the signer's balance below the minimum pauses the bucket at its first failure", () => {
    const refused = new SubmissionRefused({ bucketId: bucket(1), reason: "BalanceBelowMinimum", detail: "" })
    const state = fresh(bucket(1), 0)
    assert.isTrue(LoopRetry.afterRound(state, state, refused, 0, Duration.zero, settings).paused)
  })

  it("a refusal while an earlier attempt is in doubt adds nothing to the streak, never pauses, and waits for the due point", () => {
    const inDoubt = new SubmissionRefused({ bucketId: bucket(1), reason: "PreviousSubmissionInDoubt", detail: "" })
    let state = { ...fresh(bucket(1), 0), dirty: true }
    for (let n = 0; n < 10; n++) {
      state = LoopRetry.afterRound(state, state, inDoubt, 1_000, Duration.seconds(30), settings)
    }
    assert.strictEqual(state.failureStreak, 0)
    assert.isFalse(state.paused)
    assert.isTrue(state.dirty)
    // No retry timer: the bucket's next due point brings it back.
    assert.strictEqual(state.retryNotBeforeMillis, undefined)
    assert.isFalse(LoopRetry.retriedByTimer(inDoubt, state))
    // A bucket already failing keeps its streak, and its timer (the due points skip a failing bucket).
    const failing = LoopRetry.afterRound(
      { ...state, failureStreak: 2 },
      state,
      inDoubt,
      1_000,
      Duration.seconds(4),
      settings
    )
    assert.strictEqual(failing.failureStreak, 2)
    assert.isFalse(failing.paused)
    assert.strictEqual(failing.retryNotBeforeMillis, 5_000)
    assert.isTrue(LoopRetry.retriedByTimer(inDoubt, failing))
  })

  it("resume clears every streak and unpauses; the failing buckets with work are tried again", () => {
    const states = new Map<BucketId, BucketState>([
      [bucket(1), { ...fresh(bucket(1), 0), dirty: true, failureStreak: 3, paused: true }],
      [bucket(2), { ...fresh(bucket(2), 0), failureStreak: 1 }],
      [bucket(3), { ...fresh(bucket(3), 0), dirty: true }]
    ])
    assert.deepStrictEqual(LoopRetry.clearFailures(states, false), [bucket(1)])
    assert.isTrue(Array.from(states.values()).every((s) => !s.paused && s.failureStreak === 0))
  })
})

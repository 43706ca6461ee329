import {
  ChainClient,
  CheckpointEvents,
  CheckpointLoop,
  CheckpointManager,
  type CheckpointResult,
  Metrics,
  ProviderHealth,
  ReceiptJournal
} from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import type { MetricState } from "effect"
import { Duration, Effect, Fiber, Layer, Metric, Option, TestClock } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { after, inWorld, recordEvents, someoneElseCheckpoints, submissions, submit, truth } from "./helpers.js"

const { Behaviour } = FakeProviders
const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const bucket = (id: number, minProviders = 2): TestNetwork.BucketSetup => ({
  id,
  primaries: ["Alice", "Bob", "Charlie"],
  minProviders
})
const quick = { maxRetries: 0, graceWindow: "10 millis" } as const
/** Alice and Bob answer at once; Charlie takes `latency`, which keeps a round needing all three in flight. */
const withSlowCharlie = (
  latency: Duration.DurationInput
) => [...providers.slice(0, 2), { name: "Charlie", behaviour: Behaviour.slow(latency) }]

/** Bucket 1 with all three providers unreachable (quick rounds). */
const unreachableWorld: TestNetwork.NetworkSetup = {
  providers: providers.map((p) => ({ ...p, behaviour: Behaviour.unreachable() })),
  buckets: [bucket(1)],
  config: quick
}

const startLoop = (ids: ReadonlyArray<number>, settings: Partial<CheckpointLoop.LoopSettings>) =>
  Effect.gen(function*() {
    const world = yield* TestNetwork.TestNetwork
    const loop = yield* CheckpointLoop.make(ids.map(world.bucketId), settings)
    // Let the scheduler subscribe to the chain's heads before blocks are produced.
    yield* TestClock.adjust("1 millis")
    return loop
  })

const produce = (n: number) =>
  Effect.flatMap(
    TestNetwork.TestNetwork,
    (world) => Effect.zipRight(world.chain.produceBlocks(n), TestClock.adjust("5 seconds"))
  )

const statusOf = (loop: CheckpointLoop.CheckpointLoopService, id: number) =>
  Effect.map(loop.status, (all) => all.find((s) => s.bucketId === BigInt(id))!)

describe("CheckpointLoop driven by finalized blocks", () => {
  it.scoped("a dirty bucket is checkpointed when due, every n real blocks", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Blocks(10) })
        yield* loop.markDirty(world.bucketId(1))
        yield* produce(1) // head 2: first due
        assert.strictEqual((yield* submissions).length, 1)
        assert.strictEqual(Option.getOrThrow((yield* statusOf(loop, 1)).nextDueBlock), 12)
        assert.isFalse((yield* statusOf(loop, 1)).dirty)

        yield* world.network.append(world.bucketId(1), 3)
        yield* loop.markDirty(world.bucketId(1))
        yield* produce(5) // heads up to 8 (the submission made one block too): not due yet
        assert.strictEqual((yield* submissions).length, 1)
        yield* produce(4) // head 12: due
        assert.strictEqual((yield* submissions).length, 2)
      })
    ))

  it.scoped("a clean bucket is not checkpointed; with submitOnEmpty it is", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* startLoop([1], { interval: CheckpointLoop.Blocks(5) })
        yield* produce(20)
        assert.strictEqual((yield* submissions).length, 0)
        yield* CheckpointLoop.make([world.bucketId(2)], { interval: CheckpointLoop.Blocks(5), submitOnEmpty: true })
        yield* TestClock.adjust("1 millis")
        yield* produce(1)
        // Bucket 2 is checkpointed although nothing was marked dirty; bucket 1 still is not.
        const recorded = yield* submissions
        assert.deepStrictEqual(recorded.map((r) => r.submission.bucketId), [2n])
      })
    ))

  it.scoped("a hundred buckets run in one loop", () =>
    inWorld(
      { providers, buckets: Array.from({ length: 100 }, (_, i) => bucket(i + 1)), config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const ids = Array.from({ length: 100 }, (_, i) => i + 1)
        const loop = yield* startLoop(ids, { interval: CheckpointLoop.Blocks(10), concurrency: 8 })
        for (const id of ids) yield* loop.markDirty(world.bucketId(id))
        yield* produce(1)
        for (let i = 0; i < 300; i++) yield* TestClock.adjust("200 millis")
        const recorded = yield* submissions
        assert.strictEqual(recorded.length, 100)
        assert.strictEqual(new Set(recorded.map((r) => r.submission.bucketId)).size, 100)
        assert.isTrue((yield* loop.status).every((s) => !s.dirty && s.failureStreak === 0))
      })
    ), 60_000)
})

describe("CheckpointLoop failures, pause and resume", () => {
  it.scoped("after N failures the bucket pauses itself with an event; resume clears the streak", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("10 seconds"),
          maxConsecutiveFailures: 3,
          failureRetryDelay: Duration.seconds(1),
          failureRetryMaxDelay: Duration.seconds(4),
          // Rounds alone: health probes would open the breakers of the unreachable providers meanwhile.
          probeInterval: Option.none()
        })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("2 minutes")
        const paused = yield* statusOf(loop, 1)
        assert.isTrue(paused.paused)
        assert.strictEqual(paused.failureStreak, 3)
        const failures = (yield* events).filter((e) => e._tag === "CheckpointFailed")
        assert.deepStrictEqual(failures.map((e) => e._tag === "CheckpointFailed" && e.willRetry), [true, true, false])
        assert.isTrue((yield* events).some((e) => e._tag === "LoopPaused" && e.bucketId === world.bucketId(1)))

        // Still paused: more time brings no more attempts.
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual((yield* statusOf(loop, 1)).failureStreak, 3)

        for (const name of ["Alice", "Bob", "Charlie"]) yield* world.network.setBehaviour(name, Behaviour.honest())
        yield* loop.resume
        yield* TestClock.adjust("30 seconds")
        const resumed = yield* statusOf(loop, 1)
        assert.isFalse(resumed.paused)
        assert.strictEqual(resumed.failureStreak, 0)
        assert.deepStrictEqual(resumed.lastResult, Option.some("Submitted"))
        assert.isTrue((yield* events).some((e) => e._tag === "LoopResumed"))
      })
    ))

  it.effect("the failure backoff follows the schedule: doubling from the base, capped", () =>
    Effect.gen(function*() {
      const settings = {
        ...CheckpointLoop.defaultSettings,
        failureRetryDelay: Duration.seconds(30),
        failureRetryMaxDelay: Duration.minutes(3)
      }
      const delays = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => CheckpointLoop.failureBackoff(settings, n))
      assert.deepStrictEqual(delays.map(Duration.toSeconds), [30, 60, 120, 180, 180])
    }))

  it.scoped("stop during an in-flight round returns at once; the round is interrupted, nothing recorded", () =>
    inWorld(
      {
        providers: withSlowCharlie("10 minutes"),
        buckets: [bucket(1, 3)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 second") })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("2 seconds")
        assert.isTrue((yield* statusOf(loop, 1)).inFlight)
        yield* loop.stop // no clock advance: it must not wait for the round
        assert.isFalse(yield* loop.isRunning)
        const status = yield* statusOf(loop, 1)
        assert.isFalse(status.inFlight)
        assert.isTrue(status.dirty)
        assert.strictEqual(status.failureStreak, 0)
        yield* TestClock.adjust("20 minutes")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.scoped("pause interrupts a round in flight; submitNow still runs while paused, and leaves it paused", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.pause
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("5 minutes")
        assert.strictEqual((yield* submissions).length, 0)
        // An explicit request is honoured even while paused (a documented choice).
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual((yield* submissions).length, 1)
        assert.isFalse((yield* statusOf(loop, 1)).dirty)
        yield* world.network.append(world.bucketId(1), 1)
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("5 minutes")
        assert.strictEqual((yield* submissions).length, 1, "the loop itself stays paused")
      })
    ))

  it.scoped("pause interrupts a round that is in flight: nothing is submitted, the bucket stays dirty", () =>
    inWorld(
      {
        providers: withSlowCharlie("10 seconds"),
        buckets: [bucket(1, 3)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("1 second")
        assert.isTrue((yield* statusOf(loop, 1)).inFlight)
        yield* loop.markDirty(world.bucketId(1))
        yield* loop.pause
        const status = yield* statusOf(loop, 1)
        assert.isFalse(status.inFlight)
        assert.isTrue(status.dirty)
        yield* TestClock.adjust("5 minutes")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.scoped("after stop, nothing is submitted, not even on request", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.stop
        yield* loop.markDirty(world.bucketId(1))
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("5 minutes")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.scoped("a write during a round keeps the bucket dirty for the next round", () =>
    inWorld(
      {
        providers: withSlowCharlie("3 seconds"),
        buckets: [bucket(1, 3)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("61 seconds") // the next due point starts the round
        assert.isTrue((yield* statusOf(loop, 1)).inFlight)
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("10 seconds")
        const status = yield* statusOf(loop, 1)
        assert.deepStrictEqual(status.lastResult, Option.some("Submitted"))
        assert.isTrue(status.dirty, "the write made during the round is still to be checkpointed")
      })
    ))

  it.scoped("submitNow during a round in flight coalesces into one more round", () =>
    inWorld(
      {
        providers: withSlowCharlie("3 seconds"),
        buckets: [bucket(1, 3)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 hour") })
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("1 second")
        yield* loop.submitNow(world.bucketId(1))
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("20 seconds")
        // The first round, then exactly one more for both requests made while it ran.
        const times = yield* world.network.requestTimes("Charlie")
        assert.strictEqual(times.length, 2)
      })
    ))
})

describe("events, callbacks and metrics", () => {
  it.scoped("events arrive in order: conflict, then success; a failure says whether it will be retried", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.lagging(2) }],
        buckets: [bucket(1)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("65 seconds")
        // (Provider health reports each provider's first status too; this test is about the round's events.)
        const roundEvents = (yield* events).filter((e) => e._tag !== "ProviderStatusChanged")
        assert.deepStrictEqual(roundEvents.map((e) => e._tag), ["ProviderConflict", "CheckpointSubmitted"])
        const conflict = roundEvents[0]
        assert.isTrue(
          conflict._tag === "ProviderConflict" && conflict.disagreeing[0].conflict === "SyncDelay" &&
            conflict.disagreeing[0].provider === world.account("Charlie")
        )
      })
    ))

  it.scoped("a callback that throws does not stop the loop, and the others still run", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const delivered: Array<string> = []
        const errors: Array<unknown> = []
        yield* CheckpointEvents.callbacks({
          onCheckpointSubmitted: (bucketId) => {
            delivered.push(String(bucketId))
            if (bucketId === world.bucketId(1)) throw new Error("user callback bug")
          },
          onCallbackError: (error) => errors.push(error)
        })
        const loop = yield* startLoop([1, 2], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("65 seconds")
        yield* loop.markDirty(world.bucketId(2))
        yield* TestClock.adjust("2 minutes")
        assert.deepStrictEqual(delivered, ["1", "2"])
        assert.strictEqual(errors.length, 1)
        assert.isTrue(yield* loop.isRunning)
      })
    ))

  it.scoped("metrics after a scripted scenario: rounds, outcomes by bucket, signatures, broadcasts", () =>
    inWorld(
      {
        providers,
        buckets: [bucket(9001), bucket(9002, 4)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const count = (metric: Metric.Metric.Counter<number>) =>
          Effect.map(Metric.value(metric), (state: MetricState.MetricState.Counter<number>) => state.count)
        const outcome = (tag: string, id: number) =>
          count(Metric.tagged(Metric.tagged(Metrics.outcomes, "outcome", tag), "bucket", String(id)))
        const roundsBefore = yield* count(Metrics.rounds)
        const signaturesBefore = yield* count(Metrics.signaturesCollected)
        const loop = yield* startLoop([9001, 9002], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.markDirty(world.bucketId(9001))
        yield* loop.markDirty(world.bucketId(9002))
        yield* TestClock.adjust("65 seconds")
        assert.strictEqual(yield* outcome("Submitted", 9001), 1)
        assert.strictEqual(yield* outcome("InsufficientConsensus", 9002), 1)
        // Other tests run concurrently and share the registry: compare at least what this one added.
        assert.isAtLeast((yield* count(Metrics.rounds)) - roundsBefore, 2)
        // Three signatures from bucket 9001's round; 9002's failed round carries no decision.
        assert.isAtLeast((yield* count(Metrics.signaturesCollected)) - signaturesBefore, 3)
        // Bucket 9002 has never been checkpointed: the gauge counts from the loop's start, 65 s ago.
        const gauge = yield* Metric.value(Metric.tagged(Metrics.secondsSinceLastCheckpoint, "bucket", "9002"))
        assert.isAtLeast(gauge.value, 60)
      })
    ))

  it.scoped("the watchdog reports a bucket with no successful checkpoint for too long, once", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const events = yield* recordEvents
        yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 minute"),
          overdueAfter: Option.some(Duration.minutes(10))
        })
        yield* TestClock.adjust("9 minutes")
        assert.isFalse((yield* events).some((e) => e._tag === "CheckpointOverdue"))
        yield* TestClock.adjust("5 minutes")
        yield* TestClock.adjust("30 minutes")
        assert.strictEqual((yield* events).filter((e) => e._tag === "CheckpointOverdue").length, 1)
      })
    ))
})

describe("provider health in rounds", () => {
  it.scoped("status changes are events, and an open breaker stops asking a failing provider", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.unreachable() }],
        buckets: [bucket(1)],
        config: quick,
        health: { unreachableAfter: 2, breakerCooldown: Duration.minutes(10) }
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        // Rounds alone (ProviderProbe.test.ts has the breaker opened by health probes).
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 minute"),
          submitOnEmpty: true,
          probeInterval: Option.none()
        })
        yield* TestClock.adjust("5 minutes")
        const health = yield* ProviderHealth.ProviderHealth
        const charlie = yield* health.snapshot(world.account("Charlie"))
        assert.strictEqual(charlie.status, "Unreachable")
        assert.strictEqual(charlie.breaker, "Open")
        // Two failed requests opened the breaker; the later rounds did not ask Charlie at all.
        assert.strictEqual((yield* world.network.requestTimes("Charlie")).length, 2)
        assert.isAtLeast((yield* world.network.requestTimes("Alice")).length, 5)
        const changes = (yield* events).filter((e) => e._tag === "ProviderStatusChanged")
        assert.isTrue(changes.some((e) => e._tag === "ProviderStatusChanged" && e.to === "Unreachable"))
        assert.isTrue(yield* loop.isRunning)
      })
    ))
})

describe("loop state survives a restart through the journal", () => {
  it.scoped("dirty buckets and provider health come back, with their real times", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.unreachable() }],
        buckets: [bucket(1), bucket(2)],
        config: quick,
        journal: "memory",
        health: {}
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* TestClock.setTime(1_700_000_000_000)
        // No health probes: the failures counted are the rounds'.
        const noProbes = { probeInterval: Option.none() }
        const first = yield* startLoop([1, 2], { interval: CheckpointLoop.Every("1 minute"), ...noProbes })
        yield* first.markDirty(world.bucketId(1))
        yield* TestClock.adjust("61 seconds")
        yield* first.markDirty(world.bucketId(2))
        yield* first.stop
        const health = yield* ProviderHealth.ProviderHealth
        const failedAt = Option.getOrThrow((yield* health.snapshot(world.account("Charlie"))).lastFailureMillis)
        assert.isAtLeast(failedAt, 1_700_000_000_000)

        // A new loop (as after a restart) starts from what was journaled.
        yield* health.restore([])
        assert.deepStrictEqual((yield* submissions).map((r) => r.submission.bucketId), [1n])
        const second = yield* startLoop([], { interval: CheckpointLoop.Every("1 minute"), ...noProbes })
        yield* TestClock.adjust("5 seconds")
        // Bucket 2 was never marked dirty in this loop: the journal remembered it, and it was checkpointed.
        assert.deepStrictEqual((yield* submissions).map((r) => r.submission.bucketId), [1n, 2n])
        assert.isTrue((yield* second.status).some((s) => s.bucketId === world.bucketId(2) && !s.dirty))
        // The journaled failure (cleared from memory above) came back, and the new round added one.
        const charlie = yield* health.snapshot(world.account("Charlie"))
        assert.strictEqual(charlie.failures, 2)
        assert.isTrue(Option.getOrThrow(charlie.lastFailureMillis) >= failedAt)
      })
    ))
})

/** When each round asked Alice (one request per round: `quick` makes no provider retries). */
const roundTimes = Effect.flatMap(TestNetwork.TestNetwork, (world) => world.network.requestTimes("Alice"))

/** The `willRetry` of every `CheckpointFailed` event, in order. */
const willRetries = (events: ReadonlyArray<CheckpointEvents.CheckpointEvent>) =>
  events.flatMap((e) => (e._tag === "CheckpointFailed" ? [e.willRetry] : []))

const setAll = (behaviour: FakeProviders.Behaviour) =>
  Effect.flatMap(
    TestNetwork.TestNetwork,
    (world) =>
      Effect.forEach(["Alice", "Bob", "Charlie"], (name) => world.network.setBehaviour(name, behaviour), {
        discard: true
      })
  )

/**
 * Bucket 1 with an extrinsic whose outcome is lost (it may still land until its mortal era ends) while
 * someone else checkpoints newer data: the lost one must not be sent again (it would move the snapshot
 * back), and nothing new is signed until it settles. The submissions made so far.
 */
const anAttemptInDoubt = Effect.gen(function*() {
  const world = yield* TestNetwork.TestNetwork
  yield* world.chain.injectFailure(
    new ChainClient.SubmissionFailed({ stage: "Dropped", detail: "connection lost", maybeIncluded: true })
  )
  assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "TransactionFailed")
  yield* world.network.append(world.bucketId(1), 2)
  yield* someoneElseCheckpoints(1)
  yield* world.network.append(world.bucketId(1), 3)
  return (yield* submissions).length
})

describe("retries after a failure", () => {
  it.scoped("CheckpointFailed.willRetry is true exactly when a retry is scheduled, and each one is followed by an attempt", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        // Due points an hour apart: every attempt after the first is the failure schedule's own.
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 hour"),
          maxConsecutiveFailures: 3,
          failureRetryDelay: Duration.seconds(1),
          failureRetryMaxDelay: Duration.seconds(4)
        })
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("10 seconds")
        const times = yield* roundTimes
        assert.deepStrictEqual(willRetries(yield* events), [true, true, false])
        // One attempt, then one more for each failure that said it would be retried, after its backoff.
        assert.deepStrictEqual(times.map((t) => t - times[0]), [0, 1000, 3000])
        const status = yield* statusOf(loop, 1)
        assert.isTrue(status.paused)
        assert.strictEqual(status.failureStreak, 3)

        // The last failure said no retry: none comes, neither from a timer nor from the due points.
        yield* TestClock.adjust("3 hours")
        assert.strictEqual((yield* roundTimes).length, 3)
        assert.strictEqual(willRetries(yield* events).length, 3)
      })
    ))

  it.scoped("a refusal while an earlier attempt is in doubt says willRetry false for a clean bucket that nothing will try again", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* anAttemptInDoubt
        const events = yield* recordEvents
        // Not dirty and no submitOnEmpty: the due points start no round for it, and no timer runs.
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("5 seconds"),
          probeInterval: Option.none()
        })
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("1 minute")
        const refusals = (yield* events).filter((e) =>
          e._tag === "CheckpointFailed" && e.refusal === "PreviousSubmissionInDoubt"
        )
        assert.deepStrictEqual(refusals.map((e) => e._tag === "CheckpointFailed" && e.willRetry), [false])
      })
    ))

  it.scoped("an earlier attempt still in doubt is no failure of the bucket: no backoff, no auto-pause; it lands at the due point after that attempt settles", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const paid = yield* anAttemptInDoubt

        const events = yield* recordEvents
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("5 seconds"),
          maxConsecutiveFailures: 2,
          failureRetryDelay: Duration.seconds(1),
          probeInterval: Option.none()
        })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("31 seconds")
        const refusals = (yield* events).filter((e) =>
          e._tag === "CheckpointFailed" && e.refusal === "PreviousSubmissionInDoubt"
        )
        // One refusal at each due point (every 5 s), each to be tried again; no retry timer in between (a
        // failure's would have tried after 1 s), no streak, and so no auto-pause after two.
        assert.strictEqual(refusals.length, 6)
        assert.isTrue(refusals.every((e) => e._tag === "CheckpointFailed" && e.willRetry))
        const waiting = yield* statusOf(loop, 1)
        assert.strictEqual(waiting.failureStreak, 0)
        assert.isFalse(waiting.paused)
        assert.isFalse((yield* events).some((e) => e._tag === "LoopPaused"))
        assert.strictEqual((yield* submissions).length, paid)

        // Past the end of its mortal era and not on chain: the attempt is dead; the next due point pays.
        const stored = Option.getOrThrow(yield* (yield* ReceiptJournal.ReceiptJournal).read(world.bucketId(1)))
        yield* world.chain.produceBlocks(ChainClient.validUntil(Option.getOrThrow(stored.unresolved).prepared))
        yield* TestClock.adjust("5 seconds")
        const landed = yield* statusOf(loop, 1)
        assert.deepStrictEqual(landed.lastResult, Option.some("Submitted"))
        assert.strictEqual((yield* submissions).length, paid + 1)
      })
    ))

  it.scoped("a failed CheckpointManager.submitCheckpoint says willRetry false, and nothing tries again", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const events = yield* recordEvents
        // A loop over the same bucket runs meanwhile: the manual attempt's failure is not its to retry.
        yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 minute"),
          failureRetryDelay: Duration.seconds(1)
        })
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag, "ProvidersUnreachable")
        assert.deepStrictEqual(willRetries(yield* events), [false])
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* roundTimes).length, 1)
        assert.deepStrictEqual(willRetries(yield* events), [false])
      })
    ))

  it.scoped("pause cancels a pending retry: no attempt while paused", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 hour"),
          failureRetryDelay: Duration.seconds(10)
        })
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(willRetries(yield* events), [true])
        yield* loop.pause
        yield* setAll(Behaviour.honest())
        yield* TestClock.adjust("30 minutes")
        assert.strictEqual((yield* roundTimes).length, 1, "the retry due at 10 s did not run")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.scoped("resume at once tries again a failing bucket whose retry timer pause cancelled", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        // The next due point is an hour away: an attempt before it is resume's own.
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 hour"),
          failureRetryDelay: Duration.seconds(10)
        })
        yield* loop.markDirty(world.bucketId(1))
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(willRetries(yield* events), [true])
        yield* loop.pause
        yield* setAll(Behaviour.honest())
        yield* TestClock.adjust("1 minute")
        assert.strictEqual((yield* submissions).length, 0, "the retry due at 10 s was cancelled")

        yield* loop.resume
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual((yield* submissions).length, 1)
        const status = yield* statusOf(loop, 1)
        assert.isFalse(status.dirty)
        assert.strictEqual(status.failureStreak, 0)
      })
    ))

  it.scoped("a failure while paused says willRetry false, and is not retried", () =>
    inWorld(
      unreachableWorld,
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 hour"),
          failureRetryDelay: Duration.seconds(10)
        })
        yield* loop.pause
        // An explicit request runs while paused; its failure schedules nothing.
        yield* loop.submitNow(world.bucketId(1))
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(willRetries(yield* events), [false])
        yield* setAll(Behaviour.honest())
        yield* TestClock.adjust("30 minutes")
        assert.strictEqual((yield* roundTimes).length, 1)
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))
})

/** The result of the last attempt a manager made for bucket 1. */
const lastResult = Effect.gen(function*() {
  const manager = yield* CheckpointManager.CheckpointManager
  const status = yield* manager.checkpointStatus(yield* TestNetwork.bucket(1))
  return Option.getOrThrow(status.lastAttempt).result as CheckpointResult.CheckpointResult
})

const leafCounts = Effect.map(submissions, (all) => all.map((r) => r.submission.commitment.leafCount))

const journaled = (id: number) =>
  Effect.flatMap(
    ReceiptJournal.ReceiptJournal,
    (journal) => Effect.map(journal.read(BigInt(id) as never), Option.getOrThrow)
  )

/** One round of `run` that collects and journals its decision, then loses the chain before it can pay. */
const chainLostAfterCollecting = <A, E, R>(run: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const world = yield* TestNetwork.TestNetwork
    yield* setAll(Behaviour.slow("2 seconds"))
    const fiber = yield* Effect.fork(run)
    yield* TestClock.adjust("1 second")
    yield* world.chain.setUnavailable(true)
    yield* TestClock.adjust("2 seconds")
    yield* world.chain.setUnavailable(false)
    return fiber
  })

describe("the loop after someone else checkpoints", () => {
  it.scoped("no silent stall: a dirty bucket's next due round asks the providers afresh and submits the newest data", () =>
    inWorld(
      {
        // Charlie lags: every round reports a ProviderConflict, naming the majority root it saw.
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.lagging(1) }],
        buckets: [bucket(1)],
        config: quick,
        journal: "memory"
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        const loop = yield* startLoop([1], { interval: CheckpointLoop.Every("1 minute") })
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("61 seconds")
        assert.deepStrictEqual(yield* leafCounts, [10n])

        // Two leaves are written, and someone else checkpoints them before our next due point.
        yield* world.network.append(world.bucketId(1), 2)
        yield* someoneElseCheckpoints(1)
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("50 seconds") // due at 2 minutes: the chain already holds it
        const held = yield* lastResult
        assert.strictEqual(held._tag, "AlreadyCheckpointed")
        assert.strictEqual(held._tag === "AlreadyCheckpointed" && held.relation, "Same")
        assert.strictEqual(held._tag === "AlreadyCheckpointed" && Number(held.snapshot.commitment.leafCount), 12)
        assert.deepStrictEqual(yield* leafCounts, [10n, 12n])

        // Three more leaves: the next due round, a minute on (not ten), submits them.
        yield* world.network.append(world.bucketId(1), 3)
        yield* loop.markDirty(world.bucketId(1))
        const newest = yield* truth(1)
        const seen = (yield* events).length
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(yield* leafCounts, [10n, 12n, 15n])
        const submitted = yield* lastResult
        assert.strictEqual(submitted._tag === "Submitted" && submitted.reused, false)
        assert.isFalse((yield* statusOf(loop, 1)).dirty)
        const conflicts = (yield* events).slice(seen).filter((e) => e._tag === "ProviderConflict")
        assert.isAbove(conflicts.length, 0)
        assert.isTrue(
          conflicts.every((e) => e._tag === "ProviderConflict" && e.majorityRoot === newest.mmrRoot),
          "the conflict is reported against the newest data, not re-reported from an old round"
        )
        assert.strictEqual((yield* world.chain.counts).repeated, 0)
      })
    ))

  it.scoped("a journaled round is reused at the first attempt after a restart, and never at a later attempt", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick, journal: "memory" },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        // The first process: its round met the threshold and was journaled; then the chain went away.
        const first = yield* chainLostAfterCollecting(submit(1))
        assert.strictEqual((yield* Fiber.join(first))._tag, "ChainUnavailable")
        const left = yield* journaled(1)
        assert.strictEqual(left.rounds.at(-1)?.action, "Submit")
        assert.strictEqual(left.attempts.length, 0)

        // The next process: a manager and a loop of its own, over the same journal.
        yield* setAll(Behaviour.unreachable())
        const restarted = yield* Layer.build(CheckpointManager.CheckpointManager.layerRound)
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("1 hour"),
          failureRetryDelay: Duration.seconds(10)
        }).pipe(Effect.provide(restarted))
        const asked = (yield* roundTimes).length
        const reused = yield* after("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        assert.strictEqual(reused._tag === "Submitted" && reused.reused, true)
        assert.deepStrictEqual(yield* leafCounts, [10n])
        assert.strictEqual((yield* roundTimes).length, asked, "the providers were not asked")

        // A later attempt journals a round for 12 leaves and loses the chain before paying ...
        yield* world.network.append(world.bucketId(1), 2)
        yield* chainLostAfterCollecting(loop.submitNow(world.bucketId(1)))
        assert.deepStrictEqual((yield* statusOf(loop, 1)).lastResult, Option.some("ChainUnavailable"))
        const unpaid = (yield* journaled(1)).rounds.at(-1)
        assert.strictEqual(unpaid?.action, "Submit")
        assert.strictEqual(unpaid && Number(Option.getOrThrow(unpaid.decision.majority).commitment.leafCount), 12)

        // ... and its retry asks the providers, who now hold 15: the journaled round is not reused.
        yield* world.network.append(world.bucketId(1), 3)
        yield* TestClock.adjust("15 seconds")
        assert.deepStrictEqual(yield* leafCounts, [10n, 15n])
        const fresh = yield* lastResult.pipe(Effect.provide(restarted))
        assert.strictEqual(fresh._tag === "Submitted" && fresh.reused, false)
      })
    ))
})

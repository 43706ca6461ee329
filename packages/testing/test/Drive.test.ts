import { CheckpointLoop, CheckpointManager, Drive } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { inWorld, recordEvents, submissions } from "./helpers.js"

const { Behaviour } = FakeProviders
const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const bucket = (id: number): TestNetwork.BucketSetup => ({
  id,
  primaries: ["Alice", "Bob", "Charlie"],
  minProviders: 2
})
const quick = { maxRetries: 0, graceWindow: "10 millis" } as const

const openDrive = (id: number, strategy: Drive.CommitStrategy) =>
  Effect.gen(function*() {
    const drives = yield* Drive.make()
    const world = yield* TestNetwork.TestNetwork
    return yield* drives.open(world.bucketId(id), strategy)
  })

/** A write to the providers (new data), then the drive is told. */
const write = (drive: Drive.Drive) =>
  Effect.flatMap(
    TestNetwork.TestNetwork,
    (world) => Effect.zipRight(world.network.append(drive.bucketId, 1), drive.recordWrite)
  )

describe("commit strategies", () => {
  it.scoped("Immediate: a write checkpoints now; writes during a round coalesce into one more", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.slow("2 seconds") }],
        buckets: [bucket(1)],
        config: quick
      },
      Effect.gen(function*() {
        const drive = yield* openDrive(1, Drive.Immediate)
        yield* write(drive)
        yield* TestClock.adjust("500 millis")
        assert.strictEqual((yield* submissions).length, 1, "checkpointed without waiting for any interval")
        yield* write(drive)
        yield* write(drive)
        yield* write(drive)
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual((yield* submissions).length, 2, "three writes, one more checkpoint")
        assert.isFalse(yield* drive.hasPendingChanges)
      })
    ))

  it.scoped("Batched: writes wait for the interval", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const drive = yield* openDrive(1, Drive.Batched(CheckpointLoop.Every("1 minute")))
        yield* write(drive)
        yield* write(drive)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual((yield* submissions).length, 0)
        assert.isTrue(yield* drive.hasPendingChanges)
        yield* TestClock.adjust("35 seconds")
        assert.strictEqual((yield* submissions).length, 1)
        assert.isFalse(yield* drive.hasPendingChanges)
      })
    ))

  it.scoped("Manual: writes only accumulate until commitChanges", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: quick },
      Effect.gen(function*() {
        const drive = yield* openDrive(1, Drive.Manual)
        yield* write(drive)
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* submissions).length, 0)
        assert.isTrue(yield* drive.hasPendingChanges)
        const fiber = yield* Effect.fork(drive.commitChanges)
        yield* TestClock.adjust("5 seconds")
        const result = yield* fiber
        assert.strictEqual(result._tag, "Submitted")
        assert.strictEqual((yield* submissions).length, 1)
        assert.isFalse(yield* drive.hasPendingChanges)
      })
    ))

  it.scoped("several drives at once, each with its own strategy", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2), bucket(3)], config: quick },
      Effect.gen(function*() {
        const drives = yield* Drive.make()
        const world = yield* TestNetwork.TestNetwork
        const now = yield* drives.open(world.bucketId(1), Drive.Immediate)
        const later = yield* drives.open(world.bucketId(2), Drive.Batched(CheckpointLoop.Every("1 minute")))
        const manual = yield* drives.open(world.bucketId(3), Drive.Manual)
        yield* write(now)
        yield* write(later)
        yield* write(manual)
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual((yield* submissions).map((r) => r.submission.bucketId), [1n])
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual((yield* submissions).map((r) => r.submission.bucketId).sort(), [1n, 2n])
        assert.isTrue(yield* manual.hasPendingChanges)
      })
    ))
})

describe("failures under a commit strategy", () => {
  it.scoped(
    "An Immediate drive whose checkpoint fails is retried on the failure schedule without waiting for another write",
    () =>
      inWorld(
        {
          providers: providers.map((p) => ({ ...p, behaviour: Behaviour.unreachable() })),
          buckets: [bucket(1)],
          config: quick
        },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          const events = yield* recordEvents
          const drives = yield* Drive.make({
            failureRetryDelay: Duration.seconds(10),
            failureRetryMaxDelay: Duration.minutes(1),
            maxConsecutiveFailures: 3
          })
          const drive = yield* drives.open(world.bucketId(1), Drive.Immediate)
          /** When each attempt asked Alice (one request per attempt: `quick` makes no provider retries). */
          const attempts = Effect.map(world.network.requestTimes("Alice"), (times) => times.map((t) => t - times[0]))

          yield* write(drive) // the only write of this test
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual(yield* attempts, [0])
          assert.isTrue(yield* drive.hasPendingChanges)

          // The first backoff is 10 s: nothing before it, the retry at it (and it fails too).
          yield* TestClock.adjust("8 seconds")
          assert.deepStrictEqual(yield* attempts, [0])
          yield* TestClock.adjust("1500 millis")
          assert.deepStrictEqual(yield* attempts, [0, 10_000])

          // The providers come back; the second backoff is 20 s, and the retry then lands the checkpoint.
          for (const name of ["Alice", "Bob", "Charlie"]) yield* world.network.setBehaviour(name, Behaviour.honest())
          yield* TestClock.adjust("18 seconds")
          assert.deepStrictEqual(yield* attempts, [0, 10_000])
          assert.strictEqual((yield* submissions).length, 0)
          yield* TestClock.adjust("2 seconds")
          assert.deepStrictEqual(yield* attempts, [0, 10_000, 30_000])
          assert.strictEqual((yield* submissions).length, 1)
          assert.isFalse(yield* drive.hasPendingChanges)

          const outcomes = (yield* events).flatMap((e) =>
            e._tag === "CheckpointFailed"
              ? [`failed, willRetry ${e.willRetry}`]
              : e._tag === "CheckpointSubmitted"
              ? ["submitted"]
              : []
          )
          assert.deepStrictEqual(outcomes, ["failed, willRetry true", "failed, willRetry true", "submitted"])

          // Nothing is pending: no further attempt.
          yield* TestClock.adjust("10 minutes")
          assert.strictEqual((yield* attempts).length, 3)
          assert.strictEqual((yield* submissions).length, 1)
        })
      )
  )
})

const setAll = (behaviour: FakeProviders.Behaviour) =>
  Effect.flatMap(
    TestNetwork.TestNetwork,
    (world) => Effect.forEach(providers, ({ name }) => world.network.setBehaviour(name, behaviour), { discard: true })
  )

/** The leaf count of every checkpoint that reached the chain, oldest first. */
const leafCounts = Effect.map(submissions, (all) => all.map((r) => r.submission.commitment.leafCount))

describe("an Immediate drive after a restart", () => {
  it.scoped(
    "a journaled round reused after a restart is followed at once by a fresh round that checkpoints the newest writes",
    () =>
      inWorld(
        { providers, buckets: [bucket(1)], config: quick, journal: "memory" },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          const bucketId = world.bucketId(1)

          // The first process: its round for 11 leaves met the threshold and was journaled, then the chain
          // went away before it could pay; one more leaf was written, and the process ended mid-round.
          yield* Effect.scoped(Effect.gen(function*() {
            const drives = yield* Drive.make()
            const drive = yield* drives.open(bucketId, Drive.Immediate)
            yield* setAll(Behaviour.slow("2 seconds"))
            yield* write(drive)
            yield* TestClock.adjust("1 second")
            yield* world.chain.setUnavailable(true)
            yield* TestClock.adjust("2 seconds")
            assert.deepStrictEqual(yield* leafCounts, [])
            yield* write(drive)
          }))
          yield* world.chain.setUnavailable(false)
          yield* setAll(Behaviour.honest())

          // The next process: a manager and drives of its own, over the same journal; no write is made.
          const asked = (yield* world.network.requestTimes("Alice")).length
          const restarted = yield* Layer.build(CheckpointManager.CheckpointManager.layerRound)
          const drives = yield* Drive.make().pipe(Effect.provide(restarted))
          const drive = yield* drives.open(bucketId, Drive.Immediate)
          yield* TestClock.adjust("5 seconds")
          // The journaled round (11 leaves) settles what the first process left; a fresh one then submits 12.
          assert.deepStrictEqual(yield* leafCounts, [11n, 12n])
          assert.isFalse(yield* drive.hasPendingChanges)
          assert.strictEqual(
            (yield* world.network.requestTimes("Alice")).length,
            asked + 1,
            "the reused round asked no provider; the fresh one asked each once"
          )
        })
      )
  )
})

describe("auto-pause under a commit strategy", () => {
  it.scoped("a success clears a bucket's auto-pause: LoopResumed for the bucket, and its next failure is retried", () =>
    inWorld(
      {
        providers: providers.map((p) => ({ ...p, behaviour: Behaviour.unreachable() })),
        buckets: [bucket(1)],
        config: quick
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const bucketId = world.bucketId(1)
        const events = yield* recordEvents
        const drives = yield* Drive.make({ maxConsecutiveFailures: 2, failureRetryDelay: Duration.seconds(10) })
        const drive = yield* drives.open(bucketId, Drive.Immediate)
        const willRetries = Effect.map(
          events,
          (all) => all.flatMap((e) => (e._tag === "CheckpointFailed" ? [e.willRetry] : []))
        )

        // Two failures (the write's round and its retry): the bucket pauses itself.
        yield* write(drive)
        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual(yield* willRetries, [true, false])
        assert.isTrue((yield* events).some((e) => e._tag === "LoopPaused" && e.bucketId === bucketId))

        // The providers come back, and a write's round succeeds: the bucket is no longer paused.
        yield* setAll(Behaviour.honest())
        yield* write(drive)
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual((yield* submissions).length, 1)
        assert.isTrue((yield* events).some((e) => e._tag === "LoopResumed" && e.bucketId === bucketId))

        // So a later failure is retried after its backoff again, and the retry lands the checkpoint.
        yield* setAll(Behaviour.unreachable())
        yield* write(drive)
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* willRetries, [true, false, true])
        yield* setAll(Behaviour.honest())
        yield* TestClock.adjust("15 seconds")
        assert.strictEqual((yield* submissions).length, 2)
        assert.isFalse(yield* drive.hasPendingChanges)
      })
    ))
})

import { CheckpointLoop, Drive } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { inWorld, submissions } from "./helpers.js"

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

import { CheckpointLoop, CheckpointManager, type CheckpointResult } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { inWorld, recordEvents, someoneElseCheckpoints, submissions, truth } from "./helpers.js"

const { Behaviour } = FakeProviders
const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const bucket1: TestNetwork.BucketSetup = { id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }
const quick = { maxRetries: 0, graceWindow: "10 millis" } as const

/** A watcher over bucket 1: every interval is a round, whether or not anyone says data was written. */
const startWatcher = (interval: CheckpointLoop.Interval) =>
  Effect.gen(function*() {
    const world = yield* TestNetwork.TestNetwork
    const loop = yield* CheckpointLoop.make([world.bucketId(1)], { interval, submitOnEmpty: true })
    // Let the scheduler subscribe to the chain's heads before blocks are produced.
    yield* TestClock.adjust("1 millis")
    return loop
  })

/** How a test moves the world on by one interval of each kind. */
const watchers = [
  {
    name: "every minute",
    interval: CheckpointLoop.Every("1 minute"),
    // The first pass runs when the loop starts; its round needs a moment.
    first: TestClock.adjust("1 second"),
    next: TestClock.adjust("1 minute")
  },
  {
    name: "every 5 blocks",
    interval: CheckpointLoop.Blocks(5),
    first: Effect.flatMap(
      TestNetwork.TestNetwork,
      (world) => Effect.zipRight(world.chain.produceBlocks(1), TestClock.adjust("5 seconds"))
    ),
    next: Effect.flatMap(
      TestNetwork.TestNetwork,
      (world) => Effect.zipRight(world.chain.produceBlocks(5), TestClock.adjust("5 seconds"))
    )
  }
] as const

/** The result of the last attempt the world's manager made for bucket 1. */
const lastResult = Effect.gen(function*() {
  const manager = yield* CheckpointManager.CheckpointManager
  const status = yield* manager.checkpointStatus(yield* TestNetwork.bucket(1))
  return Option.getOrThrow(status.lastAttempt).result as CheckpointResult.CheckpointResult
})

const rounds = Effect.flatMap(TestNetwork.TestNetwork, (world) => world.network.requestTimes("Alice"))
const leafCounts = Effect.map(submissions, (all) => all.map((r) => r.submission.commitment.leafCount))

describe("a watcher (submitOnEmpty) pays only for new data", () => {
  for (const watcher of watchers) {
    it.scoped(
      `${watcher.name}: unchanged providers cost a round each interval and no submission; new leaves are submitted once`,
      () =>
        inWorld(
          { providers, buckets: [bucket1], config: quick },
          Effect.gen(function*() {
            const world = yield* TestNetwork.TestNetwork
            yield* startWatcher(watcher.interval)
            yield* watcher.first
            assert.deepStrictEqual(yield* leafCounts, [10n])

            for (let interval = 1; interval <= 4; interval++) {
              const asked = (yield* rounds).length
              yield* watcher.next
              assert.strictEqual((yield* rounds).length, asked + 1, `interval ${interval}: one round`)
              const result = yield* lastResult
              assert.strictEqual(result._tag, "AlreadyCheckpointed")
              assert.strictEqual(result._tag === "AlreadyCheckpointed" && result.relation, "Same")
            }
            assert.deepStrictEqual(yield* leafCounts, [10n], "no submission while nothing changed")

            yield* world.network.append(world.bucketId(1), 3)
            yield* watcher.next
            assert.deepStrictEqual(yield* leafCounts, [10n, 13n], "the next interval submits the new leaves")
            assert.strictEqual((yield* lastResult)._tag, "Submitted")

            yield* watcher.next
            yield* watcher.next
            assert.deepStrictEqual(yield* leafCounts, [10n, 13n])
            assert.deepStrictEqual(yield* world.chain.counts, { included: 2, landed: 2, repeated: 0 })
          })
        )
    )
  }
})

describe("a watcher after someone else checkpoints", () => {
  it.scoped("no silent stall: the next interval asks the providers afresh and submits the newest data", () =>
    inWorld(
      {
        // Charlie lags: every round reports a ProviderConflict, naming the majority root it saw.
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.lagging(1) }],
        buckets: [bucket1],
        config: quick,
        journal: "memory"
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const events = yield* recordEvents
        yield* startWatcher(CheckpointLoop.Every("1 minute"))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* leafCounts, [10n])

        // Two more leaves, checkpointed by someone else before our next interval.
        yield* world.network.append(world.bucketId(1), 2)
        yield* someoneElseCheckpoints(1)
        assert.deepStrictEqual(yield* leafCounts, [10n, 12n])
        yield* TestClock.adjust("50 seconds") // our round at 1 minute: the chain already holds it
        const held = yield* lastResult
        assert.strictEqual(held._tag, "AlreadyCheckpointed")
        assert.strictEqual(held._tag === "AlreadyCheckpointed" && held.relation, "Same")
        assert.strictEqual(held._tag === "AlreadyCheckpointed" && Number(held.snapshot.commitment.leafCount), 12)

        // Three more leaves: the very next interval submits them, not the round journaled a minute ago.
        yield* world.network.append(world.bucketId(1), 3)
        const newest = yield* truth(1)
        const seen = (yield* events).length
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(yield* leafCounts, [10n, 12n, 15n])
        const submitted = yield* lastResult
        assert.strictEqual(submitted._tag, "Submitted")
        assert.strictEqual(submitted._tag === "Submitted" && submitted.reused, false)
        const reported = (yield* events).slice(seen)
        const conflicts = reported.filter((e) => e._tag === "ProviderConflict")
        assert.isAbove(conflicts.length, 0)
        assert.isTrue(
          conflicts.every((e) => e._tag === "ProviderConflict" && e.majorityRoot === newest.mmrRoot),
          "the conflict is reported against the newest data, not re-reported from an old round"
        )
        assert.strictEqual((yield* world.chain.counts).repeated, 0)
      })
    ))
})

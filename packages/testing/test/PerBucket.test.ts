import { CheckpointConfig, CheckpointLoop, type Domain } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, TestClock } from "effect"
import { FakeChain, FakeProviders, TestNetwork } from "../src/index.js"
import { after, expectRefused, inWorld, submit } from "./helpers.js"

const { Behaviour } = FakeProviders
// Charlie never answers: two of three agree, which meets 51 % but not 100 %.
const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", behaviour: Behaviour.unreachable() }]
const bucket = (id: number): TestNetwork.BucketSetup => ({
  id,
  primaries: ["Alice", "Bob", "Charlie"],
  minProviders: 2
})
const fee = FakeChain.DEFAULT_FEE

describe("settings per bucket", () => {
  it.effect("a bucket's own threshold decides its rounds; the others keep the process's", () =>
    inWorld(
      {
        providers,
        buckets: [bucket(1), bucket(2)],
        config: { perBucket: [{ bucketId: 2n as Domain.BucketId, consensusThreshold: 100 }] }
      },
      Effect.gen(function*() {
        const one = yield* after("30 seconds", submit(1))
        assert.strictEqual(one._tag, "Submitted")
        assert.strictEqual(one._tag === "Submitted" && one.decision.thresholdPercent, 51)
        const two = yield* after("30 seconds", submit(2))
        assert.strictEqual(two._tag, "InsufficientConsensus")
        assert.strictEqual(two._tag === "InsufficientConsensus" && two.required, 3)
      })
    ))

  it.effect("a bucket's own fee cap and budget apply to it alone", () =>
    inWorld(
      {
        providers: providers.slice(0, 2).concat([{ name: "Charlie" }]),
        buckets: [bucket(1), bucket(2)],
        config: { perBucket: [{ bucketId: 2n as Domain.BucketId, maxFeePerCheckpoint: Option.some(fee - 1n) }] }
      },
      Effect.gen(function*() {
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
        expectRefused(yield* after("5 seconds", submit(2)), "FeeAboveCap")
      })
    ))

  it("overrides are validated like the settings they override", () => {
    const bad = CheckpointConfig.make({
      perBucket: [
        { bucketId: 1n as Domain.BucketId, consensusThreshold: 0 },
        { bucketId: 1n as Domain.BucketId, bucketBudget: Option.some(0n) }
      ]
    })
    assert.isTrue(Either.isLeft(bad))
    const text = Either.isLeft(bad) ? String(bad.left) : ""
    assert.include(text, "perBucket[bucket 1].consensusThreshold (percent) must be a whole number from 1 to 100, got 0")
    assert.include(text, "bucket 1 is listed twice")
    assert.include(text, "perBucket[bucket 1].bucketBudget must be a whole number of planck from 1")
  })

  it.scoped("a bucket's own interval: by time or by blocks beside the process's, each bucket's rounds at its own pace", () =>
    inWorld(
      { providers: providers.slice(0, 2).concat([{ name: "Charlie" }]), buckets: [bucket(1), bucket(2), bucket(3)] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* CheckpointLoop.make([1, 2, 3].map(world.bucketId), {
          interval: CheckpointLoop.Every("1 minute"),
          bucketIntervals: new Map([
            [world.bucketId(2), CheckpointLoop.Every("3 minutes")],
            [world.bucketId(3), CheckpointLoop.Blocks(5)]
          ]),
          submitOnEmpty: true
        })
        yield* TestClock.adjust("1 millis")
        // The rounds each bucket ran (each a distinct attempt time), minute by minute for 9 minutes; 5
        // finalized blocks after the 4th minute.
        const attempts = new Map<number, Set<number>>([[1, new Set()], [2, new Set()], [3, new Set()]])
        const record = Effect.flatMap(loop.status, (status) =>
          Effect.sync(() => {
            for (const s of status) {
              if (Option.isSome(s.lastAttemptMillis)) attempts.get(Number(s.bucketId))!.add(s.lastAttemptMillis.value)
            }
          }))
        yield* TestClock.adjust("1 second")
        yield* record
        for (let minute = 1; minute <= 9; minute++) {
          yield* TestClock.adjust("1 minute")
          yield* record
          if (minute === 4) {
            yield* world.chain.produceBlocks(1)
            yield* TestClock.adjust("5 seconds")
            yield* record
            yield* world.chain.produceBlocks(5)
            yield* TestClock.adjust("5 seconds")
            yield* record
          }
        }
        // Bucket 1: at start and every minute (10); bucket 2: at start and every 3 minutes (4); bucket 3:
        // only on finalized heads: the first head, then 5 blocks later (2).
        assert.strictEqual(attempts.get(1)!.size, 10)
        assert.strictEqual(attempts.get(2)!.size, 4)
        assert.strictEqual(attempts.get(3)!.size, 2)
      })
    ))
})

import { CheckpointConfig, type Domain } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { FakeChain, FakeProviders, type TestNetwork } from "../src/index.js"
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
})

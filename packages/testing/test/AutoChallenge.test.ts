import { encodeCommitmentPayload, verifyMultiSignature } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { after, inWorld, submit } from "./helpers.js"

const { Behaviour } = FakeProviders
const setup = (config: TestNetwork.NetworkSetup["config"]): TestNetwork.NetworkSetup => ({
  providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }, {
    name: "Dave",
    behaviour: Behaviour.divergent()
  }],
  buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie", "Dave"], minProviders: 2 }],
  config: { maxRetries: 0, ...config }
})

/** Rounds with new data each time, so every round sees Dave diverge again. */
const rounds = (n: number) =>
  Effect.gen(function*() {
    const world = yield* TestNetwork.TestNetwork
    for (let i = 0; i < n; i++) {
      yield* world.network.append(world.bucketId(1), 1)
      yield* after("5 seconds", submit(1))
    }
    return yield* world.chain.challenges
  })

describe("automatic challenges", () => {
  it.effect("are off by default", () =>
    inWorld(
      setup({}),
      Effect.gen(function*() {
        assert.strictEqual((yield* rounds(5)).length, 0)
      })
    ))

  it.effect("challenge a provider that diverged in k rounds in a row, with its own signed commitment", () =>
    inWorld(
      setup({ autoChallenge: true, challengeAfterRounds: 3 }),
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        assert.strictEqual((yield* rounds(2)).length, 0)
        const challenges = yield* rounds(1)
        assert.strictEqual(challenges.length, 1)
        const [challenge] = challenges
        assert.strictEqual(challenge.provider, world.account("Dave"))
        const payload = encodeCommitmentPayload({ bucketId: challenge.bucketId, ...challenge.commitment })
        const check = verifyMultiSignature({
          signature: challenge.signature,
          message: payload,
          publicKey: world.network.provider("Dave").publicKey
        })
        assert.isTrue(Either.isRight(check), "the evidence is Dave's own signature")
        const { leafCount, startSeq } = challenge.commitment
        assert.isTrue(challenge.target.leafIndex >= startSeq && challenge.target.leafIndex < startSeq + leafCount)
      })
    ))

  it.effect("respect the cooldown and the budget", () =>
    inWorld(
      setup({ autoChallenge: true, challengeAfterRounds: 1, challengeCooldown: "1 hour", challengeBudget: 2 }),
      Effect.gen(function*() {
        assert.strictEqual((yield* rounds(4)).length, 1, "one per cooldown")
        yield* after("2 hours", Effect.void)
        assert.strictEqual((yield* rounds(1)).length, 2)
        yield* after("2 hours", Effect.void)
        assert.strictEqual((yield* rounds(1)).length, 2, "the budget of two is spent")
      })
    ))
})

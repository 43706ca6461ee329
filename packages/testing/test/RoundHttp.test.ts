import { authMessage, type Consensus, type Domain, EndpointPolicy, ProviderHttpClient } from "@checkpointer/core"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Keyring } from "@polkadot/keyring"
import { signatureVerify } from "@polkadot/util-crypto"
import { Clock, Effect, Layer } from "effect"
import { FakeProviders, ProviderSimulator, type SimulatedNetwork, TestNetwork } from "../src/index.js"
import { inWorld, submit } from "./helpers.js"
import { roundScenarios } from "./scenarios.js"

// The same scenarios as Round.test.ts, with every provider a simulator on a loopback port reached by the
// live HTTP client (real sockets, real clock, durations scaled by the harness).
describe("over HTTP", () => {
  roundScenarios("http")
})

/** The simulator behind a provider of an HTTP test world. */
const simulator = (name: string) =>
  Effect.map(TestNetwork.TestNetwork, (world) => {
    const network = world.network as SimulatedNetwork.SimulatedNetwork
    const index = network.providers.findIndex((p) => p.name === name)
    return network.simulators[index]
  })

type Tag = Consensus.ProviderOutcome["_tag"]
// Retried faults end as NotAwaited when the honest majority finishes first (real timing decides which).
const retried: ReadonlyArray<Tag> = ["NotAwaited", "Unreachable"]
const faultyRound: ReadonlyArray<readonly [string, ProviderSimulator.Faults, Tag | ReadonlyArray<Tag>]> = [
  ["latency beyond the grace window", { latency: "2 seconds" }, "NotAwaited"],
  ["lag", { lag: { leaves: 3 } }, "Answered"],
  ["divergent root", { divergent: true }, "Answered"],
  ["invalid signature", { invalidSignature: true }, "BadSignature"],
  ["wrong bucket", { wrongBucket: true }, "InvalidResponse"],
  ["5xx", { status: { code: 500 } }, retried],
  ["429 with Retry-After", { rateLimit: { retryAfterSeconds: 30 } }, "NotAwaited"],
  ["malformed JSON", { malformedJson: true }, "InvalidResponse"],
  ["oversized body", { oversized: { bytes: 1_000_000 } }, "InvalidResponse"],
  ["slow drip-fed body", { drip: { chunkBytes: 2, interval: "200 millis" } }, "NotAwaited"],
  ["connection reset", { reset: true }, retried],
  ["hang", { hang: true }, "NotAwaited"]
]

describe("one faulty provider among honest ones, over HTTP: the round is not disturbed", () => {
  for (const [name, faults, expected] of faultyRound) {
    it.live(`${name}: the three honest providers sign and the checkpoint lands, within bounds`, () =>
      inWorld(
        {
          transport: "http",
          providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }, { name: "Dave" }],
          buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie", "Dave"], minProviders: 3 }]
        },
        Effect.gen(function*() {
          const dave = yield* simulator("Dave")
          yield* dave.setFaults(faults)
          const started = yield* Clock.currentTimeMillis
          const result = yield* submit(1)
          const elapsed = (yield* Clock.currentTimeMillis) - started
          assert.strictEqual(result._tag, "Submitted")
          if (result._tag !== "Submitted") return
          const outcomes = result.decision.outcomes
          assert.deepStrictEqual(outcomes.slice(0, 3).map((o) => o._tag), ["Answered", "Answered", "Answered"])
          assert.include(typeof expected === "string" ? [expected] : expected, outcomes[3]._tag)
          assert.strictEqual(result.receipt.signers.length, 3)
          // Scaled settings: 30 s provider timeout -> 600 ms, 60 s round deadline -> 1.2 s.
          assert.isBelow(elapsed, 2500)
        })
      ))
  }
})

describe("requests that name a bucket carry the Authorization header when a signer is configured", () => {
  it.scopedLive("the header signs web3storage:GET:<bucket>:<ts> with the client's key", () =>
    Effect.gen(function*() {
      const provider = yield* ProviderSimulator.start({ name: "Alice" })
      const bucket = 7n as Domain.BucketId
      yield* provider.commit(bucket, [ProviderSimulator.testLeaf(bucket, 0)])
      const signer = new Keyring({ type: "sr25519" }).addFromUri("//Ferdie")
      const http = yield* Layer.build(NodeHttpClient.layerUndici)
      const api = yield* ProviderHttpClient.make({ policy: EndpointPolicy.local, signer }).pipe(Effect.provide(http))
      yield* api.checkpointSignature(provider.endpoint, bucket)
      const header = (yield* provider.lastAuthorization)!
      const match = /^Web3Storage 0x([0-9a-f]{64}):0x([0-9a-f]{128}):(\d+)$/.exec(header)
      assert.isNotNull(match)
      const [, publicKey, signature, timestamp] = match!
      assert.strictEqual(publicKey, Buffer.from(signer.publicKey).toString("hex"))
      assert.isAtMost(Math.abs(Number(timestamp) - Date.now() / 1000), 5)
      const message = authMessage({ method: "GET", bucketId: bucket, timestamp: Number(timestamp) })
      assert.isTrue(signatureVerify(message, `0x${signature}`, signer.publicKey).isValid)
    }))
})

describe("the provider timeout over HTTP (enforced by the client per request, not by a second timeout)", () => {
  it.live(
    "a hung first attempt is abandoned at the provider timeout, far below the client's own, and retried",
    () =>
      inWorld(
        {
          transport: "http",
          providers: [{ name: "Alice", behaviour: FakeProviders.Behaviour.failTimes(1, "Hang") }, { name: "Bob" }],
          buckets: [{ id: 1, primaries: ["Alice", "Bob"], minProviders: 2 }],
          // Scaled by 0.02: the provider timeout is 60 ms; the client's own request timeout is 30 s.
          config: { consensusThreshold: 100, providerTimeout: "3 seconds", roundDeadline: "60 seconds" }
        },
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          const result = yield* submit(1)
          const elapsed = (yield* Clock.currentTimeMillis) - started
          assert.strictEqual(result._tag, "Submitted")
          if (result._tag !== "Submitted") return
          const alice = result.decision.outcomes.find((o) => o._tag === "Answered" && o.attempts === 2)
          assert.isDefined(alice, "Alice answered on her second attempt")
          assert.isBelow(elapsed, 1000)
        })
      ),
    20_000
  )
})

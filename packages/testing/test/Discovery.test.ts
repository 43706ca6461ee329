import { type Domain, ProviderDiscovery } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { TestNetwork } from "../src/index.js"
import { account, after, inWorld, submit } from "./helpers.js"

const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const bucket = { id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }

const discover = (id: number) =>
  Effect.gen(function*() {
    const discovery = yield* ProviderDiscovery.ProviderDiscovery
    return yield* discovery.discover(yield* TestNetwork.bucket(id))
  })

const reads = Effect.flatMap(TestNetwork.TestNetwork, (w) => w.chain.reads)

describe("discovery from chain state", () => {
  it.effect("resolves the primaries in order, with endpoints from their multiaddrs and their registered keys", () =>
    inWorld(
      { providers, buckets: [bucket] },
      Effect.gen(function*() {
        const found = yield* discover(1)
        const world = yield* TestNetwork.TestNetwork
        assert.deepStrictEqual(found.providers.map((p) => p.accountId), [
          yield* account("Alice"),
          yield* account("Bob"),
          yield* account("Charlie")
        ])
        assert.deepStrictEqual(found.providers.map((p) => p.endpoint), [
          "http://127.0.0.1:3333",
          "http://127.0.0.1:3334",
          "http://127.0.0.1:3335"
        ])
        assert.strictEqual(found.providers[0].publicKey, world.network.provider("Alice").publicKey)
        assert.deepStrictEqual(found.undiscoverable, [])
      })
    ))

  it.effect("an unregistered primary or an unusable multiaddr is undiscoverable, not dropped", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob", registered: false }, {
          name: "Charlie",
          multiaddr: "/udp/1/quic"
        }],
        buckets: [bucket]
      },
      Effect.gen(function*() {
        const found = yield* discover(1)
        assert.deepStrictEqual(found.providers.map((p) => p.accountId), [yield* account("Alice")])
        assert.deepStrictEqual(found.undiscoverable.map((u) => u.account), [
          yield* account("Bob"),
          yield* account("Charlie")
        ])
        assert.include(found.undiscoverable[1].detail, "multiaddr")
      })
    ))
})

describe("the provider cache", () => {
  it.effect("serves provider records from cache within the TTL, and reloads after it", () =>
    inWorld(
      { providers, buckets: [bucket], config: { providerCacheTtl: "300 seconds" } },
      Effect.gen(function*() {
        const first = yield* discover(1)
        const afterFirst = yield* reads
        const second = yield* discover(1)
        assert.isFalse(first.cached)
        assert.isTrue(second.cached)
        // Only the bucket itself is read again (1 read); the 3 provider records come from cache.
        assert.strictEqual((yield* reads) - afterFirst, 1)
        yield* TestClock.adjust("301 seconds")
        const third = yield* discover(1)
        assert.isFalse(third.cached)
      })
    ))

  it.effect("a change of primaries on chain bypasses the cache", () =>
    inWorld(
      { providers, buckets: [bucket] },
      Effect.gen(function*() {
        yield* discover(1)
        const world = yield* TestNetwork.TestNetwork
        const current = Option.getOrThrow(yield* world.chain.bucket(world.bucketId(1)))
        yield* world.chain.putBucket({ ...current, primaryProviders: current.primaryProviders.slice(0, 2) })
        const found = yield* discover(1)
        assert.isFalse(found.cached)
        assert.strictEqual(found.providers.length, 2)
      })
    ))

  it.effect("a failed round invalidates the cache (anchor bug §5.21)", () =>
    inWorld(
      { providers, buckets: [{ ...bucket, minProviders: 4 }] },
      Effect.gen(function*() {
        yield* discover(1)
        assert.isTrue((yield* discover(1)).cached)
        const result = yield* after("1 minute", submit(1))
        assert.strictEqual(result._tag, "InsufficientConsensus")
        assert.isFalse((yield* discover(1)).cached)
      })
    ))

  it.effect("invalidate drops one bucket only", () =>
    inWorld(
      { providers, buckets: [bucket, { ...bucket, id: 2 }] },
      Effect.gen(function*() {
        const discovery = yield* ProviderDiscovery.ProviderDiscovery
        yield* discover(1)
        yield* discover(2)
        yield* discovery.invalidate(yield* TestNetwork.bucket(1))
        assert.isFalse((yield* discover(1)).cached)
        assert.isTrue((yield* discover(2)).cached)
      })
    ))
})

describe("manual endpoints", () => {
  it.effect("are resolved through /info and merged: a primary's broken multiaddr is replaced (anchor §5.9, §5.21)", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie", multiaddr: "not a multiaddr" }],
        buckets: [bucket],
        config: { manualEndpoints: ["http://127.0.0.1:3335" as Domain.Endpoint] }
      },
      Effect.gen(function*() {
        const found = yield* discover(1)
        assert.strictEqual(found.providers.length, 3)
        assert.deepStrictEqual(found.undiscoverable, [])
        assert.strictEqual(found.providers[2].endpoint, "http://127.0.0.1:3335")
        assert.deepStrictEqual(found.manual.map((m) => m.outcome), ["Merged"])
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag === "Submitted" && result.receipt.signers.length, 3)
      })
    ))

  it.effect("never replace chain discovery: an endpoint of a non-primary is reported and not used", () =>
    inWorld(
      {
        providers: [...providers, { name: "Dave" }],
        buckets: [bucket],
        config: { manualEndpoints: ["http://127.0.0.1:3336" as Domain.Endpoint] }
      },
      Effect.gen(function*() {
        const found = yield* discover(1)
        assert.strictEqual(found.providers.length, 3)
        assert.notInclude(found.providers.map((p) => p.accountId), yield* account("Dave"))
        assert.deepStrictEqual(found.manual.map((m) => m.outcome), ["NotPrimary"])
      })
    ))

  it.effect("an endpoint that does not answer /info is reported as unresolved", () =>
    inWorld(
      { providers, buckets: [bucket], config: { manualEndpoints: ["http://127.0.0.1:9999" as Domain.Endpoint] } },
      Effect.gen(function*() {
        const found = yield* discover(1)
        assert.deepStrictEqual(found.manual.map((m) => m.outcome), ["Unresolved"])
        assert.strictEqual(found.providers.length, 3)
      })
    ))
})

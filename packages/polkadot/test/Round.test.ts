import { ChainClient, Checkpointer, CheckpointManager, EndpointPolicy } from "@checkpointer/core"
import { Devchain } from "@checkpointer/devchain"
import { ProviderSimulator } from "@checkpointer/testing"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { clientLayer, PROVIDERS } from "./helpers.js"

/** Three simulated providers over loopback HTTP, registered at the devchain's genesis as bucket 0's primaries. */
const network = (config: Devchain.DevchainConfigInput) =>
  Effect.gen(function*() {
    const simulators = yield* Effect.forEach(PROVIDERS, (name) => ProviderSimulator.start({ name }))
    const chain = yield* Devchain.start({
      blockMode: "instant",
      finalityLag: 0,
      ...config,
      providers: simulators.map((s, i) => ({ account: `//${PROVIDERS[i]}`, multiaddr: s.multiaddr })),
      buckets: [{ admin: "//Alice", minProviders: 2, primaries: PROVIDERS.map((p) => `//${p}`) }]
    })
    const round = Checkpointer.layer({
      journal: Checkpointer.inMemory(),
      settings: { providerTimeout: "2 seconds", roundDeadline: "30 seconds" },
      providers: { policy: EndpointPolicy.local }
    }).pipe(Layer.provideMerge(clientLayer(chain.url)), Layer.provide(NodeHttpClient.layerUndici))
    const write = (count: number) =>
      Effect.forEach(simulators, (s) =>
        s.commit(0n as never, Array.from({ length: count }, (_, i) => blake2AsU8a(`leaf ${i}`, 256))))
    return { chain, simulators, round, write }
  })

const checkpointRound = Effect.gen(function*() {
  const manager = yield* CheckpointManager.CheckpointManager
  const chain = yield* ChainClient.ChainClient
  const result = yield* manager.submitCheckpoint(0n as never)
  expect(result._tag).toBe("Submitted")
  if (result._tag !== "Submitted") return yield* Effect.die("not submitted")
  const { receipt } = result
  // The receipt agrees with the chain's storage at the receipt's block.
  const bucket = yield* chain.bucket(0n as never, receipt.blockHash)
  expect(Option.map(bucket.snapshot, (s) => [s.commitment.mmrRoot, s.commitment.leafCount, s.checkpointBlock])).toEqual(
    Option.some([receipt.commitment.mmrRoot, receipt.commitment.leafCount, receipt.blockNumber])
  )
  expect(receipt.signers.length).toBeGreaterThanOrEqual(2)
  return receipt
})

describe("a full round on the devchain: discovery from chain, simulated providers over HTTP, a finalized checkpoint", () => {
  it.scopedLive("era C", () =>
    Effect.gen(function*() {
      const { round, write } = yield* network({})
      const states = yield* write(5)
      const receipt = yield* checkpointRound.pipe(Effect.provide(round))
      expect(receipt.commitment.mmrRoot).toBe(states[0]!.mmrRoot)
      expect(receipt.commitment.leafCount).toBe(5n)
    }), 60_000)

  it.scopedLive("era A (the oldest pallet: flat checkpoint, no provider keys)", () =>
    Effect.gen(function*() {
      const { round, write } = yield* network({ era: "A" })
      yield* write(3)
      yield* Effect.gen(function*() {
        const receipt = yield* checkpointRound
        expect(receipt.commitment.leafCount).toBe(3n)
        const chain = yield* ChainClient.ChainClient
        const bob = yield* chain.provider(receipt.signers[0]!)
        expect(Option.flatMap(bob, (p) => p.publicKey)).toEqual(Option.none())
      }).pipe(Effect.provide(round))
    }), 60_000)

  it.scopedLive("a runtime upgrade from era C to era A between rounds is followed", () =>
    Effect.gen(function*() {
      const { chain, round, write } = yield* network({})
      yield* Effect.gen(function*() {
        yield* write(2)
        yield* checkpointRound
        yield* chain.upgradeRuntime("A")
        yield* chain.newBlock(1)
        yield* write(2)
        const second = yield* checkpointRound
        expect(second.commitment.leafCount).toBe(4n)
      }).pipe(Effect.provide(round))
    }), 60_000)
})

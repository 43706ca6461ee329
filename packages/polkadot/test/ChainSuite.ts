/**
 * The live ChainClient's integration tests, written once and run against each chain: the devchain
 * (era C and era A) and the storage chain's real runtime under Chopsticks. A world gives a fresh chain
 * state per test (a new devchain, or Chopsticks rewound); buckets are set up with that era's own calls.
 */
import { ChainClient, Checkpointer, CheckpointManager, EndpointPolicy } from "@checkpointer/core"
import { PapiChainClient, PapiCheckpointer, PapiClient } from "@checkpointer/papi"
import { ProviderSimulator } from "@checkpointer/testing"
import { NodeHttpClient } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { DevSetup, PolkadotApi, PolkadotCheckpointer } from "../src/index.js"
import { account, clientLayer, submission } from "./helpers.js"

export interface ChainWorld {
  readonly name: string
  /** The chain layer under test: `@polkadot/api` (default) or polkadot-api. */
  readonly client?: "polkadot-js" | "papi"
  /** Only the full round (where the suite's time on a slow chain must stay small); default every test. */
  readonly roundOnly?: boolean
  /** The pallet era the chain runs ("A": request/accept setup; "C": signed terms). */
  readonly era: "A" | "C"
  /** A chain in its initial state for this test; its WebSocket URL. */
  readonly fresh: Effect.Effect<
    { readonly url: string; readonly endow: (accounts: ReadonlyArray<string>) => Effect.Effect<void> },
    unknown,
    Scope.Scope
  >
}

export const sendTx = DevSetup.sendTx

const NAMES = ["Bob", "Charlie", "Dave"] as const

/** A world with three simulated providers registered as one bucket's primaries (min 2), and the round's layers. */
export const arrange = (world: ChainWorld) =>
  Effect.gen(function*() {
    const { url, endow } = yield* world.fresh
    yield* endow(["Dave", "Eve", "Ferdie"])
    const simulators = yield* Effect.forEach(NAMES, (name) => ProviderSimulator.start({ name }))
    const round = {
      journal: Checkpointer.inMemory(),
      settings: { providerTimeout: "3 seconds", roundDeadline: "30 seconds" },
      providers: { policy: EndpointPolicy.local }
    } as const
    const context = yield* Layer.build(
      world.client === "papi"
        // polkadot-api's stack: the same round over the PAPI chain client; @polkadot/api only sets up buckets.
        ? PapiCheckpointer.layer({
          ...round,
          endpoints: [url],
          connectTimeout: "10 seconds",
          signer: Redacted.make("//Alice")
        }).pipe(
          Layer.provideMerge(PolkadotApi.layer({ endpoints: [url], connectTimeout: "10 seconds" })),
          Layer.provide(NodeHttpClient.layerUndici)
        )
        // The ready-made live stack, as a user assembles it.
        : PolkadotCheckpointer.layer({
          ...round,
          endpoints: [url],
          reconnectDelay: "100 millis",
          connectTimeout: "10 seconds",
          signer: Redacted.make("//Alice")
        }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
    const { api } = Context.get(context, PolkadotApi.PolkadotApi)
    const bucketId = yield* DevSetup.setupBucket(
      api,
      simulators.map((s) => ({ name: s.name, multiaddr: s.multiaddr })),
      2
    )
    const write = (count: number) =>
      Effect.forEach(simulators, (s) =>
        s.commit(bucketId as never, Array.from({ length: count }, (_, i) => blake2AsU8a(`leaf ${i}`, 256))))
    return { url, api, context, bucketId, simulators, write, client: Context.get(context, ChainClient.ChainClient) }
  })

/** The polkadot-api chain client (its own connection) signing as `suri`. */
const papiChain = (url: string, suri: string) =>
  PapiChainClient.layer({ signer: Redacted.make(suri) }).pipe(
    Layer.provideMerge(PapiClient.layer({ endpoints: [url], connectTimeout: "10 seconds" }))
  )

/** The world's chain client signing as `suri`. */
const chainLayer = (world: ChainWorld, url: string, suri: string): Layer.Layer<ChainClient.ChainClient, unknown> =>
  world.client === "papi" ? papiChain(url, suri) : clientLayer(url, { signer: Redacted.make(suri) })

/** Defines the shared tests for `world`. */
export const chainSuite = (world: ChainWorld, timeout = 120_000) => {
  const unlessRoundOnly = world.roundOnly === true ? it.scopedLive.skip : it.scopedLive
  unlessRoundOnly(
    `${world.name}: discovery reads the bucket's primaries in order and their records`,
    () =>
      Effect.gen(function*() {
        const { bucketId, client, simulators } = yield* arrange(world)
        const bucket = yield* client.bucket(bucketId as never)
        expect(bucket.primaryProviders).toEqual(NAMES.map(account))
        expect(bucket.minProviders).toBe(2)
        const record = yield* client.provider(account("Bob"))
        expect(Option.map(record, (r) => r.multiaddr)).toEqual(Option.some(simulators[0]!.multiaddr))
        // Era A registers no key: the provider's account is its key.
        expect(Option.map(record, (r) => Option.isSome(r.publicKey))).toEqual(Option.some(world.era === "C"))
      }),
    timeout
  )

  it.scopedLive(
    `${world.name}: a round with simulated providers lands a checkpoint, read back from storage`,
    () =>
      Effect.gen(function*() {
        const { bucketId, context, write } = yield* arrange(world)
        const states = yield* write(6)
        const result = yield* Effect.flatMap(
          CheckpointManager.CheckpointManager,
          (m) => m.submitCheckpoint(bucketId as never)
        )
          .pipe(Effect.provide(context))
        expect(result._tag).toBe("Submitted")
        if (result._tag !== "Submitted") return
        const { receipt } = result
        expect(receipt.event.commitment.mmrRoot).toBe(states[0]!.mmrRoot)
        expect(receipt.commitment.leafCount).toBe(6n)
        const client = Context.get(context, ChainClient.ChainClient)
        const stored = yield* client.bucket(bucketId as never, receipt.blockHash)
        expect(
          Option.map(stored.snapshot, (s) => [s.commitment.mmrRoot, s.commitment.leafCount, [...s.signers].sort()])
        ).toEqual(
          Option.some([states[0]!.mmrRoot, 6n, [...receipt.signers].sort()])
        )
      }),
    timeout
  )

  unlessRoundOnly(
    `${world.name}: a checkpoint's fee is quoted before signing; it pays no more, from the signer's free balance`,
    () =>
      Effect.gen(function*() {
        const { bucketId, client } = yield* arrange(world)
        const alice = account("Alice")
        const checkpoint = submission(Number(bucketId), 4, ["Bob", "Charlie"])
        const estimate = yield* client.estimateFee(checkpoint)
        const before = yield* client.freeBalance(alice)
        expect(before).toBeGreaterThan(estimate)
        const receipt = yield* ChainClient.submitCheckpoint(client, checkpoint)
        // The quote is the partial fee for the declared weight; the runtime may refund unused weight.
        const paid = receipt.fee ?? 0n
        expect(paid > 0n && paid <= estimate).toBe(true)
        expect(before - (yield* client.freeBalance(alice))).toBe(paid)
      }),
    timeout
  )

  unlessRoundOnly(`${world.name}: the pallet's errors by name`, () =>
    Effect.gen(function*() {
      const { bucketId, client, url } = yield* arrange(world)
      const id = Number(bucketId)
      const failure = (effect: Effect.Effect<unknown, ChainClient.ChainWriteError>) =>
        Effect.flip(effect).pipe(Effect.map((e) => (e._tag === "DispatchFailed" ? e.error : e._tag)))
      expect(yield* failure(ChainClient.submitCheckpoint(client, submission(id, 4, ["Bob"])))).toBe(
        "InsufficientSignatures"
      )
      expect(yield* failure(ChainClient.submitCheckpoint(client, submission(id, 4, ["Bob", "Eve"])))).toBe(
        "ProviderNotInSnapshot"
      )
      // Ferdie is no member of the bucket: he may not checkpoint it.
      const ferdie = yield* Layer.build(chainLayer(world, url, "//Ferdie"))
      const asFerdie = Context.get(ferdie, ChainClient.ChainClient)
      expect(yield* failure(ChainClient.submitCheckpoint(asFerdie, submission(id, 4, ["Bob", "Charlie"])))).toBe(
        "NotBucketWriter"
      )
    }), timeout)
}

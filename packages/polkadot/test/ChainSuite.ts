/**
 * The live ChainClient's integration tests, written once and run for both chain layers (`@polkadot/api`
 * and polkadot-api) against each chain: the devchain (era C and era A) and the storage chain's real
 * runtime under Chopsticks. A world gives a fresh chain state per test (a new devchain, or Chopsticks
 * rewound); buckets are set up with that era's own calls. Faults go through what both backends serve:
 * a TCP relay cut in front of the node, and Chopsticks' dev RPCs (`dev_setBlockBuildMode`,
 * `dev_newBlock`, `author_pendingExtrinsics`), which the devchain serves too.
 */
import { ChainClient, Checkpointer, CheckpointManager, EndpointPolicy } from "@checkpointer/core"
import { PapiChainClient, PapiCheckpointer, PapiClient } from "@checkpointer/papi"
import { ProviderSimulator, TcpProxy } from "@checkpointer/testing"
import { NodeHttpClient } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import type { ApiPromise } from "@polkadot/api"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { DevSetup, PolkadotApi, PolkadotCheckpointer } from "../src/index.js"
import { account, clientLayer, submission } from "./helpers.js"

export interface ChainWorld {
  readonly name: string
  /** The chain layer under test: `@polkadot/api` (default) or polkadot-api. */
  readonly client?: "polkadot-js" | "papi"
  /** Only the full round (where the suite's time on a slow chain must stay small); default every test. */
  readonly roundOnly?: boolean
  /**
   * The basic tests only (discovery, the round, the fee, the pallet's errors), without concurrent buckets
   * and the socket cut, where the suite's time on a slow chain must stay small; default every test.
   */
  readonly basicOnly?: boolean
  /** Whether `fresh` gives an `upgrade` (a backend with a second runtime to upgrade to). */
  readonly runtimeUpgrade?: boolean
  /** The pallet era the chain runs ("A": request/accept setup; "C": signed terms). */
  readonly era: "A" | "C"
  /** A chain in its initial state for this test; its WebSocket URL. */
  readonly fresh: Effect.Effect<
    {
      readonly url: string
      readonly endow: (accounts: ReadonlyArray<string>) => Effect.Effect<void>
      /** Upgrades the runtime (a new spec version) now; the number of the first block finalized on it. */
      readonly upgrade?: Effect.Effect<number>
    },
    unknown,
    Scope.Scope
  >
}

export const sendTx = DevSetup.sendTx

const NAMES = ["Bob", "Charlie", "Dave"] as const

/**
 * A world with three simulated providers registered as one bucket's primaries (min 2), and the round's
 * layers; with `relay`, the layers under test connect through a TCP relay that `cut` drops.
 */
export const arrange = (world: ChainWorld, options: { readonly relay?: boolean } = {}) =>
  Effect.gen(function*() {
    const { endow, upgrade, url: direct } = yield* world.fresh
    const relay = options.relay === true
      ? yield* TcpProxy.start({ port: Number(new URL(direct).port), host: "127.0.0.1" })
      : undefined
    const url = relay === undefined ? direct : `ws://127.0.0.1:${relay.port}`
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
    return {
      url,
      api,
      context,
      bucketId,
      simulators,
      write,
      client: Context.get(context, ChainClient.ChainClient),
      /** Drops the relayed connections (with `relay`). */
      cut: relay?.cut ?? Effect.void,
      /** Connections through the relay now (with `relay`). */
      relayed: () =>
        relay?.connections() ?? 0,
      upgrade,
      /** A connection of its own to the node, for dev RPCs and reads beside the client under test. */
      control: Effect.map(
        PolkadotApi.make({ endpoints: [direct], connectTimeout: "10 seconds" }),
        ({ api, provider }) => ({
          api,
          send: (method: string, params: ReadonlyArray<unknown>) =>
            Effect.promise(() => provider.send(method, [...params]) as Promise<unknown>)
        })
      )
    }
  })

/** The account's nonce: how many extrinsics it has had included. */
const nonceOf = (api: ApiPromise, name: string) =>
  Effect.promise(() => api.query.system!.account!(account(name))).pipe(
    Effect.map((info) => Number((info as unknown as { nonce: { toString(): string } }).nonce.toString()))
  )

/** Polls (real time) until `check` succeeds, at most ~20 s. */
const eventually = <A>(check: Effect.Effect<A, unknown>, what: string) =>
  check.pipe(
    Effect.mapError(() => `timed out waiting for ${what}`),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(1_000))))
  )

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
  const unlessBasicOnly = world.roundOnly === true || world.basicOnly === true ? it.scopedLive.skip : it.scopedLive
  const withUpgrade = world.runtimeUpgrade === true ? unlessBasicOnly : it.scopedLive.skip
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

  unlessBasicOnly(
    `${world.name}: buckets checkpointed at once from one account: a nonce each, every one lands once`,
    () =>
      Effect.gen(function*() {
        const { api, bucketId, client, simulators } = yield* arrange(world)
        const more = yield* Effect.forEach(
          [1, 2],
          () => DevSetup.setupBucket(api, simulators.map((s) => ({ name: s.name, multiaddr: s.multiaddr })), 2)
        )
        const buckets = [bucketId, ...more].map(Number)
        const before = yield* nonceOf(api, "Alice")
        const receipts = yield* Effect.forEach(
          buckets,
          (bucket, i) => ChainClient.submitCheckpoint(client, submission(bucket, 3 + i, ["Bob", "Charlie"])),
          { concurrency: "unbounded" }
        )
        expect(receipts.map((r) => Number(r.bucketId))).toEqual(buckets)
        expect(new Set(receipts.map((r) => r.extrinsicHash)).size).toBe(buckets.length)
        // One extrinsic each, and no more: nothing signed twice, nothing refused and re-signed at a cost.
        expect((yield* nonceOf(api, "Alice")) - before).toBe(buckets.length)
        for (const [i, bucket] of buckets.entries()) {
          const stored = yield* client.bucket(BigInt(bucket) as never)
          expect(Option.map(stored.snapshot, (s) => s.commitment.leafCount)).toEqual(Option.some(BigInt(3 + i)))
        }
      }),
    timeout
  )

  unlessBasicOnly(
    `${world.name}: a socket cut mid-submission ends in exactly one checkpoint and one fee`,
    () =>
      Effect.gen(function*() {
        const { bucketId, client, control, cut, relayed } = yield* arrange(world, { relay: true })
        const node = yield* control
        // The extrinsic waits in the pool until the test builds a block.
        yield* node.send("dev_setBlockBuildMode", ["Manual"])
        yield* Effect.addFinalizer(() => Effect.ignore(node.send("dev_setBlockBuildMode", ["Instant"])))
        const pending = Effect.map(
          node.send("author_pendingExtrinsics", []),
          (xs) => (xs as ReadonlyArray<unknown>).length
        )
        const alice = account("Alice")
        const [nonceBefore, balanceBefore] = [yield* nonceOf(node.api, "Alice"), yield* client.freeBalance(alice)]
        const prepared = yield* client.prepareCheckpoint(submission(Number(bucketId), 6, ["Bob", "Charlie"]))
        const submitting = yield* Effect.fork(client.submitPrepared(prepared))
        yield* eventually(Effect.filterOrFail(pending, (n) => n === 1), "the extrinsic in the pool")
        // The network drops while the extrinsic waits in the pool; it lands while the client is away.
        expect(relayed()).toBeGreaterThan(0) // the layers under test do go through the relay
        yield* cut
        yield* node.send("dev_newBlock", [{ count: 1 }])
        const receipt = yield* Fiber.join(submitting)
        expect(receipt.extrinsicHash).toBe(prepared.extrinsicHash)
        expect(receipt.commitment.leafCount).toBe(6n)
        // Exactly one extrinsic of the signer's landed, and it paid one fee: the receipt's.
        expect((yield* nonceOf(node.api, "Alice")) - nonceBefore).toBe(1)
        expect(receipt.fee !== undefined && receipt.fee > 0n).toBe(true)
        expect(balanceBefore - (yield* client.freeBalance(alice))).toBe(receipt.fee)
        // The same signed bytes again find the same receipt, and nothing is sent.
        const again = yield* client.findReceipt(prepared)
        expect(again._tag === "Some" && again.value.blockHash).toBe(receipt.blockHash)
        // Nothing more lands later: a copy of the same bytes re-sent while the client was away (Chopsticks'
        // pool keeps such a copy, the devchain's drops it) carries a used nonce.
        yield* node.send("dev_newBlock", [{ count: 1 }])
        expect((yield* nonceOf(node.api, "Alice")) - nonceBefore).toBe(1)
      }),
    timeout
  )

  withUpgrade(
    `${world.name}: a runtime upgrade between checkpoints: the new runtime's shape is read from its metadata`,
    () =>
      Effect.gen(function*() {
        const { api, bucketId, client, upgrade } = yield* arrange(world)
        const id = Number(bucketId)
        const specBefore = (yield* Effect.promise(() => api.rpc.state.getRuntimeVersion())).specVersion.toNumber()
        yield* ChainClient.submitCheckpoint(client, submission(id, 4, ["Bob", "Charlie"]))
        const upgraded = yield* Effect.flatMap(Effect.fromNullable(upgrade), (u) => u)
        // Once the client has seen the upgraded block finalized, it signs against the new runtime.
        yield* eventually(
          Effect.filterOrFail(client.finalizedBlock, (block) => block.number >= upgraded),
          "the upgrade finalized"
        )
        const receipt = yield* ChainClient.submitCheckpoint(client, submission(id, 9, ["Bob", "Charlie"]))
        expect(receipt.commitment.leafCount).toBe(9n)
        const specAfter = (yield* Effect.promise(() => api.rpc.state.getRuntimeVersion(receipt.blockHash))).specVersion
        expect(specAfter.toNumber()).toBeGreaterThan(specBefore)
        const stored = yield* client.bucket(bucketId as never, receipt.blockHash)
        expect(Option.map(stored.snapshot, (s) => s.commitment.leafCount)).toEqual(Option.some(9n))
      }),
    timeout
  )
}

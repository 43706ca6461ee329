/**
 * What is particular to the polkadot-api layer (the shared chain suite in @checkpointer/polkadot runs
 * the rest against it): checkpointing through a client the host app already holds, and a socket cut
 * mid-submission ending in exactly one checkpoint and one fee.
 */
import { ChainClient, CheckpointConfig, Checkpointer, Domain, encodeCommitmentPayload } from "@checkpointer/core"
import { Devchain } from "@checkpointer/devchain"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { sr25519CreateDerive } from "@polkadot-labs/hdkd"
import { DEV_PHRASE, entropyToMiniSecret, mnemonicToEntropy, ss58Address } from "@polkadot-labs/hdkd-helpers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { createClient } from "polkadot-api"
import { getWsProvider } from "polkadot-api/ws"
import { WebSocket } from "ws"
import { PapiChainClient, PapiCheckpointer, PapiClient } from "../src/index.js"

const derive = sr25519CreateDerive(entropyToMiniSecret(mnemonicToEntropy(DEV_PHRASE)))
const dev = (name: string) => derive(`//${name}`)
const account = (name: string) => Schema.decodeSync(Domain.AccountId)(ss58Address(dev(name).publicKey, 42))

const PROVIDERS = ["Bob", "Charlie", "Dave"] as const
const genesis = {
  providers: PROVIDERS.map((name, i) => ({ account: `//${name}`, multiaddr: `/ip4/127.0.0.1/tcp/${4001 + i}` })),
  buckets: [{ admin: "//Alice", minProviders: 2, primaries: PROVIDERS.map((name) => `//${name}`) }]
}

/** A checkpoint of `bucket` (0 by default) at `leafCount`, signed by Bob and Charlie. */
const submission = (leafCount: number, bucket = 0) => {
  const commitment = new Domain.Commitment({
    mmrRoot: `0x${"ab".repeat(32)}` as Domain.H256,
    startSeq: 0n as Domain.U64,
    leafCount: BigInt(leafCount) as Domain.U64
  })
  const bucketId = BigInt(bucket) as Domain.BucketId
  return new ChainClient.CheckpointSubmission({
    bucketId,
    commitment,
    signatures: ["Bob", "Charlie"].map((name) =>
      new ChainClient.CheckpointSignature({
        signer: account(name),
        signature: { _tag: "Sr25519", bytes: dev(name).sign(encodeCommitmentPayload({ bucketId, ...commitment })) }
      })
    )
  })
}

const alice = PapiChainClient.layer({ signer: Redacted.make("//Alice") })

/** Polls (real time) until `check` holds, at most 10 s. */
const eventually = (check: () => boolean, what: string) =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail(`timed out waiting for ${what}`))).pipe(
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(1_000))))
  )

describe("PapiChainClient", () => {
  it.scopedLive(
    "checkpoints through the host app's own client, over its one connection, and leaves it open",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "instant", finalityLag: 0, ...genesis })
        // The app's client, as an app on the storage chain's SDK holds it.
        const app = createClient(getWsProvider(chain.url, { websocketClass: WebSocket as never }))
        yield* Effect.addFinalizer(() => Effect.sync(() => app.destroy()))
        yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(alice.pipe(Layer.provide(PapiClient.layerFromClient(app))))
          const client = Context.get(context, ChainClient.ChainClient)
          const receipt = yield* ChainClient.submitCheckpoint(client, submission(4))
          expect(receipt.commitment.leafCount).toBe(4n)
          expect(receipt.extrinsicIndex).toBe(1)
          expect(receipt.blockHash).toBe(chain.chain.hashAt(receipt.blockNumber))
          expect(receipt.fee).toBeGreaterThan(0n)
          expect(chain.connections()).toBe(1)
        }))
        // Checkpointer's scope is closed; the app's client is not.
        const finalized = yield* Effect.promise(() => app.getFinalizedBlock())
        expect(finalized.number).toBe(chain.finalizedNumber())
      }),
    30_000
  )

  it.scopedLive(
    "buckets checkpointed at once from one account: a nonce each, every one lands once",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({
          blockMode: "instant",
          finalityLag: 0,
          ...genesis,
          buckets: Array.from({ length: 6 }, () => genesis.buckets[0]!)
        })
        const context = yield* Layer.build(
          alice.pipe(Layer.provide(PapiClient.layer({ endpoints: [chain.url], connectTimeout: "10 seconds" })))
        )
        const client = Context.get(context, ChainClient.ChainClient)
        const receipts = yield* Effect.forEach(
          [0, 1, 2, 3, 4, 5],
          (bucket) => ChainClient.submitCheckpoint(client, submission(3 + bucket, bucket)),
          { concurrency: "unbounded" }
        )
        expect(receipts.map((r) => Number(r.bucketId))).toEqual([0, 1, 2, 3, 4, 5])
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(6)
        expect(chain.eventsNamed("TransactionPayment", "TransactionFeePaid")).toHaveLength(6)
      }),
    30_000
  )

  it.scopedLive(
    "a runtime upgrade between checkpoints: the pallet's new shape is read from the metadata",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ era: "C", blockMode: "instant", finalityLag: 0, ...genesis })
        const context = yield* Layer.build(
          alice.pipe(Layer.provide(PapiClient.layer({ endpoints: [chain.url], connectTimeout: "10 seconds" })))
        )
        const client = Context.get(context, ChainClient.ChainClient)
        yield* ChainClient.submitCheckpoint(client, submission(4))
        // Era C's checkpoint takes a Commitment; era A's is flat.
        yield* chain.upgradeRuntime("A")
        yield* chain.newBlock(1)
        // Once the client has seen the upgraded block finalized, it signs against the new runtime.
        yield* client.finalizedBlock.pipe(
          Effect.filterOrFail((block) => block.number === chain.finalizedNumber(), () => "not yet"),
          Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(250))))
        )
        const receipt = yield* ChainClient.submitCheckpoint(client, submission(9))
        expect(receipt.commitment.leafCount).toBe(9n)
        const checkpointed = chain.eventsNamed("StorageProvider", "BucketCheckpointed")
        expect(checkpointed).toHaveLength(2)
        expect(checkpointed[1]!.fields).toHaveProperty("leaf_count", 9n) // era A's flat event
        const bucket = yield* client.bucket(0n as Domain.BucketId)
        expect(bucket.snapshot._tag === "Some" && bucket.snapshot.value.commitment.leafCount).toBe(9n)
      }),
    30_000
  )

  it.scopedLive("a socket cut mid-submission ends in exactly one checkpoint and one fee", () =>
    Effect.gen(function*() {
      const chain = yield* Devchain.start({ blockMode: "manual", finalityLag: 0, ...genesis })
      const context = yield* Layer.build(
        alice.pipe(Layer.provide(PapiClient.layer({ endpoints: [chain.url], connectTimeout: "10 seconds" })))
      )
      const client = Context.get(context, ChainClient.ChainClient)
      const prepared = yield* client.prepareCheckpoint(submission(6))
      const submitting = yield* Effect.fork(client.submitPrepared(prepared))
      yield* eventually(() => chain.chain.pending().length === 1, "the extrinsic in the pool")
      // The network drops while the extrinsic waits in the pool; it lands while the client is away.
      yield* chain.disconnectAll()
      yield* chain.newBlock(1)
      const receipt = yield* Fiber.join(submitting)
      expect(receipt.extrinsicHash).toBe(prepared.extrinsicHash)
      expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(1)
      const fees = chain.eventsNamed("TransactionPayment", "TransactionFeePaid")
      expect(fees).toHaveLength(1)
      // The same signed bytes again find the same receipt, and nothing is sent.
      const again = yield* client.findReceipt(prepared)
      expect(again._tag === "Some" && again.value.blockHash).toBe(receipt.blockHash)
      expect(chain.chain.pending()).toHaveLength(0)
    }), 30_000)

  it.scopedLive(
    "PapiCheckpointer.layerConfig: the whole stack from the CHECKPOINTER_* names the @polkadot/api layer reads",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "instant", finalityLag: 0, ...genesis })
        const provider = ConfigProvider.fromMap(
          new Map([
            ["CHECKPOINTER_CHAIN_ENDPOINTS", ` ${chain.url} ,`],
            ["CHECKPOINTER_SIGNER_SURI", "//Bob"],
            ["CHECKPOINTER_CONSENSUS_THRESHOLD", "90"]
          ]),
          { pathDelim: "_" } // as in the environment
        )
        const context = yield* Layer.build(
          PapiCheckpointer.layerConfig({ journal: Checkpointer.inMemory() }).pipe(
            Layer.provide(FetchHttpClient.layer),
            Layer.provide(Layer.setConfigProvider(provider))
          )
        )
        const client = Context.get(context, ChainClient.ChainClient)
        expect(client.signer).toEqual(Option.some(account("Bob")))
        const bucket = yield* client.bucket(0n as Domain.BucketId)
        expect(bucket.primaryProviders).toEqual(PROVIDERS.map(account))
        // The round's settings come from the same configuration.
        expect(Context.get(context, CheckpointConfig.CheckpointConfig).consensusThreshold).toBe(90)
        expect(chain.connections()).toBe(1)
      }),
    30_000
  )
})

/**
 * What is particular to the polkadot-api layer: checkpointing through a client the host app already
 * holds, and the stack from configuration. The shared chain suite in @checkpointer/polkadot
 * (`test/ChainSuite.ts`) runs the rest against it on every backend: discovery, rounds, fees, the pallet's
 * errors, concurrent buckets from one account, a socket cut mid-submission, a runtime upgrade.
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
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
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

/**
 * A devchain with providers and buckets at genesis, the live client connected to it over WebSocket.
 */
import { ChainClient, Domain, encodeCommitmentPayload } from "@checkpointer/core"
import { Devchain } from "@checkpointer/devchain"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import { u8aToHex } from "@polkadot/util"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { PolkadotApi, PolkadotChainClient } from "../src/index.js"

export const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
export const dev = (name: string): KeyringPair => keyring.addFromUri(`//${name}`)
export const account = (name: string): Domain.AccountId => Schema.decodeSync(Domain.AccountId)(dev(name).address)

export const PROVIDERS = ["Bob", "Charlie", "Dave"] as const

/** Genesis: Bob, Charlie and Dave registered; `buckets` buckets (ids 0..) with them as primaries, min 2, admin Alice. */
export const genesis = (options: { buckets?: number; multiaddrs?: ReadonlyArray<string> } = {}) => ({
  providers: PROVIDERS.map((name, i) => ({
    account: `//${name}`,
    multiaddr: options.multiaddrs?.[i] ?? `/ip4/127.0.0.1/tcp/${4001 + i}`
  })),
  buckets: Array.from({ length: options.buckets ?? 1 }, () => ({
    admin: "//Alice",
    minProviders: 2,
    primaries: PROVIDERS.map((name) => `//${name}`)
  }))
})

/** The live client's layers on a running devchain. */
export const clientLayer = (
  url: string,
  options: PolkadotChainClient.ClientOptions = { signer: Redacted.make("//Alice") }
) =>
  PolkadotChainClient.layer(options).pipe(
    Layer.provideMerge(
      PolkadotApi.layer({ endpoints: [url], reconnectDelay: "100 millis", connectTimeout: "10 seconds" })
    )
  )

/** A devchain and the live client (signing as Alice) for the scope. */
export const live = (config: Devchain.DevchainConfigInput, options?: PolkadotChainClient.ClientOptions) =>
  Effect.gen(function*() {
    const chain = yield* Devchain.start({ blockMode: "instant", finalityLag: 0, ...config })
    const context = yield* Layer.build(clientLayer(chain.url, options))
    const client = Context.get(context, ChainClient.ChainClient)
    const { api } = Context.get(context, PolkadotApi.PolkadotApi)
    return { chain, client, api }
  })

/** A submission signed by `signers` over `(bucket, root, startSeq, leafCount)`. */
export const submission = (
  bucketId: number,
  leafCount: number,
  signers: ReadonlyArray<string>,
  options: { startSeq?: number; root?: number; signedLeafCount?: number } = {}
) => {
  const mmrRoot = u8aToHex(new Uint8Array(32).fill(options.root ?? 0xab)) as Domain.H256
  const commitment = new Domain.Commitment({
    mmrRoot,
    startSeq: BigInt(options.startSeq ?? 0) as Domain.U64,
    leafCount: BigInt(leafCount) as Domain.U64
  })
  const signed = new Domain.Commitment({
    ...commitment,
    leafCount: BigInt(options.signedLeafCount ?? leafCount) as Domain.U64
  })
  return new ChainClient.CheckpointSubmission({
    bucketId: BigInt(bucketId) as Domain.BucketId,
    commitment,
    signatures: signers.map((name) =>
      new ChainClient.CheckpointSignature({
        signer: account(name),
        signature: {
          _tag: "Sr25519",
          bytes: dev(name).sign(encodeCommitmentPayload({ bucketId: BigInt(bucketId) as Domain.BucketId, ...signed }))
        }
      })
    )
  })
}

/** Polls (real time) until `check` holds, at most 5 s. */
export const eventually = (check: () => boolean, what = "condition") =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail(`timed out waiting for ${what}`))).pipe(
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(500))))
  )

/**
 * The two chain layers side by side against one devchain: `@checkpointer/polkadot` (`@polkadot/api`,
 * legacy JSON-RPC) and `@checkpointer/papi` (polkadot-api, the new JSON-RPC spec).
 *
 * - Finalized checkpoints per second through the `ChainClient` port: one checkpoint for each of
 *   BUCKETS buckets at once from one account (each bucket's own commitment, three provider signatures
 *   the pallet verifies), from signing to the receipt of its finalized block, event checked and fee read.
 *   The chain's blocks (every 100 ms, finality one block behind) are the same for both; each layer is
 *   measured twice, alternately, and the better run kept.
 * - Memory per connection: CONNECTIONS clients of a kind opened at once, each connected with its chain
 *   layer built and one bucket read; the heap grown (after a full collection), per connection.
 *
 * Run: `npm run bench:adapters` (also part of `npm run bench`), or
 * `node --expose-gc --import tsx bench/adapters.ts`.
 */
import { ChainClient, Domain, encodeCommitmentPayload } from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { cpus } from "node:os"
import { Devchain } from "../packages/devchain/src/index.js"
import { PapiChainClient, PapiClient } from "../packages/papi/src/index.js"
import { PolkadotApi, PolkadotChainClient } from "../packages/polkadot/src/index.js"
import { recordResults } from "./results.js"

const BUCKETS = Number(process.env.ADAPTER_BUCKETS ?? 100)
const CONNECTIONS = Number(process.env.ADAPTER_CONNECTIONS ?? 8)
const PROVIDERS = ["Bob", "Charlie", "Dave"] as const

type Adapter = "polkadot-js" | "papi"
const ADAPTERS: ReadonlyArray<Adapter> = ["polkadot-js", "papi"]

const clientLayer = (adapter: Adapter, url: string): Layer.Layer<ChainClient.ChainClient, unknown> =>
  adapter === "papi"
    ? PapiChainClient.layer({ signer: Redacted.make("//Alice") }).pipe(
      Layer.provide(PapiClient.layer({ endpoints: [url] }))
    )
    : PolkadotChainClient.layer({ signer: Redacted.make("//Alice") }).pipe(
      Layer.provide(PolkadotApi.layer({ endpoints: [url] }))
    )

const gc = (globalThis as { gc?: () => void }).gc
const collect = () => {
  for (let i = 0; i < 3; i++) gc?.()
}

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
  const pairs = new Map(PROVIDERS.map((name) => [name, keyring.addFromUri(`//${name}`)]))
  const chain = yield* Devchain.start({
    blockMode: "interval",
    blockTime: Duration.millis(100),
    finalityLag: 1,
    providers: PROVIDERS.map((name, i) => ({ account: `//${name}`, multiaddr: `/ip4/127.0.0.1/tcp/${4001 + i}` })),
    buckets: Array.from({ length: BUCKETS }, () => ({
      admin: "//Alice",
      minProviders: 2,
      primaries: PROVIDERS.map((name) => `//${name}`)
    }))
  })

  /** Bucket `bucket`'s checkpoint at `leafCount`, signed by Bob and Charlie. */
  const submission = (bucket: number, leafCount: number) => {
    const bucketId = BigInt(bucket) as Domain.BucketId
    const commitment = new Domain.Commitment({
      mmrRoot: `0x${(leafCount % 256).toString(16).padStart(2, "0").repeat(32)}` as Domain.H256,
      startSeq: 0n as Domain.U64,
      leafCount: BigInt(leafCount) as Domain.U64
    })
    const payload = encodeCommitmentPayload({ bucketId, ...commitment })
    return new ChainClient.CheckpointSubmission({
      bucketId,
      commitment,
      signatures: (["Bob", "Charlie"] as const).map((name) =>
        new ChainClient.CheckpointSignature({
          signer: Schema.decodeSync(Domain.AccountId)(pairs.get(name)!.address),
          signature: { _tag: "Sr25519", bytes: pairs.get(name)!.sign(payload) }
        })
      )
    })
  }

  // Throughput: each run checkpoints every bucket at a leaf count above the last run's.
  let leafCount = 0
  const throughput = (adapter: Adapter) =>
    Effect.scoped(Effect.gen(function*() {
      const client = Context.get(yield* Layer.build(clientLayer(adapter, chain.url)), ChainClient.ChainClient)
      leafCount += 10
      const at = leafCount
      const started = process.hrtime.bigint()
      const receipts = yield* Effect.forEach(
        Array.from({ length: BUCKETS }, (_, bucket) => bucket),
        (bucket) => ChainClient.submitCheckpoint(client, submission(bucket, at)),
        { concurrency: "unbounded" }
      )
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const landed = receipts.filter((r) => r.commitment.leafCount === BigInt(at)).length
      if (landed !== BUCKETS) return yield* Effect.die(`${adapter}: ${landed} of ${BUCKETS} checkpoints landed`)
      return { seconds, perSecond: BUCKETS / seconds }
    }))

  const best: Record<Adapter, { seconds: number; perSecond: number } | undefined> = {
    "polkadot-js": undefined,
    papi: undefined
  }
  for (let run = 0; run < 2; run++) {
    for (const adapter of ADAPTERS) {
      const figure = yield* throughput(adapter)
      console.log(
        `${adapter}: ${BUCKETS} finalized checkpoints in ${figure.seconds.toFixed(2)} s (${
          figure.perSecond.toFixed(1)
        }/s)`
      )
      if (best[adapter] === undefined || figure.perSecond > best[adapter]!.perSecond) best[adapter] = figure
    }
  }

  // Memory: CONNECTIONS clients of a kind at once, each with one read done.
  const memory = (adapter: Adapter) =>
    Effect.scoped(Effect.gen(function*() {
      collect()
      const before = process.memoryUsage()
      yield* Effect.forEach(
        Array.from({ length: CONNECTIONS }, () => adapter),
        (kind) =>
          Effect.flatMap(Layer.build(clientLayer(kind, chain.url)), (context) =>
            Context.get(context, ChainClient.ChainClient).bucket(0n as Domain.BucketId)),
        { concurrency: "unbounded" }
      )
      collect()
      const after = process.memoryUsage()
      const connections = chain.connections()
      return {
        // The heap only: the process's RSS moves by more than a connection's share between two readings.
        heapMBPerConnection: (after.heapUsed - before.heapUsed) / CONNECTIONS / 1e6,
        socketsPerClient: connections / CONNECTIONS
      }
    }))
  const memoryOf: Record<string, unknown> = {}
  for (const adapter of ADAPTERS) {
    const figure = yield* memory(adapter)
    memoryOf[adapter] = figure
    console.log(
      `${adapter}: ${
        figure.heapMBPerConnection.toFixed(2)
      } MB heap per connection (${figure.socketsPerClient} socket(s) each)`
    )
  }

  const machine = { cores: cpus().length, node: process.version, gc: gc !== undefined }
  console.log(`machine: ${machine.cores} cores, Node ${machine.node}`)
  yield* recordResults("adapters", {
    machine,
    buckets: BUCKETS,
    blockTimeMillis: 100,
    finalityLag: 1,
    checkpointsPerSecond: Object.fromEntries(ADAPTERS.map((a) => [a, Number(best[a]!.perSecond.toFixed(1))])),
    connections: CONNECTIONS,
    memoryPerConnection: memoryOf
  })
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)

/**
 * Devchain throughput on this machine: empty blocks per second, signed extrinsics per second through
 * the pool (submitted over WebSocket by `@polkadot/api`), and finalized checkpoints per second (each
 * with three provider sr25519 signatures the pallet verifies).
 *
 * Run: `npm run bench` (all benchmarks) or `node --import tsx bench/devchain.ts`.
 */
import { ApiPromise, WsProvider } from "@polkadot/api"
import type { SubmittableExtrinsic } from "@polkadot/api/types"
import { Keyring } from "@polkadot/keyring"
import type { ProviderInterface } from "@polkadot/rpc-provider/types"
import { u8aToHex } from "@polkadot/util"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import { Devchain } from "../packages/devchain/src/index.js"
import { recordResults } from "./results.js"

const UNIT = 1_000_000_000_000n

const payload = (bucket: number, root: Uint8Array, leafCount: bigint) => {
  const out = new Uint8Array(57)
  const view = new DataView(out.buffer)
  out[0] = 1
  view.setBigUint64(1, BigInt(bucket), true)
  out.set(root, 9)
  view.setBigUint64(49, leafCount, true)
  return out
}

const connect = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      ApiPromise.create({ provider: new WsProvider(url) as unknown as ProviderInterface, noInitWarn: true })
    ),
    (api) => Effect.promise(() => api.disconnect())
  )

/** Submits pre-signed extrinsics and resolves when every one is in a finalized block. */
const submitAll = (api: ApiPromise, txs: ReadonlyArray<SubmittableExtrinsic<"promise">>) =>
  Effect.promise(() =>
    Promise.all(txs.map((tx) =>
      new Promise<void>((resolve, reject) => {
        tx.send((result) => {
          if (result.status.isFinalized) {
            if (result.dispatchError !== undefined) reject(new Error(result.dispatchError.toString()))
            else resolve()
          }
          if (result.isError) reject(new Error(result.status.type))
        }).catch(reject)
      })
    ))
  )

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
  const results: Record<string, number> = {}

  // 1. Empty blocks (timestamp inherent only), built programmatically.
  yield* Effect.scoped(Effect.gen(function*() {
    const chain = yield* Devchain.start({ blockMode: "manual", finalityLag: 0 })
    const start = process.hrtime.bigint()
    yield* chain.newBlock(2_000)
    results.emptyBlocksPerSecond = 2_000 / seconds(start)
  }))

  // 2. Signed extrinsics (transfers from 10 senders) through WS, pool and blocks, until finalized.
  yield* Effect.scoped(Effect.gen(function*() {
    const senders = Array.from({ length: 10 }, (_, i) => keyring.addFromUri(`//Sender${i}`))
    const chain = yield* Devchain.start({
      blockMode: "instant",
      finalityLag: 0,
      endowed: senders.map((s) => ({ account: s.address, free: 1_000n * UNIT }))
    })
    const api = yield* connect(chain.url)
    const perSender = 300
    const txs: Array<SubmittableExtrinsic<"promise">> = []
    for (const sender of senders) {
      for (let nonce = 0; nonce < perSender; nonce++) {
        const tx = api.tx.balances.transferKeepAlive(keyring.addFromUri("//Sink").address, UNIT)
        yield* Effect.promise(() => tx.signAsync(sender, { nonce, era: 0 }))
        txs.push(tx)
      }
    }
    const half = txs.length / 2
    const blocksBefore = chain.bestNumber()
    let start = process.hrtime.bigint()
    yield* submitAll(api, txs.slice(0, half))
    results.extrinsicsPerSecond = half / seconds(start)
    results.blocksForExtrinsics = chain.bestNumber() - blocksBefore
    // The node alone: submitted without watching (no per-transaction event decoding in the client).
    start = process.hrtime.bigint()
    yield* Effect.promise(() => Promise.all(txs.slice(half).map((tx) => api.rpc.author.submitExtrinsic(tx))))
    while (chain.chain.pending().length > 0) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    results.nodeExtrinsicsPerSecond = half / seconds(start)
  }))

  // 3. Finalized checkpoints: 100 buckets with 3 primaries each (min 3), one checkpoint per bucket.
  yield* Effect.scoped(Effect.gen(function*() {
    const providers = ["//P0", "//P1", "//P2"]
    const buckets = 100
    const chain = yield* Devchain.start({
      blockMode: "instant",
      finalityLag: 0,
      endowed: [
        { account: "//Alice", free: 1_000_000n * UNIT },
        ...providers.map((account) => ({ account, free: 10_000n * UNIT }))
      ],
      providers: providers.map((account, i) => ({ account, multiaddr: `/ip4/127.0.0.1/tcp/${4000 + i}` })),
      buckets: Array.from({ length: buckets }, () => ({ admin: "//Alice", minProviders: 3, primaries: providers }))
    })
    const api = yield* connect(chain.url)
    const alice = keyring.addFromUri("//Alice")
    const pairs = providers.map((p) => keyring.addFromUri(p))
    const root = new Uint8Array(32).fill(0xcd)
    const txs: Array<SubmittableExtrinsic<"promise">> = []
    for (let bucket = 0; bucket < buckets; bucket++) {
      const signatures = pairs.map((p) => [p.address, { Sr25519: u8aToHex(p.sign(payload(bucket, root, 16n))) }])
      const tx = api.tx.storageProvider.checkpoint(
        bucket,
        { mmrRoot: u8aToHex(root), startSeq: 0, leafCount: 16 },
        signatures
      )
      yield* Effect.promise(() => tx.signAsync(alice, { nonce: bucket, era: 0 }))
      txs.push(tx)
    }
    const start = process.hrtime.bigint()
    yield* submitAll(api, txs)
    results.finalizedCheckpointsPerSecond = buckets / seconds(start)
  }))

  const rows = [
    ["empty blocks / s", results.emptyBlocksPerSecond],
    ["signed transfers / s (WS → pool → finalized, api watching each)", results.extrinsicsPerSecond],
    ["signed transfers / s (WS → pool → block, node only)", results.nodeExtrinsicsPerSecond],
    ["finalized checkpoints / s (3 provider signatures each)", results.finalizedCheckpointsPerSecond]
  ] as const
  console.log("devchain throughput")
  for (const [name, value] of rows) console.log(`  ${name.padEnd(66)} ${value!.toFixed(1).padStart(10)}`)
  yield* recordResults("devchain", results)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})

/**
 * Throughput and memory.
 *
 * 1. Complete rounds per second over 1,000 buckets × 5 providers (loopback HTTP to simulators in a
 *    child process; the in-memory chain), next to two bounds measured in the same run: sr25519
 *    verifications per second on this machine (÷ 5 per round) and bare HTTP requests per second to
 *    the same simulators with a minimal client (÷ 5 per round). Goal: ≥ 50 % of the tighter bound.
 *    The in-memory chain shares this process; in the measured figure it does not verify the provider
 *    signatures again (the chain does that on its own machine; Checkpointer verifies every one). The
 *    figure with the chain verifying in this process too is reported beside it.
 *
 * Memory per bucket, at 1,000, 10,000 and 100,000 buckets, is measured by `scale.ts`.
 */
import { CheckpointManager, type Domain, encodeCommitmentPayload, SignatureVerifier } from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { recordResults } from "./results.js"
import { remoteWorld } from "./world.js"

const now = () => performance.now()

const verificationsPerSecond = Effect.sync(() => {
  const pair = new Keyring({ type: "sr25519" }).addFromUri("//Bench")
  const message = encodeCommitmentPayload({
    bucketId: 1n as Domain.BucketId,
    mmrRoot: `0x${"ab".repeat(32)}` as Domain.H256,
    startSeq: 0n as Domain.U64,
    leafCount: 5n as Domain.U64
  })
  const signature = { _tag: "Sr25519" as const, bytes: pair.sign(message) }
  const publicKey = `0x${Buffer.from(pair.publicKey).toString("hex")}` as Domain.PublicKey
  const count = 3_000
  const t = now()
  for (let i = 0; i < count; i++) SignatureVerifier.verifyMultiSignature({ signature, message, publicKey })
  return count / ((now() - t) / 1000)
})

const requestsPerSecond = (endpoints: ReadonlyArray<string>, buckets: number) =>
  Effect.promise(async () => {
    const count = 5_000
    let next = 0
    const t = now()
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++
        await fetch(`${endpoints[i % endpoints.length]}/commitment?bucket_id=${i % buckets}`).then((r) =>
          r.arrayBuffer()
        )
      }
    }))
    return count / ((now() - t) / 1000)
  })

/** Rounds per second, every bucket checkpointed once, 32 at a time. */
const roundsPerSecond = (buckets: ReadonlyArray<number>, layer: Layer.Layer<CheckpointManager.CheckpointManager>) =>
  Effect.gen(function*() {
    const manager = yield* CheckpointManager.CheckpointManager
    yield* manager.submitCheckpoint(0n as Domain.BucketId) // warm-up
    const t = now()
    yield* Effect.forEach(
      buckets.slice(1),
      (b) => Effect.either(manager.submitCheckpoint(BigInt(b) as Domain.BucketId)),
      {
        concurrency: 32,
        discard: true
      }
    )
    return (buckets.length - 1) / ((now() - t) / 1000)
  }).pipe(Effect.provide(layer))

const throughput = Effect.gen(function*() {
  const buckets = Array.from({ length: 1_000 }, (_, i) => i)
  const specs = Array.from({ length: 5 }, (_, i) => ({ name: `Thru${i}`, latencyMillis: 0 }))
  const { announced, layer } = yield* remoteWorld(specs, buckets, { chainVerifies: false })
  const verifyRate = yield* verificationsPerSecond
  const httpRate = yield* requestsPerSecond(announced.map((p: { endpoint: string }) => p.endpoint), buckets.length)
  const rounds = yield* roundsPerSecond(buckets, layer)
  // The same, with the in-process chain verifying every signature again (fresh providers and chain).
  const verifying = yield* Effect.scoped(Effect.flatMap(
    remoteWorld(specs.map((s) => ({ ...s, name: `${s.name}v` })), buckets, { chainVerifies: true }),
    (world) => roundsPerSecond(buckets, world.layer)
  ))
  const bound = Math.min(verifyRate / 5, httpRate / 5)
  return {
    roundsPerSecond: rounds,
    roundsPerSecondChainVerifyingInProcess: verifying,
    verificationsPerSecond: verifyRate,
    requestsPerSecond: httpRate,
    tighterBoundRoundsPerSecond: bound,
    ratio: rounds / bound
  }
}).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const t = yield* throughput
  console.log("throughput: 1,000 buckets × 5 providers, loopback HTTP, in-memory chain")
  console.log(
    `  rounds/s ${t.roundsPerSecond.toFixed(1)}; bounds: sr25519 verifications/s ${
      t.verificationsPerSecond.toFixed(0)
    } (÷5 = ${(t.verificationsPerSecond / 5).toFixed(0)} rounds/s), bare HTTP requests/s ${
      t.requestsPerSecond.toFixed(0)
    } (÷5 = ${(t.requestsPerSecond / 5).toFixed(0)} rounds/s)`
  )
  console.log(`  ratio to the tighter bound ${t.ratio.toFixed(2)} (goal ≥ 0.5: ${t.ratio >= 0.5 ? "met" : "MISSED"})`)
  console.log(
    `  (the in-memory chain does not verify the signatures again; with it verifying in this process too: ${
      t.roundsPerSecondChainVerifyingInProcess.toFixed(1)
    } rounds/s, ratio ${(t.roundsPerSecondChainVerifyingInProcess / t.tighterBoundRoundsPerSecond).toFixed(2)})`
  )
  yield* recordResults("throughput", t)
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

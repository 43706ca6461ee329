/**
 * Checkpointer's CPU per round against a minimal client, and idle rounds next to changed ones.
 *
 * Providers (N = 5 and 16, answering at once) run in a child process and answer from commitments signed
 * once (`cached-providers.ts`), so they are not the bottleneck: their CPU is shown beside the figures.
 * Rounds run at full speed, `CONCURRENCY` buckets at a time, and the CPU time of this process
 * (`process.cpuUsage`: user + system, garbage collection included) is divided by the rounds.
 *
 * - Checkpointer, changed: one complete round per bucket whose chain snapshot is behind the providers
 *   (`submitCheckpoint`: discover, collect, verify, decide, submit to the in-memory chain, which does not
 *   verify the signatures again: the chain is another machine).
 * - Checkpointer, idle: the same buckets again; the providers still sign the commitment the chain now
 *   holds (`AlreadyCheckpointed`: the watcher's common round).
 * - Checkpointer, collection only: `collectCommitments` on the same buckets (no submission).
 * - Minimal client: only the irreducible work of a round, on the same providers in the same run: the
 *   same N requests over keep-alive connections, the bodies read and `JSON.parse`d, the payload encoded,
 *   every sr25519 signature verified (the same WebAssembly verifier). Written twice, over `node:http`
 *   and over undici (Checkpointer's transport); the cheaper one is the yardstick, measured before and
 *   after Checkpointer's phases, its lower figure kept.
 *
 * Goal: Checkpointer's CPU per complete (changed) round ≤ 1.5 × the minimal client's, at N = 5 and 16.
 */
import { CheckpointManager, type Domain, encodeCommitmentPayload } from "@checkpointer/core"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as wasmCrypto from "@polkadot/wasm-crypto"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import { availableParallelism } from "node:os"
import * as undici from "undici"
import { recordResults } from "./results.js"
import { childCpuMillis, remoteWorld } from "./world.js"

const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 1_000)
const WARM = 200
const CONCURRENCY = 16
const SIZES = (process.env.BENCH_CPU_SIZES ?? "5,16").split(",").map(Number)
const GOAL_RATIO = 1.5

const now = () => performance.now()
const gc = () => (globalThis as { gc?: () => void }).gc?.()

interface Provider {
  readonly endpoint: string
  readonly publicKey: string
}

interface Phase {
  readonly rounds: number
  readonly wallMillis: number
  readonly cpuMillisPerRound: number
  readonly roundsPerSecond: number
  /** The providers' process: CPU time over wall time (1 = one core busy). */
  readonly providersCpuShare: number | undefined
}

/** Measures `rounds`, which runs one round per bucket of `buckets`. */
const measure = <E>(
  childPid: number | undefined,
  buckets: ReadonlyArray<number>,
  rounds: Effect.Effect<void, E>
): Effect.Effect<Phase, E> =>
  Effect.suspend(() => {
    gc()
    const cpu = process.cpuUsage()
    const child = childCpuMillis(childPid)
    const started = now()
    return Effect.map(rounds, () => {
      const wallMillis = now() - started
      const used = process.cpuUsage(cpu)
      const childAfter = childCpuMillis(childPid)
      return {
        rounds: buckets.length,
        wallMillis,
        cpuMillisPerRound: (used.user + used.system) / 1000 / buckets.length,
        roundsPerSecond: buckets.length / (wallMillis / 1000),
        providersCpuShare: child === undefined || childAfter === undefined
          ? undefined
          : (childAfter - child) / wallMillis
      }
    })
  })

/** Promise rounds, one per bucket, `CONCURRENCY` at a time. */
const pool = (buckets: ReadonlyArray<number>, round: (bucket: number) => Promise<void>) =>
  Effect.promise(async () => {
    let next = 0
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < buckets.length) await round(buckets[next++]!)
    }))
  })

/** The irreducible work of one answer: parse, encode the signed payload, verify. */
const verifyAnswer = (text: string, publicKey: Uint8Array): boolean => {
  const body = JSON.parse(text) as {
    bucket_id: number
    mmr_root: string
    start_seq: number
    leaf_count: number
    provider_signature: string
  }
  const signature = Buffer.from(body.provider_signature.slice(2), "hex")
  const message = encodeCommitmentPayload({
    bucketId: BigInt(body.bucket_id) as Domain.BucketId,
    mmrRoot: body.mmr_root as Domain.H256,
    startSeq: BigInt(body.start_seq) as Domain.U64,
    leafCount: BigInt(body.leaf_count) as Domain.U64
  })
  // A SCALE MultiSignature: 0x01 then the 64 sr25519 bytes.
  return signature[0] === 1 && wasmCrypto.sr25519Verify(signature.subarray(1), message, publicKey)
}

/** A minimal client's round over `get`: every provider at once, every answer verified. */
const minimalRound = (providers: ReadonlyArray<Provider>, get: (url: string) => Promise<string>) => {
  const keys = providers.map((p) => Buffer.from(p.publicKey.slice(2), "hex"))
  return async (bucket: number) => {
    const texts = await Promise.all(providers.map((p) => get(`${p.endpoint}/checkpoint-signature?bucket_id=${bucket}`)))
    for (let i = 0; i < texts.length; i++) {
      if (!verifyAnswer(texts[i]!, keys[i]!)) throw new Error(`bucket ${bucket}: provider ${i} did not verify`)
    }
  }
}

const nodeHttpGet = (agent: http.Agent) => (url: string) =>
  new Promise<string>((resolve, reject) => {
    http.get(url, { agent }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
      response.on("error", reject)
    }).on("error", reject)
  })

const undiciGet = (dispatcher: undici.Dispatcher) => (url: string) =>
  undici.request(url, { dispatcher }).then((response) => response.body.text())

const forSize = (n: number) =>
  Effect.gen(function*() {
    const all = Array.from({ length: WARM + ROUNDS }, (_, i) => i)
    const warm = all.slice(0, WARM)
    const measured = all.slice(WARM)
    const specs = Array.from({ length: n }, (_, i) => ({ name: `Cpu${n}x${i}`, latencyMillis: 0 }))
    const world = yield* remoteWorld(specs, all, { chainVerifies: false, providers: "cached" })
    const providers = world.announced
    const agent = new http.Agent({ keepAlive: true })
    const dispatcher = new undici.Agent()
    yield* Effect.addFinalizer(() => Effect.promise(() => dispatcher.close()).pipe(Effect.as(agent.destroy())))
    const overNodeHttp = minimalRound(providers, nodeHttpGet(agent))
    const overUndici = minimalRound(providers, undiciGet(dispatcher))
    const minimal = (round: (bucket: number) => Promise<void>, buckets: ReadonlyArray<number>) =>
      measure(world.childPid, buckets, pool(buckets, round))

    return yield* Effect.gen(function*() {
      const manager = yield* CheckpointManager.CheckpointManager
      const checkpoint = (tag: "Submitted" | "AlreadyCheckpointed", buckets: ReadonlyArray<number>) =>
        measure(
          world.childPid,
          buckets,
          Effect.forEach(buckets, (bucket) =>
            manager.submitCheckpoint(BigInt(bucket) as Domain.BucketId).pipe(
              Effect.filterOrDieMessage((result) => result._tag === tag, `bucket ${bucket}: expected ${tag}`)
            ), { concurrency: CONCURRENCY, discard: true })
        )
      const collectOnly = (buckets: ReadonlyArray<number>) =>
        measure(
          world.childPid,
          buckets,
          Effect.forEach(buckets, (bucket) =>
            manager.collectCommitments(BigInt(bucket) as Domain.BucketId).pipe(
              Effect.filterOrDieMessage((report) => report.decision.thresholdMet, `bucket ${bucket}: no consensus`)
            ), { concurrency: CONCURRENCY, discard: true })
        )

      // Warm-up: every path once over the warm buckets (connections, JIT).
      yield* minimal(overNodeHttp, warm)
      yield* minimal(overUndici, warm)
      yield* checkpoint("Submitted", warm)
      yield* checkpoint("AlreadyCheckpointed", warm)
      yield* collectOnly(warm)

      const nodeHttpBefore = yield* minimal(overNodeHttp, measured)
      const undiciBefore = yield* minimal(overUndici, measured)
      const changed = yield* checkpoint("Submitted", measured)
      const idle = yield* checkpoint("AlreadyCheckpointed", measured)
      const collection = yield* collectOnly(measured)
      const nodeHttpAfter = yield* minimal(overNodeHttp, measured)
      const undiciAfter = yield* minimal(overUndici, measured)

      const candidates = [
        { client: "node:http", phase: nodeHttpBefore },
        { client: "node:http", phase: nodeHttpAfter },
        { client: "undici", phase: undiciBefore },
        { client: "undici", phase: undiciAfter }
      ]
      const cheapest = candidates.reduce((a, b) => (b.phase.cpuMillisPerRound < a.phase.cpuMillisPerRound ? b : a))
      return {
        providers: n,
        rounds: ROUNDS,
        concurrency: CONCURRENCY,
        checkpointer: changed,
        checkpointerIdle: idle,
        checkpointerCollectOnly: collection,
        minimal: { ...cheapest.phase, client: cheapest.client },
        minimalRuns: candidates.map((c) => ({ client: c.client, ...c.phase })),
        ratio: changed.cpuMillisPerRound / cheapest.phase.cpuMillisPerRound,
        idleRatio: idle.cpuMillisPerRound / cheapest.phase.cpuMillisPerRound,
        goalRatio: GOAL_RATIO
      }
    }).pipe(Effect.provide(world.layer))
  }).pipe(Effect.scoped)

const machine = () => ({ cores: availableParallelism(), node: process.version, platform: process.platform })

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const sizes = []
  for (const n of SIZES) sizes.push(yield* forSize(n))
  const { cores, node } = machine()
  console.log(
    `client CPU per round (ms), rounds at full speed ${CONCURRENCY} at a time, ${ROUNDS} rounds; providers answer ` +
      `from signed commitments in a child process; ${cores} cores, Node ${node}`
  )
  const share = (p: Phase) => p.providersCpuShare === undefined ? "?" : p.providersCpuShare.toFixed(2)
  for (const r of sizes) {
    const met = r.ratio <= GOAL_RATIO
    console.log(
      `  N=${r.providers}: Checkpointer ${
        r.checkpointer.cpuMillisPerRound.toFixed(2)
      } ms/round (changed, submitted), ` +
        `${r.checkpointerIdle.cpuMillisPerRound.toFixed(2)} idle, ${
          r.checkpointerCollectOnly.cpuMillisPerRound.toFixed(2)
        } collection only; minimal client (${r.minimal.client}) ${r.minimal.cpuMillisPerRound.toFixed(2)}`
    )
    console.log(
      `    ratio ${r.ratio.toFixed(2)} (goal ≤ ${GOAL_RATIO}: ${met ? "met" : "NOT MET"}); idle ${
        r.idleRatio.toFixed(2)
      }; rounds/s changed ${r.checkpointer.roundsPerSecond.toFixed(0)}, idle ${
        r.checkpointerIdle.roundsPerSecond.toFixed(0)
      }, minimal ${r.minimal.roundsPerSecond.toFixed(0)}; providers' process busy ${share(r.checkpointer)} / ${
        share(r.checkpointerIdle)
      } / ${share(r.minimal)} of a core`
    )
  }
  yield* recordResults("cpu", {
    machine: machine(),
    goal: `Checkpointer's CPU per complete round ≤ ${GOAL_RATIO} × the minimal client's at N = 5 and 16`,
    met: sizes.every((r) => r.ratio <= GOAL_RATIO),
    sizes
  })
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

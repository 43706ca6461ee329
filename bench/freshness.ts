/**
 * Freshness, the figure users feel: how long after the providers hold new data a checkpoint covering it
 * is finalized, with `checkpointer run` (the built command, a child process) watching a devchain bucket.
 *
 * The devchain (in this process) makes a block every `BLOCK_MS` and finalizes `FINALITY_LAG` blocks behind
 * the best; three simulated providers (in this process) are the bucket's primaries (2 signatures needed).
 * `run --interval-blocks INTERVAL` asks them every INTERVAL finalized blocks. Every `WRITE_EVERY_BLOCKS`
 * blocks new leaves are written to all three providers: the delay of a write runs from the moment the last
 * provider holds it to the moment the first `BucketCheckpointed` event covering it (leaf count at least
 * the write's) is in a finalized block, as seen by polling the chain every 10 ms.
 *
 * Goal: p99 ≤ the interval + the finality lag + 2 blocks, with no failed (fee-paying) extrinsic
 * (`System.ExtrinsicFailed`) over the run.
 */
import { ProviderSimulator } from "@checkpointer/testing"
import { blake2AsU8a, cryptoWaitReady } from "@polkadot/util-crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Devchain } from "../packages/devchain/src/index.js"
import { recordResults } from "./results.js"

const BIN = fileURLToPath(new URL("../packages/cli/bin/checkpointer.mjs", import.meta.url))
const BLOCK_MS = Number(process.env.BENCH_FRESHNESS_BLOCK_MS ?? 1_000)
const FINALITY_LAG = 2
const INTERVAL = 2
const WRITE_EVERY_BLOCKS = 3
const WRITES = Number(process.env.BENCH_FRESHNESS_WRITES ?? 40)
const NAMES = ["Bob", "Charlie", "Dave"]

const now = () => performance.now()
const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** Polls `check` every `everyMillis` until it holds, for at most `seconds`. */
const until = (check: () => boolean, what: string, seconds: number, everyMillis = 10) =>
  Effect.async<void, Error>((resume) => {
    const deadline = now() + seconds * 1000
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer)
        resume(Effect.void)
      } else if (now() > deadline) {
        clearInterval(timer)
        resume(Effect.fail(new Error(`timed out after ${seconds} s waiting for ${what}`)))
      }
    }, everyMillis)
    return Effect.sync(() => clearInterval(timer))
  })

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const machine = { cores: availableParallelism(), node: process.version, platform: process.platform }
  const simulators = yield* Effect.forEach(NAMES, (name, i) => ProviderSimulator.start({ name, seed: 70 + i }))
  const chain = yield* Devchain.start({
    blockMode: "interval",
    blockTime: Duration.millis(BLOCK_MS),
    finalityLag: FINALITY_LAG,
    providers: simulators.map((s, i) => ({ account: `//${NAMES[i]}`, multiaddr: s.multiaddr })),
    buckets: [{ admin: "//Alice", minProviders: 2, primaries: NAMES.map((n) => `//${n}`) }]
  })
  let written = 0
  const write = (count: number) =>
    Effect.gen(function*() {
      const roots = Array.from({ length: count }, (_, i) => blake2AsU8a(`freshness leaf ${written + i}`, 256))
      yield* Effect.forEach(simulators, (s) => s.commit(0n as never, roots))
      written += count
      return written
    })
  /** The first checkpoint of at least `leaves` leaves in a finalized block, if there is one yet. */
  const finalizedCovering = (leaves: number) => {
    const finalized = chain.finalizedNumber()
    return chain.eventsNamed("StorageProvider", "BucketCheckpointed").some((e) =>
      e.block <= finalized &&
      Number((e.fields as { bucket_id: bigint }).bucket_id) === 0 &&
      Number((e.fields as { commitment: { leaf_count: bigint } }).commitment.leaf_count) >= leaves
    )
  }
  const failedExtrinsics = () => chain.eventsNamed("System", "ExtrinsicFailed").length
  const checkpoints = () => chain.eventsNamed("StorageProvider", "BucketCheckpointed").length

  // The command, as an operator starts it, with its journal in a temporary directory.
  const journal = mkdtempSync(join(tmpdir(), "checkpointer-freshness-"))
  const output = { stdout: "", stderr: "", exit: undefined as number | null | undefined }
  const child = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const c = spawn(process.execPath, [
        BIN,
        "run",
        "--chain",
        chain.url,
        "--bucket",
        "0",
        "--interval-blocks",
        String(INTERVAL),
        "--suri",
        "//Alice",
        "--json"
      ], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1", CHECKPOINTER_JOURNAL_DIR: journal }
      })
      c.stdout!.on("data", (d: Buffer) => (output.stdout += d.toString()))
      c.stderr!.on("data", (d: Buffer) => (output.stderr += d.toString()))
      c.on("exit", (code) => (output.exit = code))
      return c
    }),
    (c) =>
      Effect.sync(() => {
        c.kill("SIGKILL")
        rmSync(journal, { recursive: true, force: true })
      })
  )
  yield* until(() => output.stdout.includes("\"type\":\"Running\"") || output.exit !== undefined, "run to start", 60)
  if (output.exit !== undefined) return yield* Effect.fail(new Error(`run exited ${output.exit}: ${output.stderr}`))
  // A first write, checkpointed before anything is timed (connections open, the first round done).
  const first = yield* write(4)
  yield* until(() => finalizedCovering(first), "the first checkpoint", 60)
  const failedBefore = failedExtrinsics()
  const checkpointsBefore = checkpoints()

  const delays: Array<number> = []
  for (let i = 0; i < WRITES; i++) {
    // Writes land at a random point within a block, every WRITE_EVERY_BLOCKS blocks on average.
    const block = chain.bestNumber()
    yield* until(() => chain.bestNumber() >= block + WRITE_EVERY_BLOCKS - 1, "the next write's block", 60)
    yield* Effect.sleep(Duration.millis(Math.random() * BLOCK_MS))
    const leaves = yield* write(2)
    const t = now()
    yield* until(() => finalizedCovering(leaves), `a finalized checkpoint of ${leaves} leaves`, 120)
    delays.push(now() - t)
  }
  const failed = failedExtrinsics() - failedBefore
  const landed = checkpoints() - checkpointsBefore
  const roundFailures = output.stdout.split("\n").filter((l) => l.includes("\"type\":\"CheckpointFailed\"")).length
  child.kill("SIGTERM")
  yield* until(() => output.exit !== undefined, "run to stop", 30).pipe(Effect.ignore)

  const goalMillis = (INTERVAL + FINALITY_LAG + 2) * BLOCK_MS
  const p50 = percentile(delays, 50)
  const p99 = percentile(delays, 99)
  const met = p99 <= goalMillis && failed === 0
  console.log(`freshness: checkpointer run (child process) on a devchain, ${machine.cores} cores, Node ${machine.node}`)
  console.log(
    `  blocks every ${BLOCK_MS} ms, finality ${FINALITY_LAG} blocks behind, --interval-blocks ${INTERVAL}, new data ` +
      `every ~${WRITE_EVERY_BLOCKS} blocks; ${delays.length} writes`
  )
  console.log(
    `  delay from the providers holding new data to a checkpoint covering it finalized: p50 ${
      (p50 / 1000).toFixed(2)
    } s, p99 ${(p99 / 1000).toFixed(2)} s, max ${(Math.max(...delays) / 1000).toFixed(2)} s (p50 ${
      (p50 / BLOCK_MS).toFixed(1)
    }, p99 ${(p99 / BLOCK_MS).toFixed(1)} blocks)`
  )
  console.log(
    `  goal p99 ≤ interval + finality lag + 2 blocks = ${(goalMillis / 1000).toFixed(1)} s, 0 failed extrinsics: ` +
      `${failed} failed, ${landed} checkpoints landed, ${roundFailures} failed rounds (${met ? "met" : "NOT MET"})`
  )
  yield* recordResults("freshness", {
    machine,
    blockMillis: BLOCK_MS,
    finalityLagBlocks: FINALITY_LAG,
    intervalBlocks: INTERVAL,
    writeEveryBlocks: WRITE_EVERY_BLOCKS,
    writes: delays.length,
    p50Millis: p50,
    p99Millis: p99,
    maxMillis: Math.max(...delays),
    delaysMillis: delays.map((d) => Math.round(d)),
    failedExtrinsics: failed,
    checkpointsLanded: landed,
    failedRounds: roundFailures,
    goal: "p99 ≤ interval + finality lag + 2 blocks, 0 failed (paid) extrinsics",
    goalMillis,
    met,
    // The machine's 1-minute load average at the end (other work on it shows here).
    loadAverage: loadavg()[0]!
  })
}).pipe(Effect.scoped)

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

/**
 * The cluster on this machine (`npm run bench:cluster`, a few minutes): `checkpointer run --cluster
 * postgres://…` runners as child processes (the built command), a throwaway PostgreSQL
 * (`Postgres.start()`, with `pg_stat_statements`), the devchain and three simulated providers in this
 * process; `BUCKETS` buckets, each with a signer of its own, due every finalized block (a block every
 * `BLOCK_MS`): more rounds than the runners can do, so rounds/s is what they manage.
 *
 * - Rounds/s with 1, 2 and 3 runners (each on a fresh database): idle rounds (the providers still sign
 *   the chain's snapshot; the watcher's common round), counted at a provider (every round asks every
 *   primary) over `WINDOW_S` seconds once every runner holds buckets.
 * - PostgreSQL statements per round in the same windows (`pg_stat_statements`, this database only): the
 *   receipt journal's (`checkpointer_*` tables: the round's reads, lease and writes) per round, and the
 *   engine's (shard locks, runner heartbeats, messages) per second; transactions from `pg_stat_database`.
 * - Failover: with 3 runners, new data is written to every bucket and the first runner started (the
 *   scheduler singleton's first home) is SIGKILLed at once; the time until every bucket has a finalized
 *   checkpoint of the new data, with each commitment paid once (fees = distinct commitments).
 */
import { ProviderSimulator } from "@checkpointer/testing"
import * as Postgres from "@checkpointer/testing/Postgres"
import { Keyring } from "@polkadot/keyring"
import { u8aToHex } from "@polkadot/util"
import { blake2AsU8a, cryptoWaitReady } from "@polkadot/util-crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Devchain } from "../packages/devchain/src/index.js"
import { recordResults } from "./results.js"

const BIN = fileURLToPath(new URL("../packages/cli/bin/checkpointer.mjs", import.meta.url))
const BUCKETS = Number(process.env.BENCH_CLUSTER_BUCKETS ?? 60)
const BLOCK_MS = 400
const WINDOW_S = Number(process.env.BENCH_CLUSTER_WINDOW_S ?? 30)
const RUNNERS = (process.env.BENCH_CLUSTER_RUNNERS ?? "1,2,3").split(",").map(Number)
const NAMES = ["Bob", "Charlie", "Dave"]
const FAILOVER_WAIT_S = 180
/** Node flags for the runners, e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles` to profile them. */
const RUNNER_NODE_ARGS = (process.env.BENCH_CLUSTER_RUNNER_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
const signerOf = (bucket: number) => `//Bucket${bucket}`

const now = () => performance.now()

/** Polls `check` every `everyMillis` until it holds, for at most `seconds`. */
const until = (check: () => boolean, what: string, seconds: number, everyMillis = 50) =>
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

/** CPU time (ms) a process has used, from `/proc` (Linux). */
const cpuOf = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1000
  } catch {
    return 0
  }
}

const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

interface Runner {
  readonly child: ChildProcess
  readonly output: { text: string; exit: number | null | undefined }
}

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const machine = { cores: availableParallelism(), node: process.version, platform: process.platform }

  // PostgreSQL with pg_stat_statements (a preloaded library: set, then the server restarted).
  const pg = yield* Postgres.start()
  yield* pg.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
  yield* pg.stop
  yield* pg.resume
  yield* pg.psql("CREATE EXTENSION pg_stat_statements")
  const version = (yield* pg.psql("SHOW server_version")).trim()

  // The chain and providers.
  const simulators = yield* Effect.forEach(NAMES, (name, i) => ProviderSimulator.start({ name, seed: 110 + i }))
  const buckets = Array.from({ length: BUCKETS }, (_, i) => i)
  const chain = yield* Devchain.start({
    blockMode: "interval",
    blockTime: Duration.millis(BLOCK_MS),
    finalityLag: 1,
    endowed: [...Devchain.DEV_ACCOUNTS, ...buckets.map(signerOf)].map((account) => ({
      account,
      free: 1_000_000n * Devchain.UNIT
    })),
    providers: simulators.map((s, i) => ({ account: `//${NAMES[i]}`, multiaddr: s.multiaddr })),
    buckets: buckets.map((b) => ({ admin: signerOf(b), minProviders: 2, primaries: NAMES.map((n) => `//${n}`) }))
  })
  let written = 0
  const write = (leaves: number) =>
    Effect.gen(function*() {
      const roots = Array.from({ length: leaves }, (_, i) => blake2AsU8a(`cluster bench leaf ${written + i}`, 256))
      for (const bucket of buckets) yield* Effect.forEach(simulators, (s) => s.commit(BigInt(bucket) as never, roots))
      written += leaves
      return written
    })
  const checkpointsOf = (bucket: number) =>
    chain.eventsNamed("StorageProvider", "BucketCheckpointed").filter((e) =>
      e.block <= chain.finalizedNumber() && Number((e.fields as { bucket_id: bigint }).bucket_id) === bucket
    ).map((e) => Number((e.fields as { commitment: { leaf_count: bigint } }).commitment.leaf_count))
  const everyBucketAt = (leaves: number) => buckets.every((b) => checkpointsOf(b).at(-1) === leaves)
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
  const bucketSigners = new Set<string>(buckets.map((b) => u8aToHex(keyring.addFromUri(signerOf(b)).publicKey)))
  const feesPaid = () =>
    chain.eventsNamed("TransactionPayment", "TransactionFeePaid").filter((e) => {
      const who = (e.fields as { who: Uint8Array | string }).who
      return bucketSigners.has(typeof who === "string" ? who : u8aToHex(who))
    }).length
  const commitments = () => buckets.reduce((n, b) => n + new Set(checkpointsOf(b)).size, 0)
  const failedExtrinsics = () => chain.eventsNamed("System", "ExtrinsicFailed").length
  /** Rounds so far: every round asks every primary, so one provider's signing requests count them. */
  const rounds = Effect.map(simulators[0]!.signingRequestTimes, (times) => times.length)

  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "checkpointer-bench-cluster-"))),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  )
  const config = join(dir, "config.json")
  writeFileSync(
    config,
    JSON.stringify({
      chain: chain.url,
      buckets: buckets.map((b) => ({ id: b, signerEnv: `BUCKET_SIGNER_${b}` })),
      intervalBlocks: 1
    })
  )
  const signerEnv = Object.fromEntries(buckets.map((b) => [`BUCKET_SIGNER_${b}`, signerOf(b)]))

  const startRunner = (url: string) =>
    Effect.gen(function*() {
      const port = yield* freePort
      const output: Runner["output"] = { text: "", exit: undefined }
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const c = spawn(process.execPath, [
            ...RUNNER_NODE_ARGS,
            BIN,
            "run",
            "--config",
            config,
            "--suri",
            "//Alice",
            "--cluster",
            url,
            "--runner-address",
            `127.0.0.1:${port}`,
            "--json",
            "--log-level",
            "info"
          ], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, ...signerEnv, NO_COLOR: "1", CHECKPOINTER_JOURNAL_DIR: dir }
          })
          c.stdout!.on("data", (d: Buffer) => (output.text += d.toString()))
          c.stderr!.on("data", (d: Buffer) => (output.text += d.toString()))
          c.on("exit", (code) => (output.exit = code))
          return c
        }),
        (c) => Effect.sync(() => void c.kill("SIGKILL"))
      )
      yield* until(
        () => output.text.includes("\"type\":\"Running\"") || output.exit !== undefined,
        "a runner to start",
        90
      )
      if (output.exit !== undefined) {
        return yield* Effect.fail(new Error(`a runner exited ${output.exit}: ${output.text.slice(-1500)}`))
      }
      return { child, output } satisfies Runner
    })
  const holdsBuckets = (r: Runner) => r.output.text.includes("taken up by runner")
  const stopAll = (runners: ReadonlyArray<Runner>) =>
    Effect.gen(function*() {
      for (const r of runners) if (r.output.exit === undefined) r.child.kill("SIGTERM")
      yield* until(() => runners.every((r) => r.output.exit !== undefined), "the runners to stop", 60).pipe(
        Effect.catchAll(() => Effect.sync(() => runners.forEach((r) => r.child.kill("SIGKILL"))))
      )
    })

  /** Statement calls in database `db` so far: the journal's, and all. */
  const statements = (db: string) =>
    Effect.gen(function*() {
      const rows = yield* pg.psql(
        `SELECT coalesce(sum(calls) FILTER (WHERE query ILIKE '%checkpointer_%'), 0), coalesce(sum(calls), 0) ` +
          `FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '${db}'`
      )
      const [journal, all] = rows.trim().split("|").map(Number)
      const xacts = Number(
        (yield* pg.psql(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '${db}'`)).trim()
      )
      return { journal: journal!, all: all!, xacts }
    })

  // The first checkpoint of every bucket, paid once, by one runner (it also creates the tables).
  const first = yield* write(4)
  yield* pg.psql("CREATE DATABASE bench_warmup")
  const warm = yield* Effect.scoped(Effect.gen(function*() {
    const url = pg.url.replace(/\/postgres$/, "/bench_warmup")
    const r = yield* startRunner(url)
    yield* until(() => everyBucketAt(first), "every bucket's first checkpoint", 180)
    yield* stopAll([r])
    return { failed: failedExtrinsics(), fees: feesPaid(), commitments: commitments() }
  }))
  console.log(
    `cluster: ${BUCKETS} buckets, each due every finalized block (${BLOCK_MS} ms), ${machine.cores} cores, ` +
      `Node ${machine.node}, PostgreSQL ${version}; first checkpoints: ${warm.commitments} commitments, ` +
      `${warm.fees} fees`
  )

  const throughput: Array<Record<string, number>> = []
  let failover: Record<string, unknown> | undefined
  for (const count of RUNNERS) {
    const db = `bench_runners_${count}`
    yield* pg.psql(`CREATE DATABASE ${db}`)
    const url = pg.url.replace(/\/postgres$/, `/${db}`)
    yield* Effect.scoped(Effect.gen(function*() {
      const runners: Array<Runner> = []
      for (let i = 0; i < count; i++) runners.push(yield* startRunner(url))
      // Shards spread once every runner has registered: each holds buckets.
      yield* until(() => runners.every(holdsBuckets), "every runner to hold buckets", 120)
      yield* Effect.sleep("5 seconds")
      const r0 = yield* rounds
      const s0 = yield* statements(db)
      const c0 = runners.map((r) => cpuOf(r.child.pid))
      const own0 = process.cpuUsage()
      const t0 = now()
      yield* Effect.sleep(Duration.seconds(WINDOW_S))
      const seconds = (now() - t0) / 1000
      const r1 = yield* rounds
      const s1 = yield* statements(db)
      const runnersCpu = runners.reduce((sum, r, i) => sum + cpuOf(r.child.pid) - c0[i]!, 0)
      const own = process.cpuUsage(own0)
      const done = r1 - r0
      const row = {
        runners: count,
        seconds,
        rounds: done,
        roundsPerSecond: done / seconds,
        demandRoundsPerSecond: BUCKETS / (BLOCK_MS / 1000),
        runnersCpuCores: runnersCpu / 1000 / seconds,
        cpuMillisPerRound: runnersCpu / done,
        chainAndProvidersCpuCores: (own.user + own.system) / 1e6 / seconds,
        journalStatementsPerRound: (s1.journal - s0.journal) / done,
        statementsPerRound: (s1.all - s0.all) / done,
        engineStatementsPerSecond: ((s1.all - s1.journal) - (s0.all - s0.journal)) / seconds,
        transactionsPerRound: (s1.xacts - s0.xacts) / done,
        transactionsPerSecond: (s1.xacts - s0.xacts) / seconds,
        // The machine's 1-minute load average at the window's end (other work on it shows here).
        loadAverage: loadavg()[0]!
      }
      throughput.push(row)
      console.log(
        `  ${count} runner(s): ${row.roundsPerSecond.toFixed(1)} rounds/s (demand ${row.demandRoundsPerSecond}), ` +
          `runners' CPU ${row.runnersCpuCores.toFixed(2)} cores (${row.cpuMillisPerRound.toFixed(1)} ms per round), ` +
          `chain + providers ${row.chainAndProvidersCpuCores.toFixed(2)} cores; PostgreSQL: ` +
          `${row.journalStatementsPerRound.toFixed(1)} journal statements per round, ` +
          `${row.statementsPerRound.toFixed(1)} statements and ${row.transactionsPerRound.toFixed(1)} transactions ` +
          `per round in all, the engine's ${row.engineStatementsPerSecond.toFixed(0)} statements/s`
      )

      if (count === 3) {
        // Failover: every bucket checkpointed by the three, then new data and a SIGKILL at once.
        const before = yield* write(2)
        yield* until(() => everyBucketAt(before), "every bucket's checkpoint before the kill", 120)
        const target = yield* write(2)
        const killedAt = now()
        runners[0]!.child.kill("SIGKILL")
        const reached = yield* Effect.either(
          until(() => everyBucketAt(target), "every bucket's checkpoint after the kill", FAILOVER_WAIT_S)
        )
        const millis = now() - killedAt
        const behind = buckets.filter((b) => checkpointsOf(b).at(-1) !== target)
        if (reached._tag === "Left") {
          // What the survivors said about the buckets left behind.
          const about = (b: number) =>
            runners.slice(1).flatMap((r) =>
              r.output.text.split("\n").filter((l) => l.includes(`"bucket":"${b}"`) || l.includes(`bucket ${b} `))
            ).slice(-6)
          console.log(
            `  failover: ${behind.length} bucket(s) without their new data ${FAILOVER_WAIT_S} s after the kill: ` +
              behind.map((b) => `${b} (at ${checkpointsOf(b).at(-1)})`).join(", ")
          )
          for (const b of behind.slice(0, 3)) for (const line of about(b)) console.log(`    ${line.slice(0, 400)}`)
        }
        failover = {
          millis: reached._tag === "Right" ? millis : undefined,
          waitedSeconds: FAILOVER_WAIT_S,
          bucketsBehind: behind,
          feesPaid: feesPaid(),
          commitments: commitments(),
          paidOnce: feesPaid() === commitments(),
          failedExtrinsics: failedExtrinsics()
        }
        console.log(
          `  failover: SIGKILL of one of 3 runners as new data arrives: ${
            reached._tag === "Right"
              ? `every bucket's new data finalized ${(millis / 1000).toFixed(1)} s after the kill`
              : `NOT every bucket's new data within ${FAILOVER_WAIT_S} s`
          }; ${feesPaid()} fees for ${commitments()} commitments ` +
            `(${
              feesPaid() === commitments() ? "each paid once" : "PAID TWICE"
            }), ${failedExtrinsics()} failed extrinsics`
        )
        yield* stopAll(runners.slice(1))
      } else {
        yield* stopAll(runners)
      }
    }))
  }

  const failoverGoalMillis = 60_000
  yield* recordResults("cluster", {
    machine: { ...machine, postgres: version },
    buckets: BUCKETS,
    blockMillis: BLOCK_MS,
    intervalBlocks: 1,
    windowSeconds: WINDOW_S,
    throughput,
    failover,
    goals: {
      failover: "every bucket continues within 60 s of a runner's SIGKILL (the bound the cluster test states)",
      paidOnce: "fees paid = distinct commitments"
    },
    met: {
      failover: failover !== undefined && failover.millis !== undefined &&
        (failover.millis as number) <= failoverGoalMillis,
      paidOnce: failover !== undefined && failover.paidOnce === true
    }
  })
}).pipe(Effect.scoped)

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

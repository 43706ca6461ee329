/**
 * Start-up of the `checkpointer` command: milliseconds from spawning `node bin/checkpointer.mjs` (the real
 * bin, so the bundle the build made) to its first byte of output, and to its exit, for `--help`, for
 * `status` against a chain that refuses the connection (the command's own start-up: settings, the check
 * that the chain is reachable, its one-line error) and for `status` against a running devchain (start-up,
 * loading the chain client, connecting, reading the bucket; a bucket without primaries, so no provider is
 * waited for). `node -e 0` is the floor: Node's own start. The goal is well under a second to first
 * output before the chain answers. The machine's load average is recorded beside the figures.
 *
 * Run: `npm run build && node --import tsx bench/startup.ts [runs]` (runs: 1–20, default 5). The devchain
 * listens on a free loopback port, or on `STARTUP_BENCH_PORT`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Devchain } from "../packages/devchain/src/index.js"
import { recordResults } from "./results.js"

const BIN = fileURLToPath(new URL("../packages/cli/bin/checkpointer.mjs", import.meta.url))
const RUNS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5) || 5))

const commands = (devchain: string): Record<string, ReadonlyArray<string>> => ({
  node: ["-e", "0"],
  help: [BIN, "--help"],
  version: [BIN, "--version"],
  status: [BIN, "status", "--chain", "ws://127.0.0.1:1", "--bucket", "0"],
  statusDevchain: [BIN, "status", "--chain", devchain, "--bucket", "0", "--no-journal"]
})

interface Timing {
  readonly firstOutputMillis: number
  readonly exitMillis: number
}

/** One run of the command, killed if it has not exited within 30 s. */
const once = (args: ReadonlyArray<string>) =>
  Effect.async<Timing, string>((resume) => {
    const journal = mkdtempSync(join(tmpdir(), "checkpointer-bench-startup-"))
    const started = process.hrtime.bigint()
    const since = () => Number(process.hrtime.bigint() - started) / 1e6
    let firstOutputMillis: number | undefined
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", CHECKPOINTER_JOURNAL_DIR: journal, XDG_STATE_HOME: journal }
    })
    const onOutput = () => (firstOutputMillis ??= since())
    child.stdout.on("data", onOutput)
    child.stderr.on("data", onOutput)
    child.on("close", () => {
      const exitMillis = since()
      rmSync(journal, { recursive: true, force: true })
      // `node -e 0` prints nothing: its exit is its figure.
      const silent = args[0] === "-e"
      resume(
        firstOutputMillis === undefined && !silent
          ? Effect.fail(`${args.join(" ")} printed nothing`)
          : Effect.succeed({ firstOutputMillis: firstOutputMillis ?? exitMillis, exitMillis })
      )
    })
    return Effect.sync(() => {
      child.kill("SIGKILL")
      rmSync(journal, { recursive: true, force: true })
    })
  }).pipe(Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => `${args.join(" ")}: no exit in 30 s` }))

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return Math.round(sorted[Math.floor(sorted.length / 2)]!)
}

const program = Effect.gen(function*() {
  // Bucket 0 with no primaries: `status` connects, reads it and answers without waiting for a provider.
  const chain = yield* Devchain.start({
    port: Number(process.env.STARTUP_BENCH_PORT ?? 0),
    blockTime: Duration.millis(500),
    buckets: [{ admin: "//Alice", minProviders: 0 }]
  })
  const results: Record<string, unknown> = { runs: RUNS, loadAverage1m: Number(loadavg()[0]!.toFixed(2)) }
  for (const [name, args] of Object.entries(commands(chain.url))) {
    const timings = yield* Effect.forEach(Array.from({ length: RUNS }), () => once(args))
    const first = timings.map((t) => t.firstOutputMillis)
    results[name] = {
      firstOutputMillisMedian: median(first),
      firstOutputMillisMax: Math.round(Math.max(...first)),
      exitMillisMedian: median(timings.map((t) => t.exitMillis))
    }
    console.log(
      `${name}: first output ${median(first)} ms (median of ${RUNS}), max ${Math.round(Math.max(...first))} ms, exit ${
        median(timings.map((t) => t.exitMillis))
      } ms`
    )
  }
  results.loadAverageAfter1m = Number(loadavg()[0]!.toFixed(2))
  console.log(`load average (1 min): ${results.loadAverage1m} before, ${results.loadAverageAfter1m} after`)
  yield* recordResults("startup", results)
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})

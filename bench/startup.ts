/**
 * Start-up of the `checkpointer` command: milliseconds from spawning `node bin/checkpointer.mjs` to its
 * first byte of output, and to its exit, for `--help` and for `status` against a chain that refuses the
 * connection (so the figure is the command's own start-up, not the chain's answer). The goal is well
 * under a second to first output.
 *
 * Run: `npm run build && node --import tsx bench/startup.ts [runs]` (runs: 1–20, default 5).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { recordResults } from "./results.js"

const BIN = fileURLToPath(new URL("../packages/cli/bin/checkpointer.mjs", import.meta.url))
const RUNS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5) || 5))

const COMMANDS = {
  help: ["--help"],
  status: ["status", "--chain", "ws://127.0.0.1:1", "--bucket", "0"]
} as const

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
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", CHECKPOINTER_JOURNAL_DIR: journal, XDG_STATE_HOME: journal }
    })
    const onOutput = () => (firstOutputMillis ??= since())
    child.stdout.on("data", onOutput)
    child.stderr.on("data", onOutput)
    child.on("close", () => {
      const exitMillis = since()
      rmSync(journal, { recursive: true, force: true })
      resume(
        firstOutputMillis === undefined
          ? Effect.fail(`checkpointer ${args.join(" ")} printed nothing`)
          : Effect.succeed({ firstOutputMillis, exitMillis })
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
  const results: Record<string, unknown> = { runs: RUNS }
  for (const [name, args] of Object.entries(COMMANDS)) {
    const timings = yield* Effect.forEach(Array.from({ length: RUNS }), () => once(args))
    const first = timings.map((t) => t.firstOutputMillis)
    results[name] = {
      firstOutputMillisMedian: median(first),
      firstOutputMillisMax: Math.round(Math.max(...first)),
      exitMillisMedian: median(timings.map((t) => t.exitMillis))
    }
    console.log(
      `${name}: first output ${median(first)} ms (median of ${RUNS}), max ${Math.round(Math.max(...first))} ms`
    )
  }
  yield* recordResults("startup", results)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})

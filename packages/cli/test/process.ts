/**
 * The `checkpointer` command as a child process, for tests: started with `NO_COLOR`, its journal in a
 * temporary directory unless the test says otherwise, its output collected, waited on with a bound.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/checkpointer.mjs", import.meta.url))

export interface Run {
  readonly child: ChildProcess
  readonly output: { stdout: string; stderr: string; exit: number | null | undefined }
}

/** Environment overrides; `undefined` removes a variable. */
export type Env = Readonly<Record<string, string | undefined>>

/**
 * Starts the command; it is killed when the scope closes. Its journal goes to a fresh temporary
 * directory (removed with the scope) unless `env` sets one: a test never writes under the user's home.
 */
export const start = (args: ReadonlyArray<string>, env: Env = {}): Effect.Effect<Run, never, Scope.Scope> =>
  Effect.gen(function*() {
    const journal = mkdtempSync(join(tmpdir(), "checkpointer-test-journal-"))
    const merged: Record<string, string | undefined> = {
      ...process.env,
      NO_COLOR: "1",
      CHECKPOINTER_JOURNAL_DIR: journal,
      XDG_STATE_HOME: journal,
      ...env
    }
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: merged })
    const output: Run["output"] = { stdout: "", stderr: "", exit: undefined }
    child.stdout!.on("data", (d: Buffer) => (output.stdout += d.toString()))
    child.stderr!.on("data", (d: Buffer) => (output.stderr += d.toString()))
    child.on("exit", (code) => (output.exit = code))
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        child.kill("SIGKILL")
        rmSync(journal, { recursive: true, force: true })
      })
    )
    return { child, output }
  })

/** Waits for a condition, polling every 50 ms, for at most `seconds`. */
export const eventually = (check: () => boolean, what: string, seconds = 30) =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail(`timed out waiting for ${what}`))).pipe(
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(seconds * 20))))
  )

/** Runs the command to completion (bounded). */
export const run = (args: ReadonlyArray<string>, env: Env = {}, seconds = 60) =>
  Effect.gen(function*() {
    const r = yield* start(args, env)
    yield* eventually(() => r.output.exit !== undefined, `checkpointer ${args.join(" ")} to exit`, seconds)
    return r.output
  })

/** The JSON records of `--json` output. */
export const jsonLines = (text: string) =>
  text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)

const JsonRecord = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/**
 * Every non-empty line of `text` as a JSON object; a line that is not one fails the test, naming it
 * (`jsonLines` skips such lines: use this where a stream must be JSON only).
 */
export const strictJsonLines = (text: string, stream = "output") =>
  text.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const decoded = Schema.decodeUnknownEither(JsonRecord)(line)
    if (Either.isLeft(decoded)) expect.fail(`${stream}: not a JSON object: ${line}`)
    return Either.getOrThrow(decoded)
  })

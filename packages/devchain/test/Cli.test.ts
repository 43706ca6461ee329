import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { connect, eventually } from "./helpers.js"

const BIN = fileURLToPath(new URL("../bin/checkpointer-devchain.mjs", import.meta.url))

const run = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  const output = { stdout: "", stderr: "", exit: undefined as number | null | undefined }
  child.stdout!.on("data", (d: Buffer) => (output.stdout += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (output.stderr += d.toString()))
  child.on("exit", (code) => (output.exit = code))
  return { child, output }
}

const killOnExit = (child: ChildProcess) => Effect.addFinalizer(() => Effect.sync(() => void child.kill("SIGKILL")))

describe("checkpointer-devchain command", () => {
  it.scopedLive("serves @polkadot/api, then stops on SIGINT with exit code 0", () =>
    Effect.gen(function*() {
      const { child, output } = run(["--block-mode", "interval", "--block-time", "100", "--quiet"])
      yield* killOnExit(child)
      yield* eventually(() => /listening on (ws:\/\/\S+)/.test(output.stdout), "the URL line")
      const url = /listening on (ws:\/\/\S+)/.exec(output.stdout)![1]!
      const api = yield* connect(url)
      expect((yield* Effect.promise(() => api.rpc.system.chain())).toString()).toBe("Checkpointer Devchain")
      child.kill("SIGINT")
      yield* eventually(() => output.exit !== undefined, "the process to exit")
      expect(output.exit).toBe(0)
    }), 30_000)

  it.scopedLive("a bad flag or config value is one clear line and exit code 2", () =>
    Effect.gen(function*() {
      const bad = run(["--era", "X", "--finality-lag=-1"])
      yield* killOnExit(bad.child)
      yield* eventually(() => bad.output.exit !== undefined, "the process to exit")
      expect(bad.output.exit).toBe(2)
      expect(bad.output.stderr.trim().split("\n")).toEqual([
        `checkpointer-devchain: era: expected "C" or "A", got "X"; finalityLag: expected a non-negative number, got -1`
      ])
    }), 30_000)
})

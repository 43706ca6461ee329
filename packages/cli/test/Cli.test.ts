import { Loopback } from "@checkpointer/testing"
import { describe, expect, it } from "@effect/vitest"
import { ApiPromise, WsProvider } from "@polkadot/api"
import type { ProviderInterface } from "@polkadot/rpc-provider/types"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/checkpointer.mjs", import.meta.url))
const CHAIN_SPEC = fileURLToPath(new URL("../../../../shared/fixtures/storage-local.json", import.meta.url))
if (!existsSync(CHAIN_SPEC)) console.warn(`devnet --chain-spec test skipped: ${CHAIN_SPEC} not found`)

interface Run {
  readonly child: ChildProcess
  readonly output: { stdout: string; stderr: string; exit: number | null | undefined }
}

const start = (args: ReadonlyArray<string>): Run => {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" }
  })
  const output: Run["output"] = { stdout: "", stderr: "", exit: undefined }
  child.stdout!.on("data", (d: Buffer) => (output.stdout += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (output.stderr += d.toString()))
  child.on("exit", (code) => (output.exit = code))
  return { child, output }
}

const eventually = (check: () => boolean, what: string, seconds = 30) =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail(`timed out waiting for ${what}`))).pipe(
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(seconds * 20))))
  )

/** Runs the command to completion (bounded). */
const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const r = start(args)
    yield* Effect.addFinalizer(() => Effect.sync(() => void r.child.kill("SIGKILL")))
    yield* eventually(() => r.output.exit !== undefined, `checkpointer ${args.join(" ")} to exit`, 60)
    return r.output
  })

const jsonLines = (text: string) =>
  text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)

const portOpen = Loopback.isListening

describe("the checkpointer command, run as a child process", () => {
  it.scopedLive(
    "devnet comes up; submit, collect and status work against it; SIGINT stops it cleanly",
    () =>
      Effect.gen(function*() {
        // The devnet's loop checkpoints once, then waits many blocks: the next data is left for `submit`.
        const devnet = start([
          "devnet",
          "--port",
          "0",
          "--json",
          "--block-time",
          "300",
          "--write-every",
          "1500",
          "--interval-blocks",
          "100000"
        ])
        yield* Effect.addFinalizer(() => Effect.sync(() => void devnet.child.kill("SIGKILL")))
        const lines = () => jsonLines(devnet.output.stdout)
        yield* eventually(() => lines().some((l) => l.type === "CheckpointSubmitted"), "the devnet's first checkpoint")
        const firstCheckpoint = lines().findIndex((l) => l.type === "CheckpointSubmitted")
        yield* eventually(() => lines().slice(firstCheckpoint).some((l) => l.type === "DataWritten"), "more data")
        const started = lines().find((l) => l.type === "DevnetStarted")!
        const url = started.chain as string
        const providers = started.providers as ReadonlyArray<{ endpoint: string }>

        const submitted = yield* run(["submit", "--chain", url, "--bucket", "0", "--suri", "//Alice", "--json"])
        expect(submitted.exit, submitted.stderr).toBe(0)
        const [result] = jsonLines(submitted.stdout)
        expect(result?.type).toBe("Submitted")
        const receipt = result!.receipt as {
          blockHash: `0x${string}`
          extrinsicIndex: number
          extrinsicHash: string
          bucketId: string
        }
        expect(receipt.bucketId).toBe("0")
        expect(submitted.stdout).not.toContain("//Alice")

        // The receipt's block and event are on the devchain.
        const api = yield* Effect.acquireRelease(
          Effect.promise(() =>
            ApiPromise.create({ provider: new WsProvider(url) as unknown as ProviderInterface, noInitWarn: true })
          ),
          (a) => Effect.promise(() => a.disconnect())
        )
        const block = yield* Effect.promise(() => api.rpc.chain.getBlock(receipt.blockHash))
        expect(block.block.extrinsics[receipt.extrinsicIndex]!.hash.toHex()).toBe(receipt.extrinsicHash)
        const events = yield* Effect.promise(async () => (await api.at(receipt.blockHash)).query.system.events())
        const names = (events as unknown as ReadonlyArray<{ event: { section: string; method: string } }>).map((e) =>
          `${e.event.section}.${e.event.method}`
        )
        expect(names).toContain("storageProvider.BucketCheckpointed")

        const collected = yield* run(["collect", "--chain", url, "--bucket", "0"])
        expect(collected.exit, collected.stderr).toBe(0)
        expect(collected.stdout).toMatch(/provider\s+class\s+latency/)
        expect(collected.stdout).toMatch(/required max\(ceil\(5 × 51%\), min_providers 3\) = 3/)
        expect(collected.stdout).toContain("resolution:")

        const status = yield* run(["status", "--chain", url, "--bucket", "0"])
        expect(status.exit, status.stderr).toBe(0)
        expect(status.stdout).toMatch(/last checkpoint: block #\d+/)
        expect(status.stdout).toContain("min_providers 3")

        devnet.child.kill("SIGINT")
        yield* eventually(() => devnet.output.exit !== undefined, "the devnet to exit", 10)
        expect(devnet.output.exit).toBe(0)
        const chainPort = Number(new URL(url).port)
        expect(yield* portOpen(chainPort)).toBe(false)
        for (const p of providers) expect(yield* portOpen(Number(new URL(p.endpoint).port))).toBe(false)
      }),
    120_000
  )

  it.scopedLive.skipIf(!existsSync(CHAIN_SPEC))(
    "devnet --chain-spec runs on the storage chain's real runtime (Chopsticks)",
    () =>
      Effect.gen(function*() {
        const devnet = yield* run([
          "devnet",
          "--port",
          "0",
          "--json",
          "--chain-spec",
          CHAIN_SPEC,
          "--providers",
          "3",
          "--lagging",
          "0",
          "--flaky",
          "0",
          "--write-every",
          "3000",
          "--interval-blocks",
          "2",
          "--rounds",
          "1"
        ])
        expect(devnet.exit, devnet.stderr).toBe(0)
        const lines = jsonLines(devnet.stdout)
        expect(lines.find((l) => l.type === "DevnetStarted")?.runtime).toContain("Chopsticks")
        expect(lines.some((l) => l.type === "CheckpointSubmitted")).toBe(true)
      }),
    120_000
  )

  it.scopedLive("bad flags and bad config are one clear line each, exit code 2", () =>
    Effect.gen(function*() {
      const badFlag = yield* run(["submit", "--bucket", "x"])
      expect(badFlag.exit).toBe(2)
      expect((badFlag.stdout + badFlag.stderr).trim().split("\n").filter((l) => l.trim() !== "")).toEqual([
        "'x' is not a integer"
      ])

      const file = join(tmpdir(), `checkpointer-bad-config-${process.pid}.json`)
      writeFileSync(file, JSON.stringify({ threshold: 500 }))
      const badConfig = yield* run(["collect", "--bucket", "0", "--config", file]).pipe(
        Effect.ensuring(Effect.sync(() => rmSync(file, { force: true })))
      )
      expect(badConfig.exit).toBe(2)
      expect(badConfig.stderr.trim()).toBe(
        `checkpointer: config file ${file}: threshold: expected a number between 1 and 100, got 500`
      )

      const noChain = yield* run(["collect", "--bucket", "0", "--chain", "ws://127.0.0.1:1"])
      expect(noChain.exit).toBe(5)
      expect(noChain.stderr.trim()).toBe("checkpointer: cannot connect to ws://127.0.0.1:1")
    }), 120_000)
})

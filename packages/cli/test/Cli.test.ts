import { Devchain } from "@checkpointer/devchain"
import { Loopback } from "@checkpointer/testing"
import { describe, expect, it } from "@effect/vitest"
import { ApiPromise, WsProvider } from "@polkadot/api"
import type { ProviderInterface } from "@polkadot/rpc-provider/types"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { defaultJournalDirectory, isLoopback, resolveSettings } from "../src/internal/live.js"
import { clean } from "../src/internal/output.js"
import { strayNearSecret } from "../src/internal/secretArgs.js"
import { resolve, SPECS } from "../src/internal/tuning.js"
import { eventually, jsonLines, run, start } from "./process.js"

const CHAIN_SPEC = fileURLToPath(new URL("../../../../shared/fixtures/storage-local.json", import.meta.url))
if (!existsSync(CHAIN_SPEC)) console.warn(`devnet --chain-spec test skipped: ${CHAIN_SPEC} not found`)

const portOpen = Loopback.isListening

describe("settings", () => {
  it("the README's reference lists every setting with its variable, and every exit code", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8")
    for (const spec of SPECS) expect(readme).toContain(`| \`${spec.key}\` | ${spec.scope} |`)
    for (const spec of SPECS) expect(readme).toContain(`\`${spec.env}\``)
    for (const code of [0, 1, 2, 3, 4, 5, 6, 7, 130]) expect(readme).toMatch(new RegExp(`^\\| ${code} \\| `, "m"))
  })

  it("health probes: probeInterval is a duration, or off (off and 0 both turn probes off); probeConcurrency at least 1", () => {
    const loopOf = (key: string, value: string, env: Record<string, string> = {}) =>
      Either.map(resolve({ flags: [[key, value, "--set"]], file: {}, env }), (tuned) => tuned.loop)
    expect(Either.getOrThrow(loopOf("probeInterval", "30s")).probeInterval).toEqual(Option.some(Duration.seconds(30)))
    expect(Either.getOrThrow(loopOf("probeInterval", "off")).probeInterval).toEqual(Option.none())
    expect(Either.getOrThrow(loopOf("probeInterval", "0")).probeInterval).toEqual(Option.some(Duration.zero))
    expect(Either.getOrThrow(loopOf("probeConcurrency", "3")).probeConcurrency).toBe(3)
    expect(Either.getLeft(loopOf("probeConcurrency", "0"))).toEqual(
      Option.some(["probeConcurrency must be at least 1, got 0"])
    )
    const fromEnv = resolve({ flags: [], file: {}, env: { CHECKPOINTER_PROBE_INTERVAL: "2m" } })
    expect(Either.getOrThrow(fromEnv).loop.probeInterval).toEqual(Option.some(Duration.minutes(2)))
  })

  it("a chain is local by its parsed host, never by a prefix of the text", () => {
    expect(isLoopback("ws://127.0.0.1:9944")).toBe(true)
    expect(isLoopback("ws://localhost:9944")).toBe(true)
    expect(isLoopback("ws://[::1]:9944")).toBe(true)
    expect(isLoopback("wss://localhost.evil.example")).toBe(false)
    expect(isLoopback("wss://127.0.0.1.evil.example")).toBe(false)
    expect(isLoopback("wss://rpc.example:443/127.0.0.1")).toBe(false)
  })

  it.effect("a config file turns the journal off with journal: false, and names a directory with a string", () =>
    Effect.gen(function*() {
      const file = join(tmpdir(), `checkpointer-journal-config-${process.pid}.json`)
      const settingsFrom = (config: unknown) =>
        Effect.sync(() => writeFileSync(file, JSON.stringify(config))).pipe(
          Effect.zipRight(resolveSettings({
            chain: Option.none(),
            config: Option.some(file),
            suri: Option.none(),
            journal: Option.none(),
            noJournal: false,
            buckets: [0],
            intervalBlocks: Option.none(),
            intervalSeconds: Option.none(),
            threshold: Option.none(),
            set: []
          })),
          Effect.ensuring(Effect.sync(() => rmSync(file, { force: true })))
        )
      expect((yield* settingsFrom({ journal: false })).journal).toEqual({ _tag: "Off" })
      expect((yield* settingsFrom({ journal: "/var/lib/cp" })).journal).toEqual({
        _tag: "Directory",
        directory: "/var/lib/cp"
      })
      expect((yield* settingsFrom({ intervalSeconds: 30 })).interval).toEqual({ _tag: "Seconds", seconds: 30 })
    }))

  it("a stray word near --suri is found, without being repeated; none without --suri", () => {
    expect(strayNearSecret(["submit", "--bucket", "0", "--suri", "legal", "winner"])).toContain("not understood")
    expect(strayNearSecret(["submit", "--bucket", "0", "--suri", "legal", "winner"])).not.toContain("winner")
    expect(strayNearSecret(["submit", "--suri", "legal winner thank", "--bucket", "0", "--json"])).toBeUndefined()
    expect(strayNearSecret(["run", "--suri=//Alice", "--bucket", "0", "extra"])).toContain("not understood")
    expect(strayNearSecret(["submit", "--bucket", "0", "extra"])).toBeUndefined()
  })

  it("what came from a provider is printed escaped: no control characters reach the terminal", () => {
    expect(clean("\u001b]0;PWNED\u0007\u001b[2K\rall providers agree")).toBe(
      "\\x1b]0;PWNED\\x07\\x1b[2K\\x0dall providers agree"
    )
    expect(clean("right-to-left \u202e override")).toBe("right-to-left \\u202e override")
    expect(clean("plain text, ünïcode and 😀 stay")).toBe("plain text, ünïcode and 😀 stay")
  })

  it("the journal's default directory: $CHECKPOINTER_JOURNAL_DIR, else $XDG_STATE_HOME, else ~/.local/state", () => {
    expect(defaultJournalDirectory({ CHECKPOINTER_JOURNAL_DIR: "/j", XDG_STATE_HOME: "/x" })).toBe("/j")
    expect(defaultJournalDirectory({ XDG_STATE_HOME: "/x" })).toBe("/x/checkpointer")
    expect(defaultJournalDirectory({})).toBe(join(homedir(), ".local", "state", "checkpointer"))
  })
})

describe("the checkpointer command, run as a child process", () => {
  it.scopedLive(
    "devnet comes up; submit, collect and status work against it; SIGINT stops it cleanly",
    () =>
      Effect.gen(function*() {
        // The devnet's loop checkpoints once, then waits many blocks: the next data is left for `submit`.
        const devnet = yield* start([
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
        const lines = () => jsonLines(devnet.output.stdout)
        yield* eventually(() => lines().some((l) => l.type === "CheckpointSubmitted"), "the devnet's first checkpoint")
        const firstCheckpoint = lines().findIndex((l) => l.type === "CheckpointSubmitted")
        yield* eventually(() => lines().slice(firstCheckpoint).some((l) => l.type === "DataWritten"), "more data")
        // The numbers it prints are what the providers hold: 3 more leaves per write, from 3; every
        // checkpoint's leaf count is one of them.
        const written = lines().filter((l) => l.type === "DataWritten").map((l) => l.leaves as number)
        expect(written).toEqual(written.map((_, i) => 3 * (i + 1)))
        const landed = lines().filter((l) => l.type === "CheckpointSubmitted").map((l) =>
          Number((l.receipt as { commitment: { leafCount: string } }).commitment.leafCount)
        )
        for (const leaves of landed) expect(written).toContain(leaves)
        const started = lines().find((l) => l.type === "DevnetStarted")!
        const url = started.chain as string
        const providers = started.providers as ReadonlyArray<{ endpoint: string }>

        const submitted = yield* run(["submit", "--chain", url, "--bucket", "0", "--suri", "//Alice", "--json"])
        expect(submitted.exit, submitted.stderr).toBe(0)
        const [result] = jsonLines(submitted.stdout)
        expect(result?.type).toBe("Submitted")
        const receipt = result!.receipt as {
          blockHash: `0x${string}`
          blockNumber: number
          extrinsicIndex: number
          extrinsicHash: string
          bucketId: string
          commitment: { leafCount: string }
        }
        const heldThen = lines().filter((l) => l.type === "DataWritten").map((l) => l.leaves as number)
        expect(heldThen).toContain(Number(receipt.commitment.leafCount))
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
        expect(status.stdout).toContain(
          `last checkpoint on chain: block #${receipt.blockNumber}, ${receipt.commitment.leafCount} leaves`
        )
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
        const devnet = yield* run(
          [
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
          ],
          {},
          110
        )
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
        "checkpointer: bucket: expected a bucket id (a whole number from 0), got \"x\""
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

      const chain = yield* Devchain.start({ blockMode: "instant", finalityLag: 0 })
      // Twelve words with a wrong checksum: not a mnemonic.
      const badMnemonic = Array.from({ length: 12 }, () => "abandon").join(" ")
      const badSigner = yield* run(["submit", "--bucket", "0", "--chain", chain.url, "--suri", badMnemonic])
      expect(badSigner.exit).toBe(2)
      expect(badSigner.stderr.trim()).toBe(
        "checkpointer: signer: not a valid secret URI, mnemonic or seed (a dev URI like //Alice, 12 or 24 words, or 0x + 64 hex)"
      )
      expect(badSigner.stdout + badSigner.stderr).not.toContain("abandon")

      const noSigner = yield* run(["run", "--bucket", "0", "--chain", chain.url], {
        CHECKPOINTER_SIGNER_SURI: undefined
      })
      expect(noSigner.exit).toBe(2)
      expect(noSigner.stderr.trim()).toBe(
        "checkpointer: signer: run submits checkpoints and needs one (--suri or CHECKPOINTER_SIGNER_SURI)"
      )

      // An unquoted mnemonic: the stray words are never echoed.
      const unquoted = yield* run(["submit", "--bucket", "0", "--suri", "legal", "winner", "thank", "--json"])
      expect(unquoted.exit).toBe(2)
      expect(unquoted.stderr.trim()).toBe(
        "checkpointer: an argument was not understood (not repeated here: it may be part of the secret given to --suri; quote a mnemonic as one argument, or use CHECKPOINTER_SIGNER_SURI)"
      )
      expect(unquoted.stdout + unquoted.stderr).not.toMatch(/legal|winner|thank/)

      const bothJournals = yield* run(["submit", "--bucket", "0", "--journal", tmpdir(), "--no-journal"])
      expect(bothJournals.exit).toBe(2)
      expect(bothJournals.stderr.trim()).toBe("checkpointer: journal: give --journal DIR or --no-journal, not both")

      const noChain = yield* run(["collect", "--bucket", "0", "--chain", "ws://127.0.0.1:1"])
      expect(noChain.exit).toBe(5)
      expect(noChain.stderr.trim()).toBe("checkpointer: cannot connect to ws://127.0.0.1:1")
    }), 120_000)
})

/**
 * The command as an operator's tool: every setting reachable (flags, config file, environment, one
 * precedence, one validation), checks made before any provider is asked, exit codes that mean what the
 * table says, `--dry-run` telling what it would do, `status` telling the truth, and output for people and
 * programs. Child processes, against a devchain and simulated providers in this process.
 */
import { Amount } from "@checkpointer/core"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually, jsonLines, run, start } from "./process.js"
import { world } from "./world.js"

const made: Array<string> = []
const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `checkpointer-${name}-`))
  made.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "")

describe("the command line is checked before anything starts", () => {
  it.scopedLive(
    "bad numbers, unknown commands and settings exit 2 with one line; help is plain text off a terminal",
    () =>
      Effect.gen(function*() {
        const unknown = yield* run(["frobnicate"])
        expect(unknown.exit).toBe(2)

        const negative = yield* run(["submit", "--bucket", "-1", "--suri", "//Alice"])
        expect(negative.exit).toBe(2)
        expect(lines(negative.stderr)).toEqual([
          "checkpointer: bucket: expected a bucket id (a whole number from 0), got \"-1\""
        ])

        const blockTime = yield* run(["devnet", "--block-time", "0"])
        expect(blockTime.exit).toBe(2)
        expect(lines(blockTime.stderr)).toEqual(["checkpointer: block-time: expected 100 to 60000 ms, got 0"])

        const interval = yield* run(["run", "--bucket", "0", "--interval-blocks", "0", "--suri", "//Alice"])
        expect(interval.exit).toBe(2)
        expect(lines(interval.stderr)).toEqual(["checkpointer: interval-blocks: expected a positive integer, got 0"])

        const unknownSetting = yield* run(["collect", "--bucket", "0", "--set", "roundDeadlin=5s"])
        expect(unknownSetting.exit).toBe(2)
        expect(lines(unknownSetting.stderr)).toEqual([
          "checkpointer: --set: unknown setting \"roundDeadlin\" (see checkpointer config check)"
        ])

        // Flags anywhere: --log-level after the others is still the built-in option (the chain is down: 5).
        const logLevel = yield* run(["collect", "--bucket", "0", "--chain", "ws://127.0.0.1:1", "--log-level", "debug"])
        expect(logLevel.exit, logLevel.stderr).toBe(5)

        // Flags before the subcommand are the subcommand's too.
        const early = yield* run(["--json", "--set", "maxRetries=2", "config", "check"])
        expect(early.exit, early.stderr).toBe(0)
        expect(jsonLines(early.stdout)[0]).toMatchObject({ type: "Config" })

        const help = yield* run(["--help"])
        expect(help.exit).toBe(0)
        expect(help.stdout).not.toContain("\u001b[")
        expect(help.stdout).toContain("EXIT CODES")
        expect(help.stdout).toMatch(/^3\s+no consensus/m)
        expect(help.stdout).toContain("CHECKPOINTER_SIGNER_SURI")
      }),
    120_000
  )

  it.scopedLive(
    "config check: every setting with its value and source, flags over the file over the environment",
    () =>
      Effect.gen(function*() {
        const file = join(tempDir("config"), "checkpointer.json")
        writeFileSync(
          file,
          JSON.stringify({
            chain: "ws://127.0.0.1:9944",
            buckets: [7, { id: 8, threshold: 90, maxFeePerCheckpoint: "5000000000", intervalSeconds: 3600 }],
            settings: { roundDeadline: "90 seconds", graceWindow: "3 seconds", concurrency: 8 }
          })
        )
        const checked = yield* run(
          ["config", "check", file, "--suri", "//Alice", "--set", "graceWindow=2s", "--json"],
          { CHECKPOINTER_CONSENSUS_THRESHOLD: "90", CHECKPOINTER_ROUND_DEADLINE: "45 seconds" }
        )
        expect(checked.exit, checked.stderr).toBe(0)
        const [record] = jsonLines(checked.stdout)
        expect(Number.isNaN(Date.parse(record!.at as string))).toBe(false)
        const settings = new Map(
          (record!.settings as ReadonlyArray<{ key: string; value: string; source: string }>).map((
            s
          ) => [s.key, s] as const)
        )
        expect(settings.get("consensusThreshold")).toEqual({
          key: "consensusThreshold",
          value: "90",
          source: "env CHECKPOINTER_CONSENSUS_THRESHOLD"
        })
        // The file wins over the environment, the flag over the file.
        expect(settings.get("roundDeadline")).toMatchObject({ value: "1m 30s", source: "config file" })
        expect(settings.get("graceWindow")).toMatchObject({ value: "2s", source: "--set" })
        expect(settings.get("concurrency")).toMatchObject({ value: "8", source: "config file" })
        expect(settings.get("maxRetries")).toMatchObject({ value: "3", source: "default" })
        // The signer is named by its address, never by its secret.
        expect(record!.signer).toEqual({
          address: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
          source: "--suri"
        })
        expect(checked.stdout).not.toContain("//Alice")
        expect(record!.buckets).toEqual([7, 8])
        // A bucket's own settings, beside the process's.
        expect(settings.get("bucket 8: consensusThreshold")).toMatchObject({ value: "90", source: "config file" })
        expect(settings.get("bucket 8: maxFeePerCheckpoint")).toMatchObject({ value: "5000000000" })
        expect(record!.interval).toEqual({ _tag: "Blocks", blocks: 100 })
        expect(record!.bucketIntervals).toEqual([{ bucket: 8, interval: { _tag: "Seconds", seconds: 3600 } }])
        const human = yield* run(["config", "check", file])
        expect(human.stdout).toMatch(/interval +every 100 finalized blocks; bucket 8 every 3600 s/)

        // A bucket's interval is by blocks or by time, not both.
        writeFileSync(file, JSON.stringify({ buckets: [{ id: 8, intervalSeconds: 60, intervalBlocks: 5 }] }))
        const both = yield* run(["config", "check", file])
        expect(both.exit).toBe(2)
        expect(lines(both.stderr)).toEqual([
          "checkpointer: buckets: bucket 8: give intervalBlocks or intervalSeconds, not both"
        ])
        writeFileSync(
          file,
          JSON.stringify({
            chain: "ws://127.0.0.1:9944",
            buckets: [7, { id: 8, threshold: 90, maxFeePerCheckpoint: "5000000000" }],
            settings: { roundDeadline: "90 seconds", graceWindow: "3 seconds", concurrency: 8 }
          })
        )

        // One validation, the library's: retries that cannot fit in the deadline are refused, by name.
        const invalid = yield* run(["config", "check", file, "--set", "roundDeadline=5s"])
        expect(invalid.exit).toBe(2)
        expect(invalid.stderr).toContain("the retries do not fit in the round deadline")
        const badValue = yield* run(["config", "check"], { CHECKPOINTER_MAX_RETRIES: "many" })
        expect(badValue.exit).toBe(2)
        expect(lines(badValue.stderr)).toEqual([
          "checkpointer: settings: maxRetries (env CHECKPOINTER_MAX_RETRIES): expected a whole number, got \"many\""
        ])
      }),
    120_000
  )
})

describe("against a live chain", () => {
  it.scopedLive(
    "the environment's settings reach a real round; a signer that cannot submit is refused before any provider is asked",
    () =>
      Effect.gen(function*() {
        const { chain, simulators, write } = yield* world("interval")
        yield* write(4)
        const collected = yield* run(["collect", "--chain", chain.url, "--bucket", "0"], {
          CHECKPOINTER_CONSENSUS_THRESHOLD: "90"
        })
        expect(collected.exit, collected.stderr).toBe(0)
        expect(collected.stdout).toMatch(/required max\(ceil\(3 × 90%\), min_providers 2\) = 3/)
        // A bucket's own threshold from the config file wins over the process's.
        const file = join(tempDir("per-bucket"), "checkpointer.json")
        writeFileSync(file, JSON.stringify({ buckets: [{ id: 0, threshold: 67 }] }))
        const own = yield* run(["collect", "--chain", chain.url, "--bucket", "0", "--config", file], {
          CHECKPOINTER_CONSENSUS_THRESHOLD: "90"
        })
        expect(own.exit, own.stderr).toBe(0)
        expect(own.stdout).toMatch(/required max\(ceil\(3 × 67%\), min_providers 2\) = 3/)

        const asked = yield* simulators[0]!.requests
        const outsider = yield* run(["submit", "--chain", chain.url, "--bucket", "0", "--suri", "//Ferdie"])
        expect(outsider.exit).toBe(2)
        expect(lines(outsider.stderr)).toEqual([
          "checkpointer: signer: 5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL is not a member of bucket 0; checkpoints need a Writer or Admin"
        ])
        expect(yield* simulators[0]!.requests).toBe(asked)
        const outsiderRun = yield* run(["run", "--chain", chain.url, "--bucket", "0", "--suri", "//Ferdie"])
        expect(outsiderRun.exit).toBe(2)
        expect(yield* simulators[0]!.requests).toBe(asked)
      }),
    120_000
  )

  it.scopedLive(
    "--dry-run says what submit would do with its exit code; submit prints the fee in the chain's unit; status reads the journal and run's recorded health",
    () =>
      Effect.gen(function*() {
        const { chain, simulators, write } = yield* world("interval")
        const journal = tempDir("operator-journal")
        const env = { CHECKPOINTER_JOURNAL_DIR: journal }
        yield* write(4)
        const base = ["--chain", chain.url, "--bucket", "0", "--suri", "//Alice", "--json"]

        const wouldSubmit = yield* run(["submit", "--dry-run", ...base], env)
        expect(wouldSubmit.exit, wouldSubmit.stderr).toBe(0)
        expect(jsonLines(wouldSubmit.stdout)[0]).toMatchObject({ type: "DryRun", would: "Submit", exitCode: 0 })
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(0)

        // With every provider required and one failing, there is no consensus: the dry run exits 3, as
        // submit would.
        yield* simulators[2]!.setFaults({ status: { code: 400, errorCode: "Down" } })
        const noConsensus = yield* run(["submit", "--dry-run", "--threshold", "100", ...base], env)
        expect(noConsensus.exit, noConsensus.stderr).toBe(3)
        expect(jsonLines(noConsensus.stdout)[0]).toMatchObject({ type: "DryRun", would: "NoConsensus", exitCode: 3 })
        yield* simulators[2]!.setFaults({})

        const submitted = yield* run(["submit", ...base], env)
        expect(submitted.exit, submitted.stderr).toBe(0)
        const [result] = jsonLines(submitted.stdout)
        const receipt = result!.receipt as { fee: string; blockNumber: number; commitment: { leafCount: string } }
        // The fee is the chain's own (its TransactionFeePaid event), printed with the chain's decimals and unit.
        const paid = chain.eventsNamed("TransactionPayment", "TransactionFeePaid").map((e) =>
          (e.fields as { actual_fee: bigint }).actual_fee
        )
        expect(paid).toContain(BigInt(receipt.fee))
        expect(result!.fee).toBe(Amount.format(BigInt(receipt.fee), { decimals: 12, symbol: "UNIT" }))
        expect(result!.fee).toMatch(/^0\.\d+ UNIT$/)

        // The same commitment again: the dry run says nothing would be sent.
        const nothing = yield* run(["submit", "--dry-run", ...base], env)
        expect(jsonLines(nothing.stdout)[0]).toMatchObject({ would: "NothingToDo", exitCode: 0 })

        // Before run has recorded anything, status says so rather than inventing health.
        const before = yield* run(["status", "--chain", chain.url, "--bucket", "0"], env)
        expect(before.exit, before.stderr).toBe(0)
        expect(before.stdout).toContain(`last checkpoint on chain: block #${receipt.blockNumber}, 4 leaves`)
        expect(before.stdout).toContain(`journal: last receipt block #${receipt.blockNumber}`)
        expect(before.stdout).toContain(`fee ${result!.fee}`)
        expect(before.stdout).toContain("no history recorded yet")
        expect(before.stdout).toMatch(/provider\s+class\s+latency/)

        // run records health; status then shows that history (requests run made), not a fresh probe.
        yield* write(2)
        const daemon = yield* start(["run", ...base, "--interval-blocks", "2"], env)
        yield* eventually(
          () => jsonLines(daemon.output.stdout).some((l) => l.type === "CheckpointSubmitted"),
          "run's checkpoint",
          60
        )
        daemon.child.kill("SIGTERM")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop", 20)
        const served = yield* simulators[0]!.requests
        const after = yield* run(["status", "--chain", chain.url, "--bucket", "0", "--json"], env)
        expect(after.exit, after.stderr).toBe(0)
        const [status] = jsonLines(after.stdout)
        const health = status!.health as ReadonlyArray<{ requests: number; successRate: number }>
        expect(health).toHaveLength(3)
        for (const h of health) {
          expect(h.requests).toBeGreaterThan(0)
          expect(h.requests).toBeLessThanOrEqual(served)
          expect(h.successRate).toBe(1)
        }
        expect(status!.dirty).toBe(false)
      }),
    180_000
  )

  it.scopedLive(
    "a chain outage is reported as our own events, without polkadot's console noise, and checkpoints go on after it",
    () =>
      Effect.gen(function*() {
        const { chain, write } = yield* world("interval")
        yield* write(4)
        const daemon = yield* start(
          ["run", "--chain", chain.url, "--bucket", "0", "--suri", "//Alice", "--interval-blocks", "2", "--json"]
        )
        const records = () => jsonLines(daemon.output.stdout)
        yield* eventually(() => records().some((l) => l.type === "CheckpointSubmitted"), "the first checkpoint", 60)
        yield* chain.disconnectAll()
        yield* eventually(() => records().some((l) => l.type === "ChainDisconnected"), "the outage reported", 20)
        yield* eventually(() => records().some((l) => l.type === "ChainReconnected"), "the reconnection reported", 30)
        const reconnectedAt = records().findIndex((l) => l.type === "ChainReconnected")
        yield* write(2)
        yield* eventually(
          () => records().slice(reconnectedAt).some((l) => l.type === "CheckpointSubmitted"),
          "a checkpoint after the outage",
          60
        )
        // With --log-level debug the same outage prints polkadot's own lines; by default none reach the operator.
        expect(daemon.output.stderr).not.toMatch(/API-WS|RPC-CORE|API\/INIT/)
        expect(daemon.output.stdout).not.toMatch(/API-WS|RPC-CORE/)
        daemon.child.kill("SIGTERM")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop", 20)
        expect(daemon.output.exit).toBe(0)
      }),
    180_000
  )

  it.scopedLive(
    "spend guardrails: a fee above the cap exits 7 with nothing sent; a balance below the minimum is refused before any provider is asked; status shows balance and fees",
    () =>
      Effect.gen(function*() {
        const { chain, simulators, write } = yield* world("interval")
        const journal = tempDir("spend-journal")
        const env = { CHECKPOINTER_JOURNAL_DIR: journal }
        yield* write(4)
        const base = ["--chain", chain.url, "--bucket", "0", "--suri", "//Alice"]

        const capped = yield* run(["submit", ...base, "--set", "maxFeePerCheckpoint=1"], env)
        expect(capped.exit, capped.stderr).toBe(7)
        expect(lines(capped.stderr).at(-1)).toMatch(/^checkpointer: .*FeeAboveCap/)
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(0)

        const asked = yield* simulators[0]!.requests
        const poor = yield* run(["run", ...base, "--set", `minimumBalance=${10n ** 30n}`], env)
        expect(poor.exit, poor.stderr).toBe(7)
        expect(lines(poor.stderr)).toEqual([
          expect.stringMatching(
            /^checkpointer: balance: 5Grw\S+ has [\d.]+ UNIT, below minimumBalance 1000000000000000000 UNIT/
          )
        ])
        expect(yield* simulators[0]!.requests).toBe(asked)

        const paid = yield* run(["submit", ...base, "--json"], env)
        expect(paid.exit, paid.stderr).toBe(0)
        const fee = jsonLines(paid.stdout)[0]!.fee as string
        const status = yield* run(["status", ...base, "--json"], env)
        expect(status.exit, status.stderr).toBe(0)
        const [signer, bucket] = jsonLines(status.stdout)
        expect(signer).toMatchObject({ type: "Signer", account: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" })
        expect(signer!.balance).toMatch(/^\d+(\.\d+)? UNIT$/)
        expect(bucket!.spend).toMatchObject({ fees: fee, checkpoints: 1 })
      }),
    180_000
  )
})

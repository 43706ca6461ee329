/**
 * The command's output as programs and people read it around the spend guardrails: stdout carries the
 * command's records only (log lines go to stderr, once, as text or JSON), a refusal names its amounts in
 * the chain's unit and is a `Refused` record for programs, `--dry-run` applies the same guardrails as a
 * submission, budgets and a low balance stop spending with their exit code and events. Child processes
 * against a devchain and simulated providers in this process; every wait bounded.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually, jsonLines, run, start, strictJsonLines } from "./process.js"
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

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "")

/** An amount as the devchain's unit prints it. */
const UNIT = /^\d+(\.\d+)? UNIT$/
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const LogLine = Schema.parseJson(Schema.Struct({
  timestamp: Schema.String,
  level: Schema.Literal("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
  message: Schema.Unknown,
  annotations: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}))

describe("help off a terminal", () => {
  it.scopedLive(
    "--help in a pipe has no colour codes even without NO_COLOR; with NO_COLOR neither",
    () =>
      Effect.gen(function*() {
        for (const env of [{ NO_COLOR: undefined }, { NO_COLOR: "1" }]) {
          for (const args of [["--help"], ["submit", "--help"]]) {
            const help = yield* run(args, env)
            expect(help.exit, help.stderr).toBe(0)
            expect(help.stdout).toContain("--json")
            expect(help.stdout + help.stderr).not.toContain("\u001b[")
          }
        }
      }),
    60_000
  )
})

describe("submit and the spend guardrails", () => {
  it.scopedLive(
    "stdout is JSON records only, logs go to stderr once; refusals are Refused records in the chain's unit with exit 7, dry runs included; budgets; status --journal",
    () =>
      Effect.gen(function*() {
        const { chain, write } = yield* world("interval")
        const journal = tempDir("guardrails-journal")
        const env = { CHECKPOINTER_JOURNAL_DIR: journal }
        yield* write(4)
        const base = ["--chain", chain.url, "--bucket", "0", "--suri", "//Alice"]
        const capped = [...base, "--set", "maxFeePerCheckpoint=1"]

        // A refusal for people: one line on stderr, amounts in the chain's unit, nothing in planck.
        const refused = yield* run(["submit", ...capped], env)
        expect(refused.exit, refused.stderr).toBe(7)
        expect(lines(refused.stderr).at(-1)).toMatch(
          /^checkpointer: bucket 0: not submitted: FeeAboveCap \(the checkpoint's fee is estimated at 0\.\d+ UNIT, above the cap of 0\.000000000001 UNIT\)$/
        )
        expect(refused.stderr).not.toContain("planck")

        // The same with the same journal (its journaled round is tried again, and logged), for programs:
        // every stdout line is a JSON record, the last one the refusal; log lines are on stderr.
        const asProgram = yield* run(["submit", ...capped, "--json", "--log-level", "debug"], env)
        expect(asProgram.exit, asProgram.stderr).toBe(7)
        const records = strictJsonLines(asProgram.stdout, "stdout")
        expect(records).toHaveLength(1)
        const [record] = records
        expect(record).toMatchObject({
          type: "Refused",
          bucket: 0,
          reason: "FeeAboveCap",
          exitCode: 7,
          spend: { cap: "0.000000000001 UNIT", capPlanck: "1", estimate: expect.stringMatching(UNIT) }
        })
        expect(record!.at).toMatch(ISO)
        expect(BigInt((record!.spend as { estimatePlanck: string }).estimatePlanck)).toBeGreaterThan(1n)
        expect(asProgram.stderr).toMatch(/ DEBUG \(#\d+\): /)

        // JSON logs: every stderr line one JSON log line, none twice; stdout still the records only.
        const jsonLogs = yield* run(
          ["submit", ...capped, "--json", "--log-format", "json", "--log-level", "debug"],
          env
        )
        expect(jsonLogs.exit, jsonLogs.stderr).toBe(7)
        expect(strictJsonLines(jsonLogs.stdout, "stdout").map((r) => r.type)).toEqual(["Refused"])
        const logLines = lines(jsonLogs.stderr)
        expect(logLines.length).toBeGreaterThan(1)
        for (const line of logLines) {
          expect(Either.isRight(Schema.decodeUnknownEither(LogLine)(line)), `a JSON log line: ${line}`).toBe(true)
        }
        expect(new Set(logLines).size).toBe(logLines.length)

        // The dry run applies the same guardrails: the cap, and the minimum balance, each exit 7.
        const dryCapped = yield* run(["submit", "--dry-run", ...capped, "--json"], env)
        expect(dryCapped.exit, dryCapped.stderr).toBe(7)
        expect(strictJsonLines(dryCapped.stdout)[0]).toMatchObject({
          type: "DryRun",
          would: "Refuse",
          exitCode: 7,
          detail: expect.stringMatching(/^refused: FeeAboveCap \(.*0\.000000000001 UNIT\)$/),
          spend: { capPlanck: "1" }
        })
        const dryPoor = yield* run(["submit", "--dry-run", ...base, "--set", `minimumBalance=${10n ** 30n}`], env)
        expect(dryPoor.exit, dryPoor.stderr).toBe(7)
        expect(dryPoor.stdout).toMatch(/dry run: refused: BalanceBelowMinimum \(.* UNIT.*\) \(exit 7\)/)
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(0)

        // One checkpoint paid: its fee counts against the budgets of the period.
        const paid = yield* run(["submit", ...base, "--json"], env)
        expect(paid.exit, paid.stderr).toBe(0)
        const fee = BigInt((strictJsonLines(paid.stdout)[0]!.receipt as { fee: string }).fee)
        yield* write(2)
        const budget = fee + fee / 2n
        for (const scope of ["bucket", "signer"] as const) {
          const budgeted = [...base, "--set", `${scope}Budget=${budget}`, "--json"]
          const dry = yield* run(["submit", "--dry-run", ...budgeted], env)
          expect(dry.exit, dry.stderr).toBe(7)
          expect(strictJsonLines(dry.stdout)[0]).toMatchObject({
            would: "Refuse",
            spend: { scope, spentPlanck: `${fee}`, budgetPlanck: `${budget}` }
          })
          const over = yield* run(["submit", ...budgeted], env)
          expect(over.exit, over.stderr).toBe(7)
          expect(strictJsonLines(over.stdout)[0]).toMatchObject({
            type: "Refused",
            reason: "BudgetExhausted",
            exitCode: 7,
            spend: {
              scope,
              spent: expect.stringMatching(UNIT),
              spentPlanck: `${fee}`,
              budget: expect.stringMatching(UNIT)
            }
          })
          expect(lines(over.stderr).at(-1)).toMatch(/^checkpointer: bucket 0: not submitted: BudgetExhausted \(.* UNIT/)
        }
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(1)

        // status reads the journal the flag names (the environment names an empty one).
        const elsewhere = { CHECKPOINTER_JOURNAL_DIR: tempDir("guardrails-empty") }
        const status = yield* run(["status", ...base, "--journal", journal], elsewhere)
        expect(status.exit, status.stderr).toBe(0)
        expect(status.stdout).toMatch(/journal: last receipt block #\d+/)
        const unjournaled = yield* run(["status", ...base], elsewhere)
        expect(unjournaled.stdout).not.toMatch(/journal: last receipt/)
      }),
    240_000
  )
})

describe("run and the spend guardrails", () => {
  it.scopedLive(
    "run's checkpoints carry the fee in the chain's unit; a balance that a fee would take below minimumBalance pauses the loop with a LoopPaused event",
    () =>
      Effect.gen(function*() {
        const { chain, write } = yield* world("interval")
        const journal = tempDir("guardrails-run")
        const env = { CHECKPOINTER_JOURNAL_DIR: journal }
        yield* write(4)
        const base = ["--chain", chain.url, "--bucket", "0", "--suri", "//Alice"]
        const runArgs = ["run", ...base, "--interval-blocks", "2", "--json"]

        const paying = yield* start(runArgs, env)
        yield* eventually(
          () => jsonLines(paying.output.stdout).some((l) => l.type === "CheckpointSubmitted"),
          "run's checkpoint",
          90
        )
        paying.child.kill("SIGTERM")
        yield* eventually(() => paying.output.exit !== undefined, "run to stop", 20)
        const submitted = strictJsonLines(paying.output.stdout, "stdout").find((l) => l.type === "CheckpointSubmitted")!
        const { receipt } = submitted.event as { receipt: { fee: string } }
        expect(submitted.fee).toMatch(UNIT)
        expect(BigInt(receipt.fee)).toBeGreaterThan(0n)

        // The minimum is the balance itself: enough to start (no less than the minimum), but any fee
        // would take it below, so the first round that would pay is refused and the loop pauses.
        const status = yield* run(["status", ...base, "--json"], env)
        const signer = strictJsonLines(status.stdout).find((l) => l.type === "Signer")!
        const balance = String(signer.balancePlanck)
        yield* write(2)
        const poor = yield* start([...runArgs, "--set", `minimumBalance=${balance}`], env)
        yield* eventually(
          () => jsonLines(poor.output.stdout).some((l) => l.type === "LoopPaused"),
          "the loop paused",
          90
        )
        poor.child.kill("SIGTERM")
        yield* eventually(() => poor.output.exit !== undefined, "run to stop", 20)
        const events = () => strictJsonLines(poor.output.stdout, "stdout")
        const failed = events().find((l) => l.type === "CheckpointFailed")
        expect(failed).toMatchObject({
          type: "CheckpointFailed",
          spend: { minimumPlanck: balance, minimum: expect.stringMatching(UNIT), free: expect.stringMatching(UNIT) }
        })
        const paused = events().find((l) => l.type === "LoopPaused")!
        expect((paused.event as { reason: string }).reason).toContain("BalanceBelowMinimum")
        // The pause says the balance and the minimum in the chain's unit too, as the failure does.
        expect(paused).toMatchObject({
          spend: { minimumPlanck: balance, minimum: expect.stringMatching(UNIT), free: expect.stringMatching(UNIT) }
        })
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed")).toHaveLength(1)
      }),
    240_000
  )
})

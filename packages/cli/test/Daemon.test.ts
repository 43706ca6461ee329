/**
 * `checkpointer run` and `checkpointer submit` as an operator runs them: child processes against a
 * devchain and simulated providers in this process, with data written while they run. Every number the
 * command prints is checked against the chain and the providers.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
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

const receiptsOf = (stdout: string) =>
  jsonLines(stdout)
    .filter((l) => l.type === "CheckpointSubmitted")
    .map((l) => (l.event as { receipt: { commitment: { leafCount: string }; blockNumber: number } }).receipt)

describe("checkpointer run: a watcher against a live chain", () => {
  it.scopedLive(
    "checkpoints new data as providers receive it (each landed, none repeated), stops cleanly on SIGTERM, and a restart on the same journal pays nothing twice",
    () =>
      Effect.gen(function*() {
        const { chain, checkpointed, simulators, totals, write } = yield* world("interval")
        const journal = tempDir("daemon-journal")
        yield* write(4)
        const args = [
          "run",
          "--chain",
          chain.url,
          "--bucket",
          "0",
          "--interval-blocks",
          "2",
          "--suri",
          "//Alice",
          "--json"
        ]
        const env = { CHECKPOINTER_JOURNAL_DIR: journal }
        const first = yield* start(args, env)
        // Data arrives while it runs: 2 leaves every 2.5 s of real time (the workload, not a wait).
        const writer = yield* Effect.forkScoped(
          write(2).pipe(Effect.repeat(Schedule.spaced("2500 millis")), Effect.delay("2500 millis"))
        )
        yield* eventually(() => receiptsOf(first.output.stdout).length >= 3, "three checkpoints from run", 60)
        const running = jsonLines(first.output.stdout).find((l) => l.type === "Running")
        expect(running?.journal).toBe(join(journal, chain.genesisHash))

        // Every printed checkpoint is on chain, with the leaf count a provider held at some point; none repeated.
        const printed = receiptsOf(first.output.stdout).map((r) => Number(r.commitment.leafCount))
        const onChain = checkpointed()
        expect(onChain.slice(0, printed.length)).toEqual(printed)
        for (const leaves of printed) expect(totals).toContain(leaves)
        for (let i = 1; i < onChain.length; i++) expect(onChain[i]).toBeGreaterThan(onChain[i - 1]!)

        // Stop it while a round is in flight (slow providers keep one going), with SIGTERM: once a provider
        // has been asked since it became slow, a round is waiting on it.
        for (const s of simulators) yield* s.setFaults({ latency: { min: "1500 millis", max: "1500 millis" } })
        const askedBefore = yield* simulators[0]!.requests
        yield* write(2)
        yield* simulators[0]!.requests.pipe(
          Effect.filterOrFail((n) => n > askedBefore),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds")))
        )
        first.child.kill("SIGTERM")
        yield* eventually(() => first.output.exit !== undefined, "run to exit on SIGTERM", 20)
        expect(first.output.exit, first.output.stderr).toBe(0)
        expect(jsonLines(first.output.stdout).some((l) => l.type === "Stopped")).toBe(true)
        yield* Effect.sync(() => void writer.unsafeInterruptAsFork(writer.id()))
        for (const s of simulators) yield* s.setFaults({})

        // The journal directory holds this chain's journal, under its genesis hash.
        expect(readdirSync(journal)).toEqual([chain.genesisHash])

        // Restarted on the same journal with no new data: rounds run, nothing is paid again.
        const landed = checkpointed().length
        const second = yield* start(args, env)
        yield* eventually(() => jsonLines(second.output.stdout).some((l) => l.type === "Running"), "run to start", 30)
        const startedAt = chain.finalizedNumber()
        yield* eventually(() => chain.finalizedNumber() >= startedAt + 8, "eight more finalized blocks", 30)
        const settledOrNew = checkpointed().slice(landed)
        // At most the checkpoint that was in flight at SIGTERM lands (settled, not paid twice).
        expect(settledOrNew.length).toBeLessThanOrEqual(1)
        const all = checkpointed()
        expect(new Set(all).size).toBe(all.length)

        // New data: it checkpoints again.
        yield* write(3)
        const target = totals[totals.length - 1]!
        yield* eventually(
          () => checkpointed().includes(target),
          `a checkpoint of ${target} leaves after the restart`,
          60
        )
        second.child.kill("SIGINT")
        yield* eventually(() => second.output.exit !== undefined, "run to exit on SIGINT", 20)
        expect(second.output.exit, second.output.stderr).toBe(0)
        const final = checkpointed()
        expect(new Set(final).size).toBe(final.length)
      }),
    180_000
  )
})

describe("checkpointer submit: the journal by default, and an interruption that says what it left", () => {
  it.scopedLive(
    "an interrupted submit exits 6 saying the outcome is unknown; the rerun settles it without paying again",
    () =>
      Effect.gen(function*() {
        const { chain, checkpointed, write } = yield* world("manual")
        yield* write(5)
        const state = tempDir("submit-state")
        // No CHECKPOINTER_JOURNAL_DIR: the default location under $XDG_STATE_HOME.
        const env = { CHECKPOINTER_JOURNAL_DIR: undefined, XDG_STATE_HOME: state }
        const args = ["submit", "--chain", chain.url, "--bucket", "0", "--suri", "//Alice"]
        const first = yield* start(args, env)
        // Blocks are made by hand: the extrinsic waits in the pool until we make one.
        yield* eventually(() => chain.chain.pending().length > 0, "the checkpoint extrinsic in the pool", 60)
        first.child.kill("SIGINT")
        yield* eventually(() => first.output.exit !== undefined, "submit to exit on SIGINT", 20)
        expect(first.output.exit).toBe(6)
        expect(first.output.stderr).toMatch(
          /^checkpointer: interrupted: extrinsic 0x[0-9a-f]{64} for bucket 0 was sent and its outcome is not known yet; rerun the same command \(same journal\) to settle it/m
        )
        expect(existsSync(join(state, "checkpointer", chain.genesisHash, "buckets"))).toBe(true)

        // It lands while nobody watches.
        yield* chain.newBlock(2)
        expect(checkpointed()).toEqual([5])

        const rerun = yield* run(args, env, 60)
        expect(rerun.exit, rerun.stderr).toBe(0)
        expect(rerun.stdout).toMatch(/settled an earlier submission: checkpoint in block #1 /)
        expect(rerun.stdout).toContain("5 leaves")
        expect(checkpointed()).toEqual([5])
      }),
    120_000
  )

  it.scopedLive(
    "--no-journal warns in one line, and an interrupted submit never exits 0",
    () =>
      Effect.gen(function*() {
        const { chain } = yield* world("manual")
        // No data at all: the providers hold nothing to sign yet, so the round waits for them.
        const r = yield* start(
          ["submit", "--chain", chain.url, "--bucket", "0", "--suri", "//Alice", "--no-journal"],
          {}
        )
        yield* eventually(() => r.output.stderr.includes("warning: no journal"), "the warning", 30)
        r.child.kill("SIGINT")
        yield* eventually(() => r.output.exit !== undefined, "submit to exit", 20)
        expect(r.output.stderr.split("\n").filter((l) => l.includes("warning"))).toEqual([
          "checkpointer: warning: no journal: a restart may pay again for a checkpoint that was in flight"
        ])
        expect(r.output.exit).not.toBe(0)
      }),
    60_000
  )
})

describe("hostile provider text", () => {
  it.scopedLive(
    "a provider's error code with terminal escapes is printed escaped by collect; --json keeps it exact",
    () =>
      Effect.gen(function*() {
        const { chain, simulators, write } = yield* world("interval")
        yield* write(3)
        const hostile = "\u001b]0;PWNED\u0007\u001b[2K\rall providers agree"
        // A refusal (400) is not retried: its answer is in before the round ends.
        yield* simulators[2]!.setFaults({ status: { code: 400, errorCode: hostile } })
        const args = ["collect", "--chain", chain.url, "--bucket", "0"]
        const human = yield* run(args)
        expect(human.exit, human.stderr).toBe(0)
        expect(human.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
        expect(human.stdout).toContain("\\x1b]0;PWNED\\x07\\x1b[2K\\x0dall providers agree")
        const machine = yield* run([...args, "--json"])
        const [collected] = jsonLines(machine.stdout)
        const details = (collected!.decision as { outcomes: ReadonlyArray<{ detail?: string }> }).outcomes
          .map((o) => o.detail ?? "")
        expect(details.some((d) => d.includes(hostile))).toBe(true)
      }),
    60_000
  )
})

/**
 * Two `checkpointer run` processes on two "machines" (two child processes with nothing in common but
 * the database) watching the same bucket through one PostgreSQL journal (`--journal postgres://…`): they
 * take turns through the bucket's lease, every commitment is paid once, and when one is SIGKILLed the
 * other goes on. A real PostgreSQL server (the machine's binaries, on a free loopback port), a devchain
 * and simulated providers in this process; every wait bounded.
 */
import { SqlJournal } from "@checkpointer/cluster"
import { type Domain, ReceiptJournal } from "@checkpointer/core"
import * as Postgres from "@checkpointer/testing/Postgres"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { eventually, jsonLines, run, start } from "./process.js"
import { world } from "./world.js"

describe("run --journal postgres://…", () => {
  it.scopedLive(
    "two processes on one bucket and one PostgreSQL journal pay for each commitment once; SIGKILL one and the other checkpoints on; the journal's last receipt is the chain's snapshot",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const { chain, checkpointed, write } = yield* world("interval")
        yield* write(4)
        const args = [
          "run",
          "--chain",
          chain.url,
          "--bucket",
          "0",
          "--suri",
          "//Alice",
          "--interval-blocks",
          "2",
          "--journal",
          server.url,
          "--json"
        ]
        const a = yield* start(args)
        const b = yield* start(args)
        const running = (p: typeof a) => jsonLines(p.output.stdout).find((l) => l.type === "Running")
        yield* eventually(() => running(a) !== undefined && running(b) !== undefined, "both to run", 60)
        // The database URL is printed without anything secret in it (this one has no password).
        expect(running(a)!.journal).toBe(server.url)

        yield* eventually(() => checkpointed().includes(4), "the first checkpoint", 60)
        yield* write(3)
        yield* eventually(() => checkpointed().includes(7), "the second checkpoint", 60)

        // One machine dies, perhaps in the middle of a round: the other carries on (after the dead
        // one's lease of the bucket, 30 s, has expired if it held it).
        a.child.kill("SIGKILL")
        yield* eventually(() => a.output.exit !== undefined, "the killed process to exit", 10)
        yield* write(3)
        yield* eventually(() => checkpointed().includes(10), "a checkpoint after the kill", 90)

        // Each commitment on chain once: nothing was paid twice.
        const landed = checkpointed()
        expect(new Set(landed).size).toBe(landed.length)
        expect(landed[landed.length - 1]).toBe(10)

        // The journal in PostgreSQL ends where the chain does (once the survivor has recorded the receipt
        // of what it saw finalized).
        const lastReceipt = Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(0n as Domain.BucketId)).pipe(
          Effect.provide(SqlJournal.layerPg({ url: Redacted.make(server.url) })),
          Effect.orDie,
          Effect.map(Option.flatMap((journal) =>
            Option.isNone(journal.unresolved)
              ? Option.fromNullable(journal.receipts[journal.receipts.length - 1])
              : Option.none()
          )),
          Effect.map(Option.map((receipt) => Number(receipt.commitment.leafCount)))
        )
        const settled = yield* lastReceipt.pipe(
          Effect.filterOrFail((last) => Option.contains(last, 10), (last) => `the journal's last receipt: ${last}`),
          Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo("30 seconds"))),
          Effect.either
        )
        expect(settled).toEqual(Either.right(Option.some(10)))

        b.child.kill("SIGTERM")
        yield* eventually(() => b.output.exit !== undefined, "the survivor to stop", 20)
        expect(b.output.exit).toBe(0)

        // A database that cannot be reached is a configuration problem (exit 2), said in one line,
        // without the password.
        const unreachable = yield* run(
          [...args.slice(0, -3), "--journal", "postgres://checkpointer:s3cret@127.0.0.1:1/none", "--json"],
          {},
          60
        )
        expect(unreachable.exit).toBe(2)
        expect(unreachable.stderr).toMatch(
          /^checkpointer: journal postgres:\/\/checkpointer:\*\*\*@127\.0\.0\.1:1\/none: /
        )
        expect(unreachable.stderr).not.toContain("s3cret")
      }),
    300_000
  )
})

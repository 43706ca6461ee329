/**
 * `checkpointer run --cluster postgres://…`: three runners as child processes (three "machines" with
 * nothing in common but the database) share the buckets through `@effect/cluster`, against a devchain
 * and simulated providers in this process and a real, throwaway PostgreSQL. Each bucket has a signer of
 * its own (as an operator with several machines would give them: two runners never sign with one
 * account's nonces at once). Every wait is bounded; everything is on loopback.
 */
import { SqlJournal } from "@checkpointer/cluster"
import { type Domain, ReceiptJournal } from "@checkpointer/core"
import * as Postgres from "@checkpointer/testing/Postgres"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import {
  clusterConfig,
  type ClusterWorld,
  clusterWorld,
  everyBucketReaches,
  freePort,
  running
} from "./clusterWorld.js"
import { eventually, jsonLines, type Run, run, start } from "./process.js"

/** Buckets in the cluster: as many as three runners on a two-core machine check in reasonable time. */
const BUCKETS = 60

/** The buckets a runner checkpointed, by leaf count (its own `CheckpointSubmitted` lines, nothing settled). */
const paidBy = (runner: Run) =>
  jsonLines(runner.output.stdout)
    .filter((l) => l.type === "CheckpointSubmitted")
    .map((l) => l.event as { bucketId: string; settled: boolean; receipt: { commitment: { leafCount: string } } })
    .filter((e) => !e.settled)
    .map((e) => ({ bucket: Number(e.bucketId), leafCount: Number(e.receipt.commitment.leafCount) }))

/** Three runners of one cluster on one database, each with its own port; `restart` starts one again. */
const startCluster = (world: ClusterWorld, databaseUrl: string) =>
  Effect.gen(function*() {
    const { config, env } = yield* clusterConfig(world, 3)
    const runner = (port: number) =>
      start([
        "run",
        "--config",
        config,
        "--suri",
        "//Alice",
        "--cluster",
        databaseUrl,
        "--runner-address",
        `127.0.0.1:${port}`,
        "--json",
        // Progress in the log on stderr (the engine's shard moves among it): what a timeout below quotes.
        "--log-level",
        "info"
      ], env)
    /** Waits for the runners to start; a timeout quotes what each one said by then. */
    const started = (runners: ReadonlyArray<Run>) =>
      eventually(() => runners.every(running), "the runners to start", 90).pipe(
        Effect.mapError(() =>
          `timed out waiting for the runners to start: ${
            runners.map((r) => `exit ${r.output.exit}: ${r.output.stdout.slice(-1500)} ${r.output.stderr.slice(-800)}`)
              .join(" | ")
          }`
        )
      )
    const ports = yield* Effect.forEach([0, 1, 2], () => freePort)
    const runners = yield* Effect.forEach(ports, runner)
    yield* started(runners)
    const restart = (index: number) => Effect.tap(runner(ports[index]!), (r) => started([r]))
    return { runners, restart }
  })

// One scenario at a time: each starts a PostgreSQL, a devchain and three runners, more than a two-core
// machine runs side by side in time.
describe.sequential("run --cluster postgres://…", () => {
  it.scopedLive(
    "bad cluster flags are one line each, exit code 2, before anything is connected",
    () =>
      Effect.gen(function*() {
        const base = ["run", "--bucket", "0", "--suri", "//Alice", "--chain", "ws://127.0.0.1:1"]
        const db = "postgres://checkpointer:s3cret@127.0.0.1:1/cluster"
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [["--runner-address", "127.0.0.1:4000"], "checkpointer: runner-address: only with --cluster postgres://…"],
          [
            ["--cluster", "mysql://x"],
            "checkpointer: cluster: expected a PostgreSQL URL postgres://user:password@host:port/database"
          ],
          [["--cluster", db, "--runner-address", "nowhere"], "checkpointer: runner-address: "],
          [
            ["--cluster", db, "--no-journal"],
            "checkpointer: journal: a cluster keeps the receipt journal in PostgreSQL"
          ],
          [
            ["--cluster", db, "--journal", "/tmp/j"],
            "checkpointer: journal: a cluster keeps the receipt journal in PostgreSQL"
          ]
        ]
        for (const [flags, line] of cases) {
          const result = yield* run([...base, ...flags], {}, 30)
          expect(result.exit, flags.join(" ")).toBe(2)
          expect(result.stderr.trim().split("\n"), flags.join(" ")).toHaveLength(1)
          expect(result.stderr).toContain(line)
          expect(result.stderr).not.toContain("s3cret")
        }
      }),
    120_000
  )

  it.scopedLive(
    `three runners share ${BUCKETS} buckets through a rolling restart and a SIGKILL: every bucket is checkpointed by one runner at a time, a runner stopped hands its buckets over at once and takes shards back when started again, a killed one's buckets go on elsewhere within 60 s, nothing is paid twice, and the SQL journal's last receipt is the chain's snapshot of every bucket`,
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const world = yield* clusterWorld(BUCKETS, { seed: 70 })
        yield* world.write(4)
        const { restart, runners } = yield* startCluster(world, server.url)
        yield* everyBucketReaches(world, 4, "every bucket's first checkpoint", 60, runners)
        /** The buckets each runner of `among` checkpointed at a leaf count, once all are in its output. */
        const receiptsAt = (among: ReadonlyArray<Run>, leafCount: number, what: string) =>
          Effect.gen(function*() {
            const by = () => among.map((r) => paidBy(r).filter((p) => p.leafCount === leafCount).map((p) => p.bucket))
            // A runner prints a checkpoint once it is final, a little after the chain's event.
            yield* eventually(() => by().flat().length >= world.buckets.length, what, 30)
            const buckets = by()
            // Each bucket's commitment by exactly one runner.
            expect(buckets.flat().sort((a, b) => a - b), what).toEqual(world.buckets)
            return buckets
          })
        const mostBuckets = (by: ReadonlyArray<ReadonlyArray<number>>) =>
          by.reduce((most, buckets, i) => (buckets.length > by[most]!.length ? i : most), 0)

        // Spread: the first runner up may have held every shard for the first checkpoints; by the second
        // (all runners long up), more than one runner makes them.
        yield* world.write(3)
        yield* everyBucketReaches(world, 7, "every bucket's second checkpoint", 60, runners)
        const second = yield* receiptsAt(runners, 7, "the runners' receipts at 7")
        expect(second.filter((buckets) => buckets.length > 0).length).toBeGreaterThanOrEqual(2)
        world.expectEachCommitmentPaidOnce()

        // A rolling restart. Stopped cleanly, a runner hands its shards over (no lock to wait out).
        const stopped = mostBuckets(second)
        runners[stopped]!.child.kill("SIGTERM")
        yield* eventually(() => runners[stopped]!.output.exit !== undefined, "the runner to stop", 30)
        expect(runners[stopped]!.output.exit).toBe(0)
        const others = runners.filter((_, i) => i !== stopped)
        yield* world.write(2)
        yield* everyBucketReaches(world, 9, "every bucket's checkpoint on the other two", 60, others)
        yield* receiptsAt(others, 9, "the other two's receipts at 9")
        // Back on its address: the shards are shared by three again, and it checkpoints some buckets.
        const back = yield* restart(stopped)
        yield* eventually(() => back.output.stderr.includes("taken up by runner"), "the restarted runner's buckets", 60)
        yield* world.write(2)
        yield* everyBucketReaches(world, 11, "every bucket's checkpoint after the restart", 60, [...others, back])
        const alive = [...others, back]
        const atEleven = yield* receiptsAt(alive, 11, "the runners' receipts at 11")
        expect(atEleven[alive.length - 1]!.length, "the restarted runner's checkpoints").toBeGreaterThan(0)
        world.expectEachCommitmentPaidOnce()

        // The runner that checkpointed the most buckets dies as new data arrives (rounds in flight).
        const victim = mostBuckets(atEleven)
        const survivors = alive.filter((_, i) => i !== victim)
        const seenBefore = survivors.map((r) => r.output.stderr.length)
        yield* world.write(2)
        alive[victim]!.child.kill("SIGKILL")
        const killedAt = Date.now()
        yield* eventually(() => alive[victim]!.output.exit !== undefined, "the killed runner to exit", 10)
        // Bound: the dead runner's shard locks expire (10 s), the survivors see it (2 s refresh), the
        // scheduler sends the next Due (3 blocks), and a bucket whose journal lease it held mid-round waits
        // for that lease (30 s): 60 s in all.
        yield* everyBucketReaches(world, 13, "every bucket's checkpoint after the kill", 60, survivors)
        const failoverSeconds = (Date.now() - killedAt) / 1000
        expect(failoverSeconds).toBeLessThan(60)
        yield* Effect.logInfo(
          `a runner with ${
            atEleven[victim]!.length
          } bucket(s) killed; every bucket at its new data ${failoverSeconds} s later`
        )
        // The move is in the survivors' logs, after the kill: each of the dead runner's buckets taken up by
        // one of them.
        for (const bucket of atEleven[victim]!) {
          expect(
            survivors.some((r, i) =>
              r.output.stderr.slice(seenBefore[i]).includes(`bucket ${bucket} taken up by runner`)
            ),
            `bucket ${bucket} taken up after the kill`
          ).toBe(true)
        }
        // Every bucket now lives on the survivors: new data after the failover is checkpointed by them (the
        // dead runner's buckets at 13 may have been its own extrinsics, sent before it died and settled by
        // the survivors, so they are not the proof).
        yield* world.write(2)
        yield* everyBucketReaches(world, 15, "every bucket's checkpoint on the survivors", 30, survivors)
        yield* receiptsAt(survivors, 15, "the survivors' receipts at 15")
        world.expectEachCommitmentPaidOnce()

        // The journal in PostgreSQL ends where the chain does, bucket by bucket (once the survivors have
        // recorded the receipts of what they saw finalized).
        const journalTips = Effect.forEach(world.buckets, (bucket) =>
          Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) =>
            j.read(BigInt(bucket) as Domain.BucketId)).pipe(
              Effect.map(Option.flatMap((journal) =>
                Option.isNone(journal.unresolved)
                  ? Option.fromNullable(journal.receipts[journal.receipts.length - 1])
                  : Option.none()
              )),
              Effect.map((receipt) => Option.getOrNull(Option.map(receipt, (r) => Number(r.commitment.leafCount))))
            )).pipe(Effect.provide(SqlJournal.layerPg({ url: Redacted.make(server.url) })), Effect.orDie)
        const chainTips = world.buckets.map((b) =>
          world.checkpointsOf(b).at(-1) ?? null
        )
        const settled = yield* journalTips.pipe(
          Effect.filterOrFail((tips) => JSON.stringify(tips) === JSON.stringify(chainTips), (tips) => tips),
          Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo("30 seconds"))),
          Effect.either
        )
        expect(settled._tag === "Right" ? settled.right : settled.left).toEqual(chainTips)

        for (const r of survivors) r.child.kill("SIGTERM")
        yield* eventually(() => survivors.every((r) => r.output.exit !== undefined), "the survivors to stop", 30)
        expect(survivors.map((r) => r.output.exit)).toEqual([0, 0])
      }),
    360_000
  )
})

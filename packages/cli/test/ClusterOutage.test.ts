/**
 * `run --cluster` when its PostgreSQL goes away for a while (the server stopped, or the runners'
 * connections terminated): a runner that cannot prove its journal lease pays nothing, and the runners
 * checkpoint again soon after the database is back. Two runners as child processes, four buckets, the
 * devchain and simulated providers in this process, a real throwaway PostgreSQL; every wait bounded.
 */
import * as Postgres from "@checkpointer/testing/Postgres"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { clusterWorld, everyBucketReaches, startRunner, stopRunners } from "./clusterWorld.js"
import { eventually, type Run } from "./process.js"

/** Rounds the runners logged as failed because the journal could not be written. */
const journalFailures = (runners: ReadonlyArray<Run>) =>
  runners.reduce((n, r) => n + r.output.stderr.split("round failed (JournalFailed)").length - 1, 0)

/**
 * How soon after the database is back every bucket reaches its new data: a few due points, usually (3–4 s
 * measured); but a bucket whose shard moved to the other runner meanwhile (the engine lets shards go when
 * its lock connection is cut) waits out the journal lease the first runner could not release (30 s).
 */
const RECOVERY_SECONDS = 45

describe("run --cluster when PostgreSQL is unreachable", () => {
  it.scopedLive(
    "nothing is paid while the database is stopped; every bucket is checkpointed within 45 s of its return, after a long outage, a short one, and terminated connections; each commitment paid once",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const world = yield* clusterWorld(4)
        yield* world.write(4)
        const [a, b] = yield* Effect.all([startRunner(world, server.url), startRunner(world, server.url)], {
          concurrency: "unbounded"
        })
        const runners = [a.runner, b.runner]
        yield* everyBucketReaches(world, 4, "every bucket's first checkpoint", 40, runners)
        yield* world.write(3)
        yield* everyBucketReaches(world, 7, "every bucket's second checkpoint (both runners up)", 40, runners)

        // A long outage, past the engine's shard lock health check (the runners let their buckets go and
        // take them up again). Nothing of ours is in flight as it starts: every bucket is at the
        // providers' data. New data arrives meanwhile; several due points (every 2 finalized blocks) pass.
        const fees = world.feesPaid()
        yield* server.stop
        const stoppedAt = world.chain.finalizedNumber()
        yield* world.write(2)
        yield* eventually(() => world.chain.finalizedNumber() >= stoppedAt + 16, "16 finalized blocks", 30)
        // Whether a round ran meanwhile (and failed on the journal) or none did depends on timing: the
        // engine lets every shard go about 3 s into the outage, and a `Due` may not have reached an entity
        // before. Either way nothing is paid; the short outage below waits for a round failing on the
        // journal, which shows the guard itself.
        expect(world.feesPaid()).toBe(fees)
        expect(world.buckets.map((bucket) => world.checkpointsOf(bucket).at(-1))).toEqual(world.buckets.map(() => 7))
        yield* server.resume
        yield* everyBucketReaches(world, 9, "every bucket's checkpoint after the outage", RECOVERY_SECONDS, runners)
        world.expectEachCommitmentPaidOnce()

        // A short outage: a round fails on the journal, and the database is back before the engine
        // notices. The journal leases the runners could not release and the failed rounds hold nothing up.
        const failures = journalFailures(runners)
        const fees2 = world.feesPaid()
        yield* server.stop
        yield* world.write(2)
        yield* eventually(() => journalFailures(runners) > failures, "a round failed on the journal", 20)
        expect(world.feesPaid()).toBe(fees2)
        yield* server.resume
        yield* everyBucketReaches(
          world,
          11,
          "every bucket's checkpoint after the short outage",
          RECOVERY_SECONDS,
          runners
        )
        world.expectEachCommitmentPaidOnce()

        // The runners' connections terminated again and again (pg_terminate_backend) as new data arrives.
        yield* world.write(2)
        const terminatedAt = world.chain.finalizedNumber()
        let terminated = 0
        yield* server.psql(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'checkpointer%'"
        ).pipe(
          Effect.tap((count) => Effect.sync(() => (terminated += Number(count.trim())))),
          Effect.repeat({
            schedule: Schedule.spaced("200 millis"),
            until: () => world.chain.finalizedNumber() >= terminatedAt + 8
          })
        )
        expect(terminated).toBeGreaterThan(0)
        yield* everyBucketReaches(
          world,
          13,
          "every bucket's checkpoint after the terminations",
          RECOVERY_SECONDS,
          runners
        )
        world.expectEachCommitmentPaidOnce()
        yield* stopRunners(runners)
      }),
    150_000
  )
})

/**
 * `checkpointer bucket add|remove|list --cluster postgres://…` (and `pause|resume`'s bad input: their
 * behaviour is `ClusterPause.test.ts`'s): buckets added to and removed from the
 * cluster's database at run time, picked up by the running runners' scheduler without a restart, the
 * buckets of their config kept. Two runners as child processes, a real throwaway PostgreSQL, the devchain
 * and simulated providers in this process; every wait bounded.
 */
import * as Postgres from "@checkpointer/testing/Postgres"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { clusterWorld, startRunner, stopRunners } from "./clusterWorld.js"
import { eventually, jsonLines, type Run, run } from "./process.js"

const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "")

/** Whether a runner's output holds this text. */
/** Whether a runner logged `text` (logs are on stderr). */
const said = (runners: ReadonlyArray<Run>, text: string) => runners.some((r) => r.output.stderr.includes(text))

describe("checkpointer bucket --cluster postgres://…", () => {
  it.scopedLive(
    "bad input is one line each, exit code 2, the password never shown",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const unreachable = "postgres://checkpointer:s3cret@127.0.0.1:1/cluster"
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [
            ["bucket", "add", "--cluster", "mysql://x", "1"],
            "checkpointer: cluster: expected a PostgreSQL URL postgres://user:password@host:port/database"
          ],
          [
            ["bucket", "add", "--cluster", server.url, "one"],
            "checkpointer: bucket: expected a bucket id (a whole number from 0 to 2^64 - 1), got \"one\""
          ],
          [
            ["bucket", "add", "--cluster", server.url, "18446744073709551616"],
            "checkpointer: bucket: expected a bucket id (a whole number from 0 to 2^64 - 1), got \"18446744073709551616\""
          ],
          [
            ["bucket", "remove", "--cluster", server.url, "7"],
            `checkpointer: bucket: 7 is not among the cluster's buckets in ${server.url}`
          ],
          [
            ["bucket", "list", "--cluster", unreachable],
            "checkpointer: the cluster's buckets in PostgreSQL: unavailable: postgres://checkpointer:***@127.0.0.1:1/cluster"
          ],
          [
            ["bucket", "pause", "--cluster", "mysql://checkpointer:s3cret@x/db", "1"],
            "checkpointer: cluster: expected a PostgreSQL URL postgres://user:password@host:port/database"
          ],
          [
            ["bucket", "pause", "--cluster", server.url, "-1"],
            "checkpointer: bucket: expected a bucket id (a whole number from 0 to 2^64 - 1), got \"-1\""
          ],
          [
            ["bucket", "pause", "--cluster", server.url, "--reason", "two\nlines", "1"],
            "checkpointer: reason: expected one line of 1 to 200 characters"
          ],
          [
            ["bucket", "pause", "--cluster", server.url, "--reason", " ", "1"],
            "checkpointer: reason: expected one line of 1 to 200 characters"
          ],
          [
            ["bucket", "resume", "--cluster", server.url, "7"],
            `checkpointer: bucket: 7 is not paused in the cluster on ${server.url}`
          ],
          [
            ["bucket", "pause", "--cluster", unreachable, "1"],
            "checkpointer: the cluster's buckets in PostgreSQL: unavailable: postgres://checkpointer:***@127.0.0.1:1/cluster"
          ]
        ]
        const results = yield* Effect.forEach(cases, ([args]) => run(args, {}, 30), { concurrency: "unbounded" })
        for (const [i, [args, line]] of cases.entries()) {
          const result = results[i]!
          expect(result.exit, args.join(" ")).toBe(2)
          expect(lines(result.stderr), args.join(" ")).toHaveLength(1)
          expect(result.stderr).toContain(line)
          expect(result.stderr).not.toContain("s3cret")
        }
      }),
    120_000
  )

  it.scopedLive(
    "a bucket added to the database is checkpointed by the running runners, listed, and after its removal sent no more rounds; the config's buckets go on",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const world = yield* clusterWorld(2, { seed: 130, spare: 1 })
        const added = world.spare[0]!
        yield* world.write(4)
        const [a, b] = yield* Effect.all([
          startRunner(world, server.url, ["--listen", "127.0.0.1:0"]),
          startRunner(world, server.url)
        ], { concurrency: "unbounded" })
        const runners = [a.runner, b.runner]
        yield* eventually(() => world.everyBucketAt(4), "the config's buckets' first checkpoint", 40)
        expect(world.checkpointsOf(added)).toEqual([])

        // Added while the runners run: checkpointed with no restart.
        const add = yield* run(["bucket", "add", "--cluster", server.url, String(added), "--json"])
        expect(add.exit).toBe(0)
        expect(jsonLines(add.stdout)).toMatchObject([{ type: "BucketAdded", bucket: String(added), added: true }])
        const [, again, list] = yield* Effect.all([
          eventually(() => world.checkpointsOf(added).at(-1) === 4, "the added bucket's checkpoint", 30),
          run(["bucket", "add", "--cluster", server.url, String(added)]),
          run(["bucket", "list", "--cluster", server.url, "--json"])
        ], { concurrency: "unbounded" })
        expect(said(runners, `bucket ${added} added to the cluster`)).toBe(true)
        expect([again.exit, again.stdout.trim()]).toEqual([
          0,
          `bucket ${added} is in the cluster on ${server.url} already`
        ])
        expect(list.exit).toBe(0)
        expect(jsonLines(list.stdout)).toMatchObject([{ type: "Buckets", buckets: [{ bucket: String(added) }] }])
        // A runner's /cluster.json lists the added bucket with the config's, each with its holder.
        const listen = jsonLines(a.runner.output.stdout).find((l) => l.type === "Running")!.listen as string
        const held = yield* Effect.promise(() =>
          fetch(`${listen}/cluster.json`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.json())
        ) as Effect.Effect<{ readonly buckets: ReadonlyArray<{ readonly bucketId: string; readonly runner: string }> }>
        expect(held.buckets.map((s) => s.bucketId).sort()).toEqual([...world.buckets, added].map(String).sort())

        // Removed: the scheduler drops it; new data is checkpointed for the config's buckets only. A bucket
        // of the config is not the database's to remove.
        const remove = yield* run(["bucket", "remove", "--cluster", server.url, String(added)])
        expect(remove.exit).toBe(0)
        const dropped = Effect.gen(function*() {
          yield* eventually(() => said(runners, `bucket ${added} removed from the cluster`), "its removal seen", 20)
          // A round from a Due sent just before the removal has ended by then.
          const removedAt = world.chain.finalizedNumber()
          yield* eventually(() => world.chain.finalizedNumber() >= removedAt + 4, "4 finalized blocks", 20)
        })
        const [, notConfig, empty] = yield* Effect.all([
          dropped,
          run(["bucket", "remove", "--cluster", server.url, "0"]),
          run(["bucket", "list", "--cluster", server.url])
        ], { concurrency: "unbounded" })
        expect(notConfig.exit).toBe(2)
        expect(empty.stdout).toContain("no buckets in the cluster's database")
        yield* world.write(2)
        yield* eventually(() => world.everyBucketAt(6), "the config's buckets' checkpoint after the removal", 30)
        const checkedAt = world.chain.finalizedNumber()
        yield* eventually(() => world.chain.finalizedNumber() >= checkedAt + 6, "3 more due points", 20)
        expect(world.checkpointsOf(added)).toEqual([4])
        world.expectEachCommitmentPaidOnce()
        yield* stopRunners(runners)
      }),
    120_000
  )
})

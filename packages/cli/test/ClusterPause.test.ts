/**
 * `checkpointer bucket pause|resume --cluster postgres://…`: a bucket's pause is the cluster's, kept in
 * its database, so it holds wherever the bucket's shard goes. Two runners as child processes (each with
 * its operator endpoints, for `/cluster.json`), three buckets, a real throwaway PostgreSQL, the devchain
 * and simulated providers in this process; every wait bounded.
 */
import * as Postgres from "@checkpointer/testing/Postgres"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { type ClusterWorld, clusterWorld, startRunner } from "./clusterWorld.js"
import { eventually, jsonLines, type Run, run } from "./process.js"

/** What a test reads of a runner's `/cluster.json`. */
const ClusterJson = Schema.Struct({
  buckets: Schema.Array(Schema.Struct({
    bucketId: Schema.String,
    runner: Schema.String,
    paused: Schema.Boolean,
    inFlight: Schema.Boolean
  }))
})

/** A bucket's state as a runner's `/cluster.json` has it (none while its entity does not answer). */
const statusAt = (runner: Run, bucket: number) =>
  Effect.gen(function*() {
    const listen = jsonLines(runner.output.stdout).find((l) => l.type === "Running")?.listen
    const body = yield* Effect.tryPromise(() =>
      fetch(`${String(listen)}/cluster.json`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.json())
    )
    const snapshot = yield* Schema.decodeUnknown(ClusterJson)(body)
    return snapshot.buckets.find((b) => b.bucketId === String(bucket))
  }).pipe(Effect.orElseSucceed(() => undefined))

/** Waits (polling every 250 ms, at most `seconds`) until a runner's `/cluster.json` shows the bucket so. */
const untilStatus = (
  runner: Run,
  bucket: number,
  what: string,
  check: (status: Effect.Effect.Success<ReturnType<typeof statusAt>>) => boolean,
  seconds: number
) =>
  Effect.filterOrFail(statusAt(runner, bucket), check, () => `timed out waiting for ${what}`).pipe(
    Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo(`${seconds} seconds`)))
  )

/** Waits for `blocks` more finalized blocks: due points going by (the config's interval is 2 blocks). */
const blocksGoBy = (world: ClusterWorld, blocks: number) =>
  Effect.suspend(() => {
    const from = world.chain.finalizedNumber()
    return eventually(() => world.chain.finalizedNumber() >= from + blocks, `${blocks} finalized blocks`, 20)
  })

describe("checkpointer bucket pause|resume --cluster postgres://…", () => {
  it.scopedLive(
    "a paused bucket gets no checkpoint while the others do, still none once the runner holding it is SIGKILLed and the survivor holds it; resumed, it is checkpointed; each commitment paid once",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const world = yield* clusterWorld(3, { seed: 170 })
        const paused = 1
        const others = world.buckets.filter((b) => b !== paused)
        const othersAt = (leafCount: number) => others.every((b) => world.checkpointsOf(b).at(-1) === leafCount)
        yield* world.write(2)
        const [a, b] = yield* Effect.all([
          startRunner(world, server.url, ["--listen", "127.0.0.1:0"]),
          startRunner(world, server.url, ["--listen", "127.0.0.1:0"])
        ], { concurrency: "unbounded" })
        yield* eventually(() => world.everyBucketAt(2), "every bucket's first checkpoint", 40)

        const pause = yield* run([
          "bucket",
          "pause",
          "--cluster",
          server.url,
          String(paused),
          "--reason",
          "provider migration",
          "--json"
        ])
        expect(pause.exit, pause.stderr).toBe(0)
        expect(jsonLines(pause.stdout)).toMatchObject([
          { type: "BucketPaused", bucket: String(paused), paused: true, reason: "provider migration" }
        ])
        // Within one read of the scheduler, the bucket's entity says paused, its last round over.
        const holding = yield* untilStatus(
          a.runner,
          paused,
          "the bucket's entity to be paused",
          (s) => s?.paused === true && !s.inFlight,
          20
        )
        yield* world.write(2)
        const [, list, listText] = yield* Effect.all([
          Effect.zipRight(
            eventually(() => othersAt(4), "the other buckets' checkpoint of the new data", 30),
            blocksGoBy(world, 6)
          ),
          run(["bucket", "list", "--cluster", server.url, "--json"]),
          run(["bucket", "list", "--cluster", server.url])
        ], { concurrency: "unbounded" })
        expect(world.checkpointsOf(paused)).toEqual([2])
        // A bucket of the config, not the database's: listed because it is paused.
        expect(jsonLines(list.stdout)).toMatchObject([{
          type: "Buckets",
          buckets: [{ bucket: String(paused), addedAt: null, paused: true, reason: "provider migration" }]
        }])
        expect(listText.stdout.trim()).toMatch(
          /^1 {2}not among the database's buckets {2}paused since \d{4}-\d\d-\d\dT[\d:.]+Z: provider migration$/
        )

        // The runner holding it dies: its shards move, the pause with them.
        const [dead, survivor] = holding!.runner === `127.0.0.1:${a.port}` ? [a, b] : [b, a]
        dead.runner.child.kill("SIGKILL")
        yield* world.write(2)
        yield* untilStatus(
          survivor.runner,
          paused,
          "the survivor to hold the bucket, paused",
          (s) => s?.runner === `127.0.0.1:${survivor.port}` && s.paused,
          60
        )
        yield* eventually(() => othersAt(6), "the other buckets' checkpoint on the survivor", 60)
        yield* blocksGoBy(world, 6)
        expect(world.checkpointsOf(paused)).toEqual([2])

        const resume = yield* run(["bucket", "resume", "--cluster", server.url, String(paused)])
        expect(resume.exit, resume.stderr).toBe(0)
        yield* eventually(() => world.checkpointsOf(paused).at(-1) === 6, "the resumed bucket's checkpoint", 30)
        expect(world.checkpointsOf(paused)).toEqual([2, 6])
        world.expectEachCommitmentPaidOnce()
      }),
    120_000
  )
})

/**
 * `run --cluster … --listen`: a runner serves the operator's endpoints (`/metrics`, `/healthz`, `/readyz`,
 * the status page's `/status.json`) for the cluster's buckets wherever they live, and `/cluster.json`, which
 * runner holds which bucket. Two runners as child processes, four buckets, a real throwaway PostgreSQL, the
 * devchain and simulated providers in this process; every request on loopback, bounded.
 */
import { Exposition } from "@checkpointer/testing"
import * as Postgres from "@checkpointer/testing/Postgres"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import { clusterWorld, startRunner, stopRunners } from "./clusterWorld.js"
import { eventually, jsonLines, type Run } from "./process.js"

/** A GET to a runner's listener: at most 10 seconds. */
const get = (url: string) =>
  Effect.promise(() =>
    fetch(url, { signal: AbortSignal.timeout(10_000) }).then(async (response) => ({
      status: response.status,
      body: await response.text()
    }))
  )

interface ClusterJson {
  readonly runner: string
  readonly runners: ReadonlyArray<{ readonly runner: string; readonly buckets: ReadonlyArray<string> }>
  readonly buckets: ReadonlyArray<{ readonly bucketId: string; readonly runner: string; readonly lastResult: string }>
  readonly unanswered: ReadonlyArray<string>
}

const clusterJson = (url: string) =>
  Effect.map(get(`${url}/cluster.json`), (r) => {
    expect(r.status).toBe(200)
    return JSON.parse(r.body) as ClusterJson
  })

/** The runner's operator URL, from its `Running` line. */
const listenOf = (r: Run) => jsonLines(r.output.stdout).find((l) => l.type === "Running")!.listen as string

/** Which runner holds which bucket, as `{ bucket: runner }`. */
const holders = (found: ClusterJson) =>
  Object.fromEntries(found.runners.flatMap((r) => r.buckets.map((bucket) => [bucket, r.runner])))

describe("run --cluster --listen", () => {
  it.scopedLive(
    "each runner serves /metrics, /healthz, /readyz and /status.json for every bucket, and /cluster.json names the runner holding each bucket (the same from both); a runner stopped, the other holds them all",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const world = yield* clusterWorld(4, { seed: 110 })
        yield* world.write(4)
        const [a, b] = yield* Effect.all([
          startRunner(world, server.url, ["--listen", "127.0.0.1:0"]),
          startRunner(world, server.url, ["--listen", "127.0.0.1:0"])
        ], { concurrency: "unbounded" })
        const [urlA, urlB] = [listenOf(a.runner), listenOf(b.runner)]
        expect(urlA).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(urlA).not.toMatch(/:0$/)
        yield* eventually(() => world.everyBucketAt(4), "every bucket's first checkpoint", 40)
        yield* world.write(3)
        yield* eventually(() => world.everyBucketAt(7), "every bucket's second checkpoint (both runners up)", 40)

        // Both runners tell the same holders, every bucket held by one of the two.
        const runnerNames = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]
        const seen = yield* Effect.all([clusterJson(urlA), clusterJson(urlB)]).pipe(
          Effect.filterOrFail(([fromA, fromB]) =>
            fromA.unanswered.length === 0 && fromB.unanswered.length === 0 &&
            JSON.stringify(holders(fromA)) === JSON.stringify(holders(fromB))
          ),
          Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo("20 seconds"))),
          Effect.orElseFail(() => "the runners' /cluster.json to agree")
        )
        const [fromA] = seen
        expect(fromA.runner).toBe(runnerNames[0])
        expect(Object.keys(holders(fromA)).sort()).toEqual(world.buckets.map(String))
        for (const holder of Object.values(holders(fromA))) expect(runnerNames).toContain(holder)
        expect(fromA.buckets.map((s) => s.bucketId).sort()).toEqual(world.buckets.map(String))

        // The single process's endpoints, over the cluster's buckets.
        const status = JSON.parse((yield* get(`${urlB}/status.json`)).body) as {
          buckets: ReadonlyArray<{ bucket: string }>
        }
        expect(status.buckets.map((s) => s.bucket)).toEqual(world.buckets.map(String))
        expect(yield* get(`${urlA}/readyz`)).toEqual({ status: 200, body: "{\"ready\":true,\"reasons\":[]}" })
        expect((yield* get(`${urlA}/healthz`)).status).toBe(200)
        const scraped = yield* get(`${urlA}/metrics`)
        expect(scraped.status).toBe(200)
        const families = Either.getOrThrow(Exposition.parse(scraped.body))
        expect(Exposition.samples(families, "checkpointer_chain_connected")[0]?.value).toBe(1)
        // The paused-buckets gauge counts the cluster's buckets, sampled from their entities.
        expect(Exposition.samples(families, "checkpointer_buckets_paused")[0]?.value).toBe(0)

        // B stopped: A holds every bucket.
        yield* stopRunners([b.runner])
        yield* clusterJson(urlA).pipe(
          Effect.filterOrFail((found) =>
            found.unanswered.length === 0 &&
            JSON.stringify(found.runners) ===
              JSON.stringify([{ runner: runnerNames[0], buckets: world.buckets.map(String) }])
          ),
          Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo("30 seconds"))),
          Effect.orElseFail(() => "runner A to hold every bucket")
        )
        yield* stopRunners([a.runner])
      }),
    120_000
  )
})

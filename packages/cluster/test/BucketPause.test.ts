/**
 * A bucket's pause as the cluster's state, in a real, throwaway PostgreSQL (`checkpointer_paused`,
 * through `BucketRegistry`): it outlives the entity that was told `Pause`. Each "runner" here is an
 * `@effect/cluster` `TestRunner` with a pool of its own on the same database; one stopped and another
 * started is what a bucket's shard moving to another runner (or its runner restarting) does to its entity.
 */
import { BucketEntity, BucketRegistry } from "@checkpointer/cluster"
import { CheckpointManager, type Domain } from "@checkpointer/core"
import * as Postgres from "@checkpointer/testing/Postgres"
import type { Sharding } from "@effect/cluster/Sharding"
import * as TestRunner from "@effect/cluster/TestRunner"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

const bucket = 7n as Domain.BucketId

/** No round is run here: the pause alone is under test. */
const noRounds = Layer.succeed(
  CheckpointManager.CheckpointManager,
  CheckpointManager.CheckpointManager.of({
    collectCommitments: () => Effect.die("not used"),
    collectWithConflicts: () => Effect.die("not used"),
    submitCheckpoint: () => Effect.die("not used"),
    attemptCheckpoint: () => Effect.die("not used"),
    checkpointStatus: () => Effect.die("not used")
  })
)

/** A runner's view of the database: the registry on a pool of its own. */
const registryOn = (url: string) =>
  BucketRegistry.layer.pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })))

/** One runner with the bucket entity, its pauses in the database at `url`; `use` runs on it, then it stops. */
const onRunner = <A, E>(url: string, use: Effect.Effect<A, E, BucketRegistry.BucketRegistry | Sharding>) =>
  Effect.scoped(Effect.provide(
    use,
    BucketEntity.layer().pipe(
      Layer.provideMerge(TestRunner.layer),
      Layer.provideMerge(registryOn(url)),
      Layer.provide(noRounds)
    )
  ))

const entity = Effect.map(BucketEntity.Bucket.client, (client) => client(BucketEntity.entityId(bucket)))

describe("a bucket's pause in the cluster's database", () => {
  it.scopedLive(
    "an entity paused on one runner comes back paused on the next (its Status says so before any scheduler tells it); resumed, it comes back running",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()

        const first = yield* onRunner(
          server.url,
          Effect.flatMap(entity, (e) => e.Pause({ reason: "provider migration" }))
        )
        expect(first.paused).toBe(true)

        // The next runner: a new entity, a new pool, the same database.
        const [second, recorded] = yield* onRunner(
          server.url,
          Effect.all([
            Effect.flatMap(entity, (e) => e.Status()),
            Effect.flatMap(BucketRegistry.BucketRegistry, (r) => r.pausedOne(bucket))
          ])
        )
        expect(second.paused).toBe(true)
        expect(Option.map(recorded, (p) => p.reason)).toEqual(Option.some("provider migration"))

        yield* onRunner(server.url, Effect.flatMap(entity, (e) => e.Resume({})))
        const third = yield* onRunner(server.url, Effect.flatMap(entity, (e) => e.Status()))
        expect(third.paused).toBe(false)
      }),
    120_000
  )

  it.scopedLive(
    "the registry's pauses: a second pause keeps the first one's reason and time, a resume of a running bucket says so, rows decode",
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        const [one, two] = [1n as Domain.BucketId, 18446744073709551615n as Domain.BucketId]
        const registry = Context.get(yield* Layer.build(registryOn(server.url)), BucketRegistry.BucketRegistry)
        expect(yield* registry.paused).toEqual([])
        expect(yield* registry.pause(two, "too big to fail")).toBe(true)
        expect(yield* registry.pause(one)).toBe(true)
        const [before] = yield* registry.paused
        expect(yield* registry.pause(one, "again")).toBe(false)
        const paused = yield* registry.paused
        expect(paused.map((p) => [p.bucketId, p.reason])).toEqual([[one, null], [two, "too big to fail"]])
        expect(paused[0]!.pausedAtMillis).toBe(before!.pausedAtMillis)
        expect(Math.abs(paused[0]!.pausedAtMillis - Date.now())).toBeLessThan(60_000)
        expect(yield* registry.resume(one)).toBe(true)
        expect(yield* registry.resume(one)).toBe(false)
        expect((yield* registry.paused).map((p) => p.bucketId)).toEqual([two])

        // A row that is no bucket id is reported, not trusted.
        yield* Effect.provide(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO checkpointer_paused (bucket_id) VALUES (-1)`),
          PgClient.layer({ url: Redacted.make(server.url) })
        )
        const corrupt = yield* Effect.flip(registry.paused)
        expect(corrupt.reason).toBe("Corrupt")
      }),
    120_000
  )
})

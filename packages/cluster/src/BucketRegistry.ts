/**
 * The cluster's buckets kept in its PostgreSQL database (`checkpointer_buckets`), added and removed at
 * run time (`checkpointer bucket add|remove|list --cluster postgres://…`) besides those of the runners'
 * config; and the buckets paused (`checkpointer_paused`: `bucket pause|resume`, or a bucket entity's own
 * `Pause` and `Resume` messages), any bucket of the cluster, its config's too.
 *
 * The scheduler singleton reads both every few seconds (`BucketScheduler`'s `registry`): a bucket added
 * is due from its next pass, one removed is sent nothing more; a paused one is sent no `Due` and is told
 * `Pause` at every read, one resumed is told `Resume` once. A pause is cluster state, not an entity's
 * memory: it survives the bucket's shard moving to another runner, and the runner's restart (the entity
 * also reads it as it starts). The tables are created by `@effect/sql`'s migrator
 * (`checkpointer_bucket_migrations`). Rows are decoded with Schema.
 *
 * @since 0.1.0
 */
import { Domain } from "@checkpointer/core"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/** How long a connection to PostgreSQL may take, from the pool or the network. */
const connectTimeout = Duration.seconds(10)

/**
 * The database could not be read or written, or holds a row that does not decode.
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryError extends Schema.TaggedError<RegistryError>()("RegistryError", {
  reason: Schema.Literal("Unavailable", "Corrupt"),
  detail: Schema.String
}) {
  override get message(): string {
    return `the cluster's buckets in PostgreSQL: ${
      this.reason === "Unavailable" ? "unavailable" : "a row does not decode"
    }: ${this.detail}`
  }
}

/**
 * A bucket of the registry.
 *
 * @since 0.1.0
 * @category models
 */
export class RegisteredBucket extends Schema.Class<RegisteredBucket>("@checkpointer/cluster/RegisteredBucket")({
  bucketId: Domain.BucketId,
  /** When it was added (milliseconds since the epoch). */
  addedAtMillis: Schema.Number
}) {}

/**
 * A paused bucket of the cluster.
 *
 * @since 0.1.0
 * @category models
 */
export class PausedBucket extends Schema.Class<PausedBucket>("@checkpointer/cluster/PausedBucket")({
  bucketId: Domain.BucketId,
  /** Why, as the operator said it (none given: null). */
  reason: Schema.NullOr(Schema.String),
  /** Since when (milliseconds since the epoch). */
  pausedAtMillis: Schema.Number
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface BucketRegistryService {
  /** The buckets, by id. */
  readonly list: Effect.Effect<ReadonlyArray<RegisteredBucket>, RegistryError>
  /** Adds a bucket: whether it was new (false: it was there already). */
  readonly add: (bucketId: Domain.BucketId) => Effect.Effect<boolean, RegistryError>
  /** Removes a bucket: whether it was there. */
  readonly remove: (bucketId: Domain.BucketId) => Effect.Effect<boolean, RegistryError>
  /** The paused buckets, by id (any bucket of the cluster, the registry's or a config's). */
  readonly paused: Effect.Effect<ReadonlyArray<PausedBucket>, RegistryError>
  /** Whether a bucket is paused, and since when. */
  readonly pausedOne: (bucketId: Domain.BucketId) => Effect.Effect<Option.Option<PausedBucket>, RegistryError>
  /**
   * Pauses a bucket: whether it was running (false: it was paused already, its reason and time kept).
   */
  readonly pause: (bucketId: Domain.BucketId, reason?: string | undefined) => Effect.Effect<boolean, RegistryError>
  /** Resumes a bucket: whether it was paused. */
  readonly resume: (bucketId: Domain.BucketId) => Effect.Effect<boolean, RegistryError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class BucketRegistry extends Context.Tag("@checkpointer/cluster/BucketRegistry")<
  BucketRegistry,
  BucketRegistryService
>() {}

const migrations = {
  "1_buckets": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS checkpointer_buckets (
      bucket_id numeric(20, 0) PRIMARY KEY,
      added_at timestamptz NOT NULL DEFAULT now()
    )`
  }),
  "2_paused": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Not a column of `checkpointer_buckets`: the buckets of the runners' config are paused too.
    yield* sql`CREATE TABLE IF NOT EXISTS checkpointer_paused (
      bucket_id numeric(20, 0) PRIMARY KEY,
      reason text,
      paused_at timestamptz NOT NULL DEFAULT now()
    )`
  })
}

const Row = Schema.Struct({
  bucket_id: Domain.BucketId,
  added_at_millis: Schema.Union(Schema.NumberFromString, Schema.Number)
})

const PausedRow = Schema.Struct({
  bucket_id: Domain.BucketId,
  reason: Schema.NullOr(Schema.String),
  paused_at_millis: Schema.Union(Schema.NumberFromString, Schema.Number)
})

const decodePaused = (rows: ReadonlyArray<unknown>) =>
  Schema.decodeUnknown(Schema.Array(PausedRow))(rows).pipe(
    Effect.mapError((error) => new RegistryError({ reason: "Corrupt", detail: error.message })),
    Effect.map((decoded) =>
      decoded.map((row) =>
        new PausedBucket({ bucketId: row.bucket_id, reason: row.reason, pausedAtMillis: row.paused_at_millis })
      )
    )
  )

const unavailable = (error: SqlError) =>
  new RegistryError({
    reason: "Unavailable",
    detail: error.message + (error.cause instanceof Error ? `: ${error.cause.message}` : "")
  })

/**
 * The registry on the `SqlClient` in context (its table migrated first).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<BucketRegistryService, RegistryError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Runners starting together may both create the table: the loser's transaction rolls back, and its next
  // attempt finds the migration done.
  yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: "checkpointer_bucket_migrations" }).pipe(
    Effect.retry({ times: 5, schedule: Schedule.exponential("50 millis") }),
    Effect.mapError((error) =>
      error._tag === "SqlError"
        ? unavailable(error)
        : new RegistryError({ reason: "Unavailable", detail: `migration: ${error.message}` })
    )
  )
  const list = sql`
    SELECT bucket_id::text AS bucket_id, (extract(epoch FROM added_at) * 1000)::bigint::text AS added_at_millis
    FROM checkpointer_buckets ORDER BY bucket_id`.pipe(
    Effect.mapError(unavailable),
    Effect.flatMap((rows) =>
      Schema.decodeUnknown(Schema.Array(Row))(rows).pipe(
        Effect.mapError((error) => new RegistryError({ reason: "Corrupt", detail: error.message }))
      )
    ),
    Effect.map((rows) =>
      rows.map((row) => new RegisteredBucket({ bucketId: row.bucket_id, addedAtMillis: row.added_at_millis }))
    )
  )
  const pausedColumns = sql`bucket_id::text AS bucket_id, reason,
    (extract(epoch FROM paused_at) * 1000)::bigint::text AS paused_at_millis`
  return BucketRegistry.of({
    list,
    paused: sql`SELECT ${pausedColumns} FROM checkpointer_paused ORDER BY bucket_id`.pipe(
      Effect.mapError(unavailable),
      Effect.flatMap(decodePaused)
    ),
    pausedOne: (bucketId) =>
      sql`SELECT ${pausedColumns} FROM checkpointer_paused WHERE bucket_id = ${bucketId.toString()}`.pipe(
        Effect.mapError(unavailable),
        Effect.flatMap(decodePaused),
        Effect.map((rows) => Option.fromNullable(rows[0]))
      ),
    pause: (bucketId, reason) =>
      sql`INSERT INTO checkpointer_paused (bucket_id, reason) VALUES (${bucketId.toString()}, ${reason ?? null})
        ON CONFLICT (bucket_id) DO NOTHING RETURNING bucket_id::text AS bucket_id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(unavailable)
      ),
    resume: (bucketId) =>
      sql`DELETE FROM checkpointer_paused WHERE bucket_id = ${bucketId.toString()} RETURNING bucket_id::text AS bucket_id`
        .pipe(Effect.map((rows) => rows.length > 0), Effect.mapError(unavailable)),
    add: (bucketId) =>
      sql`INSERT INTO checkpointer_buckets (bucket_id) VALUES (${bucketId.toString()}) ON CONFLICT (bucket_id) DO NOTHING
        RETURNING bucket_id::text AS bucket_id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(unavailable)
      ),
    remove: (bucketId) =>
      sql`DELETE FROM checkpointer_buckets WHERE bucket_id = ${bucketId.toString()} RETURNING bucket_id::text AS bucket_id`
        .pipe(Effect.map((rows) => rows.length > 0), Effect.mapError(unavailable))
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<BucketRegistry, RegistryError, SqlClient.SqlClient> = Layer.effect(
  BucketRegistry,
  make
)

/**
 * The registry in the PostgreSQL database at `url`, with a small pool of its own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (url: Redacted.Redacted<string>): Layer.Layer<BucketRegistry, RegistryError> =>
  layer.pipe(
    Layer.provide(
      PgClient.layer({ url, maxConnections: 2, applicationName: "checkpointer-buckets", connectTimeout }).pipe(
        Layer.mapError(unavailable)
      )
    )
  )

/**
 * A registry in memory, for tests and one-process clusters (`TestRunner`): nothing survives the process,
 * but the entities of one process share it as the runners of a cluster share the database.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<BucketRegistryService> = Effect.gen(function*() {
  const buckets = yield* Ref.make(new Map<Domain.BucketId, RegisteredBucket>())
  const paused = yield* Ref.make(new Map<Domain.BucketId, PausedBucket>())
  const sorted = <A extends { readonly bucketId: Domain.BucketId }>(entries: Iterable<A>) =>
    [...entries].sort((a, b) => (a.bucketId < b.bucketId ? -1 : a.bucketId > b.bucketId ? 1 : 0))
  return BucketRegistry.of({
    list: Effect.map(Ref.get(buckets), (all) => sorted(all.values())),
    add: (bucketId) =>
      Effect.flatMap(
        Effect.clockWith((clock) => clock.currentTimeMillis),
        (now) =>
          Ref.modify(buckets, (all) =>
            all.has(bucketId)
              ? [false, all]
              : [true, new Map(all).set(bucketId, new RegisteredBucket({ bucketId, addedAtMillis: now }))])
      ),
    remove: (bucketId) =>
      Ref.modify(buckets, (all) => {
        const next = new Map(all)
        return [next.delete(bucketId), next]
      }),
    paused: Effect.map(Ref.get(paused), (all) => sorted(all.values())),
    pausedOne: (bucketId) => Effect.map(Ref.get(paused), (all) => Option.fromNullable(all.get(bucketId))),
    pause: (bucketId, reason) =>
      Effect.flatMap(
        Effect.clockWith((clock) => clock.currentTimeMillis),
        (now) =>
          Ref.modify(paused, (all) =>
            all.has(bucketId) ? [false, all] : [
              true,
              new Map(all).set(bucketId, new PausedBucket({ bucketId, reason: reason ?? null, pausedAtMillis: now }))
            ])
      ),
    resume: (bucketId) =>
      Ref.modify(paused, (all) => {
        const next = new Map(all)
        return [next.delete(bucketId), next]
      })
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BucketRegistry> = Layer.effect(BucketRegistry, makeMemory)

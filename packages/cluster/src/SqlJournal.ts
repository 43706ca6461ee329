/**
 * The receipt journal in PostgreSQL, for checkpointers on several machines: the same contract as the
 * file journal (`ReceiptJournal`, run against the shared specification suite), over any `@effect/sql`
 * `SqlClient` (`@effect/sql-pg` for PostgreSQL).
 *
 * - A bucket's journal is one row (`checkpointer_journal`, the `BucketJournal` as JSON, decoded with its
 *   Schema on every read); `update` reads it `FOR UPDATE` and writes it back in one transaction, so no
 *   process overwrites what another was told is recorded.
 * - The bucket's lock (`withLock`) is a lease in `checkpointer_leases`: taken only once the previous one
 *   has expired or been released, renewed while held, and numbered — each lease of a bucket gets a
 *   higher fencing token. Every `update` made under the lock checks, in its transaction, that the lease
 *   is still this holder's, with its token, and unexpired (and holds the lease row against a takeover
 *   until it commits). So the write before a broadcast (`RoundJournal.recordPrepared`) fails if another
 *   runner has taken the bucket over, even if this one does not know it yet (a stalled process, a hung
 *   lease refresh: Effect-TS/effect#6508): nothing is broadcast, and the new holder, which took the lease
 *   after the last write committed, finds every attempt written before and settles it from the chain
 *   before signing anything (only the same signed bytes are ever sent again).
 * - The tables are created by `@effect/sql`'s migrator (`checkpointer_migrations`).
 *
 * @since 0.1.0
 */
import { type Domain, KeyedLock, ReceiptJournal } from "@checkpointer/core"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { hostname } from "node:os"
import { migrations } from "./internal/migrations.js"

/** How long a connection to PostgreSQL may take, from the pool or the network. */
const connectTimeout = Duration.seconds(10)

/**
 * `url` with bounds on the journal's sessions, sent as startup parameters (node-postgres reads them from
 * the URL's query): a statement waits at most `lockTimeout` (default 10 s) for a row lock (a bucket's
 * journal row, its lease), and a session idle inside a transaction for 60 s is ended by the server, its
 * locks with it. Connections cut mid-transaction (a failover, `pg_terminate_backend`) must never leave a
 * bucket's row locked by a transaction nobody will finish, nor a round waiting on it forever: a wait past
 * the bound is a typed journal failure, and the round is tried again. Values the URL already sets are
 * kept, and `options` (or `PGOPTIONS`) is left alone. A URL that cannot be read as one (a bare
 * `host=/path`-style string) is returned as it is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withSessionLimits = (url: string, lockTimeout: Duration.DurationInput = Duration.seconds(10)): string => {
  // As pg-connection-string does: a socket URL without a host (`postgres://user@/db?host=/run/pg`).
  const placeholder = "checkpointer-socket-host"
  const noHost = /^[a-z]+:\/\/[^/?#]*@\//i.test(url)
  const readable = noHost ? url.replace("@/", `@${placeholder}/`) : url
  try {
    const parsed = new URL(readable)
    const limits = [
      ["lock_timeout", String(Duration.toMillis(Duration.decode(lockTimeout)))],
      ["idle_in_transaction_session_timeout", "60000"]
    ] as const
    for (const [name, value] of limits) if (!parsed.searchParams.has(name)) parsed.searchParams.set(name, value)
    const written = parsed.toString()
    return noHost ? written.replace(`@${placeholder}/`, "@/") : written
  } catch {
    return url
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly retention?: ReceiptJournal.Retention | undefined
  /** How long to wait for another holder's lease before failing with `Locked` (default 15 min). */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /** How long a lease lasts unless renewed (default 30 s; renewed every third of it while held). */
  readonly leaseDuration?: Duration.DurationInput | undefined
  /** This journal's name in the leases (default: host name, process id and a random suffix). */
  readonly holder?: string | undefined
  /**
   * Whether held leases are renewed (default true). False only to test what happens to a holder whose
   * renewals stall: its lease expires under it.
   */
  readonly renewLeases?: boolean | undefined
  /**
   * The connected chain's genesis hash: recorded at first use; a database recorded for another chain
   * fails to open with `OtherChain`. Without it, the journal is opened whatever chain it was recorded for.
   */
  readonly genesisHash?: string | undefined
}

/**
 * `Options` with the database's URL (`postgres://user:password@host:port/database`).
 *
 * @since 0.1.0
 * @category models
 */
export interface PgOptions extends Options {
  readonly url: Redacted.Redacted<string>
  /** Connections in the pool (default 8). */
  readonly maxConnections?: number | undefined
  /** How long a statement waits for a row lock before it fails (default 10 s; see `withSessionLimits`). */
  readonly lockTimeout?: Duration.DurationInput | undefined
}

const journalError = (
  reason: "Corrupt" | "Io" | "Locked" | "OtherChain",
  bucketId: Domain.BucketId | "chain",
  detail: string
) =>
  new ReceiptJournal.JournalError({
    reason,
    path: bucketId === "chain" ? "postgres:checkpointer_chain" : `postgres:checkpointer_journal/${bucketId}`,
    detail,
    quarantinedTo: Option.none()
  })

const ioError = (bucketId: Domain.BucketId) => (error: SqlError) =>
  journalError("Io", bucketId, error.message + (error.cause instanceof Error ? `: ${error.cause.message}` : ""))

const JournalRow = Schema.Struct({ body: Schema.Unknown })
const LeaseRow = Schema.Struct({
  holder: Schema.String,
  token: Schema.Union(Schema.NumberFromString, Schema.Number),
  live: Schema.Boolean
})
const TokenRow = Schema.Struct({ token: Schema.Union(Schema.NumberFromString, Schema.Number) })

/** The leases the current fiber holds, by bucket, with their fencing tokens. */
const heldLeases = FiberRef.unsafeMake<ReadonlyMap<string, number>>(new Map())

/**
 * Runs the migrations, then gives the journal.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  ReceiptJournal.ReceiptJournal,
  ReceiptJournal.JournalError | Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> => Layer.scoped(ReceiptJournal.ReceiptJournal, make(options))

/**
 * The journal in the PostgreSQL database at `url`, with its own connection pool (`@effect/sql-pg`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (
  options: PgOptions
): Layer.Layer<ReceiptJournal.ReceiptJournal, ReceiptJournal.JournalError | Migrator.MigrationError | SqlError> => {
  const given = Redacted.value(options.url)
  const bounded = withSessionLimits(given, options.lockTimeout)
  return layer(options).pipe(
    Layer.tap(() =>
      bounded === given
        ? Effect.logWarning(
          "the journal's database URL could not be given its session bounds (lock_timeout, idle_in_transaction_session_timeout): set them on the database role"
        )
        : Effect.void
    ),
    Layer.provide(PgClient.layer({
      url: Redacted.make(bounded),
      maxConnections: options.maxConnections ?? 8,
      applicationName: "checkpointer",
      // A database that stops answering fails a connection (and the journal step waiting for it)
      // instead of holding it forever.
      connectTimeout
    }))
  )
}

/**
 * A database URL with its password masked, for printing: `postgres://user:***@host:5432/db`.
 *
 * @since 0.1.0
 * @category printing
 */
export const describeUrl = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "(an unparseable database URL)"
  }
}

const ChainRow = Schema.Struct({ genesis_hash: Schema.String })

/** Records the chain at first use; refuses a database recorded for another one. */
const checkChain = (sql: SqlClient.SqlClient, genesisHash: string) =>
  Effect.gen(function*() {
    yield* sql`INSERT INTO checkpointer_chain (id, genesis_hash) VALUES (1, ${genesisHash}) ON CONFLICT (id) DO NOTHING`
    const rows = yield* sql`SELECT genesis_hash FROM checkpointer_chain WHERE id = 1`
    const recorded = (yield* Schema.decodeUnknown(ChainRow)(rows[0]).pipe(Effect.orDie)).genesis_hash
    if (recorded.toLowerCase() !== genesisHash) {
      return yield* journalError(
        "OtherChain",
        "chain",
        `this database's journal belongs to the chain with genesis ${recorded}, but the connected chain's ` +
          `genesis is ${genesisHash}; use a database of the connected chain`
      )
    }
  })

/**
 * The journal on the `SqlClient` in context (its tables migrated first).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Runners starting together may both try to create the tables: the loser's transaction fails and
    // rolls back, and its next attempt finds the migrations done.
    yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: "checkpointer_migrations" }).pipe(
      Effect.retry({ times: 5, schedule: Schedule.exponential("50 millis") })
    )
    if (options.genesisHash !== undefined) yield* checkChain(sql, options.genesisHash.toLowerCase())
    const retention = options.retention ?? ReceiptJournal.defaultRetention
    const lockTimeout = Duration.decode(options.lockTimeout ?? Duration.minutes(15))
    const lease = Duration.toMillis(Duration.decode(options.leaseDuration ?? Duration.seconds(30)))
    const holder = options.holder ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`
    const renew = options.renewLeases ?? true
    // One holder of a bucket's lease per journal instance at a time (fibers of this process queue here).
    const localLock = KeyedLock.make<string>()

    const decodeBody = (bucketId: Domain.BucketId, body: unknown) =>
      Schema.decodeUnknown(ReceiptJournal.BucketJournal)(typeof body === "string" ? JSON.parse(body) : body).pipe(
        Effect.mapError((e) => journalError("Corrupt", bucketId, `the stored journal does not decode: ${e.message}`)),
        Effect.filterOrFail(
          (journal) => journal.bucketId === bucketId,
          (journal) => journalError("Corrupt", bucketId, `the row holds bucket ${journal.bucketId}'s journal`)
        )
      )

    const read = (bucketId: Domain.BucketId) =>
      Effect.gen(function*() {
        const rows = yield* sql`SELECT body FROM checkpointer_journal WHERE bucket_id = ${bucketId.toString()}`
        if (rows.length === 0) return Option.none<ReceiptJournal.BucketJournal>()
        const row = yield* Schema.decodeUnknown(JournalRow)(rows[0]).pipe(Effect.orDie)
        return Option.some(yield* decodeBody(bucketId, row.body))
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(ioError(bucketId)(e))))

    /** Inside a held lease: fails unless it is still ours, and keeps it from being taken until commit. */
    const fence = (bucketId: Domain.BucketId, token: number) =>
      Effect.gen(function*() {
        const rows = yield* sql`
          SELECT holder, token::text AS token, expires_at > now() AS live
          FROM checkpointer_leases WHERE bucket_id = ${bucketId.toString()} FOR SHARE`
        const found = rows.length === 0 ? undefined : yield* Schema.decodeUnknown(LeaseRow)(rows[0]).pipe(Effect.orDie)
        if (found === undefined || found.holder !== holder || found.token !== token || !found.live) {
          return yield* journalError(
            "Locked",
            bucketId,
            `this process's lease of the bucket (token ${token}) was lost${
              found === undefined ? "" : found.token !== token ? ` to token ${found.token}` : " (expired)"
            }: nothing is written, and the new holder settles what was written before`
          )
        }
      })

    const update = (
      bucketId: Domain.BucketId,
      change: (journal: ReceiptJournal.BucketJournal) => ReceiptJournal.BucketJournal
    ) =>
      Effect.gen(function*() {
        const token = (yield* FiberRef.get(heldLeases)).get(bucketId.toString())
        const id = bucketId.toString()
        return yield* sql.withTransaction(Effect.gen(function*() {
          if (token !== undefined) yield* fence(bucketId, token)
          const placeholder = JSON.stringify(
            Schema.encodeSync(ReceiptJournal.BucketJournal)(ReceiptJournal.empty(bucketId))
          )
          yield* sql`INSERT INTO checkpointer_journal (bucket_id, body) VALUES (${id}, ${placeholder}::jsonb)
            ON CONFLICT (bucket_id) DO NOTHING`
          const rows = yield* sql`SELECT body FROM checkpointer_journal WHERE bucket_id = ${id} FOR UPDATE`
          const row = yield* Schema.decodeUnknown(JournalRow)(rows[0]).pipe(Effect.orDie)
          const current = yield* decodeBody(bucketId, row.body)
          const next = ReceiptJournal.compact(change(current), retention)
          const body = JSON.stringify(Schema.encodeSync(ReceiptJournal.BucketJournal)(next))
          yield* sql`UPDATE checkpointer_journal SET body = ${body}::jsonb, updated_at = now() WHERE bucket_id = ${id}`
          return next
        }))
      }).pipe(
        // @effect/sql makes a failed COMMIT or ROLLBACK (the connection cut under it) a defect: here it is
        // the journal failure it is, which the round reports and the loop retries, not a round that dies.
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError ? Option.some(Effect.fail(defect)) : Option.none()
        ),
        Effect.catchTag("SqlError", (e) => Effect.fail(ioError(bucketId)(e)))
      )

    /**
     * Takes the bucket's lease if it is free, expired, or left behind by this journal: its fencing token,
     * or none. A lease of this holder that is still live was not released (the database was unreachable
     * when its holder left): only one fiber of this journal asks at a time (`localLock`), so its holder
     * has left, and waiting for it to expire would hold the bucket up for a whole lease after every
     * outage. Taking it bumps the token, so a write of the old holding could not pass the fence anyway.
     */
    const tryAcquire = (bucketId: Domain.BucketId) =>
      Effect.gen(function*() {
        const rows = yield* sql`
          INSERT INTO checkpointer_leases (bucket_id, holder, token, expires_at)
          VALUES (${bucketId.toString()}, ${holder}, 1, now() + ${lease} * interval '1 millisecond')
          ON CONFLICT (bucket_id) DO UPDATE
            SET holder = EXCLUDED.holder, token = checkpointer_leases.token + 1, expires_at = EXCLUDED.expires_at
            WHERE checkpointer_leases.expires_at <= now() OR checkpointer_leases.holder = EXCLUDED.holder
          RETURNING token::text AS token`
        return rows.length === 0
          ? Option.none<number>()
          : Option.some((yield* Schema.decodeUnknown(TokenRow)(rows[0]).pipe(Effect.orDie)).token)
      })

    const acquire = (bucketId: Domain.BucketId) =>
      tryAcquire(bucketId).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail("held" as const),
          onSome: Effect.succeed
        })),
        Effect.retry({
          schedule: Schedule.spaced("200 millis").pipe(Schedule.upTo(lockTimeout)),
          while: (e) => e === "held"
        }),
        Effect.catchIf(
          (e): e is "held" => e === "held",
          () =>
            journalError(
              "Locked",
              bucketId,
              `another checkpointer held the bucket's lease for longer than ${Duration.format(lockTimeout)}`
            )
        ),
        Effect.catchTag("SqlError", (e) => Effect.fail(ioError(bucketId)(e)))
      )

    const renewal = (bucketId: Domain.BucketId, token: number) =>
      sql`UPDATE checkpointer_leases SET expires_at = now() + ${lease} * interval '1 millisecond'
        WHERE bucket_id = ${bucketId.toString()} AND holder = ${holder} AND token = ${token}
          AND expires_at > now()`.pipe(
        Effect.catchAll((e) => Effect.logWarning(`journal lease of bucket ${bucketId} not renewed: ${e.message}`)),
        Effect.repeat(Schedule.spaced(Duration.millis(Math.max(50, Math.floor(lease / 3))))),
        Effect.delay(Duration.millis(Math.max(50, Math.floor(lease / 3))))
      )

    const release = (bucketId: Domain.BucketId, token: number) =>
      sql`UPDATE checkpointer_leases SET expires_at = now()
        WHERE bucket_id = ${bucketId.toString()} AND holder = ${holder} AND token = ${token}`.pipe(
        Effect.catchAll((e) => Effect.logWarning(`journal lease of bucket ${bucketId} not released: ${e.message}`))
      )

    const withLock = <A, E, R>(bucketId: Domain.BucketId, effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(FiberRef.get(heldLeases), (held) =>
        held.has(bucketId.toString())
          ? effect
          : localLock.withLock(
            bucketId.toString(),
            Effect.scoped(Effect.gen(function*() {
              // The wait for the lease is interruptible (a bucket's shard moving away must not wait out
              // another holder's lease); once granted, its release is registered before anything else.
              // Interrupted as it is granted, the lease is left to expire, or to this journal's next ask.
              const token = yield* Effect.uninterruptibleMask((restore) =>
                Effect.tap(restore(acquire(bucketId)), (t) => Effect.addFinalizer(() => release(bucketId, t)))
              )
              if (renew) yield* Effect.forkScoped(renewal(bucketId, token))
              return yield* Effect.locally(effect, heldLeases, new Map([...held, [bucketId.toString(), token]]))
            }))
          ))

    return ReceiptJournal.ReceiptJournal.of({ read, update, withLock })
  })

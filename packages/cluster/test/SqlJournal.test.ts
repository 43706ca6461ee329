/**
 * The PostgreSQL journal on a real, throwaway PostgreSQL server (the machine's own binaries, on a free
 * loopback port): the journal's specification suite, as the memory and file journals run it; then what
 * several runners sharing one database need — no lost updates, a lease that serialises them, and a
 * holder whose renewals stall (Effect-TS/effect#6508) that can no longer write once another runner has
 * taken the bucket over.
 */
import { SqlJournal } from "@checkpointer/cluster"
import { ReceiptJournal } from "@checkpointer/core"
import * as JournalSpec from "@checkpointer/testing/JournalSpec"
import * as Postgres from "@checkpointer/testing/Postgres"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"

const { bucket, prepared, round } = JournalSpec

// One server for the file; a fresh database for each journal the tests make.
let server: Postgres.Server | undefined
const serverScope = Effect.runSync(Scope.make())
beforeAll(async () => {
  server = await Effect.runPromise(Postgres.start().pipe(Scope.extend(serverScope)))
}, 120_000)
afterAll(() => Effect.runPromise(Scope.close(serverScope, Exit.void)), 60_000)

let databases = 0
const urlOf = (database: string) => server!.url.replace(/\/postgres$/, `/${database}`)
const client = (database: string) =>
  PgClient.layer({ url: Redacted.make(urlOf(database)), maxConnections: 4, idleTimeout: "5 seconds" })

/** A fresh, empty database; its name. */
const freshDatabase = Effect.gen(function*() {
  const name = `journal_${++databases}`
  yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)).pipe(
    Effect.provide(client("postgres")),
    Effect.orDie
  )
  return name
})

/** A journal on a database (a runner: its own pool and holder name). */
const journalOn = (database: string, options: SqlJournal.Options = {}) =>
  SqlJournal.layer(options).pipe(Layer.provide(client(database)), Layer.orDie)

JournalSpec.suite("PostgreSQL", () => Layer.unwrapEffect(Effect.map(freshDatabase, (db) => journalOn(db))))

describe("SqlJournal: several runners on one database", () => {
  it.live(
    "two runners' concurrent updates are all kept, and a restarted runner reads them",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const updates = (name: string, from: number) =>
          Effect.gen(function*() {
            const journal = yield* ReceiptJournal.ReceiptJournal
            yield* Effect.forEach(
              Array.from({ length: 15 }, (_, i) => from + i),
              (i) => journal.update(bucket, (j) => ReceiptJournal.addRound(j, round(i))),
              { concurrency: 4, discard: true }
            )
          }).pipe(Effect.provide(journalOn(db, { holder: name })))
        yield* Effect.all([updates("a", 0), updates("b", 100)], { concurrency: 2 })
        const stored = yield* Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)).pipe(
          Effect.provide(journalOn(db, { holder: "restarted" }))
        )
        const times = Option.getOrThrow(stored).rounds.map((r) => r.atMillis).sort((x, y) => x - y)
        expect(times).toEqual([
          ...Array.from({ length: 15 }, (_, i) => i),
          ...Array.from({ length: 15 }, (_, i) => 100 + i)
        ])
      }),
    60_000
  )

  it.live(
    "the lease serialises two runners on a bucket; a lease held past lockTimeout fails with Locked",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        // Two runners' journals, connected and migrated before anything is timed.
        const runner = (options: SqlJournal.Options) =>
          Layer.build(journalOn(db, options)).pipe(Effect.map(Context.get(ReceiptJournal.ReceiptJournal)))
        const [a, b] = [yield* runner({ holder: "a" }), yield* runner({ holder: "b" })]
        const order: Array<string> = []
        const aInside = yield* Deferred.make<void>()
        // a holds the lease for 300 ms (a live test: b's asks are not observable from here); b asks for it
        // only once a holds it, so b entering before a left would be a broken lease.
        const first = a.withLock(
          bucket,
          Effect.gen(function*() {
            order.push("a:in")
            yield* Deferred.succeed(aInside, undefined)
            yield* Effect.sleep("300 millis")
            order.push("a:out")
          })
        )
        const second = Effect.zipRight(
          Deferred.await(aInside),
          b.withLock(bucket, Effect.sync(() => order.push("b:in")))
        )
        yield* Effect.all([first, second], { concurrency: 2 })
        expect(order).toEqual(["a:in", "a:out", "b:in"])

        // A lease held (until the impatient runner has given up) past lockTimeout fails with Locked.
        const holding = yield* Deferred.make<void>()
        const gaveUp = yield* Deferred.make<void>()
        const held = yield* a.withLock(
          bucket,
          Effect.zipRight(Deferred.succeed(holding, undefined), Deferred.await(gaveUp))
        )
          .pipe(Effect.fork)
        yield* Deferred.await(holding)
        const impatient = yield* runner({ holder: "impatient", lockTimeout: "500 millis" })
        const waited = yield* Effect.either(impatient.withLock(bucket, Effect.void))
        yield* Deferred.succeed(gaveUp, undefined)
        assert.isTrue(Either.isLeft(waited) && waited.left.reason === "Locked")
        yield* Fiber.join(held)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a runner whose lease renewals stall loses the bucket: the next runner takes it with a higher token and sees every write made before; the stalled runner's next write is refused (Locked), so it broadcasts nothing",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const first = prepared(10)
        const second = prepared(11)
        const stalledIn = yield* Deferred.make<void>()
        const nextHolds = yield* Deferred.make<void>()
        const stalledTried = yield* Deferred.make<void>()
        const stalled = Effect.flatMap(ReceiptJournal.ReceiptJournal, (journal) =>
          journal.withLock(
            bucket,
            Effect.gen(function*() {
              yield* journal.update(bucket, (j) => ReceiptJournal.addAttempt(j, first, 1))
              yield* Deferred.succeed(stalledIn, undefined)
              // The process stalls past its lease (its renewals are off: a hung refresh) until the next
              // runner holds the bucket; then it tries to write.
              yield* Deferred.await(nextHolds)
              return yield* journal.update(bucket, (j) => ReceiptJournal.addAttempt(j, second, 2)).pipe(
                Effect.either,
                Effect.ensuring(Deferred.succeed(stalledTried, undefined))
              )
            })
          )).pipe(Effect.provide(journalOn(db, { holder: "stalled", leaseDuration: "1 second", renewLeases: false })))
        const stalledFiber = yield* Effect.fork(stalled)
        yield* Deferred.await(stalledIn)
        // The next runner's lock waits for the stalled runner's lease to expire (1 s), then takes it.
        const seenByNext = yield* Effect.flatMap(ReceiptJournal.ReceiptJournal, (journal) =>
          journal.withLock(
            bucket,
            Effect.gen(function*() {
              const before = Option.getOrThrow(yield* journal.read(bucket))
              // Still holding it while the stalled runner tries to write.
              yield* Deferred.succeed(nextHolds, undefined)
              yield* Deferred.await(stalledTried)
              return before
            })
          )).pipe(Effect.provide(journalOn(db, { holder: "next" })))
        expect(Option.getOrThrow(seenByNext.unresolved).prepared.extrinsicHash).toBe(first.extrinsicHash)
        const refused = yield* Effect.fromFiber(stalledFiber)
        assert.isTrue(Either.isLeft(refused))
        if (Either.isLeft(refused)) {
          expect(refused.left.reason).toBe("Locked")
          expect(refused.left.detail).toMatch(/lease of the bucket \(token 1\) was lost to token 2/)
        }
        const final = yield* Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)).pipe(
          Effect.provide(journalOn(db))
        )
        expect(Option.getOrThrow(final).attempts.map((a) => a.prepared.extrinsicHash)).toEqual([first.extrinsicHash])
      }),
    60_000
  )

  it.live(
    "a lease its holder could not release (the database unreachable as it left) is taken again by the same journal at once, with a higher token; another runner still waits for it to expire",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const runner = (options: SqlJournal.Options) =>
          Layer.build(journalOn(db, options)).pipe(Effect.map(Context.get(ReceiptJournal.ReceiptJournal)))
        const [a, b] = [yield* runner({ holder: "a" }), yield* runner({ holder: "b", lockTimeout: "500 millis" })]
        const tokens = Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`SELECT holder, token::int AS token FROM checkpointer_leases`
        ).pipe(Effect.provide(client(db)), Effect.orDie)
        // As if the release had not reached the database: the lease left live for a minute.
        const leftBehind = Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`UPDATE checkpointer_leases SET expires_at = now() + interval '1 minute'`
        ).pipe(Effect.provide(client(db)), Effect.orDie)
        yield* a.withLock(bucket, Effect.void)
        yield* leftBehind
        const waited = yield* Effect.either(b.withLock(bucket, Effect.void))
        assert.isTrue(Either.isLeft(waited) && waited.left.reason === "Locked")
        // The same journal enters well before the minute, and writes under its new token.
        yield* a.withLock(bucket, a.update(bucket, (j) => ReceiptJournal.addRound(j, round(1)))).pipe(
          Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "a waited for its own lease" })
        )
        expect(yield* tokens).toEqual([{ holder: "a", token: 2 }])
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "waiting for another runner's lease is interruptible (a bucket whose shard moves away does not wait it out)",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const runner = (options: SqlJournal.Options) =>
          Layer.build(journalOn(db, options)).pipe(Effect.map(Context.get(ReceiptJournal.ReceiptJournal)))
        const [a, b] = [yield* runner({ holder: "a" }), yield* runner({ holder: "b" })]
        const holding = yield* Deferred.make<void>()
        const held = yield* a.withLock(bucket, Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never))
          .pipe(Effect.fork)
        yield* Deferred.await(holding)
        const waiting = yield* Effect.fork(b.withLock(bucket, Effect.void))
        yield* Fiber.interrupt(waiting).pipe(
          Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the wait for the lease was not interrupted" })
        )
        yield* Fiber.interrupt(held)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a row that does not decode is a typed Corrupt error, and is not overwritten by an update",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const journal = journalOn(db)
        yield* Effect.flatMap(
          ReceiptJournal.ReceiptJournal,
          (j) => j.update(bucket, (x) => ReceiptJournal.addRound(x, round(1)))
        )
          .pipe(Effect.provide(journal))
        yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`UPDATE checkpointer_journal SET body = '{"bucketId": "5", "rounds": "garbage"}'::jsonb`
        ).pipe(
          Effect.provide(client(db)),
          Effect.orDie
        )
        const [read, update] = yield* Effect.gen(function*() {
          const j = yield* ReceiptJournal.ReceiptJournal
          return [
            yield* Effect.flip(j.read(bucket)),
            yield* Effect.flip(j.update(bucket, (x) => ReceiptJournal.addRound(x, round(2))))
          ] as const
        }).pipe(Effect.provide(journal))
        expect([read.reason, update.reason]).toEqual(["Corrupt", "Corrupt"])
        const body = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`SELECT body::text AS body FROM checkpointer_journal`
        )
          .pipe(Effect.provide(client(db)), Effect.orDie)
        expect(String(body[0]!.body)).toContain("garbage")
      }),
    60_000
  )

  it.live(
    "a session that holds a bucket's row and never finishes makes a write fail at the lock timeout, not hang; the write goes through once it is gone",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const journal = yield* Layer.build(
          SqlJournal.layerPg({ url: Redacted.make(urlOf(db)), lockTimeout: "1 second", maxConnections: 2 })
        )
        const write = (n: number) =>
          Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) =>
            j.update(bucket, (x) => ReceiptJournal.addRound(x, round(n))))
            .pipe(Effect.provide(journal))
        yield* write(1)
        // Another session locks the bucket's row and stays inside its transaction (a connection cut from
        // its client while the server still holds it looks the same to the journal).
        const locked = yield* Deferred.make<void>()
        const done = yield* Deferred.make<void>()
        const holder = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.withTransaction(
            sql`SELECT 1 FROM checkpointer_journal WHERE bucket_id = ${bucket.toString()} FOR UPDATE`.pipe(
              Effect.zipRight(Deferred.succeed(locked, undefined)),
              Effect.zipRight(Deferred.await(done))
            )
          )).pipe(Effect.provide(client(db)), Effect.fork)
        yield* Deferred.await(locked)
        const failed = yield* Effect.flip(write(2))
        expect(failed._tag === "JournalError" && failed.reason).toBe("Io")
        expect(failed.message).toContain("lock timeout")
        yield* Deferred.succeed(done, undefined)
        yield* Fiber.join(holder).pipe(Effect.orDie)
        const written = yield* write(2)
        expect(written.rounds.length).toBe(2)
        // Startup parameters in the query; what the URL sets already, and `options`, are kept.
        expect(SqlJournal.withSessionLimits("postgres://u:p@db:5432/j?options=-c%20search_path%3Dx", "2 seconds")).toBe(
          "postgres://u:p@db:5432/j?options=-c+search_path%3Dx&lock_timeout=2000&idle_in_transaction_session_timeout=60000"
        )
        expect(SqlJournal.withSessionLimits("postgres://u@db/j?lock_timeout=500")).toBe(
          "postgres://u@db/j?lock_timeout=500&idle_in_transaction_session_timeout=60000"
        )
        // A socket URL without a host, as node-postgres reads it.
        expect(SqlJournal.withSessionLimits("postgres://u@/j?host=/run/postgresql")).toBe(
          "postgres://u@/j?host=%2Frun%2Fpostgresql&lock_timeout=10000&idle_in_transaction_session_timeout=60000"
        )
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a database records its chain at first use; opened for another chain it is refused with OtherChain",
    () =>
      Effect.gen(function*() {
        const db = yield* freshDatabase
        const chainA = `0x${"aa".repeat(32)}`
        const chainB = `0x${"bb".repeat(32)}`
        const write = Effect.flatMap(
          ReceiptJournal.ReceiptJournal,
          (j) => j.update(bucket, (x) => ReceiptJournal.addRound(x, round(1)))
        )
        yield* write.pipe(Effect.provide(journalOn(db, { genesisHash: chainA })))
        yield* write.pipe(Effect.provide(journalOn(db, { genesisHash: chainA.toUpperCase().replace("0X", "0x") })))
        const refused = yield* Effect.flip(
          Layer.build(SqlJournal.layer({ genesisHash: chainB }).pipe(Layer.provide(client(db)))).pipe(Effect.scoped)
        )
        expect(refused._tag === "JournalError" && refused.reason).toBe("OtherChain")
        expect(refused.message).toContain(chainA)
        expect(SqlJournal.describeUrl(Redacted.make("postgres://checkpointer:s3cret@db.example:5432/journal"))).toBe(
          "postgres://checkpointer:***@db.example:5432/journal"
        )
      }),
    60_000
  )
})

/**
 * The journal's tables, in the order `@effect/sql`'s migrator applies them.
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

export const migrations = {
  "1_journal": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // A bucket's journal: the `BucketJournal` as its Schema encodes it.
    yield* sql`CREATE TABLE IF NOT EXISTS checkpointer_journal (
      bucket_id numeric(20, 0) PRIMARY KEY,
      body jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
    // A bucket's lease: who holds it, until when, and its fencing token (higher at every new holder).
    yield* sql`CREATE TABLE IF NOT EXISTS checkpointer_leases (
      bucket_id numeric(20, 0) PRIMARY KEY,
      holder text NOT NULL,
      token bigint NOT NULL,
      expires_at timestamptz NOT NULL
    )`
    // The chain the journal belongs to (one row): a journal is never read against another chain's buckets.
    yield* sql`CREATE TABLE IF NOT EXISTS checkpointer_chain (
      id integer PRIMARY KEY CHECK (id = 1),
      genesis_hash text NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`
  })
}

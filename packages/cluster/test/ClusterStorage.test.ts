/**
 * The engine's storage tables on a new PostgreSQL database, set up by runners starting at the same
 * moment (as a deployment starts them): every runner starts. The engine alone creates them from each
 * runner with `CREATE TABLE IF NOT EXISTS`, which races in PostgreSQL's catalogue (a runner of
 * `checkpointer run --cluster` exited 1 silently, about one start in eight).
 */
import { CheckpointCluster } from "@checkpointer/cluster"
import * as Postgres from "@checkpointer/testing/Postgres"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const RUNNERS = 8

/** One runner's storage, with a connection pool of its own (as a process of its own has). */
const runnerStorage = (url: string) =>
  CheckpointCluster.layerStorage.pipe(
    Layer.provide(ShardingConfig.layer(ShardingConfig.defaults)),
    Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 3 }))
  )

describe("CheckpointCluster.layerStorage", () => {
  it.scopedLive(
    `${RUNNERS} runners starting at once on new databases all set up their storage, and the tables are there once`,
    () =>
      Effect.gen(function*() {
        const server = yield* Postgres.start()
        for (const database of ["first", "second", "third"]) {
          yield* Effect.provide(
            Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${database}`)),
            PgClient.layer({ url: Redacted.make(server.url) })
          )
          const url = server.url.replace(/\/postgres$/, `/${database}`)
          const exits = yield* Effect.forEach(
            Array.from({ length: RUNNERS }, () => runnerStorage(url)),
            (layer) => Effect.exit(Layer.build(layer)),
            { concurrency: "unbounded" }
          )
          expect(exits.filter(Exit.isFailure).map(String), database).toEqual([])
          const tables = yield* Effect.provide(
            Effect.flatMap(SqlClient.SqlClient, (sql) =>
              sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables
                WHERE table_name LIKE 'cluster_%' ORDER BY table_name`),
            PgClient.layer({ url: Redacted.make(url) })
          )
          expect(tables.map((t) =>
            t.table_name
          )).toEqual([
            "cluster_messages",
            "cluster_migrations",
            "cluster_replies",
            "cluster_runners"
          ])
        }
      }),
    120_000
  )
})

/**
 * The `bucket add|remove|list --cluster postgres://…` commands: the cluster's buckets kept in its
 * database (`BucketRegistry`), besides those of the runners' config. The runners' scheduler reads them
 * every few seconds: no restart needed.
 *
 * @internal
 */
import { BucketRegistry, SqlJournal } from "@checkpointer/cluster"
import { Domain } from "@checkpointer/core"
import { Args, Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { BadConfig } from "../live.js"
import { json } from "../options.js"
import { emit, makeOutput } from "../output.js"

const cluster = Options.text("cluster").pipe(
  Options.withDescription("the cluster's PostgreSQL database (postgres://user:password@host:port/database)")
)
const bucketArg = Args.text({ name: "bucket" }).pipe(Args.withDescription("the bucket id"))

/** A PostgreSQL URL, or a one-line error. */
const PostgresUrl = Schema.String.pipe(
  Schema.filter((url) => /^postgres(ql)?:\/\/\S+$/i.test(url), {
    message: () => "cluster: expected a PostgreSQL URL postgres://user:password@host:port/database"
  })
)

const decodeUrl = (value: string) =>
  Schema.decodeUnknown(PostgresUrl)(value).pipe(
    Effect.mapError(() =>
      new BadConfig({ message: "cluster: expected a PostgreSQL URL postgres://user:password@host:port/database" })
    ),
    Effect.map(Redacted.make)
  )

const decodeBucket = (value: string): Effect.Effect<Domain.BucketId, BadConfig> =>
  Schema.decodeUnknown(Domain.BucketId)(/^\d+$/.test(value) ? value : Number.NaN).pipe(
    Effect.mapError(() =>
      new BadConfig({ message: `bucket: expected a bucket id (a whole number from 0 to 2^64 - 1), got "${value}"` })
    )
  )

/** The registry on the cluster's database, its errors with the database named (never its password). */
const withRegistry = <A, E, R>(
  url: Redacted.Redacted<string>,
  effect: Effect.Effect<A, E, R | BucketRegistry.BucketRegistry>
) =>
  effect.pipe(
    Effect.provide(BucketRegistry.layerPg(url)),
    Effect.mapError((error) =>
      error instanceof BucketRegistry.RegistryError
        ? new BucketRegistry.RegistryError({
          reason: error.reason,
          detail: `${SqlJournal.describeUrl(url)}: ${error.detail}`
        })
        : error
    )
  )

const addCommand = Command.make("add", { cluster, json, bucket: bucketArg }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const bucketId = yield* decodeBucket(o.bucket)
    const added = yield* withRegistry(url, Effect.flatMap(BucketRegistry.BucketRegistry, (r) => r.add(bucketId)))
    yield* emit(
      out,
      added
        ? `bucket ${bucketId} added to the cluster on ${
          SqlJournal.describeUrl(url)
        }; its runners take it up within seconds`
        : `bucket ${bucketId} is in the cluster on ${SqlJournal.describeUrl(url)} already`,
      { type: "BucketAdded", bucket: bucketId.toString(), added }
    )
  })).pipe(Command.withDescription("add a bucket to the cluster's database: its runners checkpoint it, no restart"))

const removeCommand = Command.make("remove", { cluster, json, bucket: bucketArg }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const bucketId = yield* decodeBucket(o.bucket)
    const removed = yield* withRegistry(url, Effect.flatMap(BucketRegistry.BucketRegistry, (r) => r.remove(bucketId)))
    if (!removed) {
      return yield* new BadConfig({
        message: `bucket: ${bucketId} is not among the cluster's buckets in ${
          SqlJournal.describeUrl(url)
        } (a bucket of the runners' config is removed from their config)`
      })
    }
    yield* emit(
      out,
      `bucket ${bucketId} removed from the cluster on ${
        SqlJournal.describeUrl(url)
      }; its runners send it no more rounds within seconds`,
      { type: "BucketRemoved", bucket: bucketId.toString() }
    )
  })).pipe(Command.withDescription("remove a bucket from the cluster's database: no more rounds for it"))

const listCommand = Command.make("list", { cluster, json }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const buckets = yield* withRegistry(url, Effect.flatMap(BucketRegistry.BucketRegistry, (r) => r.list))
    yield* emit(
      out,
      () =>
        buckets.length === 0
          ? `no buckets in the cluster's database ${SqlJournal.describeUrl(url)} (the runners' config may have some)`
          : buckets.map((b) => `${b.bucketId}  added ${new Date(b.addedAtMillis).toISOString()}`).join("\n"),
      {
        type: "Buckets",
        buckets: buckets.map((b) => ({
          bucket: b.bucketId.toString(),
          addedAt: new Date(b.addedAtMillis).toISOString()
        }))
      }
    )
  })).pipe(Command.withDescription("list the buckets in the cluster's database (those of the runners' config aside)"))

export const bucketCommand = Command.make("bucket").pipe(
  Command.withDescription("the buckets of a cluster, kept in its PostgreSQL database (run --cluster)"),
  Command.withSubcommands([addCommand, removeCommand, listCommand])
)

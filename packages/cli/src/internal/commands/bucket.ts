/**
 * The `bucket add|remove|pause|resume|list --cluster postgres://…` commands: the cluster's buckets kept
 * in its database (`BucketRegistry`), besides those of the runners' config, and the paused ones (of
 * either kind). The runners' scheduler reads them every few seconds: no restart needed.
 *
 * @internal
 */
import type { BucketRegistry } from "@checkpointer/cluster"
import { Domain } from "@checkpointer/core"
import { Args, Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { BadConfig } from "../live.js"
import { json } from "../options.js"
import { emit, makeOutput } from "../output.js"

// The registry and PostgreSQL load when a bucket command runs, not at every start of the command.
const clusterModules = Effect.promise(() =>
  Promise.all([import("@checkpointer/cluster/BucketRegistry"), import("@checkpointer/cluster/SqlJournal")])
)

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

/** A pause's reason: a line of text an operator reads back in `bucket list`. */
const Reason = Schema.Trim.pipe(
  Schema.filter((reason) => reason.length >= 1 && reason.length <= 200 && !/[\p{Cc}]/u.test(reason))
)
const reasonMessage = "reason: expected one line of 1 to 200 characters"

const decodeReason = (value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) =>
      Schema.decodeUnknown(Reason)(text).pipe(Effect.mapError(() => new BadConfig({ message: reasonMessage })))
  })

/** The registry on the cluster's database, its errors with the database named (never its password). */
const withRegistry = <A, E, R>(
  url: Redacted.Redacted<string>,
  effect: Effect.Effect<A, E, R | BucketRegistry.BucketRegistry>
) =>
  Effect.flatMap(clusterModules, ([BucketRegistry, SqlJournal]) =>
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
    ))

const addCommand = Command.make("add", { cluster, json, bucket: bucketArg }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const [BucketRegistry, SqlJournal] = yield* clusterModules
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
    const [BucketRegistry, SqlJournal] = yield* clusterModules
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

const reason = Options.text("reason").pipe(
  Options.optional,
  Options.withDescription("why, for whoever reads `bucket list` (one line, up to 200 characters)")
)

const pauseCommand = Command.make("pause", { cluster, json, reason, bucket: bucketArg }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const [BucketRegistry, SqlJournal] = yield* clusterModules
    const bucketId = yield* decodeBucket(o.bucket)
    const why = yield* decodeReason(o.reason)
    const paused = yield* withRegistry(
      url,
      Effect.flatMap(BucketRegistry.BucketRegistry, (r) => r.pause(bucketId, why))
    )
    yield* emit(
      out,
      paused
        ? `bucket ${bucketId} paused in the cluster on ${
          SqlJournal.describeUrl(url)
        }; its runners send it no more rounds within seconds, wherever it moves, until bucket resume`
        : `bucket ${bucketId} is paused in the cluster on ${SqlJournal.describeUrl(url)} already`,
      { type: "BucketPaused", bucket: bucketId.toString(), paused, reason: why ?? null }
    )
  })).pipe(
    Command.withDescription(
      "pause a bucket of the cluster (the database's or a config's): no rounds for it until resumed, whichever runner holds it"
    )
  )

const resumeCommand = Command.make("resume", { cluster, json, bucket: bucketArg }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const [BucketRegistry, SqlJournal] = yield* clusterModules
    const bucketId = yield* decodeBucket(o.bucket)
    const resumed = yield* withRegistry(url, Effect.flatMap(BucketRegistry.BucketRegistry, (r) => r.resume(bucketId)))
    if (!resumed) {
      return yield* new BadConfig({
        message: `bucket: ${bucketId} is not paused in the cluster on ${SqlJournal.describeUrl(url)}`
      })
    }
    yield* emit(
      out,
      `bucket ${bucketId} resumed in the cluster on ${
        SqlJournal.describeUrl(url)
      }; its runners checkpoint it again from its next due point`,
      { type: "BucketResumed", bucket: bucketId.toString() }
    )
  })).pipe(Command.withDescription("resume a paused bucket of the cluster"))

const listCommand = Command.make("list", { cluster, json }, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const url = yield* decodeUrl(o.cluster)
    const [BucketRegistry, SqlJournal] = yield* clusterModules
    const [registered, paused] = yield* withRegistry(
      url,
      Effect.flatMap(BucketRegistry.BucketRegistry, (r) => Effect.all([r.list, r.paused]))
    )
    // Each bucket once: the database's, then the paused buckets of the runners' config.
    const pausedOf = new Map(paused.map((p) => [p.bucketId, p]))
    const known = new Set(registered.map((b) => b.bucketId))
    const rows = [
      ...registered.map((b) => ({ bucketId: b.bucketId, addedAtMillis: b.addedAtMillis as number | null })),
      ...paused.filter((p) => !known.has(p.bucketId)).map((p) => ({ bucketId: p.bucketId, addedAtMillis: null }))
    ].map((row) => ({ ...row, paused: pausedOf.get(row.bucketId) }))
    const iso = (millis: number) => new Date(millis).toISOString()
    yield* emit(
      out,
      () =>
        rows.length === 0
          ? `no buckets in the cluster's database ${SqlJournal.describeUrl(url)} (the runners' config may have some)`
          : rows.map((row) =>
            `${row.bucketId}  ${
              row.addedAtMillis === null ? "not among the database's buckets" : `added ${iso(row.addedAtMillis)}`
            }${
              row.paused === undefined
                ? ""
                : `  paused since ${iso(row.paused.pausedAtMillis)}${
                  row.paused.reason === null ? "" : `: ${row.paused.reason}`
                }`
            }`
          ).join("\n"),
      {
        type: "Buckets",
        buckets: rows.map((row) => ({
          bucket: row.bucketId.toString(),
          // null: not in the database's buckets (a bucket of the runners' config, paused).
          addedAt: row.addedAtMillis === null ? null : iso(row.addedAtMillis),
          paused: row.paused !== undefined,
          pausedAt: row.paused === undefined ? null : iso(row.paused.pausedAtMillis),
          reason: row.paused?.reason ?? null
        }))
      }
    )
  })).pipe(
    Command.withDescription(
      "list the buckets in the cluster's database (those of the runners' config aside, unless paused) and which are paused"
    )
  )

export const bucketCommand = Command.make("bucket").pipe(
  Command.withDescription("the buckets of a cluster, kept in its PostgreSQL database (run --cluster)"),
  Command.withSubcommands([addCommand, removeCommand, pauseCommand, resumeCommand, listCommand])
)

/**
 * The `run` command: the watcher that checkpoints new data as it appears.
 *
 * @internal
 */
import type { CheckpointCluster } from "@checkpointer/cluster"
import { CheckpointEvents, CheckpointLoop } from "@checkpointer/core"
import { Command, Options } from "@effect/cli"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { preflightSigner, spendFields } from "../checks.js"
import { type ListenAddress, listenOption, parseListen, serveOperator, urlOf } from "../listen.js"
import { BadConfig, chainUnits, journalDirectory, reportConnection, resolveSettings, type Settings } from "../live.js"
import { emit, green, makeOutput, red } from "../output.js"

import {
  bucketId,
  buckets,
  chain,
  client,
  config,
  describeInterval,
  flags,
  intervalBlocks,
  intervalSeconds,
  journal,
  json,
  loopInterval,
  minimumBalanceOf,
  noJournal,
  parseBuckets,
  requireBuckets,
  requireSigner,
  set,
  suri,
  threshold,
  warnNoJournal,
  withLive
} from "../options.js"
import { describeEvent } from "../render.js"
import { logFormat, withTelemetry } from "../telemetry.js"

// The cluster (its entities, PostgreSQL, the RPC between runners) loads only for `run --cluster`.
const clusterModule = Effect.promise(() => import("@checkpointer/cluster"))

const cluster = Options.text("cluster").pipe(
  Options.withDescription(
    "run as one runner of a cluster whose runners share this PostgreSQL database (postgres://…): the buckets are spread over the runners alive, and move when one stops or dies; the receipt journal is kept there too unless --journal postgres://… names another"
  ),
  Options.optional
)
const runnerAddress = Options.text("runner-address").pipe(
  Options.withDescription(
    "with --cluster: HOST:PORT where the other runners reach this one, and where it listens (default 127.0.0.1:34431)"
  ),
  Options.optional
)

/** The cluster of `--cluster`, with the journal it implies; none without the flag. */
const clusterOf = (
  o: {
    readonly cluster: Option.Option<string>
    readonly runnerAddress: Option.Option<string>
    readonly journal: Option.Option<string>
    readonly noJournal: boolean
  },
  settings: Settings
) =>
  Effect.gen(function*() {
    if (Option.isNone(o.cluster)) {
      if (Option.isSome(o.runnerAddress)) {
        return yield* new BadConfig({ message: "runner-address: only with --cluster postgres://…" })
      }
      return Option.none<
        { url: Redacted.Redacted<string>; address: CheckpointCluster.RunnerOptions["runnerAddress"] }
      >()
    }
    if (!/^postgres(ql)?:\/\//i.test(o.cluster.value)) {
      return yield* new BadConfig({
        message: "cluster: expected a PostgreSQL URL postgres://user:password@host:port/database"
      })
    }
    const url = Redacted.make(o.cluster.value)
    const { CheckpointCluster } = yield* clusterModule
    const address = Option.isSome(o.runnerAddress)
      ? yield* Either.mapLeft(
        CheckpointCluster.parseRunnerAddress(o.runnerAddress.value),
        (message) => new BadConfig({ message: `runner-address: ${message}` })
      )
      : CheckpointCluster.defaultRunnerAddress
    // Payments on several machines are kept single by the journal's lease in PostgreSQL: never a file.
    if (o.noJournal || (Option.isSome(o.journal) && settings.journal._tag !== "Postgres")) {
      return yield* new BadConfig({
        message:
          "journal: a cluster keeps the receipt journal in PostgreSQL (the cluster's database, or --journal postgres://…)"
      })
    }
    return Option.some({ url, address })
  })

export const runCommand = Command.make(
  "run",
  {
    chain,
    client,
    config,
    suri,
    journal,
    noJournal,
    buckets,
    intervalBlocks,
    intervalSeconds,
    threshold,
    set,
    json,
    logFormat,
    cluster,
    runnerAddress,
    listen: listenOption(
      "serve /metrics (Prometheus), /healthz and /readyz over HTTP on [HOST:]PORT (off by default; a port alone: 127.0.0.1; 0: any free port); a cluster runner also serves /cluster.json, which runner holds which bucket"
    )
  },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const resolved = yield* resolveSettings(flags({ ...o, buckets: yield* parseBuckets(o.buckets) }))
      const clusterAt = yield* clusterOf(o, resolved)
      // A runner keeps its journal in the cluster's database unless --journal names another one.
      const settings: Settings = Option.isSome(clusterAt) && resolved.journal._tag !== "Postgres"
        ? { ...resolved, journal: { _tag: "Postgres", url: clusterAt.value.url } }
        : resolved
      // A cluster's buckets may all be in its database (`bucket add`).
      if (Option.isNone(clusterAt)) yield* requireBuckets(settings)
      yield* requireSigner(settings, "run")
      const listenAt = yield* Effect.transposeOption(Option.map(o.listen, parseListen))
      yield* warnNoJournal(settings, o.logFormat)
      yield* withLive(
        settings,
        Effect.scoped(Effect.gen(function*() {
          // A signer that cannot submit to a bucket is a configuration problem, found before any round.
          const units = yield* chainUnits
          yield* preflightSigner(settings.buckets.map(bucketId), {
            minimumBalance: minimumBalanceOf(settings),
            format: units.format
          })
          const bus = yield* CheckpointEvents.CheckpointEvents
          const events = yield* bus.subscribe
          yield* events.pipe(
            Stream.runForEach((event) =>
              emit(out, () =>
                `${
                  event._tag === "CheckpointSubmitted"
                    ? green(out, "✓")
                    : event._tag === "CheckpointFailed"
                    ? red(out, "✗")
                    : "·"
                } ${describeEvent(event, units)}`, {
                type: event._tag,
                event,
                // Amounts in the chain's unit beside the event's planck.
                ...(event._tag === "CheckpointSubmitted" && event.receipt.fee !== undefined
                  ? { fee: units.format(event.receipt.fee) }
                  : {}),
                ...((event._tag === "CheckpointFailed" || event._tag === "LoopPaused") && event.spend !== undefined
                  ? { spend: spendFields(event.spend, units.format) }
                  : {})
              })
            ),
            Effect.forkScoped
          )
          // A watcher: with no write hooks, every bucket is due at every interval; a round pays only when
          // its providers agree on a commitment newer than the chain's.
          yield* reportConnection((up, endpoints) =>
            up
              ? emit(out, `${green(out, "·")} chain connection regained`, { type: "ChainReconnected", endpoints })
              : emit(out, `${red(out, "✗")} chain connection lost; reconnecting (${endpoints.join(", ")})`, {
                type: "ChainDisconnected",
                endpoints
              })
          )
          if (Option.isSome(clusterAt)) {
            return yield* runClusterRunner(settings, clusterAt.value, listenAt, out)
          }
          const loop = yield* CheckpointLoop.make(settings.buckets.map(bucketId), {
            ...settings.tuned.loop,
            interval: loopInterval(settings.interval),
            bucketIntervals: new Map(
              settings.bucketIntervals.map(({ bucket, interval }) => [bucketId(bucket), loopInterval(interval)])
            ),
            submitOnEmpty: true
          })
          // Runs before the loop's own finalizers, so the rounds still in flight are known.
          yield* Effect.addFinalizer(() =>
            Effect.flatMap(loop.status, (status) => {
              const interrupted = status.filter((s) => s.inFlight).map((s) => Number(s.bucketId))
              return emit(
                out,
                interrupted.length === 0
                  ? "stopped"
                  : `stopped: the round of bucket(s) ${interrupted.join(", ")} was interrupted; ${
                    settings.journal._tag === "Off"
                      ? "an extrinsic already sent may still land (no journal to settle it)"
                      : "an extrinsic already sent is settled from the journal at the next start"
                  }`,
                { type: "Stopped", interrupted }
              )
            })
          )
          // The operator's endpoints (--listen), closed before the loop stops.
          const listening = yield* Effect.transposeOption(Option.map(listenAt, (at) => serveOperator(at, loop)))
          const journalIn = yield* journalDirectory(settings.journal)
          yield* emit(
            out,
            `checkpointing bucket(s) ${settings.buckets.join(", ")} on ${settings.chain.join(", ")} ${
              describeInterval(settings)
            }; journal ${Option.getOrElse(journalIn, () => "off")}${
              Option.match(listening, { onNone: () => "", onSome: (at) => `; operator endpoints on ${urlOf(at)}` })
            } (Ctrl-C stops)`,
            {
              type: "Running",
              chain: settings.chain,
              buckets: settings.buckets,
              interval: settings.interval,
              journal: Option.getOrNull(journalIn),
              listen: Option.getOrNull(Option.map(listening, urlOf))
            }
          )
          return yield* Effect.never
        }))
      )
    }).pipe(withTelemetry(o.logFormat))
).pipe(Command.withDescription("watch buckets' providers and checkpoint new data as it appears"))

/**
 * `run --cluster`: this process as one runner. The buckets' entities run here for the shards this runner
 * holds; the scheduler singleton runs on one runner of the cluster. Rounds print as they do without
 * `--cluster` (only this runner's).
 */
const runClusterRunner = (
  settings: Settings,
  at: { readonly url: Redacted.Redacted<string>; readonly address: CheckpointCluster.RunnerOptions["runnerAddress"] },
  listenAt: Option.Option<ListenAddress>,
  out: ReturnType<typeof makeOutput>
) =>
  Effect.gen(function*() {
    const { BucketRegistry, CheckpointCluster, ClusterStatus, SqlJournal } = yield* clusterModule
    const runner = CheckpointCluster.layerRunner({ url: at.url, runnerAddress: at.address }).pipe(
      Layer.mapError((e) =>
        new BadConfig({
          message: e._tag === "SqlError"
            ? `cluster ${SqlJournal.describeUrl(at.url)}: ${e.message}${
              e.cause instanceof Error ? `: ${e.cause.message}` : ""
            }`
            : `runner-address ${at.address.host}:${at.address.port}: cannot listen there (${e.message})`
        })
      )
    )
    // The buckets added at run time (`bucket add`) and the paused ones (`bucket pause`), in the cluster's
    // database.
    const registry = yield* Layer.build(BucketRegistry.layerPg(at.url)).pipe(
      Effect.map(Context.get(BucketRegistry.BucketRegistry))
    )
    const registered = Effect.map(registry.list, (found) => found.map((b) => b.bucketId))
    const configured = settings.buckets.map(bucketId)
    /** Every bucket of the cluster: the config's, and the database's as now (only the config's if unread). */
    const allBuckets = registered.pipe(
      Effect.map((found) => [...configured, ...found.filter((b) => !configured.includes(b))]),
      Effect.orElseSucceed(() => configured)
    )
    const cluster = yield* Layer.build(
      CheckpointCluster.layer({
        buckets: configured,
        interval: loopInterval(settings.interval),
        bucketIntervals: new Map(
          settings.bucketIntervals.map(({ bucket, interval }) => [bucketId(bucket), loopInterval(interval)])
        ),
        entity: {
          submitOnEmpty: true,
          maxConsecutiveFailures: settings.tuned.loop.maxConsecutiveFailures,
          failureRetryDelay: settings.tuned.loop.failureRetryDelay,
          failureRetryMaxDelay: settings.tuned.loop.failureRetryMaxDelay
        }
      }).pipe(
        Layer.provide(Layer.succeed(BucketRegistry.BucketRegistry, registry)),
        Layer.provideMerge(runner)
      )
    )
    const runnerText = `${at.address.host}:${at.address.port}`
    // The operator's endpoints (--listen): the buckets' state asked of their entities wherever they live,
    // and /cluster.json saying which runner holds which bucket.
    const listening = yield* Effect.transposeOption(Option.map(listenAt, (address) =>
      Effect.gen(function*() {
        const loop = yield* ClusterStatus.loop(allBuckets)
        const clusterJson = Effect.flatMap(
          Effect.flatMap(allBuckets, (buckets) => ClusterStatus.snapshot(runnerText, buckets)),
          (snapshot) =>
            HttpServerResponse.schemaJson(ClusterStatus.Snapshot)(snapshot, {
              headers: { "cache-control": "no-store" }
            })
        ).pipe(Effect.orDie, Effect.provide(cluster))
        return yield* serveOperator(address, loop, HttpRouter.empty.pipe(HttpRouter.get("/cluster.json", clusterJson)))
      }).pipe(Effect.provide(cluster))))
    yield* Effect.addFinalizer(() => emit(out, `runner ${runnerText} stopped`, { type: "Stopped", runner: runnerText }))
    yield* emit(
      out,
      `runner ${runnerText} of the cluster on ${SqlJournal.describeUrl(at.url)}: ${
        settings.buckets.length === 0 ? "" : `bucket(s) ${settings.buckets.join(", ")} and `
      }the buckets in the database (bucket add) spread over the runners alive, ${describeInterval(settings)}; journal ${
        SqlJournal.describeUrl(at.url)
      }${
        Option.match(listening, { onNone: () => "", onSome: (where) => `; operator endpoints on ${urlOf(where)}` })
      } (Ctrl-C stops)`,
      {
        type: "Running",
        chain: settings.chain,
        buckets: settings.buckets,
        interval: settings.interval,
        journal: settings.journal._tag === "Postgres" ? SqlJournal.describeUrl(settings.journal.url) : null,
        cluster: SqlJournal.describeUrl(at.url),
        runner: runnerText,
        listen: Option.getOrNull(Option.map(listening, urlOf))
      }
    )
    return yield* Effect.never
  })

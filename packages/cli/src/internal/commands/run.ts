/**
 * The `run` command: the watcher that checkpoints new data as it appears.
 *
 * @internal
 */
import { CheckpointEvents, CheckpointLoop } from "@checkpointer/core"
import { Command } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { preflightSigner } from "../checks.js"
import { listenOption, parseListen, serveOperator, urlOf } from "../listen.js"
import { chainUnits, journalDirectory, reportConnection, resolveSettings } from "../live.js"
import { emit, green, makeOutput, red } from "../output.js"

import {
  bucketId,
  buckets,
  chain,
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

export const runCommand = Command.make(
  "run",
  {
    chain,
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
    listen: listenOption(
      "serve /metrics (Prometheus), /healthz and /readyz over HTTP on [HOST:]PORT (off by default; a port alone: 127.0.0.1; 0: any free port)"
    )
  },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: yield* parseBuckets(o.buckets) }))
      yield* requireBuckets(settings)
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
                event
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

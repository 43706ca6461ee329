/**
 * The flags the chain commands share, and what they do with them before anything starts.
 *
 * @internal
 */
import { CheckpointLoop, type Domain } from "@checkpointer/core"
import { Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SignerCannotSubmit } from "./checks.js"
import { BadConfig, checkReachable, type CommonFlags, liveLayer, type Settings } from "./live.js"

export const chain = Options.text("chain").pipe(
  Options.withDescription(
    "WebSocket endpoint of a node (default: $CHECKPOINTER_CHAIN_ENDPOINTS or ws://127.0.0.1:9944)"
  ),
  Options.optional
)
export const config = Options.file("config", { exists: "yes" }).pipe(
  Options.withDescription(
    "a JSON config file: chain, buckets, journal, intervalBlocks or intervalSeconds, allowLocalProviders, and settings { any setting }"
  ),
  Options.optional
)
export const set = Options.text("set").pipe(
  Options.withDescription(
    "any setting of the round, the loop or provider health, as key=value (repeatable; `checkpointer config check` lists them)"
  ),
  Options.repeated
)
export const suri = Options.redacted("suri").pipe(
  Options.withDescription("the signer's secret URI (default: $CHECKPOINTER_SIGNER_SURI); never printed"),
  Options.optional
)
export const journal = Options.directory("journal").pipe(
  Options.withDescription(
    "receipt journal directory, or a PostgreSQL database postgres://… shared by several processes (default: $CHECKPOINTER_JOURNAL_DIR, else $XDG_STATE_HOME/checkpointer, else ~/.local/state/checkpointer)"
  ),
  Options.optional
)
export const noJournal = Options.boolean("no-journal").pipe(
  Options.withDescription("keep no journal: a restart may then pay again for a checkpoint in flight")
)
export const json = Options.boolean("json").pipe(Options.withDescription("one JSON object per line"))
export const threshold = Options.integer("threshold").pipe(
  Options.withDescription("consensus threshold in percent (default 51)"),
  Options.optional
)
// Text, parsed below: @effect/cli 0.77.2 rejects "0" for a repeated integer option, and accepts negatives.
export const buckets = Options.text("bucket").pipe(
  Options.withDescription("a bucket id (repeatable)"),
  Options.repeated
)

export const parseBucket = (value: string) =>
  /^\d+$/.test(value) && Number.isSafeInteger(Number(value))
    ? Effect.succeed(Number(value))
    : Effect.fail(new BadConfig({ message: `bucket: expected a bucket id (a whole number from 0), got "${value}"` }))
export const parseBuckets = (values: ReadonlyArray<string>) => Effect.forEach(values, parseBucket)
export const bucket = Options.text("bucket").pipe(Options.withDescription("the bucket id"))
export const intervalBlocks = Options.integer("interval-blocks").pipe(
  Options.withDescription("ask every bucket's providers every N finalized blocks (default 100)"),
  Options.optional
)
export const intervalSeconds = Options.integer("interval-seconds").pipe(
  Options.withDescription("ask every bucket's providers every N seconds instead of by blocks"),
  Options.optional
)

export const client = Options.choice("client", ["polkadot-js", "papi"]).pipe(
  Options.withDescription(
    "the library that talks to the chain: polkadot-js (@polkadot/api, legacy JSON-RPC) or papi (polkadot-api, the new JSON-RPC spec)"
  ),
  Options.withDefault("polkadot-js" as const)
)

export const flags = (f: Partial<CommonFlags>): CommonFlags => ({
  client: f.client ?? "polkadot-js",
  chain: f.chain ?? Option.none(),
  config: f.config ?? Option.none(),
  suri: f.suri ?? Option.none(),
  journal: f.journal ?? Option.none(),
  noJournal: f.noJournal ?? false,
  buckets: f.buckets ?? [],
  intervalBlocks: f.intervalBlocks ?? Option.none(),
  intervalSeconds: f.intervalSeconds ?? Option.none(),
  threshold: f.threshold ?? Option.none(),
  set: f.set ?? []
})

/** `run` and `status` need at least one bucket, from flags or the config file. */
export const requireBuckets = (settings: Settings) =>
  settings.buckets.length > 0
    ? Effect.void
    : Effect.fail(new BadConfig({ message: "bucket: give at least one --bucket (or buckets in the config file)" }))

export const bucketId = (n: number) => BigInt(n) as Domain.BucketId

export const withLive = <A, E, R>(
  settings: Settings,
  effect: Effect.Effect<A, E, R>,
  options: { readonly journal?: "memory" | "settings" } = {}
) => Effect.zipRight(checkReachable(settings.chain), Effect.provide(effect, liveLayer(settings, options)))

/** The minimum balance the settings keep, if any. */
export const minimumBalanceOf = (settings: Settings): Option.Option<bigint> =>
  Option.flatten(Option.fromNullable(settings.tuned.round.minimumBalance as Option.Option<bigint> | undefined))

/** A command that submits needs a signer: said before connecting to anything. */
export const requireSigner = (settings: Settings, command: string) =>
  Option.isSome(settings.signer) ? Effect.void : Effect.fail(
    new SignerCannotSubmit({
      message: `signer: ${command} submits checkpoints and needs one (--suri or CHECKPOINTER_SIGNER_SURI)`
    })
  )

/** The one line that says a command keeps no journal, on stderr (a warning log line with JSON logs). */
export const warnNoJournal = (settings: Settings, logFormat: "pretty" | "json" = "pretty") =>
  settings.journal._tag === "Off"
    ? logFormat === "json"
      ? Effect.logWarning("no journal: a restart may pay again for a checkpoint that was in flight")
      : Console.error("checkpointer: warning: no journal: a restart may pay again for a checkpoint that was in flight")
    : Effect.void

const intervalText = (interval: Settings["interval"]) =>
  interval._tag === "Blocks" ? `every ${interval.blocks} finalized blocks` : `every ${interval.seconds} s`

/** The process's interval, and the buckets' own (`bucket 8 every 3600 s`). */
export const describeInterval = (settings: Settings) =>
  [
    intervalText(settings.interval),
    ...settings.bucketIntervals.map(({ bucket, interval }) => `bucket ${bucket} ${intervalText(interval)}`)
  ].join("; ")

/** The loop's interval of a setting. */
export const loopInterval = (interval: Settings["interval"]): CheckpointLoop.Interval =>
  interval._tag === "Blocks"
    ? CheckpointLoop.Blocks(interval.blocks)
    : CheckpointLoop.Every(Duration.seconds(interval.seconds))

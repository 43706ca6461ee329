/**
 * The command's settings (flags over an optional config file over the environment, validated with
 * Schema, errors naming the field) and the layers of a live checkpointer on them.
 *
 * @internal
 */
import { Checkpointer, type Domain, EndpointPolicy, LoopStore } from "@checkpointer/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { lookup } from "node:dns/promises"
import { existsSync, readFileSync } from "node:fs"
import { createConnection } from "node:net"
import { homedir } from "node:os"
import { join } from "node:path"
import { ChainFacts, ofPapi, ofPolkadotApi } from "./chainFacts.js"
import * as Tuning from "./tuning.js"

// The chain clients, the PostgreSQL journal, the HTTP client and the keyring are loaded when a command
// first uses them, not when the command line is parsed: `--help`, `config check` and the start of `status`
// never pay for loading @polkadot/api, polkadot-api, pg or undici (most of the command's start-up time).
const polkadotApi = Effect.promise(() => import("@checkpointer/polkadot/PolkadotApi"))
const sqlJournal = Effect.promise(() => import("@checkpointer/cluster/SqlJournal"))

/** A configuration problem: one line, naming the field. Exit code 2. */
export class BadConfig extends Data.TaggedError("BadConfig")<{ readonly message: string }> {}

const WsUrl = Schema.String.pipe(
  Schema.filter((s) => /^wss?:\/\/[^\s]+$/.test(s) || "expected a ws:// or wss:// URL")
)

/** Planck as digits (or a safe integer). */
const Planck = Schema.Union(
  Schema.String.pipe(Schema.pattern(/^\d+$/, { message: () => "expected an amount in planck (digits)" })),
  Schema.NonNegativeInt
)

/** A bucket of the config file with settings of its own (any not given are the process's). */
const BucketEntry = Schema.Struct({
  id: Schema.NonNegativeInt,
  threshold: Schema.optional(Schema.Int.pipe(Schema.between(1, 100))),
  maxFeePerCheckpoint: Schema.optional(Planck),
  bucketBudget: Schema.optional(Planck),
  intervalBlocks: Schema.optional(Schema.Int.pipe(Schema.positive())),
  intervalSeconds: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** The environment variable holding this bucket's signer's secret URI (never the secret itself). */
  signerEnv: Schema.optional(
    Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      message: () => "expected the name of an environment variable"
    }))
  )
})

/** What a config file may hold (every field optional; flags win). */
export const ConfigFile = Schema.Struct({
  chain: Schema.optional(Schema.Union(WsUrl, Schema.Array(WsUrl))),
  /** Bucket ids, or objects with an id and the settings that differ for that bucket. */
  buckets: Schema.optional(Schema.Array(Schema.Union(Schema.NonNegativeInt, BucketEntry))),
  /** A directory, or `false` for no journal (a restart may then pay again). */
  journal: Schema.optional(Schema.Union(Schema.String, Schema.Literal(false))),
  intervalBlocks: Schema.optional(Schema.Int.pipe(Schema.positive())),
  intervalSeconds: Schema.optional(Schema.Int.pipe(Schema.positive())),
  threshold: Schema.optional(Schema.Int.pipe(Schema.between(1, 100))),
  /** Milliseconds (the same as `settings.providerTimeout`). */
  providerTimeout: Schema.optional(Schema.Int.pipe(Schema.positive())),
  allowLocalProviders: Schema.optional(Schema.Boolean),
  /** Any setting of the round, the loop or provider health (see `checkpointer config check`). */
  settings: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type ConfigFile = typeof ConfigFile.Type

/**
 * Where the receipt journal lives: a directory (`perChain`: in a subdirectory named for the chain's
 * genesis hash, so that one directory serves several chains), or none at all.
 */
export type JournalSetting =
  | { readonly _tag: "Directory"; readonly directory: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted<string> }
  | { readonly _tag: "Off" }

/** A journal given as `postgres://…` (or `postgresql://…`) is a PostgreSQL database, shared by several processes. */
const journalAt = (where: string): JournalSetting =>
  /^postgres(ql)?:\/\//i.test(where)
    ? { _tag: "Postgres", url: Redacted.make(where) }
    : { _tag: "Directory", directory: where }

/** Where the journal is, for people: a directory, or a database URL with its password masked. */
export const describeJournal = (journal: JournalSetting): Effect.Effect<string> =>
  journal._tag === "Off"
    ? Effect.succeed("off")
    : journal._tag === "Postgres"
    ? Effect.map(sqlJournal, (SqlJournal) => SqlJournal.describeUrl(journal.url))
    : Effect.succeed(journal.directory)

/** When the loop's buckets are due. */
export type IntervalSetting =
  | { readonly _tag: "Blocks"; readonly blocks: number }
  | { readonly _tag: "Seconds"; readonly seconds: number }

export interface Settings {
  readonly chain: ReadonlyArray<string>
  readonly signer: Option.Option<Redacted.Redacted<string>>
  readonly buckets: ReadonlyArray<number>
  readonly journal: JournalSetting
  readonly interval: IntervalSetting
  /** Buckets signed for by an account of their own (the config file's `signerEnv`). */
  readonly bucketSigners: ReadonlyArray<
    { readonly bucket: number; readonly signer: Redacted.Redacted<string>; readonly source: string }
  >
  /** Buckets due at an interval of their own (the config file's bucket entries). */
  readonly bucketIntervals: ReadonlyArray<{ readonly bucket: number; readonly interval: IntervalSetting }>
  readonly allowLocalProviders: boolean
  /** Every tunable setting, from flags, the config file and the environment, validated. */
  readonly tuned: Tuning.Tuned
  /** Where the signer came from (`--suri`, the environment), for `config check`. */
  readonly signerSource: Option.Option<string>
  /** The chain layer that reads and submits: `@polkadot/api` (default) or polkadot-api. */
  readonly client: ChainClientKind
}

/** `--client`: which library talks to the chain. */
export type ChainClientKind = "polkadot-js" | "papi"

export interface CommonFlags {
  readonly chain: Option.Option<string>
  readonly config: Option.Option<string>
  readonly suri: Option.Option<Redacted.Redacted<string>>
  readonly journal: Option.Option<string>
  readonly noJournal: boolean
  readonly buckets: ReadonlyArray<number>
  readonly intervalBlocks: Option.Option<number>
  readonly intervalSeconds: Option.Option<number>
  readonly threshold: Option.Option<number>
  /** `--set key=value`, in order (a later one wins). */
  readonly set: ReadonlyArray<string>
  /** `--client` (default polkadot-js). */
  readonly client?: ChainClientKind
}

/** One entry per bad field (`threshold: expected a number between 1 and 100, got 500`), alternatives joined. */
const issues = (error: ParseResult.ParseError) => {
  const byPath = new Map<string, Array<string>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    if (/^Expected undefined, actual/.test(issue.message)) continue
    const path = issue.path.join(".") || "config"
    byPath.set(path, [
      ...(byPath.get(path) ?? []),
      issue.message.replace(/^Expected (.*), actual (.*)$/s, "expected $1, got $2")
    ])
  }
  return [...byPath].map(([path, messages]) => `${path}: ${messages.join(" or ")}`).join("; ")
}

const readConfigFile = (path: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => readFileSync(path, "utf8"),
      catch: (e) => new BadConfig({ message: `cannot read config file ${path}: ${(e as Error).message}` })
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new BadConfig({ message: `config file ${path} is not JSON: ${(e as Error).message}` })
    })
    return yield* Schema.decodeUnknown(ConfigFile, { errors: "all", onExcessProperty: "error" })(json).pipe(
      Effect.mapError((e) => new BadConfig({ message: `config file ${path}: ${issues(e)}` }))
    )
  })

/** Whether a chain URL's host is this machine: decided on the parsed host, never on a prefix of the text. */
export const isLoopback = (url: string): boolean => {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase()
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * The journal's directory when none is given: `$CHECKPOINTER_JOURNAL_DIR`, else
 * `$XDG_STATE_HOME/checkpointer`, else `~/.local/state/checkpointer`.
 */
export const defaultJournalDirectory = (env: NodeJS.ProcessEnv = process.env): string =>
  env.CHECKPOINTER_JOURNAL_DIR !== undefined && env.CHECKPOINTER_JOURNAL_DIR !== ""
    ? env.CHECKPOINTER_JOURNAL_DIR
    : env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== ""
    ? join(env.XDG_STATE_HOME, "checkpointer")
    : join(homedir(), ".local", "state", "checkpointer")

/** Flags over the config file over the environment. */
export const resolveSettings = (flags: CommonFlags) =>
  Effect.gen(function*() {
    const file: ConfigFile = Option.isSome(flags.config) ? yield* readConfigFile(flags.config.value) : {}
    const env = process.env
    const chainList = Option.isSome(flags.chain)
      ? [flags.chain.value]
      : file.chain !== undefined
      ? (typeof file.chain === "string" ? [file.chain] : [...file.chain])
      : env.CHECKPOINTER_CHAIN_ENDPOINTS !== undefined
      ? env.CHECKPOINTER_CHAIN_ENDPOINTS.split(",").map((s) => s.trim()).filter((s) => s !== "")
      : ["ws://127.0.0.1:9944"]
    for (const url of chainList) {
      if (Option.isNone(Schema.decodeUnknownOption(WsUrl)(url))) {
        return yield* new BadConfig({ message: `chain: expected a ws:// or wss:// URL, got "${url}"` })
      }
    }
    const suri = Option.orElse(
      flags.suri,
      () => Option.map(Option.fromNullable(env.CHECKPOINTER_SIGNER_SURI), Redacted.make)
    )
    if (Option.isSome(flags.journal) && flags.noJournal) {
      return yield* new BadConfig({ message: "journal: give --journal DIR or --no-journal, not both" })
    }
    if (Option.isSome(flags.intervalBlocks) && Option.isSome(flags.intervalSeconds)) {
      return yield* new BadConfig({ message: "interval: give --interval-blocks or --interval-seconds, not both" })
    }
    for (
      const [name, value] of [["interval-blocks", flags.intervalBlocks], [
        "interval-seconds",
        flags.intervalSeconds
      ]] as const
    ) {
      if (Option.isSome(value) && value.value < 1) {
        return yield* new BadConfig({ message: `${name}: expected a positive integer, got ${value.value}` })
      }
    }
    const journal: JournalSetting = flags.noJournal
      ? { _tag: "Off" }
      : Option.isSome(flags.journal)
      ? journalAt(flags.journal.value)
      : file.journal === false
      ? { _tag: "Off" }
      : journalAt(file.journal ?? defaultJournalDirectory(env))
    const interval: IntervalSetting = Option.isSome(flags.intervalSeconds)
      ? { _tag: "Seconds", seconds: flags.intervalSeconds.value }
      : Option.isSome(flags.intervalBlocks)
      ? { _tag: "Blocks", blocks: flags.intervalBlocks.value }
      : file.intervalSeconds !== undefined && file.intervalBlocks === undefined
      ? { _tag: "Seconds", seconds: file.intervalSeconds }
      : { _tag: "Blocks", blocks: file.intervalBlocks ?? 100 }
    const assignments: Array<readonly [string, unknown, `--${string}`]> = []
    for (const assignment of flags.set) {
      const parsed = Tuning.parseSet(assignment)
      if (Either.isLeft(parsed)) return yield* new BadConfig({ message: parsed.left })
      assignments.push([parsed.right[0], parsed.right[1], "--set"])
    }
    if (Option.isSome(flags.threshold)) assignments.push(["consensusThreshold", flags.threshold.value, "--threshold"])
    // The file's older top-level names are the same settings.
    const fileSettings: Record<string, unknown> = {
      ...(file.threshold === undefined ? {} : { consensusThreshold: file.threshold }),
      ...(file.providerTimeout === undefined ? {} : { providerTimeout: file.providerTimeout }),
      ...file.settings
    }
    const entries = (file.buckets ?? []).map((b) => (typeof b === "number" ? { id: b } : b))
    const perBucket = entries.flatMap((b) =>
      "threshold" in b || "maxFeePerCheckpoint" in b || "bucketBudget" in b
        ? [{
          bucketId: BigInt(b.id) as Domain.BucketId,
          ...(b.threshold === undefined ? {} : { consensusThreshold: b.threshold }),
          ...(b.maxFeePerCheckpoint === undefined
            ? {}
            : { maxFeePerCheckpoint: Option.some(BigInt(b.maxFeePerCheckpoint)) }),
          ...(b.bucketBudget === undefined ? {} : { bucketBudget: Option.some(BigInt(b.bucketBudget)) })
        }]
        : []
    )
    const bucketIntervals: Array<{ bucket: number; interval: IntervalSetting }> = []
    for (const b of entries) {
      if (!("intervalBlocks" in b || "intervalSeconds" in b)) continue
      if (b.intervalBlocks !== undefined && b.intervalSeconds !== undefined) {
        return yield* new BadConfig({
          message: `buckets: bucket ${b.id}: give intervalBlocks or intervalSeconds, not both`
        })
      }
      bucketIntervals.push({
        bucket: b.id,
        interval: b.intervalBlocks !== undefined
          ? { _tag: "Blocks", blocks: b.intervalBlocks }
          : { _tag: "Seconds", seconds: b.intervalSeconds! }
      })
    }
    const bucketSigners: Array<{ bucket: number; signer: Redacted.Redacted<string>; source: string }> = []
    for (const b of entries) {
      if (!("signerEnv" in b) || b.signerEnv === undefined) continue
      const secret = env[b.signerEnv]
      if (secret === undefined || secret === "") {
        return yield* new BadConfig({
          message: `buckets: bucket ${b.id}: signerEnv names ${b.signerEnv}, which is not set in the environment`
        })
      }
      bucketSigners.push({ bucket: b.id, signer: Redacted.make(secret), source: `env ${b.signerEnv}` })
    }
    const tuned = Tuning.resolve({ flags: assignments, file: fileSettings, env, perBucket })
    if (Either.isLeft(tuned)) return yield* new BadConfig({ message: `settings: ${tuned.left.join("; ")}` })
    return {
      chain: chainList,
      signer: suri,
      signerSource: Option.isSome(flags.suri)
        ? Option.some("--suri")
        : Option.map(Option.fromNullable(env.CHECKPOINTER_SIGNER_SURI), () => "env CHECKPOINTER_SIGNER_SURI"),
      buckets: flags.buckets.length > 0 ? flags.buckets : entries.map((b) => b.id),
      journal,
      interval,
      bucketIntervals,
      bucketSigners,
      tuned: tuned.right,
      client: flags.client ?? "polkadot-js",
      // Loopback providers are normal next to a local chain, suspicious next to a remote one.
      allowLocalProviders: file.allowLocalProviders ?? chainList.every(isLoopback)
    } satisfies Settings
  })

const resolveHost = (host: string) =>
  Effect.tryPromise(() => lookup(host, { all: true })).pipe(Effect.map((all) => all.map((a) => a.address)))

/**
 * Fails fast, with one line, when no endpoint accepts a connection (the api would otherwise retry,
 * logging every attempt, until its connect timeout).
 */
export const checkReachable = (endpoints: ReadonlyArray<string>) =>
  Effect.forEach(endpoints, (endpoint) =>
    Effect.async<boolean>((resume) => {
      const url = new URL(endpoint)
      const socket = createConnection({
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port || (url.protocol === "wss:" ? 443 : 80))
      })
      const done = (ok: boolean) => {
        socket.destroy()
        resume(Effect.succeed(ok))
      }
      socket.setTimeout(5_000, () => done(false))
      socket.once("connect", () => done(true))
      socket.once("error", () => done(false))
    })).pipe(
      Effect.flatMap((reachable) =>
        reachable.some((ok) => ok)
          ? Effect.void
          : Effect.fail(new ChainUnreachable({ message: `cannot connect to ${endpoints.join(", ")}` }))
      )
    )

/** No chain endpoint accepts connections. Exit code 5. */
export class ChainUnreachable extends Data.TaggedError("ChainUnavailable")<{ readonly message: string }> {}

/**
 * The directory the journal of these settings uses on the connected chain (none: off): `<directory>/<genesis
 * hash>`, so that one directory serves several chains and a journal is never read against another chain's
 * buckets (a directory that already holds a journal at its top, from an earlier version, is used as it is).
 */
export const journalDirectory = (journal: JournalSetting) =>
  Effect.flatMap(ChainFacts, ({ genesisHash }) => {
    if (journal._tag === "Off") return Effect.succeed(Option.none<string>())
    if (journal._tag === "Postgres") return Effect.map(describeJournal(journal), Option.some)
    const legacy = existsSync(join(journal.directory, "buckets"))
    return Effect.succeed(Option.some(legacy ? journal.directory : join(journal.directory, genesisHash)))
  })

const journalLayer = (journal: JournalSetting | "memory") =>
  journal === "memory" || journal._tag === "Off"
    ? Checkpointer.inMemory()
    : journal._tag === "Postgres"
    // Shared by every process on the database; the loop's own state (health history, failures) stays
    // in this process.
    ? Layer.unwrapEffect(Effect.gen(function*() {
      const SqlJournal = yield* sqlJournal
      const { genesisHash } = yield* ChainFacts
      return Layer.merge(
        SqlJournal.layerPg({ url: journal.url, genesisHash }),
        LoopStore.layerMemory()
      ).pipe(
        Layer.mapError((e) =>
          new BadConfig({
            message: `journal ${SqlJournal.describeUrl(journal.url)}: ${
              e._tag === "SqlError" && e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message
            }`
          })
        )
      )
    }))
    : Layer.unwrapEffect(Effect.gen(function*() {
      const directory = Option.getOrThrow(yield* journalDirectory(journal))
      const { genesisHash } = yield* ChainFacts
      return Checkpointer.onDisk({ directory, genesisHash }).pipe(
        Layer.provide(NodeContext.layer),
        Layer.mapError((e) => new BadConfig({ message: `journal ${directory}: ${e.message}` }))
      )
    }))

/**
 * Everything a live round needs, on the configured chain. `journal: "memory"` keeps the journal in memory
 * whatever the settings say (the devnet, and commands that never submit).
 */
export const liveLayer = (settings: Settings, options: { readonly journal?: "memory" | "settings" } = {}) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const [PolkadotApi, PolkadotChainClient, PapiChainClient, PapiClient, NodeHttpClient] = yield* Effect.all([
      polkadotApi,
      Effect.promise(() => import("@checkpointer/polkadot/PolkadotChainClient")),
      Effect.promise(() => import("@checkpointer/papi/PapiChainClient")),
      Effect.promise(() => import("@checkpointer/papi/PapiClient")),
      Effect.promise(() => import("@effect/platform-node/NodeHttpClient"))
    ])
    const chain = {
      endpoints: settings.chain,
      connectTimeout: "20 seconds",
      ...Option.match(settings.signer, { onNone: () => ({}), onSome: (signer) => ({ signer }) }),
      bucketSigners: settings.bucketSigners.map(({ bucket, signer }) => ({
        bucketId: BigInt(bucket) as Domain.BucketId,
        signer
      }))
    } as const
    const round = {
      journal: journalLayer(options.journal === "memory" ? "memory" : settings.journal),
      settings: settings.tuned.round,
      health: settings.tuned.health,
      providers: {
        policy: settings.allowLocalProviders ? EndpointPolicy.local : EndpointPolicy.publicOnly,
        resolveHost
      }
    }
    // The command's own chain facts (genesis hash, units, connection) come from the round's connection:
    // one connection whichever client.
    const connection = settings.client === "papi"
      ? PapiChainClient.layer(chain).pipe(
        Layer.provideMerge(Layer.effect(ChainFacts, Effect.flatMap(PapiClient.PapiClient, ofPapi))),
        Layer.provide(PapiClient.layer(chain))
      )
      : PolkadotChainClient.layer(chain).pipe(
        Layer.provideMerge(Layer.effect(ChainFacts, Effect.map(PolkadotApi.PolkadotApi, ofPolkadotApi))),
        Layer.provideMerge(PolkadotApi.layer(chain))
      )
    const stack = Checkpointer.layer(round).pipe(Layer.provideMerge(connection))
    return stack.pipe(
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.mapError((error) =>
        error._tag === "InvalidSigner"
          ? new BadConfig({ message: error.message })
          : error._tag === "ConfigError"
          ? new BadConfig({ message: `settings: ${error.message}` })
          : error
      )
    )
  }))

/** The connected chain's units (`tokenDecimals`, `tokenSymbol`); planck when the chain does not say. */
export const chainUnits = Effect.map(ChainFacts, (facts) => facts.units)

/**
 * The signer's account address (never its secret) and where the secret came from; a secret that is not
 * a valid URI, mnemonic or seed is a configuration error, found before connecting.
 */
/** The address of a secret URI; the keyring's message may quote the secret, so only its kind is said. */
const addressOf = (secret: Redacted.Redacted<string>, whose: string) =>
  Effect.flatMap(
    Effect.promise(async () => {
      const [{ Keyring }, { cryptoWaitReady }] = await Promise.all([
        import("@polkadot/keyring"),
        import("@polkadot/util-crypto")
      ])
      await cryptoWaitReady()
      return Keyring
    }),
    (Keyring) =>
      Effect.try({
        try: () => new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(Redacted.value(secret)).address,
        catch: () =>
          new BadConfig({
            message:
              `${whose}: not a valid secret URI, mnemonic or seed (a dev URI like //Alice, 12 or 24 words, or 0x + 64 hex)`
          })
      })
  )

export const signerAddress = (settings: Settings) =>
  Effect.gen(function*() {
    if (Option.isNone(settings.signer)) return Option.none<{ readonly address: string; readonly source: string }>()
    const address = yield* addressOf(settings.signer.value, "signer")
    return Option.some({ address, source: Option.getOrElse(settings.signerSource, () => "configuration") })
  })

/** The buckets' own signers, by address (never the secret). */
export const bucketSignerAddresses = (settings: Settings) =>
  Effect.forEach(
    settings.bucketSigners,
    ({ bucket, signer, source }) =>
      Effect.map(addressOf(signer, `buckets: bucket ${bucket}'s signer`), (address) => ({ bucket, address, source }))
  )

/**
 * The chain connection's changes as the command's own lines (`chain connection lost`, `regained`), for as
 * long as the scope lives; the api reconnects by itself, across its endpoints.
 */
export const reportConnection = (
  report: (connected: boolean, endpoints: ReadonlyArray<string>) => Effect.Effect<void>
) =>
  Effect.flatMap(
    ChainFacts,
    ({ connected, endpoints }) =>
      connected.changes.pipe(
        Stream.changes,
        Stream.drop(1),
        Stream.runForEach((up) => report(up, endpoints)),
        Effect.forkScoped
      )
  )

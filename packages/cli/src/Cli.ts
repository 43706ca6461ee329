/**
 * The `checkpointer` command: `devnet`, `run`, `submit`, `collect`, `status`.
 *
 * Exit codes: 0 done; 2 bad flags or configuration; 3 no consensus (or no provider answered);
 * 4 the checkpoint transaction failed; 5 the chain could not be reached or read; 1 anything else.
 *
 * @since 0.1.0
 */
import {
  ChainClient,
  CheckpointEvents,
  CheckpointLoop,
  CheckpointManager,
  Consensus,
  type Domain,
  LoopStore,
  ProviderHealth,
  ReceiptJournal
} from "@checkpointer/core"
import { Command, Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { devnet, encodeReceipt } from "./internal/devnet.js"
import {
  BadConfig,
  checkReachable,
  type CommonFlags,
  journalDirectory,
  liveLayer,
  resolveSettings,
  type Settings
} from "./internal/live.js"
import {
  bold,
  clean,
  dim,
  emit,
  green,
  makeOutput,
  type Output,
  red,
  short,
  table,
  withProgress,
  yellow
} from "./internal/output.js"

// ---------------------------------------------------------------------------------------------------
// Options shared by the chain commands

const chain = Options.text("chain").pipe(
  Options.withDescription(
    "WebSocket endpoint of a node (default: $CHECKPOINTER_CHAIN_ENDPOINTS or ws://127.0.0.1:9944)"
  ),
  Options.optional
)
const config = Options.file("config", { exists: "yes" }).pipe(
  Options.withDescription("a JSON config file (chain, buckets, journal, intervalBlocks, threshold, providerTimeout)"),
  Options.optional
)
const suri = Options.redacted("suri").pipe(
  Options.withDescription("the signer's secret URI (default: $CHECKPOINTER_SIGNER_SURI); never printed"),
  Options.optional
)
const journal = Options.directory("journal").pipe(
  Options.withDescription(
    "receipt journal directory (default: $CHECKPOINTER_JOURNAL_DIR, else $XDG_STATE_HOME/checkpointer, else ~/.local/state/checkpointer)"
  ),
  Options.optional
)
const noJournal = Options.boolean("no-journal").pipe(
  Options.withDescription("keep no journal: a restart may then pay again for a checkpoint in flight")
)
const json = Options.boolean("json").pipe(Options.withDescription("one JSON object per line"))
const threshold = Options.integer("threshold").pipe(
  Options.withDescription("consensus threshold in percent (default 51)"),
  Options.optional
)
// Text, parsed below: @effect/cli 0.77.2 rejects "0" for a repeated integer option.
const buckets = Options.text("bucket").pipe(Options.withDescription("a bucket id (repeatable)"), Options.repeated)

const parseBuckets = (values: ReadonlyArray<string>) =>
  Effect.forEach(values, (value) =>
    /^\d+$/.test(value) && Number.isSafeInteger(Number(value))
      ? Effect.succeed(Number(value))
      : Effect.fail(new BadConfig({ message: `bucket: expected a non-negative integer, got "${value}"` })))
const bucket = Options.integer("bucket").pipe(Options.withDescription("the bucket id"))
const intervalBlocks = Options.integer("interval-blocks").pipe(
  Options.withDescription("ask every bucket's providers every N finalized blocks (default 100)"),
  Options.optional
)
const intervalSeconds = Options.integer("interval-seconds").pipe(
  Options.withDescription("ask every bucket's providers every N seconds instead of by blocks"),
  Options.optional
)

const flags = (f: Partial<CommonFlags>): CommonFlags => ({
  chain: f.chain ?? Option.none(),
  config: f.config ?? Option.none(),
  suri: f.suri ?? Option.none(),
  journal: f.journal ?? Option.none(),
  noJournal: f.noJournal ?? false,
  buckets: f.buckets ?? [],
  intervalBlocks: f.intervalBlocks ?? Option.none(),
  intervalSeconds: f.intervalSeconds ?? Option.none(),
  threshold: f.threshold ?? Option.none()
})

/** `run` and `status` need at least one bucket, from flags or the config file. */
const requireBuckets = (settings: Settings) =>
  settings.buckets.length > 0
    ? Effect.void
    : Effect.fail(new BadConfig({ message: "bucket: give at least one --bucket (or buckets in the config file)" }))

const bucketId = (n: number) => BigInt(n) as Domain.BucketId

const withLive = <A, E, R>(
  settings: Settings,
  effect: Effect.Effect<A, E, R>,
  options: { readonly journal?: "memory" | "settings" } = {}
) => Effect.zipRight(checkReachable(settings.chain), Effect.provide(effect, liveLayer(settings, options)))

/** The one line that says a command keeps no journal, on stderr. */
const warnNoJournal = (settings: Settings) =>
  settings.journal._tag === "Off"
    ? Console.error("checkpointer: warning: no journal: a restart may pay again for a checkpoint that was in flight")
    : Effect.void

const describeInterval = (settings: Settings) =>
  settings.interval._tag === "Blocks"
    ? `every ${settings.interval.blocks} finalized blocks`
    : `every ${settings.interval.seconds} s`

// ---------------------------------------------------------------------------------------------------
// Rendering

const outcomeRow = (out: Output, outcome: Consensus.ProviderOutcome, classes: Map<string, string>) => {
  const latency = "latencyMillis" in outcome ? `${outcome.latencyMillis} ms` : "-"
  // A provider's words (its error code, an echoed multiaddr) are hostile text: escaped before printing.
  const answer = outcome._tag === "Answered"
    ? `${outcome.commitment.leafCount} leaves, root ${short(outcome.commitment.mmrRoot)}`
    : clean("detail" in outcome ? outcome.detail : outcome.reason)
  const klass = classes.get(outcome.provider) ?? (outcome._tag === "Answered" ? "Majority" : outcome._tag)
  const painted = klass === "Majority"
    ? green(out, klass)
    : klass === "NotAwaited"
    ? dim(out, klass)
    : yellow(out, klass)
  return [short(outcome.provider), painted, latency, String(outcome.attempts), answer]
}

const renderDecision = (out: Output, decision: Consensus.Decision) => {
  const classes = new Map<string, string>(decision.conflicts.map((c) => [c.provider, c._tag]))
  const rows = [
    [bold(out, "provider"), bold(out, "class"), bold(out, "latency"), bold(out, "tries"), bold(out, "answer")],
    ...decision.outcomes.map((o) => outcomeRow(out, o, classes))
  ]
  const majority = Option.match(decision.majority, {
    onNone: () => "no majority",
    onSome: (m) =>
      `majority ${m.commitment.leafCount} leaves, root ${
        short(m.commitment.mmrRoot)
      }, ${m.signatures.length} signatures`
  })
  return [
    table(rows),
    "",
    `${majority}; required max(ceil(${decision.totalProviders} × ${decision.thresholdPercent}%), min_providers ${decision.minProviders}) = ${decision.required}; agreeing ${decision.agreeing}`,
    `resolution: ${
      decision.thresholdMet ? green(out, decision.resolution._tag) : yellow(out, decision.resolution._tag)
    }`
  ].join("\n")
}

const encodeDecision = (decision: Consensus.Decision) => Schema.encodeSync(Consensus.Decision)(decision)

// ---------------------------------------------------------------------------------------------------
// Commands

const devnetCommand = Command.make("devnet", {
  providers: Options.integer("providers").pipe(
    Options.withDefault(5),
    Options.withDescription("simulated providers (1-5)")
  ),
  lagging: Options.integer("lagging").pipe(
    Options.withDefault(1),
    Options.withDescription("providers that lag behind")
  ),
  flaky: Options.integer("flaky").pipe(
    Options.withDefault(1),
    Options.withDescription("providers that fail requests at random")
  ),
  blockTime: Options.integer("block-time").pipe(Options.withDefault(1000), Options.withDescription("block time in ms")),
  intervalBlocks: Options.integer("interval-blocks").pipe(Options.withDefault(3)),
  writeEvery: Options.integer("write-every").pipe(
    Options.withDefault(4000),
    Options.withDescription("ms between data writes")
  ),
  port: Options.integer("port").pipe(
    Options.withDefault(9944),
    Options.withDescription("devchain port (0: any free port)")
  ),
  rounds: Options.integer("rounds").pipe(Options.withDescription("stop after this many checkpoints"), Options.optional),
  noLoop: Options.boolean("no-loop").pipe(
    Options.withDescription("write data but make no checkpoints of its own (leave them to `checkpointer run`)")
  ),
  chainSpec: Options.file("chain-spec", { exists: "yes" }).pipe(
    Options.withDescription("run on this chain spec's runtime under Chopsticks instead of the devchain"),
    Options.optional
  ),
  json
}, (o) =>
  devnet({
    providers: o.providers,
    lagging: o.lagging,
    flaky: o.flaky,
    blockTime: Duration.millis(o.blockTime),
    intervalBlocks: o.intervalBlocks,
    writeEvery: Duration.millis(o.writeEvery),
    port: o.port,
    rounds: o.rounds,
    noLoop: o.noLoop,
    chainSpec: o.chainSpec,
    out: makeOutput(o.json)
  }).pipe(Effect.scoped)).pipe(Command.withDescription("the devchain and simulated providers, checkpointing live"))

const runCommand = Command.make(
  "run",
  { chain, config, suri, journal, noJournal, buckets, intervalBlocks, intervalSeconds, threshold, json },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: yield* parseBuckets(o.buckets) }))
      yield* requireBuckets(settings)
      if (Option.isNone(settings.signer)) {
        return yield* new BadConfig({
          message: "signer: run submits checkpoints and needs one (--suri or CHECKPOINTER_SIGNER_SURI)"
        })
      }
      yield* warnNoJournal(settings)
      yield* withLive(
        settings,
        Effect.scoped(Effect.gen(function*() {
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
                } ${describeEvent(event)}`, {
                type: event._tag,
                event
              })
            ),
            Effect.forkScoped
          )
          // A watcher: with no write hooks, every bucket is due at every interval; a round pays only when
          // its providers agree on a commitment newer than the chain's.
          const loop = yield* CheckpointLoop.make(settings.buckets.map(bucketId), {
            interval: settings.interval._tag === "Blocks"
              ? CheckpointLoop.Blocks(settings.interval.blocks)
              : CheckpointLoop.Every(Duration.seconds(settings.interval.seconds)),
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
          const journalIn = yield* journalDirectory(settings.journal)
          yield* emit(
            out,
            `checkpointing bucket(s) ${settings.buckets.join(", ")} on ${settings.chain.join(", ")} ${
              describeInterval(settings)
            }; journal ${Option.getOrElse(journalIn, () => "off")} (Ctrl-C stops)`,
            {
              type: "Running",
              chain: settings.chain,
              buckets: settings.buckets,
              interval: settings.interval,
              journal: Option.getOrNull(journalIn)
            }
          )
          return yield* Effect.never
        }))
      )
    })
).pipe(Command.withDescription("watch buckets' providers and checkpoint new data as it appears"))

const describeEvent = (event: CheckpointEvents.CheckpointEvent): string =>
  CheckpointEvents.CheckpointEvent.$match(event, {
    CheckpointSubmitted: ({ receipt, settled }) =>
      `bucket ${receipt.bucketId}: checkpoint in block #${receipt.blockNumber}, ${receipt.commitment.leafCount} leaves, ${receipt.signers.length} signers${
        settled ? " (sent earlier, settled from the journal: not paid again)" : ""
      }`,
    CheckpointFailed: ({ bucketId, reason, willRetry }) =>
      `bucket ${bucketId}: ${clean(reason)}${willRetry ? " (will retry)" : ""}`,
    ProviderConflict: ({ bucketId, disagreeing }) =>
      `bucket ${bucketId}: ${disagreeing.map((d) => `${short(d.provider)} ${d.conflict}`).join(", ")}`,
    LoopPaused: ({ reason }) => `loop paused: ${reason}`,
    LoopResumed: () => "loop resumed",
    ProviderStatusChanged: ({ provider, to }) => `provider ${short(provider)} is ${to}`,
    ChallengeSubmitted: ({ challenge }) => `challenged ${short(challenge.provider)}`,
    CheckpointOverdue: ({ bucketId }) => `bucket ${bucketId}: checkpoint overdue`
  })

const submitCommand = Command.make("submit", {
  chain,
  config,
  suri,
  journal,
  noJournal,
  bucket,
  threshold,
  json,
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("collect and decide; send nothing"))
}, (o) =>
  Effect.gen(function*() {
    const out = makeOutput(o.json)
    const settings = yield* resolveSettings(flags({ ...o, buckets: [o.bucket] }))
    if (!o.dryRun) yield* warnNoJournal(settings)
    yield* withLive(
      settings,
      Effect.gen(function*() {
        const manager = yield* CheckpointManager.CheckpointManager
        const journalService = yield* ReceiptJournal.ReceiptJournal
        if (o.dryRun) {
          const report = yield* withProgress(
            out,
            `collecting bucket ${o.bucket}`,
            manager.collectWithConflicts(bucketId(o.bucket))
          )
          return yield* emit(out, () => renderDecision(out, report.decision), {
            type: "Decision",
            decision: encodeDecision(report.decision)
          })
        }
        const result = yield* withProgress(
          out,
          `checkpointing bucket ${o.bucket}`,
          manager.submitCheckpoint(bucketId(o.bucket))
        ).pipe(
          // Stopped by a signal: say whether a transaction is out there, and never exit 0.
          Effect.onInterrupt(() =>
            journalService.read(bucketId(o.bucket)).pipe(
              Effect.map(Option.flatMap((j) => j.unresolved)),
              Effect.orElseSucceed(() => Option.none<ReceiptJournal.SubmissionAttempt>()),
              Effect.flatMap(Option.match({
                onNone: () =>
                  Effect.zipRight(
                    Console.error("checkpointer: interrupted before anything was sent"),
                    Effect.sync(() => void (process.exitCode = EXIT_INTERRUPTED))
                  ),
                onSome: (attempt) =>
                  Effect.zipRight(
                    Console.error(
                      `checkpointer: interrupted: extrinsic ${attempt.prepared.extrinsicHash} for bucket ${o.bucket} was sent and its outcome is not known yet; ${
                        settings.journal._tag === "Off"
                          ? "without a journal it cannot be settled here: check the chain before submitting again"
                          : "rerun the same command (same journal) to settle it: nothing is paid twice"
                      }`
                    ),
                    Effect.sync(() => void (process.exitCode = EXIT_OUTCOME_UNKNOWN))
                  )
              }))
            )
          )
        )
        if (result._tag === "AlreadyCheckpointed") {
          return yield* emit(
            out,
            () =>
              `${renderDecision(out, result.decision)}\n\nthe chain already holds ${
                result.relation === "Same" ? "this" : "a later"
              } checkpoint: nothing sent`,
            {
              type: "AlreadyCheckpointed",
              relation: result.relation,
              decision: encodeDecision(result.decision)
            }
          )
        }
        const { receipt } = result
        yield* emit(out, () =>
          [
            renderDecision(out, result.decision),
            "",
            `${green(out, "✓")} ${
              result.settled ? "settled an earlier submission: " : ""
            }checkpoint in block #${receipt.blockNumber} (${receipt.blockHash}), extrinsic ${receipt.extrinsicIndex} (${receipt.extrinsicHash})`,
            `  ${receipt.commitment.leafCount} leaves, root ${receipt.commitment.mmrRoot}, signed by ${receipt.signers.length}${
              receipt.fee === undefined ? "" : `, fee ${receipt.fee}`
            }`
          ].join("\n"), {
          type: "Submitted",
          settled: result.settled,
          receipt: encodeReceipt(receipt),
          decision: encodeDecision(result.decision)
        })
      })
    )
  }).pipe(
    // Stopped before the round (connecting, discovering): nothing was sent, and it did not succeed.
    Effect.onInterrupt(() =>
      process.exitCode === undefined || process.exitCode === 0
        ? Effect.zipRight(
          Console.error("checkpointer: interrupted before anything was sent"),
          Effect.sync(() => void (process.exitCode = EXIT_INTERRUPTED))
        )
        : Effect.void
    )
  )).pipe(Command.withDescription("one round and (unless --dry-run) one checkpoint"))

const collectCommand = Command.make(
  "collect",
  { chain, config, bucket, threshold, json },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: [o.bucket] }))
      yield* withLive(
        settings,
        Effect.gen(function*() {
          const manager = yield* CheckpointManager.CheckpointManager
          const report = yield* withProgress(
            out,
            `asking the providers of bucket ${o.bucket}`,
            manager.collectCommitments(bucketId(o.bucket))
          )
          yield* emit(out, () => renderDecision(out, report.decision), {
            type: "Collected",
            decision: encodeDecision(report.decision)
          })
        }),
        // Nothing is ever submitted: no journal to open.
        { journal: "memory" }
      )
    })
).pipe(Command.withDescription("each provider's answer, its class and latency, and the consensus arithmetic"))

const statusCommand = Command.make(
  "status",
  { chain, config, journal, noJournal, buckets, json },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: yield* parseBuckets(o.buckets) }))
      yield* requireBuckets(settings)
      yield* withLive(
        settings,
        Effect.forEach(settings.buckets, (n) =>
          Effect.gen(function*() {
            const client = yield* ChainClient.ChainClient
            const manager = yield* CheckpointManager.CheckpointManager
            const health = yield* ProviderHealth.ProviderHealth
            const loopStore = yield* LoopStore.LoopStore
            const info = yield* client.bucket(bucketId(n))
            // A quick round measures every provider now (nothing is sent).
            const report = yield* withProgress(
              out,
              `probing the providers of bucket ${n}`,
              manager.collectCommitments(bucketId(n))
            ).pipe(Effect.option)
            const dirty = settings.journal._tag === "Off"
              ? Option.none<boolean>()
              : yield* loopStore.read.pipe(
                Effect.map(Option.map((state) => state.dirtyBuckets.some((b) => b === bucketId(n)))),
                Effect.orElseSucceed(() => Option.none<boolean>())
              )
            const snapshot = Option.map(info.snapshot, (s) => ({
              leafCount: s.commitment.leafCount.toString(),
              mmrRoot: s.commitment.mmrRoot,
              block: s.checkpointBlock,
              signers: s.signers
            }))
            const rows = yield* Effect.forEach(info.primaryProviders, (account) =>
              Effect.map(health.snapshot(account), (h) => {
                const outcome = Option.flatMap(
                  report,
                  (r) => Option.fromNullable(r.decision.outcomes.find((x) => x.provider === account))
                )
                return {
                  provider: account,
                  status: h.requests === 0 ? "unknown" : `${Math.round(h.successRate * 100)}% ok`,
                  answer: Option.match(outcome, {
                    onNone: () => "-",
                    onSome: (x) => x._tag
                  }),
                  latencyMillis: Option.match(outcome, {
                    onNone: () => null,
                    onSome: (x) => ("latencyMillis" in x ? x.latencyMillis : null)
                  })
                }
              }))
            yield* emit(out, () =>
              [
                bold(out, `bucket ${n}`) +
                `: ${info.primaryProviders.length} primaries, min_providers ${info.minProviders}${
                  Option.isSome(info.frozenStartSeq) ? ", frozen" : ""
                }`,
                `  last checkpoint: ${
                  Option.match(snapshot, {
                    onNone: () => "none",
                    onSome: (s) =>
                      `block #${s.block}, ${s.leafCount} leaves, root ${short(s.mmrRoot)}, ${s.signers.length} signers`
                  })
                }`,
                `  dirty: ${
                  Option.match(dirty, {
                    onNone: () =>
                      dim(
                        out,
                        settings.journal._tag === "Off"
                          ? "unknown (no journal)"
                          : "unknown (no loop state in the journal)"
                      ),
                    onSome: (d) => (d ? yellow(out, "yes") : "no")
                  })
                }`,
                table([
                  [bold(out, "provider"), bold(out, "health"), bold(out, "answer now"), bold(out, "latency")],
                  ...rows.map((
                    r
                  ) => [
                    short(r.provider),
                    r.status,
                    r.answer,
                    r.latencyMillis === null ? "-" : `${r.latencyMillis} ms`
                  ])
                ]).replace(/^/gm, "  ")
              ].join("\n"), {
              type: "Status",
              bucket: n,
              minProviders: info.minProviders,
              snapshot: Option.getOrNull(snapshot),
              dirty: Option.getOrNull(dirty),
              providers: rows
            })
          }))
      )
    })
).pipe(Command.withDescription("provider health, the last checkpoint and dirty state"))

const root = Command.make("checkpointer").pipe(
  Command.withDescription("automated checkpoints for Scalable Web3 Storage"),
  Command.withSubcommands([devnetCommand, runCommand, submitCommand, collectCommand, statusCommand])
)

/**
 * Runs the command line (`process.argv`).
 *
 * @since 0.1.0
 * @category entry
 */
export const run = Command.run(root, { name: "checkpointer", version: "0.1.0" })

/**
 * Exit code of a `submit` stopped by a signal after its transaction was sent: the outcome is not known
 * yet (rerunning with the same journal settles it).
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_OUTCOME_UNKNOWN = 6

/**
 * Exit code of a command stopped by a signal before it sent anything (128 + SIGINT's number).
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_INTERRUPTED = 130

/**
 * The process exit code of a failure.
 *
 * @since 0.1.0
 * @category entry
 */
export const exitCode = (error: { readonly _tag: string; readonly reason?: unknown }): number => {
  switch (error._tag) {
    case "BadConfig":
    case "BucketNotFound":
    case "JournalFailed":
      return 2
    case "SubmissionRefused":
      // Nothing was sent: a signer that cannot submit is configuration; too few signatures is consensus.
      return error.reason === "NoSigner" || error.reason === "NotBucketWriter"
        ? 2
        : error.reason === "NoConsensus" || error.reason === "InsufficientSignatures"
        ? 3
        : 4
    case "InsufficientConsensus":
    case "ProvidersUnreachable":
    case "NoProviders":
      return 3
    case "TransactionFailed":
      return 4
    case "ChainUnavailable":
    case "ConnectionFailed":
      return 5
    default:
      return error._tag.endsWith("ValidationError") || error._tag === "MissingValue" || error._tag === "InvalidValue"
        ? 2
        : 1
  }
}

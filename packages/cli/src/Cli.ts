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
  CheckpointConfig,
  CheckpointEvents,
  CheckpointLoop,
  CheckpointManager,
  Consensus,
  type Domain,
  LoopStore,
  ReceiptJournal
} from "@checkpointer/core"
import { Args, Command, HelpDoc, Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { dryRunVerdict, preflightSigner, SignerCannotSubmit } from "./internal/checks.js"
import { devnet, encodeReceipt } from "./internal/devnet.js"
import { listenOption, parseListen, serveOperator, urlOf } from "./internal/listen.js"
import {
  BadConfig,
  chainUnits,
  checkReachable,
  type CommonFlags,
  journalDirectory,
  liveLayer,
  reportConnection,
  resolveSettings,
  type Settings,
  signerAddress,
  type Units
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
  Options.withDescription(
    "a JSON config file: chain, buckets, journal, intervalBlocks or intervalSeconds, allowLocalProviders, and settings { any setting }"
  ),
  Options.optional
)
const set = Options.text("set").pipe(
  Options.withDescription(
    "any setting of the round, the loop or provider health, as key=value (repeatable; `checkpointer config check` lists them)"
  ),
  Options.repeated
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
// Text, parsed below: @effect/cli 0.77.2 rejects "0" for a repeated integer option, and accepts negatives.
const buckets = Options.text("bucket").pipe(Options.withDescription("a bucket id (repeatable)"), Options.repeated)

const parseBucket = (value: string) =>
  /^\d+$/.test(value) && Number.isSafeInteger(Number(value))
    ? Effect.succeed(Number(value))
    : Effect.fail(new BadConfig({ message: `bucket: expected a bucket id (a whole number from 0), got "${value}"` }))
const parseBuckets = (values: ReadonlyArray<string>) => Effect.forEach(values, parseBucket)
const bucket = Options.text("bucket").pipe(Options.withDescription("the bucket id"))
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
  threshold: f.threshold ?? Option.none(),
  set: f.set ?? []
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

/** The minimum balance the settings keep, if any. */
const minimumBalanceOf = (settings: Settings): Option.Option<bigint> =>
  Option.flatten(Option.fromNullable(settings.tuned.round.minimumBalance as Option.Option<bigint> | undefined))

/** A command that submits needs a signer: said before connecting to anything. */
const requireSigner = (settings: Settings, command: string) =>
  Option.isSome(settings.signer) ? Effect.void : Effect.fail(
    new SignerCannotSubmit({
      message: `signer: ${command} submits checkpoints and needs one (--suri or CHECKPOINTER_SIGNER_SURI)`
    })
  )

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
  json,
  listen: listenOption(
    "serve /metrics, /healthz and /readyz on [HOST:]PORT (default: a free port on 127.0.0.1; a port alone: 127.0.0.1)"
  )
}, (o) =>
  validateDevnet(o).pipe(
    Effect.zipRight(Effect.transposeOption(Option.map(o.listen, parseListen))),
    Effect.flatMap((listen) =>
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
        listen,
        out: makeOutput(o.json)
      })
    ),
    Effect.scoped
  )).pipe(Command.withDescription("the devchain and simulated providers, checkpointing live"))

/** Every number the devnet takes, checked before anything starts. */
const validateDevnet = (o: {
  readonly providers: number
  readonly lagging: number
  readonly flaky: number
  readonly blockTime: number
  readonly intervalBlocks: number
  readonly writeEvery: number
  readonly port: number
  readonly rounds: Option.Option<number>
}) => {
  const problems = [
    o.providers < 1 || o.providers > 5 ? `providers: expected 1 to 5, got ${o.providers}` : undefined,
    o.lagging < 0 || o.lagging > o.providers ? `lagging: expected 0 to ${o.providers}, got ${o.lagging}` : undefined,
    o.flaky < 0 || o.flaky > o.providers ? `flaky: expected 0 to ${o.providers}, got ${o.flaky}` : undefined,
    o.blockTime < 100 || o.blockTime > 60_000
      ? `block-time: expected 100 to 60000 ms, got ${o.blockTime}`
      : undefined,
    o.intervalBlocks < 1 ? `interval-blocks: expected a positive number, got ${o.intervalBlocks}` : undefined,
    o.writeEvery < 100 ? `write-every: expected at least 100 ms, got ${o.writeEvery}` : undefined,
    o.port < 0 || o.port > 65_535 ? `port: expected 0 to 65535, got ${o.port}` : undefined,
    Option.isSome(o.rounds) && o.rounds.value < 1
      ? `rounds: expected a positive number, got ${o.rounds.value}`
      : undefined
  ].filter((p) => p !== undefined)
  return problems.length === 0 ? Effect.void : Effect.fail(new BadConfig({ message: problems.join("; ") }))
}

const runCommand = Command.make(
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
      yield* warnNoJournal(settings)
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
    })
).pipe(Command.withDescription("watch buckets' providers and checkpoint new data as it appears"))

const describeEvent = (event: CheckpointEvents.CheckpointEvent, units: Units): string =>
  CheckpointEvents.CheckpointEvent.$match(event, {
    CheckpointSubmitted: ({ receipt, settled }) =>
      `bucket ${receipt.bucketId}: checkpoint in block #${receipt.blockNumber}, ${receipt.commitment.leafCount} leaves, ${receipt.signers.length} signers${
        settled
          ? " (sent earlier, settled from the journal: not paid again)"
          : receipt.fee === undefined
          ? ""
          : `, fee ${units.format(receipt.fee)}`
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
  set,
  json,
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("collect and decide, send nothing; say what submit would do, with its exit code")
  )
}, (options) =>
  Effect.gen(function*() {
    const o = { ...options, bucket: yield* parseBucket(options.bucket) }
    const out = makeOutput(o.json)
    const settings = yield* resolveSettings(flags({ ...o, buckets: [o.bucket] }))
    if (!o.dryRun) {
      yield* requireSigner(settings, "submit")
      yield* warnNoJournal(settings)
    }
    yield* withLive(
      settings,
      Effect.gen(function*() {
        const manager = yield* CheckpointManager.CheckpointManager
        const journalService = yield* ReceiptJournal.ReceiptJournal
        const units = yield* chainUnits
        if (o.dryRun) {
          const report = yield* withProgress(
            out,
            `collecting bucket ${o.bucket}`,
            manager.collectWithConflicts(bucketId(o.bucket))
          )
          const verdict = yield* dryRunVerdict(report.decision)
          yield* emit(
            out,
            () => `${renderDecision(out, report.decision)}\n\ndry run: ${verdict.detail} (exit ${verdict.exitCode})`,
            {
              type: "DryRun",
              would: verdict.would,
              detail: verdict.detail,
              exitCode: verdict.exitCode,
              decision: encodeDecision(report.decision)
            }
          )
          if (verdict.exitCode !== 0) process.exitCode = verdict.exitCode
          return
        }
        yield* preflightSigner([bucketId(o.bucket)], {
          minimumBalance: minimumBalanceOf(settings),
          format: units.format
        })
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
              receipt.fee === undefined ? "" : `, fee ${units.format(receipt.fee)}`
            }`
          ].join("\n"), {
          type: "Submitted",
          settled: result.settled,
          fee: receipt.fee === undefined ? null : units.format(receipt.fee),
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
  { chain, config, bucket, threshold, set, json },
  (options) =>
    Effect.gen(function*() {
      const o = { ...options, bucket: yield* parseBucket(options.bucket) }
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

const age = (now: number, atMillis: number) => {
  const seconds = Math.max(0, Math.round((now - atMillis) / 1000))
  return seconds < 120
    ? `${seconds} s ago`
    : seconds < 7200
    ? `${Math.round(seconds / 60)} min ago`
    : `${Math.round(seconds / 3600)} h ago`
}

const statusCommand = Command.make(
  "status",
  { chain, config, suri, journal, noJournal, buckets, threshold, set, json },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: yield* parseBuckets(o.buckets) }))
      yield* requireBuckets(settings)
      yield* withLive(
        settings,
        Effect.gen(function*() {
          const client = yield* ChainClient.ChainClient
          const manager = yield* CheckpointManager.CheckpointManager
          const loopStore = yield* LoopStore.LoopStore
          const journalService = yield* ReceiptJournal.ReceiptJournal
          const units = yield* chainUnits
          const now = Date.now()
          // What `run` recorded (its loop state and provider health), when there is a journal to read.
          const recorded = settings.journal._tag === "Off"
            ? Option.none<LoopStore.LoopState>()
            : yield* loopStore.read.pipe(Effect.orElseSucceed(() => Option.none<LoopStore.LoopState>()))
          const history = new Map(
            Option.match(recorded, { onNone: () => [], onSome: (r) => r.health.map((h) => [h.provider, h] as const) })
          )
          const round = yield* CheckpointConfig.CheckpointConfig
          const periodStart = now - Duration.toMillis(round.budgetPeriod)
          // The signer's balance against the minimum the settings keep (given a signer).
          if (Option.isSome(client.signer)) {
            const balance = yield* client.freeBalance(client.signer.value)
            const below = Option.isSome(round.minimumBalance) && balance < round.minimumBalance.value
            yield* emit(
              out,
              () =>
                `signer ${client.signer.pipe(Option.getOrThrow)}: balance ${
                  below ? red(out, units.format(balance)) : units.format(balance)
                }${
                  Option.match(round.minimumBalance, {
                    onNone: () => "",
                    onSome: (min) => `, minimum ${units.format(min)}${below ? red(out, " (below: run pauses)") : ""}`
                  })
                }`,
              {
                type: "Signer",
                account: client.signer.value,
                balance: units.format(balance),
                balancePlanck: balance,
                minimumBalance: Option.match(round.minimumBalance, { onNone: () => null, onSome: units.format }),
                belowMinimum: below
              }
            )
          }
          yield* Effect.forEach(settings.buckets, (n) =>
            Effect.gen(function*() {
              const info = yield* client.bucket(bucketId(n))
              const stored = settings.journal._tag === "Off"
                ? Option.none<ReceiptJournal.BucketJournal>()
                : yield* journalService.read(bucketId(n)).pipe(
                  Effect.orElseSucceed(() => Option.none<ReceiptJournal.BucketJournal>())
                )
              const lastReceipt = Option.flatMap(stored, (j) => Option.fromNullable(j.receipts[j.receipts.length - 1]))
              // Fees this bucket paid in the budget's window, from the journal's receipts.
              const recent = Option.match(stored, {
                onNone: () => [],
                onSome: (j) => j.receipts.filter((r) => r.fee !== undefined && r.finalizedAtMillis >= periodStart)
              })
              const spent = recent.reduce((sum, r) => sum + (r.fee ?? 0n), 0n)
              const spendText = `fees in the last ${Duration.format(round.budgetPeriod)}: ${
                units.format(spent)
              } (${recent.length} checkpoint${recent.length === 1 ? "" : "s"})${
                Option.match(round.bucketBudget, { onNone: () => "", onSome: (b) => ` of a ${units.format(b)} budget` })
              }`
              const inDoubt = Option.flatMap(stored, (j) => j.unresolved)
              // The providers asked now, judged exactly as `collect` judges them (nothing is sent).
              const report = yield* withProgress(
                out,
                `asking the providers of bucket ${n}`,
                manager.collectCommitments(bucketId(n))
              ).pipe(Effect.option)
              const dirty = Option.map(recorded, (r) => r.dirtyBuckets.some((b) => b === bucketId(n)))
              const snapshot = Option.map(info.snapshot, (s) => ({
                leafCount: s.commitment.leafCount.toString(),
                mmrRoot: s.commitment.mmrRoot,
                block: s.checkpointBlock,
                signers: s.signers
              }))
              const healthRows = info.primaryProviders.map((account) => {
                const h = history.get(account)
                return {
                  provider: account,
                  recorded: h !== undefined,
                  requests: h?.requests ?? 0,
                  successRate: h === undefined || h.requests === 0 ? null : h.successes / h.requests,
                  consecutiveFailures: h?.consecutiveFailures ?? 0,
                  latencyEwmaMillis: h === undefined ? null : Option.getOrNull(h.latencyEwmaMillis),
                  lastSuccessMillis: h === undefined ? null : Option.getOrNull(h.lastSuccessMillis)
                }
              })
              const noHistory = settings.journal._tag === "Off"
                ? "no journal, so no recorded history"
                : "no history recorded yet (`checkpointer run` records it in the journal)"
              yield* emit(out, () =>
                [
                  bold(out, `bucket ${n}`) +
                  `: ${info.primaryProviders.length} primaries, min_providers ${info.minProviders}${
                    Option.isSome(info.frozenStartSeq) ? ", frozen" : ""
                  }`,
                  `  last checkpoint on chain: ${
                    Option.match(snapshot, {
                      onNone: () => "none",
                      onSome: (s) =>
                        `block #${s.block}, ${s.leafCount} leaves, root ${
                          short(s.mmrRoot)
                        }, ${s.signers.length} signers`
                    })
                  }`,
                  `  journal: ${
                    settings.journal._tag === "Off"
                      ? dim(out, "off")
                      : Option.match(lastReceipt, {
                        onNone: () => "no receipt yet",
                        onSome: (r) =>
                          `last receipt block #${r.blockNumber}, ${age(now, r.finalizedAtMillis)}${
                            r.fee === undefined ? "" : `, fee ${units.format(r.fee)}`
                          }`
                      }) +
                        Option.match(inDoubt, {
                          onNone: () => "",
                          onSome: (a) => `; ${yellow(out, `in doubt: ${a.prepared.extrinsicHash}`)}`
                        })
                  }`,
                  `  spend: ${settings.journal._tag === "Off" ? dim(out, "unknown (no journal)") : spendText}`,
                  `  dirty: ${
                    Option.match(dirty, {
                      onNone: () =>
                        dim(out, settings.journal._tag === "Off" ? "unknown (no journal)" : "no loop state recorded"),
                      onSome: (d) => (d ? yellow(out, "yes") : "no")
                    })
                  }`,
                  `  provider health, as recorded by run:${history.size === 0 ? ` ${dim(out, noHistory)}` : ""}`,
                  ...(history.size === 0 ? [] : [
                    table([
                      [
                        bold(out, "provider"),
                        bold(out, "requests"),
                        bold(out, "ok"),
                        bold(out, "failing"),
                        bold(out, "latency"),
                        bold(out, "last ok")
                      ],
                      ...healthRows.map((r) => [
                        short(r.provider),
                        String(r.requests),
                        r.successRate === null ? "-" : `${Math.round(r.successRate * 100)}%`,
                        r.consecutiveFailures === 0 ? "-" : yellow(out, `${r.consecutiveFailures} in a row`),
                        r.latencyEwmaMillis === null ? "-" : `${Math.round(r.latencyEwmaMillis)} ms`,
                        r.lastSuccessMillis === null ? "-" : age(now, r.lastSuccessMillis)
                      ])
                    ]).replace(/^/gm, "    ")
                  ]),
                  "  asked now:",
                  Option.match(report, {
                    onNone: () => dim(out, "    the round could not run"),
                    onSome: (r) => renderDecision(out, r.decision).replace(/^/gm, "    ")
                  })
                ].join("\n"), {
                type: "Status",
                bucket: n,
                minProviders: info.minProviders,
                snapshot: Option.getOrNull(snapshot),
                lastReceipt: Option.match(lastReceipt, {
                  onNone: () => null,
                  onSome: (r) => ({ ...encodeReceipt(r), fee: r.fee === undefined ? null : units.format(r.fee) })
                }),
                inDoubt: Option.match(inDoubt, { onNone: () => null, onSome: (a) => a.prepared.extrinsicHash }),
                spend: settings.journal._tag === "Off"
                  ? null
                  : {
                    periodMillis: Duration.toMillis(round.budgetPeriod),
                    fees: units.format(spent),
                    feesPlanck: spent,
                    checkpoints: recent.length,
                    budget: Option.match(round.bucketBudget, { onNone: () => null, onSome: units.format })
                  },
                dirty: Option.getOrNull(dirty),
                health: healthRows.filter((r) => r.recorded),
                decision: Option.match(report, { onNone: () => null, onSome: (r) => encodeDecision(r.decision) })
              })
            }))
        })
      )
    })
).pipe(
  Command.withDescription(
    "the last checkpoint, the journal's view, provider health as recorded by run, and the providers asked now"
  )
)

const row = (name: string, text: string) => HelpDoc.p(`${name.padEnd(30)} ${text}`)

/** The root's help: what it is, the exit codes, the environment (every setting also has its variable). */
const ROOT_DESCRIPTION = HelpDoc.blocks([
  HelpDoc.p("automated checkpoints for Scalable Web3 Storage"),
  HelpDoc.h2("EXIT CODES"),
  HelpDoc.blocks([
    row("0", "done (or nothing to do: the chain already holds the checkpoint)"),
    row("2", "bad flags, configuration, signer (none, invalid, or not a Writer/Admin of the bucket) or journal"),
    row("3", "no consensus: too few providers agree, or too few valid signatures"),
    row(
      "4",
      "refused before sending (conflicts with the chain's snapshot, range regression, ...) or the transaction failed"
    ),
    row("5", "the chain could not be reached or read"),
    row("6", "submit interrupted after sending: outcome not known yet (rerun with the same journal)"),
    row(
      "7",
      "a spend guardrail refused it: fee above maxFeePerCheckpoint, budget exhausted, balance below minimumBalance"
    ),
    row("130", "interrupted before anything was sent"),
    row("1", "anything else (a bug: please report it)")
  ]),
  HelpDoc.h2("ENVIRONMENT"),
  HelpDoc.blocks([
    row("CHECKPOINTER_CHAIN_ENDPOINTS", "comma-separated node URLs (default ws://127.0.0.1:9944)"),
    row("CHECKPOINTER_SIGNER_SURI", "the signer's secret URI (never printed)"),
    row(
      "CHECKPOINTER_JOURNAL_DIR",
      "the journal directory (else $XDG_STATE_HOME/checkpointer, else ~/.local/state/checkpointer)"
    ),
    row(
      "CHECKPOINTER_<SETTING>",
      "any setting, e.g. CHECKPOINTER_ROUND_DEADLINE=\"90 seconds\" (list: checkpointer config check)"
    ),
    row("NO_COLOR", "no colour (colour is used on a terminal only)")
  ]),
  HelpDoc.p(
    "Precedence: flags (--set key=value), then the config file (--config), then the environment, then defaults."
  )
])

const configCheckCommand = Command.make(
  "check",
  {
    file: Args.file({ name: "file", exists: "yes" }).pipe(
      Args.withDescription("the config file (or --config FILE)"),
      Args.optional
    ),
    config,
    chain,
    suri,
    journal,
    noJournal,
    buckets,
    intervalBlocks,
    intervalSeconds,
    threshold,
    set,
    json
  },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      if (Option.isSome(o.file) && Option.isSome(o.config)) {
        return yield* new BadConfig({ message: "config: give the file as an argument or with --config, not both" })
      }
      const settings = yield* resolveSettings(
        flags({ ...o, config: Option.orElse(o.file, () => o.config), buckets: yield* parseBuckets(o.buckets) })
      )
      const signer = yield* signerAddress(settings)
      const journalText = settings.journal._tag === "Off"
        ? "off"
        : `${settings.journal.directory} (in a subdirectory named for the chain's genesis hash)`
      const general = [
        ["chain", settings.chain.join(", ")],
        ["signer", Option.match(signer, { onNone: () => "none", onSome: (s) => `${s.address} (from ${s.source})` })],
        ["buckets", settings.buckets.length === 0 ? "none" : settings.buckets.join(", ")],
        ["journal", journalText],
        ["interval", describeInterval(settings)],
        ["local providers", settings.allowLocalProviders ? "allowed" : "refused"]
      ] as const
      yield* emit(
        out,
        () =>
          [
            bold(out, "effective configuration") + " (flags over the config file over the environment)",
            table(general.map(([k, v]) => [k, v])).replace(/^/gm, "  "),
            "",
            bold(out, "settings"),
            table([
              [bold(out, "setting"), bold(out, "value"), bold(out, "from")],
              ...settings.tuned.effective.map((
                e
              ) => [e.key, e.value, e.source === "default" ? dim(out, e.source) : e.source])
            ]).replace(/^/gm, "  "),
            "",
            green(out, "valid")
          ].join("\n"),
        {
          type: "Config",
          valid: true,
          chain: settings.chain,
          signer: Option.match(signer, {
            onNone: () => null,
            onSome: (s) => ({ address: s.address, source: s.source })
          }),
          buckets: settings.buckets,
          journal: settings.journal._tag === "Off" ? null : settings.journal.directory,
          interval: settings.interval,
          allowLocalProviders: settings.allowLocalProviders,
          settings: settings.tuned.effective
        }
      )
    })
).pipe(
  Command.withDescription(
    "print the effective configuration (secrets redacted) and every setting with its source; exit 2 if invalid"
  )
)

const configCommand = Command.make("config").pipe(
  Command.withDescription("inspect the configuration"),
  Command.withSubcommands([configCheckCommand])
)

const root = Command.make("checkpointer").pipe(
  Command.withDescription(ROOT_DESCRIPTION),
  Command.withSubcommands([devnetCommand, runCommand, submitCommand, collectCommand, statusCommand, configCommand])
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
 * Exit code of a checkpoint refused by a spend guardrail (fee above the cap, budget exhausted, balance
 * below the minimum): nothing was signed or paid.
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_SPEND_LIMIT = 7

/**
 * Exit code of a command stopped by a signal before it sent anything (128 + SIGINT's number).
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_INTERRUPTED = 130

/**
 * The errors of the command line itself (an unknown subcommand or flag, a missing or bad value), which
 * `@effect/cli` has already explained on stderr. All exit with 2, but a request for help.
 *
 * @since 0.1.0
 * @category entry
 */
export const CLI_ERRORS: ReadonlySet<string> = new Set([
  "CommandMismatch",
  "CorrectedFlag",
  "HelpRequested",
  "InvalidArgument",
  "InvalidValue",
  "MissingFlag",
  "MissingValue",
  "MissingSubcommand",
  "MultipleValuesDetected",
  "NoBuiltInMatch",
  "UnclusteredFlag"
])

/**
 * The process exit code of a failure.
 *
 * @since 0.1.0
 * @category entry
 */
export const exitCode = (error: { readonly _tag: string; readonly reason?: unknown }): number => {
  if (CLI_ERRORS.has(error._tag)) return error._tag === "HelpRequested" ? 0 : 2
  switch (error._tag) {
    case "BadConfig":
    case "SignerCannotSubmit":
    case "BucketNotFound":
    case "JournalFailed":
      return 2
    case "SpendLimit":
      return EXIT_SPEND_LIMIT
    case "SubmissionRefused":
      // Nothing was sent: a signer that cannot submit is configuration; too few signatures is consensus;
      // a spend guardrail has its own code.
      return error.reason === "NoSigner" || error.reason === "NotBucketWriter"
        ? 2
        : error.reason === "NoConsensus" || error.reason === "InsufficientSignatures"
        ? 3
        : error.reason === "FeeAboveCap" || error.reason === "BudgetExhausted" || error.reason === "BalanceBelowMinimum"
        ? EXIT_SPEND_LIMIT
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
      return 1
  }
}

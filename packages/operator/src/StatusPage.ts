/**
 * The live status page's data: one `Status` document (served as `/status.json`, encoded with its schema)
 * with every bucket — its last checkpoint, when it is next due, its last round's decision record (each
 * provider's outcome, the conflicts and the resolution) and why that round did or did not pay — provider
 * health (status, latency percentiles, breaker, the last health probe),
 * readiness, and the recent events. The page (`/`, with `/status.css` and `/status.js`) polls it; see
 * `OperatorRouter`.
 *
 * Provider-supplied text (error details, reasons) is carried as plain strings: the page shows it as text.
 *
 * @since 0.1.0
 */
import { Domain, ProviderHealth } from "@checkpointer/core"
import type { ChainClient, CheckpointLoop, Consensus, ReceiptJournal } from "@checkpointer/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ChainConnection } from "./ChainConnection.js"
import * as Readiness from "./Readiness.js"
import { FeedEvent, type StatusFeed as StatusFeedTag } from "./StatusFeed.js"
import * as StatusFeed from "./StatusFeed.js"

const Millis = Schema.Number
const NullableMillis = Schema.NullOr(Millis)
// Addresses and hashes as the text they already are: the values come from decoded, trusted data, and
// checking every SS58 checksum and hash again at each poll of a thousand buckets costs more than the rest.
const Address = Schema.String.annotations({ description: "an SS58 account address" })
const Hash = Schema.String.annotations({ description: "a 32-byte hash, 0x-prefixed hex" })
/** A commitment on the page. */
const CommitmentView = Schema.Struct({ mmrRoot: Hash, startSeq: Domain.U64, leafCount: Domain.U64 })

/**
 * A checkpoint on chain, as its receipt tells it.
 *
 * @since 0.1.0
 * @category models
 */
export class Checkpoint extends Schema.Class<Checkpoint>("StatusCheckpoint")({
  blockNumber: Domain.BlockNumber,
  blockHash: Hash,
  extrinsicHash: Hash,
  finalizedAtMillis: Millis,
  commitment: CommitmentView,
  signers: Schema.Array(Address),
  /** In planck; null when the chain did not report it. */
  fee: Schema.NullOr(Schema.BigInt)
}) {}

/**
 * What one provider did in a round.
 *
 * @since 0.1.0
 * @category models
 */
export class Outcome extends Schema.Class<Outcome>("StatusOutcome")({
  provider: Address,
  outcome: Schema.Literal("Answered", "BadSignature", "InvalidResponse", "Unreachable", "NotAwaited"),
  attempts: Schema.Number,
  latencyMillis: NullableMillis,
  /**
   * The leaf count of the commitment it signed, when it answered (its root is the majority's unless a
   * conflict says otherwise: the page's data stays small with many buckets).
   */
  leafCount: Schema.NullOr(Domain.U64),
  /** Why not answered (`Request`, `Deadline`, `ThresholdMet`, `Malformed`, ...). */
  reason: Schema.NullOr(Schema.String),
  detail: Schema.NullOr(Schema.String)
}) {}

/**
 * Why a provider is not in the majority.
 *
 * @since 0.1.0
 * @category models
 */
export class Conflict extends Schema.Class<Conflict>("StatusConflict")({
  provider: Address,
  conflict: Schema.Literal(
    "SyncDelay",
    "Ahead",
    "DataDivergence",
    "InvalidSignature",
    "InvalidResponse",
    "Unreachable"
  ),
  detail: Schema.String
}) {}

/**
 * A round's decision record, as journaled.
 *
 * @since 0.1.0
 * @category models
 */
export class Round extends Schema.Class<Round>("StatusRound")({
  atMillis: Millis,
  /** What the decision allowed: `Submit`, or `NotSubmitted` (and `reason` why). */
  action: Schema.String,
  reason: Schema.String,
  totalProviders: Schema.Number,
  required: Schema.Number,
  agreeing: Schema.Number,
  thresholdPercent: Schema.Number,
  majority: Schema.NullOr(CommitmentView),
  outcomes: Schema.Array(Outcome),
  conflicts: Schema.Array(Conflict),
  resolution: Schema.Literal("ProceedWithMajority", "WaitForSync", "ConsiderChallenge", "ManualIntervention"),
  resolutionDetail: Schema.String
}) {}

/**
 * Whether the bucket's last round paid for a checkpoint, and why (not).
 *
 * @since 0.1.0
 * @category models
 */
export class Verdict extends Schema.Class<Verdict>("StatusVerdict")({
  /** The round's result (`Submitted`, `AlreadyCheckpointed`, `InsufficientConsensus`, ...); null before any. */
  result: Schema.NullOr(Schema.String),
  paid: Schema.Boolean,
  text: Schema.String
}) {}

/**
 * A bucket on the page.
 *
 * @since 0.1.0
 * @category models
 */
export class Bucket extends Schema.Class<Bucket>("StatusBucket")({
  bucket: Domain.BucketId,
  dirty: Schema.Boolean,
  paused: Schema.Boolean,
  inFlight: Schema.Boolean,
  overdue: Schema.Boolean,
  failureStreak: Schema.Number,
  /** Its last successful checkpoint, or when the loop took it up. */
  sinceMillis: Millis,
  lastAttemptMillis: NullableMillis,
  lastSuccessMillis: NullableMillis,
  nextDueBlock: Schema.NullOr(Schema.Number),
  nextDueMillis: NullableMillis,
  retryNotBeforeMillis: NullableMillis,
  lastCheckpoint: Schema.NullOr(Checkpoint),
  lastRound: Schema.NullOr(Round),
  verdict: Verdict
}) {}

/**
 * A provider's last health probe (`GET /health`, run by the loop): when, whether it passed, how long the
 * provider took (null when it did not answer), and why it failed.
 *
 * @since 0.1.0
 * @category models
 */
export class Probe extends Schema.Class<Probe>("StatusProbe")({
  atMillis: Millis,
  ok: Schema.Boolean,
  latencyMillis: NullableMillis,
  detail: Schema.NullOr(Schema.String)
}) {}

/**
 * A provider's health, and where it is asked: `endpoint`, the URL discovery gave for it (from its chain
 * record, or a manual endpoint merged in), as the loop's health probes last used it; null until the
 * provider has been probed.
 *
 * @since 0.1.0
 * @category models
 */
export class Provider extends Schema.Class<Provider>("StatusProvider")({
  provider: Address,
  endpoint: Schema.NullOr(Schema.String),
  status: Schema.Literal("Unknown", "Healthy", "Degraded", "Unreachable"),
  breaker: Schema.Literal("Closed", "Open", "HalfOpen"),
  requests: Schema.Number,
  successes: Schema.Number,
  failures: Schema.Number,
  consecutiveFailures: Schema.Number,
  successRate: Schema.Number,
  latencyP50Millis: NullableMillis,
  latencyP95Millis: NullableMillis,
  latencyEwmaMillis: NullableMillis,
  lastSuccessMillis: NullableMillis,
  lastFailureMillis: NullableMillis,
  lastError: Schema.NullOr(Schema.String),
  lastProbe: Schema.NullOr(Probe)
}) {}

/**
 * The whole page's data.
 *
 * @since 0.1.0
 * @category models
 */
export class Status extends Schema.Class<Status>("Status")({
  /** The server's clock when the document was made: ages on the page count from it. */
  generatedAtMillis: Millis,
  readiness: Readiness.Report,
  running: Schema.Boolean,
  pausedBecause: Schema.NullOr(Schema.String),
  buckets: Schema.Array(Bucket),
  providers: Schema.Array(Provider),
  events: Schema.Array(FeedEvent),
  /** The chain's token, in which the page shows fees (in planck when null). */
  units: Schema.NullOr(Schema.Struct({ decimals: Schema.Int, symbol: Schema.String }))
}) {}

const nullable = <A>(option: Option.Option<A>): A | null => Option.getOrNull(option)

/**
 * A view made once per source value: a bucket's journaled round and receipt stay the same objects until the
 * bucket has another round, so most buckets' views are reused from one poll to the next.
 */
const memo = <K extends object, V>(make: (key: K) => V): (key: K) => V => {
  const made = new WeakMap<K, V>()
  return (key) => {
    const known = made.get(key)
    if (known !== undefined) return known
    const value = make(key)
    made.set(key, value)
    return value
  }
}

const checkpointOf = memo((receipt: ChainClient.CheckpointReceipt): Checkpoint =>
  new Checkpoint({
    blockNumber: receipt.blockNumber,
    blockHash: receipt.blockHash,
    extrinsicHash: receipt.extrinsicHash,
    finalizedAtMillis: receipt.finalizedAtMillis,
    commitment: receipt.commitment,
    signers: receipt.signers,
    fee: receipt.fee ?? null
  }, true)
)

const outcomeOf = (outcome: Consensus.ProviderOutcome): Outcome => {
  const base = { provider: outcome.provider, outcome: outcome._tag, attempts: outcome.attempts }
  switch (outcome._tag) {
    case "Answered":
      return new Outcome({
        ...base,
        latencyMillis: outcome.latencyMillis,
        leafCount: outcome.commitment.leafCount,
        reason: null,
        detail: null
      }, true)
    case "BadSignature":
      return new Outcome({
        ...base,
        latencyMillis: outcome.latencyMillis,
        leafCount: outcome.commitment.leafCount,
        reason: outcome.reason,
        detail: outcome.detail
      }, true)
    case "InvalidResponse":
      return new Outcome({
        ...base,
        latencyMillis: outcome.latencyMillis,
        leafCount: null,
        reason: outcome.reason,
        detail: outcome.detail
      }, true)
    case "Unreachable":
      return new Outcome({
        ...base,
        latencyMillis: null,
        leafCount: null,
        reason: outcome.reason,
        detail: outcome.detail
      }, true)
    case "NotAwaited":
      return new Outcome({ ...base, latencyMillis: null, leafCount: null, reason: outcome.reason, detail: null }, true)
  }
}

const conflictOf = (conflict: Consensus.Conflict): Conflict => {
  const detail = (() => {
    switch (conflict._tag) {
      case "SyncDelay":
        return `behind by ${conflict.behindBy} leaves (at ${conflict.commitment.leafCount})`
      case "Ahead":
        return `ahead by ${conflict.aheadBy} leaves (at ${conflict.commitment.leafCount})`
      case "DataDivergence":
        return `another root at ${conflict.commitment.leafCount} leaves: ${conflict.commitment.mmrRoot}`
      case "InvalidResponse":
        return `${conflict.reason}: ${conflict.detail}`
      case "InvalidSignature":
      case "Unreachable":
        return conflict.detail
    }
  })()
  return new Conflict({ provider: conflict.provider, conflict: conflict._tag, detail }, true)
}

const resolutionDetail = (resolution: Consensus.Resolution): string => {
  switch (resolution._tag) {
    case "ProceedWithMajority":
      return "enough providers agree"
    case "WaitForSync":
      return `${resolution.providers.length} provider(s) behind by up to ${resolution.maxBehindBy} leaves: wait and ask again`
    case "ConsiderChallenge":
      return `provider ${resolution.provider} signed another root at the same leaf count`
    case "ManualIntervention":
      return resolution.reason
  }
}

const roundOf = memo((record: ReceiptJournal.RoundRecord): Round => {
  const { decision } = record
  return new Round({
    atMillis: record.atMillis,
    action: record.action,
    reason: record.reason,
    totalProviders: decision.totalProviders,
    required: decision.required,
    agreeing: decision.agreeing,
    thresholdPercent: decision.thresholdPercent,
    majority: nullable(Option.map(decision.majority, (m) => m.commitment)),
    outcomes: decision.outcomes.map(outcomeOf),
    conflicts: decision.conflicts.map(conflictOf),
    resolution: decision.resolution._tag,
    resolutionDetail: resolutionDetail(decision.resolution)
  }, true)
})

/**
 * Why the bucket's last round paid, or did not.
 *
 * @since 0.1.0
 * @category functions
 */
export const verdictOf = (
  status: CheckpointLoop.BucketLoopStatus,
  told: StatusFeed.BucketOutcome | undefined,
  round: Option.Option<Round>,
  units?: StatusFeed.Units | undefined
): Verdict => {
  const result = nullable(status.lastResult)
  if (result === null) {
    return new Verdict(
      { result, paid: false, text: status.inFlight ? "first round in progress" : "no round yet" },
      true
    )
  }
  if (result === "Submitted") {
    const receipt = told === undefined ? Option.none() : told.receipt
    if (told?.kind === "Settled") {
      return new Verdict({
        result,
        paid: false,
        text: "sent earlier and found on chain now: nothing paid by this round"
      }, true)
    }
    const fee = Option.flatMap(receipt, (r) => Option.fromNullable(r.fee))
    return new Verdict({
      result,
      paid: true,
      text: Option.match(receipt, {
        onNone: () => "paid for a checkpoint",
        onSome: (r) =>
          `paid ${
            Option.match(fee, { onNone: () => "a fee", onSome: (amount) => StatusFeed.formatAmount(amount, units) })
          } for block #${r.blockNumber}`
      })
    }, true)
  }
  if (result === "AlreadyCheckpointed") {
    return new Verdict({ result, paid: false, text: "nothing paid: the chain already holds this commitment" }, true)
  }
  const why = told?.kind === "Failed" ? Option.getOrElse(told.reason, () => result) : result
  const decided = Option.match(round, {
    onNone: () => "",
    onSome: (r) => (r.action === "Submit" ? "" : ` (${r.agreeing} agreed, ${r.required} required; ${r.resolution})`)
  })
  return new Verdict({
    result,
    paid: false,
    text: `nothing paid: ${why}${decided}${told?.kind === "Failed" && told.willRetry ? "; will retry" : ""}`
  }, true)
}

const probeOf = (probe: ProviderHealth.LastProbe | undefined): Probe | null =>
  probe === undefined ? null : new Probe({
    atMillis: probe.at,
    ok: probe.ok,
    latencyMillis: probe.latencyMillis ?? null,
    detail: probe.error ?? null
  }, true)

const providerOf = (snapshot: ProviderHealth.ProviderHealthSnapshot): Provider =>
  new Provider({
    provider: snapshot.provider,
    endpoint: snapshot.lastProbe?.endpoint ?? null,
    status: snapshot.status,
    breaker: snapshot.breaker,
    requests: snapshot.requests,
    successes: snapshot.successes,
    failures: snapshot.failures,
    consecutiveFailures: snapshot.consecutiveFailures,
    successRate: snapshot.successRate,
    latencyP50Millis: nullable(snapshot.latencyP50Millis),
    latencyP95Millis: nullable(snapshot.latencyP95Millis),
    latencyEwmaMillis: nullable(snapshot.latencyEwmaMillis),
    lastSuccessMillis: nullable(snapshot.lastSuccessMillis),
    lastFailureMillis: nullable(snapshot.lastFailureMillis),
    lastError: nullable(snapshot.lastError),
    lastProbe: probeOf(snapshot.lastProbe)
  }, true)

// Problems first: a provider that needs a look is at the top of the table.
const severity: Record<Provider["status"], number> = { Unreachable: 0, Degraded: 1, Unknown: 2, Healthy: 3 }

/**
 * What `status` reads.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements =
  | CheckpointLoop.CheckpointLoop
  | ProviderHealth.ProviderHealth
  | ChainConnection
  | StatusFeedTag

/**
 * The status now.
 *
 * @since 0.1.0
 * @category accessors
 */
export const status: Effect.Effect<Status, never, Requirements> = Effect.gen(function*() {
  const feed = yield* StatusFeed.StatusFeed
  const health = yield* ProviderHealth.ProviderHealth
  const facts = yield* Readiness.facts
  const now = yield* Clock.currentTimeMillis
  const told = yield* feed.outcomes
  const buckets = yield* Effect.forEach(
    [...facts.buckets].sort((a, b) => (a.bucketId < b.bucketId ? -1 : a.bucketId > b.bucketId ? 1 : 0)),
    (b) =>
      Effect.gen(function*() {
        const journaled = yield* feed.journaled(
          b.bucketId,
          `${Option.getOrElse(b.lastAttemptMillis, () => -1)}:${b.inFlight}:${Option.getOrElse(b.lastResult, () => "")}`
        )
        const round = Option.map(journaled.round, roundOf)
        const outcome = told.get(b.bucketId)
        // The newest receipt known: the journal's, or the one an event brought (a journal write may fail).
        const fromEvent = outcome === undefined ? Option.none() : outcome.receipt
        const receipt = Option.isNone(fromEvent)
          ? journaled.receipt
          : Option.isNone(journaled.receipt) || fromEvent.value.blockNumber >= journaled.receipt.value.blockNumber
          ? fromEvent
          : journaled.receipt
        return new Bucket({
          bucket: b.bucketId,
          dirty: b.dirty,
          paused: b.paused,
          inFlight: b.inFlight,
          overdue: b.overdue,
          failureStreak: b.failureStreak,
          sinceMillis: b.sinceMillis,
          lastAttemptMillis: nullable(b.lastAttemptMillis),
          lastSuccessMillis: nullable(b.lastSuccessMillis),
          nextDueBlock: nullable(b.nextDueBlock),
          nextDueMillis: nullable(b.nextDueMillis),
          retryNotBeforeMillis: nullable(b.retryNotBeforeMillis),
          lastCheckpoint: nullable(Option.map(receipt, checkpointOf)),
          lastRound: nullable(round),
          verdict: verdictOf(b, outcome, round, feed.units)
        }, true)
      })
  )
  const providers = (yield* health.all)
    .map(providerOf)
    .sort((a, b) => severity[a.status] - severity[b.status] || (a.provider < b.provider ? -1 : 1))
  return new Status({
    generatedAtMillis: now,
    readiness: Readiness.assess(facts),
    running: facts.running,
    pausedBecause: nullable(facts.pausedBecause),
    buckets,
    providers,
    events: yield* feed.recent,
    units: feed.units ?? null
  }, true)
})

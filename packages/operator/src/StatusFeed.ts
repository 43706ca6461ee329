/**
 * What the status page shows that no other service keeps: the recent events (a bounded ring, fed by a
 * subscription to `CheckpointEvents` taken when the layer is built), each bucket's last outcome as the
 * events told it (paid, settled, or failed and why), and each bucket's newest journaled round and receipt
 * (`ReceiptJournal`), read again only when the loop has run a round for the bucket since the last read, so
 * that a page polled every few seconds over many buckets does not read every journal file each time.
 *
 * @since 0.1.0
 */
import type { ChainClient } from "@checkpointer/core"
import { Amount, CheckpointEvents, Domain, ReceiptJournal, SpendGuard } from "@checkpointer/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * The kinds of event, as `CheckpointEvents` names them.
 *
 * @since 0.1.0
 * @category models
 */
export const EventType = Schema.Literal(
  "CheckpointSubmitted",
  "CheckpointFailed",
  "ProviderConflict",
  "LoopPaused",
  "LoopResumed",
  "ProviderStatusChanged",
  "ChallengeSubmitted",
  "CheckpointOverdue"
)

/**
 * One event as the page lists it: when, what, the bucket and provider it concerns (if any), and a line of
 * plain text (it may hold a provider's or the chain's words: a reader shows it as text, never as markup).
 *
 * @since 0.1.0
 * @category models
 */
export class FeedEvent extends Schema.Class<FeedEvent>("FeedEvent")({
  /** Increases by one per event seen, from 1: a reader tells new events from those it has shown. */
  seq: Schema.Number,
  atMillis: Schema.Number,
  type: EventType,
  bucket: Schema.NullOr(Domain.BucketId),
  provider: Schema.NullOr(Schema.String),
  text: Schema.String
}) {}

/**
 * A bucket's last outcome as the events told it: a checkpoint paid for (`paid`), or found on chain from an
 * earlier submission (`settled`), or a failure and why.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketOutcome {
  readonly atMillis: number
  readonly kind: "Paid" | "Settled" | "Failed"
  readonly receipt: Option.Option<ChainClient.CheckpointReceipt>
  readonly reason: Option.Option<string>
  readonly willRetry: boolean
}

/**
 * A bucket's newest journaled round and receipt.
 *
 * @since 0.1.0
 * @category models
 */
export interface Journaled {
  readonly round: Option.Option<ReceiptJournal.RoundRecord>
  readonly receipt: Option.Option<ChainClient.CheckpointReceipt>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StatusFeedService {
  /** The chain's token fees are shown in, if the feed was given it. */
  readonly units: Units | undefined
  /** The recent events, oldest first (at most `capacity`). */
  readonly recent: Effect.Effect<ReadonlyArray<FeedEvent>>
  /** Each bucket's last outcome as the events told it, since the feed started. */
  readonly outcomes: Effect.Effect<ReadonlyMap<Domain.BucketId, BucketOutcome>>
  /**
   * The bucket's newest journaled round and receipt. `freshness` names the loop's state of the bucket (its
   * last attempt, whether a round is in flight): the journal is read again only when it has changed, or an
   * event about the bucket came since. A journal that cannot be read reads as empty, and is tried again.
   */
  readonly journaled: (bucketId: Domain.BucketId, freshness: string) => Effect.Effect<Journaled>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Events kept (default 200). */
  readonly capacity?: number | undefined
  /** The chain's token (its `tokenDecimals` and `tokenSymbol`): fees are shown in it; in planck without. */
  readonly units?: Units | undefined
}

/**
 * A chain's token: an amount in planck is shown as `planck / 10^decimals` of `symbol` (core's `Amount.Units`).
 *
 * @since 0.1.0
 * @category models
 */
export type Units = Amount.Units

/**
 * Events kept by default.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CAPACITY = 200

/**
 * @since 0.1.0
 * @category tags
 */
export class StatusFeed extends Context.Tag("@checkpointer/operator/StatusFeed")<StatusFeed, StatusFeedService>() {
  /** Subscribes to the event bus for the layer's lifetime. */
  static readonly layer = (
    options: Options = {}
  ): Layer.Layer<StatusFeed, never, CheckpointEvents.CheckpointEvents | ReceiptJournal.ReceiptJournal> =>
    Layer.scoped(StatusFeed, make(options))
}

const short = (text: string) => (text.length > 14 ? `${text.slice(0, 6)}…${text.slice(-4)}` : text)

/**
 * An amount in planck with its thousands grouped (`1,553,000,000 planck`): core's `Amount.planck`.
 *
 * @since 0.1.0
 * @category functions
 */
export const planck = Amount.planck

/**
 * An amount in the chain's token (`0.001456 UNIT`), exact (no rounding); in planck without units: core's
 * `Amount.format`.
 *
 * @since 0.1.0
 * @category functions
 */
export const formatAmount = Amount.format
/** A spend guardrail's amounts in the chain's token (the core's reason gives them in planck). */
const spendText = (spend: SpendGuard.SpendRefusal | undefined, units: Units | undefined) =>
  spend === undefined ? "" : ` (${SpendGuard.describe(spend, { format: (amount) => Amount.format(amount, units) })})`

/**
 * The line of text for an event.
 *
 * @since 0.1.0
 * @category functions
 */
export const describe = (event: CheckpointEvents.CheckpointEvent, units?: Units | undefined): string =>
  CheckpointEvents.CheckpointEvent.$match(event, {
    CheckpointSubmitted: ({ bucketId, receipt, settled }) =>
      `bucket ${bucketId}: checkpoint in block #${receipt.blockNumber}, ${receipt.commitment.leafCount} leaves, root ${
        short(receipt.commitment.mmrRoot)
      }, ${receipt.signers.length} signers` +
      (settled ? " (sent earlier, found on chain: nothing paid now)" : receipt.fee === undefined
        ? ""
        : `, fee ${formatAmount(receipt.fee, units)}`),
    CheckpointFailed: ({ bucketId, reason, spend, willRetry }) =>
      `bucket ${bucketId}: not checkpointed: ${reason}${spendText(spend, units)}${willRetry ? " (will retry)" : ""}`,
    ProviderConflict: ({ bucketId, disagreeing, majorityRoot }) =>
      `bucket ${bucketId}: providers differ from the majority root ${short(majorityRoot)}: ${
        disagreeing.map((d) => `${short(d.provider)} ${d.conflict}`).join(", ")
      }`,
    LoopPaused: ({ bucketId, reason, spend }) =>
      `${bucketId === undefined ? "loop" : `bucket ${bucketId}`} paused: ${
        spend === undefined ? reason : `${spend._tag}${spendText(spend, units)}`
      }`,
    LoopResumed: ({ bucketId }) => (bucketId === undefined ? "loop resumed" : `bucket ${bucketId} resumed`),
    ProviderStatusChanged: ({ from, provider, to }) => `provider ${short(provider)}: ${from} → ${to}`,
    ChallengeSubmitted: ({ challenge, deadline }) =>
      `bucket ${challenge.bucketId}: provider ${short(challenge.provider)} challenged (answer by block #${deadline})`,
    CheckpointOverdue: ({ bucketId, sinceMillis }) =>
      `bucket ${bucketId}: overdue, no checkpoint since ${new Date(sinceMillis).toISOString()}`
  })

const bucketOf = (event: CheckpointEvents.CheckpointEvent): Domain.BucketId | null =>
  CheckpointEvents.CheckpointEvent.$match(event, {
    CheckpointSubmitted: (e) => e.bucketId,
    CheckpointFailed: (e) => e.bucketId,
    ProviderConflict: (e) => e.bucketId,
    LoopPaused: (e) => e.bucketId ?? null,
    LoopResumed: (e) => e.bucketId ?? null,
    ProviderStatusChanged: () => null,
    ChallengeSubmitted: (e) => e.challenge.bucketId,
    CheckpointOverdue: (e) => e.bucketId
  })

/** The provider an event concerns; a conflict with several providers names none (its text names each). */
const providerOf = (event: CheckpointEvents.CheckpointEvent): string | null =>
  event._tag === "ProviderStatusChanged"
    ? event.provider
    : event._tag === "ChallengeSubmitted"
    ? event.challenge.provider
    : event._tag === "ProviderConflict" && event.disagreeing.length === 1
    ? event.disagreeing[0]!.provider
    : null

interface Cached {
  readonly freshness: string
  readonly journaled: Journaled
}

/**
 * Builds the feed and subscribes it to the bus for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  StatusFeedService,
  never,
  CheckpointEvents.CheckpointEvents | ReceiptJournal.ReceiptJournal | Scope.Scope
> =>
  Effect.gen(function*() {
    const capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_CAPACITY))
    const bus = yield* CheckpointEvents.CheckpointEvents
    const journal = yield* ReceiptJournal.ReceiptJournal
    const ring = yield* Ref.make<{ readonly seq: number; readonly events: ReadonlyArray<FeedEvent> }>({
      seq: 0,
      events: []
    })
    // Maps changed in place inside Ref.update (synchronous, so atomic between fibers), as the loop's are: a
    // copy per event would cost O(buckets) each time.
    const outcomes = yield* Ref.make(new Map<Domain.BucketId, BucketOutcome>())
    const cache = yield* Ref.make(new Map<Domain.BucketId, Cached>())

    const record = (event: CheckpointEvents.CheckpointEvent) =>
      Effect.gen(function*() {
        const atMillis = yield* Clock.currentTimeMillis
        const bucket = bucketOf(event)
        yield* Ref.update(ring, ({ events, seq }) => {
          const next = new FeedEvent({
            seq: seq + 1,
            atMillis,
            type: event._tag,
            bucket,
            provider: providerOf(event),
            text: describe(event, options.units)
          }, true)
          return { seq: seq + 1, events: [...events.slice(Math.max(0, events.length + 1 - capacity)), next] }
        })
        if (event._tag === "CheckpointSubmitted") {
          yield* Ref.update(outcomes, (m) =>
            m.set(event.bucketId, {
              atMillis,
              kind: event.settled ? "Settled" : "Paid",
              receipt: Option.some(event.receipt),
              reason: Option.none(),
              willRetry: false
            }))
        } else if (event._tag === "CheckpointFailed") {
          yield* Ref.update(outcomes, (m) =>
            m.set(event.bucketId, {
              atMillis,
              kind: "Failed",
              receipt: Option.none(),
              reason: Option.some(event.reason),
              willRetry: event.willRetry
            }))
        }
        // What the journal holds for the bucket may have changed with it.
        if (bucket !== null) {
          yield* Ref.update(cache, (m) => {
            m.delete(bucket)
            return m
          })
        }
      })

    const events = yield* bus.subscribe
    yield* Effect.forkScoped(Stream.runForEach(events, record))

    const journaled = (bucketId: Domain.BucketId, freshness: string) =>
      Effect.gen(function*() {
        const cached = (yield* Ref.get(cache)).get(bucketId)
        if (cached !== undefined && cached.freshness === freshness) return cached.journaled
        const read = yield* Effect.either(journal.read(bucketId))
        if (read._tag === "Left") {
          yield* Effect.logDebug(
            `status page: the journal of bucket ${bucketId} could not be read: ${read.left.message}`
          )
          return { round: Option.none(), receipt: Option.none() }
        }
        const found: Journaled = Option.match(read.right, {
          onNone: () => ({ round: Option.none(), receipt: Option.none() }),
          onSome: (j) => ({
            round: Option.fromNullable(j.rounds.at(-1)),
            receipt: Option.fromNullable(j.receipts.at(-1))
          })
        })
        yield* Ref.update(cache, (m) => m.set(bucketId, { freshness, journaled: found }))
        return found
      })

    return StatusFeed.of({
      units: options.units,
      recent: Effect.map(Ref.get(ring), (r) => r.events),
      outcomes: Ref.get(outcomes),
      journaled
    })
  })

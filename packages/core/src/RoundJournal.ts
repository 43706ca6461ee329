/**
 * The round's record keeper: the one service that writes a bucket's `ReceiptJournal` during a round, and
 * the one place that says which writes must succeed before going on and which may fail with a warning.
 *
 * - `recordRound`: the decision and what was done with it (a failure is logged: the round goes on);
 * - `recordPrepared`: the signed extrinsic, before it is broadcast — this one must succeed, since nothing
 *   is ever broadcast unjournaled (`JournalFailed { Unavailable }`);
 * - `settle` / `recordReceipt`: what became of an attempt (a failure is logged: the next start finds
 *   the outcome on chain again);
 * - `unresolved`, `reusable`, `feesPaidSince`: the reads recovery and the submitter need
 *   (`JournalFailed { Unreadable }`);
 * - `exclusive`: the bucket's lock, held by one fiber of this process at a time and shared with every
 *   process using the same journal (`JournalFailed { Locked }`): recovery settles and the submitter pays
 *   under it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { CheckpointReceipt, PreparedCheckpoint } from "./ChainClient.js"
import { JournalFailed } from "./CheckpointResult.js"
import * as CommitmentRelation from "./CommitmentRelation.js"
import type { Decision } from "./Consensus.js"
import type { BucketId, H256 } from "./Domain.js"
import * as KeyedLock from "./KeyedLock.js"
import * as Journal from "./ReceiptJournal.js"

/**
 * A fee a checkpoint of the bucket paid, as its receipt reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PaidFee {
  readonly extrinsicHash: H256
  readonly fee: bigint
  /** When it was finalized (the receipt's `finalizedAtMillis`). */
  readonly atMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RoundJournalService {
  /** Journals a round's decision record; a failure to do so is logged, never fatal. */
  readonly recordRound: (decision: Decision) => Effect.Effect<void>
  /** Journals a prepared extrinsic before it is broadcast; fails if it cannot. */
  readonly recordPrepared: (prepared: PreparedCheckpoint) => Effect.Effect<void, JournalFailed>
  /** Records what became of an attempt; a failure is logged (the chain still holds the outcome). */
  readonly settle: (
    prepared: PreparedCheckpoint,
    status: Journal.SubmissionAttempt["status"],
    detail: string
  ) => Effect.Effect<void>
  /**
   * Records a receipt and settles its attempt. A receipt of another extrinsic than `prepared` (signed
   * again because another sender took its nonce) also marks `prepared` as failed: it can never land.
   */
  readonly recordReceipt: (prepared: PreparedCheckpoint, receipt: CheckpointReceipt) => Effect.Effect<void>
  /** The attempts that may still be on chain or land, oldest first. */
  readonly unresolved: (bucketId: BucketId) => Effect.Effect<ReadonlyArray<PreparedCheckpoint>, JournalFailed>
  /**
   * The newest journaled round, if it met the threshold less than `maxAge` ago and its commitment was
   * never submitted: its verified signatures can be submitted without asking the providers again.
   */
  readonly reusable: (
    bucketId: BucketId,
    maxAge: Duration.Duration
  ) => Effect.Effect<Option.Option<Decision>, JournalFailed>
  /**
   * The fees paid by the bucket's journaled receipts finalized at or after `sinceMillis`, oldest first.
   * Receipts that report no fee are not among them; nor are those past the journal's retention.
   */
  readonly feesPaidSince: (
    bucketId: BucketId,
    sinceMillis: number
  ) => Effect.Effect<ReadonlyArray<PaidFee>, JournalFailed>
  /**
   * Runs `effect` holding the bucket's lock: one fiber of this process at a time, and shared with every
   * process using the same journal.
   */
  readonly exclusive: <A, E, R>(
    bucketId: BucketId,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | JournalFailed, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RoundJournal extends Context.Tag("@checkpointer/core/RoundJournal")<
  RoundJournal,
  RoundJournalService
>() {
  static readonly layer: Layer.Layer<RoundJournal, never, Journal.ReceiptJournal> = Layer.effect(
    RoundJournal,
    Effect.map(Journal.ReceiptJournal, make)
  )
}

function make(journal: Journal.ReceiptJournalService): RoundJournalService {
  const locks = KeyedLock.make<BucketId>()
  const change = (bucketId: BucketId, f: (journal: Journal.BucketJournal, atMillis: number) => Journal.BucketJournal) =>
    Effect.flatMap(Clock.currentTimeMillis, (atMillis) => journal.update(bucketId, (j) => f(j, atMillis)))

  /** A write after the fact: a failure is logged; the next start recovers the outcome from chain. */
  const afterTheFact = (
    bucketId: BucketId,
    f: (journal: Journal.BucketJournal, atMillis: number) => Journal.BucketJournal
  ) =>
    change(bucketId, f).pipe(
      Effect.asVoid,
      Effect.catchAll((error) =>
        Effect.logWarning(`journal write failed; the next start recovers it from chain: ${error.message}`)
      )
    )

  const readable = (bucketId: BucketId) =>
    journal.read(bucketId).pipe(
      Effect.mapError((error) => new JournalFailed({ bucketId, reason: "Unreadable", detail: error.message }))
    )

  return {
    recordRound: (decision) =>
      change(decision.bucketId, (j, atMillis) =>
        Journal.addRound(
          j,
          new Journal.RoundRecord({
            atMillis,
            decision,
            action: decision.thresholdMet ? "Submit" : "NotSubmitted",
            reason: decision.thresholdMet
              ? `${decision.agreeing} of ${decision.required} required signatures agree`
              : decision.resolution._tag
          }, true)
        )).pipe(
          Effect.asVoid,
          Effect.catchAll((error) => Effect.logWarning(`could not journal the round: ${error.message}`))
        ),
    recordPrepared: (prepared) => {
      const bucketId = prepared.submission.bucketId
      return change(bucketId, (j, atMillis) => Journal.addAttempt(j, prepared, atMillis)).pipe(
        Effect.asVoid,
        Effect.mapError((error) => new JournalFailed({ bucketId, reason: "Unavailable", detail: error.message }))
      )
    },
    settle: (prepared, status, detail) =>
      afterTheFact(
        prepared.submission.bucketId,
        (j, atMillis) => Journal.settleAttempt(j, prepared.extrinsicHash, status, detail, atMillis)
      ),
    recordReceipt: (prepared, receipt) =>
      afterTheFact(prepared.submission.bucketId, (j, atMillis) => {
        const recorded = Journal.addReceipt(j, receipt, atMillis)
        return receipt.extrinsicHash === prepared.extrinsicHash ? recorded : Journal.settleAttempt(
          recorded,
          prepared.extrinsicHash,
          "Failed",
          `signed again as ${receipt.extrinsicHash}: its nonce was taken by another sender`,
          atMillis
        )
      }),
    unresolved: (bucketId) =>
      Effect.map(readable(bucketId), (stored) =>
        Option.match(stored, {
          onNone: () => [],
          onSome: (j) => j.attempts.filter((a) => a.unresolved).map((a) => a.prepared)
        })),
    reusable: (bucketId, maxAge) =>
      Effect.gen(function*() {
        const stored = yield* readable(bucketId)
        if (Option.isNone(stored)) return Option.none<Decision>()
        const last = stored.value.rounds[stored.value.rounds.length - 1]
        if (last === undefined || last.action !== "Submit" || !last.decision.thresholdMet) {
          return Option.none<Decision>()
        }
        const now = yield* Clock.currentTimeMillis
        if (now - last.atMillis > Duration.toMillis(maxAge)) return Option.none<Decision>()
        const commitment = Option.getOrThrow(last.decision.majority).commitment
        const handled = stored.value.attempts.some((a) =>
          CommitmentRelation.same(a.prepared.submission.commitment, commitment)
        ) ||
          stored.value.receipts.some((r) => CommitmentRelation.same(r.commitment, commitment))
        return handled ? Option.none<Decision>() : Option.some(last.decision)
      }),
    feesPaidSince: (bucketId, sinceMillis) =>
      Effect.map(readable(bucketId), (stored) =>
        Option.match(stored, {
          onNone: () => [],
          onSome: (j) =>
            j.receipts.flatMap((r) =>
              r.fee !== undefined && r.finalizedAtMillis >= sinceMillis
                ? [{ extrinsicHash: r.extrinsicHash, fee: r.fee, atMillis: r.finalizedAtMillis }]
                : []
            )
        })),
    exclusive: (bucketId, effect) =>
      journal.withLock(bucketId, locks.withLock(bucketId, effect)).pipe(
        Effect.catchIf(
          (error): error is Journal.JournalError => error instanceof Journal.JournalError,
          (error) => Effect.fail(new JournalFailed({ bucketId, reason: "Locked", detail: error.message }))
        )
      )
  }
}

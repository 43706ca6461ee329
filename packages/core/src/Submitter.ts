/**
 * Turns a decided majority into a finalized checkpoint, paying at most once.
 *
 * Submissions for one bucket are serialised: two rounds racing for the same bucket submit once. Under
 * that lock, before paying, it reads the bucket again (finalized, and at the best block):
 *
 * - the chain already holds this commitment or a later one: success, nothing submitted;
 * - the snapshot holds a different commitment over the same range, or our range would go backwards
 *   (start moved, frozen start): refused, nothing paid;
 * - an earlier submission for the bucket ended without a known outcome (finality timed out, connection
 *   lost, the process died) and may still be included: nothing new is signed until it is provably dead —
 *   found on chain (its receipt is the result), or past the end of its mortal era and not on chain;
 * - no signer, or a signer that is not a bucket Writer or Admin: refused;
 * - every signature is verified again against the provider's current on-chain key (keys may have
 *   changed since discovery cached them) and only current primaries' signatures are kept; if fewer than
 *   `max(ceil(total · pct / 100), min_providers)` of the fresh bucket remain: refused;
 * - the spend guardrails, when any is set (`CheckpointConfig`; all off by default, and then no fee is
 *   even estimated): the chain quotes the fee of the extrinsic as it would be signed, and it is refused
 *   when that fee is above `maxFeePerCheckpoint` (`FeeAboveCap`), when the fees of the bucket, or of the
 *   signer across its buckets, in the last `budgetPeriod` plus this one would exceed `bucketBudget` or
 *   `signerBudget` (`BudgetExhausted`), or when the signer's free balance less this fee would fall below
 *   `minimumBalance` (`BalanceBelowMinimum`). The budgets count the fees of the bucket's journaled
 *   receipts and, in memory, of every submission this process made (see `internal/spending`); this
 *   submission's estimate is reserved against them before signing, so concurrent buckets cannot overrun
 *   the signer's budget together.
 *
 * Then it prepares the signed extrinsic, records it in the `ReceiptJournal` before broadcasting it, waits
 * for finality within `submissionTimeout`, checks that the `BucketCheckpointed` event is for this bucket
 * and commitment, and records the receipt.
 *
 * The journal is required, written through `RoundJournal` (`Checkpointer.inMemory()` keeps it in memory
 * only, by name). The whole submission holds the bucket's lock, shared by every process using the same journal, and starts by
 * settling what an earlier attempt left unresolved: an extrinsic found on chain has its receipt recorded;
 * one past its mortal era and not on chain is dead; one that may still land is broadcast again as the
 * same signed bytes (same nonce, so it can never be included twice) when the chain is still behind it,
 * and otherwise holds the bucket until it lands or expires.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type {
  BucketInfo,
  ChainReadError,
  ChainWriteError,
  CheckpointReceipt,
  CheckpointSignature,
  PreparedCheckpoint
} from "./ChainClient.js"
import { ChainClient, CheckpointSubmission, SubmissionFailed, validUntil } from "./ChainClient.js"
import { CheckpointConfig, forBucket } from "./CheckpointConfig.js"
import { CheckpointEvent, CheckpointEvents } from "./CheckpointEvents.js"
import type { JournalFailed } from "./CheckpointResult.js"
import {
  AlreadyCheckpointed,
  type RefusalReason,
  SubmissionRefused,
  Submitted,
  TransactionFailed
} from "./CheckpointResult.js"
import { encodeCommitmentPayload } from "./CommitmentPayload.js"
import * as CommitmentRelation from "./CommitmentRelation.js"
import type { Decision } from "./Consensus.js"
import { publicKeyOfAccount } from "./Domain.js"
import type { AccountId, BucketId, Commitment } from "./Domain.js"
import { bounded } from "./internal/chainRead.js"
import * as KeyedLock from "./internal/keyedLock.js"
import * as Spending from "./internal/spending.js"
import * as Metrics from "./Metrics.js"
import { RoundJournal } from "./RoundJournal.js"
import { SignatureVerifier } from "./SignatureVerifier.js"
import { requiredSignatures } from "./Threshold.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SubmitterService {
  /**
   * Submits a decision at most once. `options.pinned` is the bucket as the round read it (at the
   * finalized block its discovery pinned): when it already holds the decided commitment (or a later
   * one), the answer is `AlreadyCheckpointed` without reading the chain again; an idle bucket's round
   * costs no chain read beyond its pinned snapshot.
   */
  readonly submit: (
    decision: Decision,
    options?: SubmitOptions
  ) => Effect.Effect<Submitted | AlreadyCheckpointed, SubmitError>
  /**
   * Resolves what an earlier process left unresolved for a bucket (with a journal; nothing otherwise):
   * the receipt of an extrinsic found on chain, or of the same signed bytes sent again.
   */
  readonly resume: (
    bucketId: BucketId
  ) => Effect.Effect<Option.Option<CheckpointReceipt>, SubmitError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SubmitOptions {
  /** The bucket as the round read it, at its pinned finalized block. */
  readonly pinned?: BucketInfo | undefined
}

/** What settling one unresolved attempt showed. */
type Settled =
  | { readonly _tag: "Included"; readonly receipt: CheckpointReceipt }
  | { readonly _tag: "Dead" }
  | { readonly _tag: "Pending"; readonly prepared: PreparedCheckpoint }

const sameCommitment = CommitmentRelation.same

/**
 * How a submission can fail: refused before anything was sent, the journal unusable, or the chain.
 *
 * @since 0.1.0
 * @category errors
 */
export type SubmitError = SubmissionRefused | JournalFailed | TransactionFailed | ChainReadError

const refused = (bucketId: BucketId, reason: RefusalReason, detail: string) =>
  new SubmissionRefused({ bucketId, reason, detail })

/** A failure to prepare that the port does not promise (nothing was sent). */
const unexpected = (bucketId: BucketId, error: { readonly _tag: string; readonly message: string }) =>
  new TransactionFailed({ bucketId, error: error._tag, module: Option.none(), detail: error.message, paid: false })

/** A failure to estimate or prepare an extrinsic (nothing was sent): a refusal where the port says why. */
const notPrepared = (bucketId: BucketId) => (error: ChainWriteError): Effect.Effect<never, SubmitError> => {
  if (error._tag !== "SubmissionFailed") {
    return Effect.fail(error._tag === "ChainUnavailable" ? error : unexpected(bucketId, error))
  }
  switch (error.stage) {
    case "NoSigner":
    case "Unsupported":
      return Effect.fail(refused(bucketId, error.stage, error.detail))
    case "Signing":
      return Effect.fail(refused(bucketId, "SigningFailed", error.detail))
    default:
      return Effect.fail(unexpected(bucketId, error))
  }
}

/** What the spend guardrails let through: the estimated fee, and its reservation against the budgets. */
interface Spend {
  readonly estimate: bigint
  readonly reservation: Spending.Reservation | undefined
}

/**
 * The submitter.
 *
 * @since 0.1.0
 * @category tags
 */
export class Submitter extends Context.Tag("@checkpointer/core/Submitter")<Submitter, SubmitterService>() {
  static readonly layer: Layer.Layer<
    Submitter,
    never,
    ChainClient | CheckpointConfig | SignatureVerifier | RoundJournal | CheckpointEvents
  > = Layer
    .effect(
      Submitter,
      Effect.gen(function*() {
        const chain = yield* ChainClient
        const settings = yield* CheckpointConfig
        const verifier = yield* SignatureVerifier
        const events = yield* CheckpointEvents
        const read = <A, E>(operation: string, effect: Effect.Effect<A, E>) =>
          bounded(operation, settings.chainTimeout)(effect)
        const locks = KeyedLock.make<BucketId>()

        /** Signatures still valid for the fresh bucket: current primaries, verifying against current keys. */
        const stillValid = (
          bucket: BucketInfo,
          commitment: Commitment,
          signatures: ReadonlyArray<CheckpointSignature>
        ) =>
          Effect.gen(function*() {
            const message = encodeCommitmentPayload({ bucketId: bucket.bucketId, ...commitment })
            const kept: Array<CheckpointSignature> = []
            for (const signature of signatures) {
              if (!bucket.primaryProviders.includes(signature.signer)) continue
              const record = yield* read("provider", chain.provider(signature.signer))
              if (Option.isNone(record)) continue
              const publicKey = Option.getOrElse(record.value.publicKey, () => publicKeyOfAccount(signature.signer))
              const check = yield* Effect.either(
                verifier.verify({ signature: signature.signature, message, publicKey })
              )
              if (Either.isRight(check)) kept.push(signature)
            }
            return kept
          })

        const journal = yield* RoundJournal
        const ledger = yield* Spending.make

        /**
         * The spend guardrails, before anything is signed: the fee as the chain quotes it against the cap,
         * the budgets (reserving it), and the signer's balance. `undefined` when none is set.
         */
        const guardSpend = (bucketId: BucketId, submission: CheckpointSubmission, signer: AccountId) =>
          Effect.gen(function*() {
            // The bucket's own cap and budget where it has them.
            const limits = forBucket(settings, bucketId)
            const { maxFeePerCheckpoint, minimumBalance } = limits
            const budgeted = Option.isSome(limits.bucketBudget) || Option.isSome(limits.signerBudget)
            const guarded = budgeted || Option.isSome(maxFeePerCheckpoint) || Option.isSome(minimumBalance)
            if (!guarded) return undefined
            const estimate = yield* read("estimateFee", chain.estimateFee(submission)).pipe(
              Effect.catchAll(notPrepared(bucketId))
            )
            if (Option.isSome(maxFeePerCheckpoint) && estimate > maxFeePerCheckpoint.value) {
              return yield* refused(
                bucketId,
                "FeeAboveCap",
                `the checkpoint's fee is estimated at ${estimate} planck, above the cap of ${maxFeePerCheckpoint.value}`
              )
            }
            let reservation: Spending.Reservation | undefined
            if (budgeted) {
              const now = yield* Clock.currentTimeMillis
              const sinceMillis = now - Duration.toMillis(settings.budgetPeriod)
              yield* ledger.learn(bucketId, yield* journal.feesPaidSince(bucketId, sinceMillis))
              const reserved = yield* ledger.reserve(bucketId, estimate, now, {
                bucket: Option.getOrUndefined(limits.bucketBudget),
                signer: Option.getOrUndefined(limits.signerBudget),
                sinceMillis,
                sameSigner: (other) => Option.contains(chain.signerFor(other), signer)
              })
              if (Either.isLeft(reserved)) {
                const { budget, scope, spent } = reserved.left
                const payer = scope === "bucket" ? `bucket ${bucketId}` : `the signer ${signer}, across its buckets,`
                return yield* refused(
                  bucketId,
                  "BudgetExhausted",
                  `${payer} paid ${spent} planck in fees in the last ${Duration.format(settings.budgetPeriod)}; ` +
                    `with this checkpoint's estimated ${estimate} that is over the ${scope}'s budget of ${budget}`
                )
              }
              reservation = reserved.right
            }
            if (Option.isSome(minimumBalance)) {
              const free = yield* read("freeBalance", chain.freeBalance(signer)).pipe(
                Effect.onError(() => reservation === undefined ? Effect.void : ledger.release(reservation))
              )
              if (free - estimate < minimumBalance.value) {
                if (reservation !== undefined) yield* ledger.release(reservation)
                return yield* refused(
                  bucketId,
                  "BalanceBelowMinimum",
                  `the signer ${signer} holds ${free} planck free; paying the estimated ${estimate} would leave it ` +
                    `below the minimum of ${minimumBalance.value}`
                )
              }
            }
            return { estimate, reservation } satisfies Spend
          })

        const broadcast = (prepared: PreparedCheckpoint) => {
          const bucketId = prepared.submission.bucketId
          const markInDoubt = journal.settle(
            prepared,
            "InDoubt",
            `may still be included until block #${validUntil(prepared)}`
          )
          const failed = (detail: string) => journal.settle(prepared, "Failed", detail)
          return Metric.increment(Metrics.submissions).pipe(
            Effect.zipRight(chain.submitPrepared(prepared)),
            // Interrupted while waiting (the loop stopped, a deadline passed): it may still land.
            Effect.onInterrupt(() => markInDoubt),
            Effect.tap(() => Metric.increment(Metrics.paidTransactions)),
            Effect.tap((receipt) => Metric.incrementBy(Metrics.feesPaid, receipt.fee ?? 0n)),
            Effect.tapErrorTag("DispatchFailed", () => Metric.increment(Metrics.paidTransactions)),
            Effect.timeoutFail({
              duration: settings.submissionTimeout,
              onTimeout: () =>
                new SubmissionFailed({
                  stage: "FinalityTimeout",
                  detail: "no finalized outcome within the submission timeout",
                  maybeIncluded: true
                })
            }),
            Effect.catchTags({
              DispatchFailed: (error) =>
                Effect.zipRight(
                  failed(`${error.module}.${error.error}`),
                  Effect.fail(
                    new TransactionFailed({
                      bucketId,
                      error: error.error,
                      module: Option.some(error.module),
                      detail: error.detail,
                      paid: true
                    })
                  )
                ),
              SubmissionFailed: (error) =>
                Effect.zipRight(
                  error.maybeIncluded ? markInDoubt : failed(`${error.stage}: ${error.detail}`),
                  Effect.fail(
                    new TransactionFailed({
                      bucketId,
                      error: error.stage,
                      module: Option.none(),
                      detail: error.detail,
                      paid: error.maybeIncluded
                    })
                  )
                ),
              ChainUnavailable: (error) =>
                Effect.zipRight(
                  markInDoubt,
                  Effect.fail(
                    new TransactionFailed({
                      bucketId,
                      error: "ChainUnavailable",
                      module: Option.none(),
                      detail: error.message,
                      paid: true
                    })
                  )
                )
            }),
            // A receipt of another extrinsic (signed again: another sender took the nonce before it reached
            // the pool) also marks the prepared one failed: it can never land.
            Effect.tap((receipt) => journal.recordReceipt(prepared, receipt))
          )
        }

        /**
         * Settles one unresolved attempt through the chain: included (its receipt is recorded), dead (past
         * its mortal era and not on chain, or its nonce used by another extrinsic), or still pending. A
         * pending attempt is sent again, as the same signed bytes, only if `resend` (the newest one) and
         * the chain is still behind it.
         */
        const resumeAttempt = (bucketId: BucketId, bucket: BucketInfo, prepared: PreparedCheckpoint, resend: boolean) =>
          Effect.gen(function*() {
            const settle = (status: "InDoubt" | "Failed", detail: string) => journal.settle(prepared, status, detail)
            const included = (receipt: CheckpointReceipt) =>
              Effect.as(journal.recordReceipt(prepared, receipt), { _tag: "Included", receipt } as Settled)
            // Never included: whatever this process reserved for it was not paid.
            const dead = (detail: string) =>
              Effect.as(
                Effect.zipRight(settle("Failed", detail), ledger.release(prepared.extrinsicHash)),
                { _tag: "Dead" } as Settled
              )
            const pending = (detail: string) =>
              Effect.as(settle("InDoubt", detail), { _tag: "Pending", prepared } as Settled)
            // Read before searching, so that an extrinsic included meanwhile is found by the search.
            const nonceUsed = yield* read("nonceUsed", chain.nonceUsed(prepared))
            const found = yield* read("findReceipt", chain.findReceipt(prepared)).pipe(
              Effect.catchTag(
                "DispatchFailed",
                (error) =>
                  Effect.zipRight(settle("Failed", `${error.module}.${error.error}`), Effect.succeed(Option.none()))
              )
            )
            if (Option.isSome(found)) return yield* included(found.value)
            if (nonceUsed) return yield* dead(`its nonce ${prepared.nonce} was used by another extrinsic`)
            const lastBlock = validUntil(prepared)
            // findReceipt searched every finalized block up to the end of its era: past that, it never lands.
            const finalized = yield* read("finalizedBlock", chain.finalizedBlock)
            if (finalized.number > lastBlock) {
              return yield* dead(`not on chain by block #${lastBlock}, the end of its mortal era`)
            }
            const best = yield* read("bestBlock", chain.bestBlock)
            const atBest = yield* read("bucket", chain.bucket(bucketId, best.hash))
            const relation = CommitmentRelation.toSnapshot(atBest, prepared.submission.commitment)
            if (relation === "Same") {
              // Very likely this extrinsic, included but not final: wait (bounded) for its receipt.
              const untilFound = Schedule.recurUntil<Option.Option<CheckpointReceipt>>(Option.isSome).pipe(
                Schedule.intersect(Schedule.spaced("1 second")),
                Schedule.map(([receipt]) => receipt)
              )
              const later = yield* read("findReceipt", chain.findReceipt(prepared)).pipe(
                Effect.orElseSucceed(() => Option.none<CheckpointReceipt>()),
                Effect.repeat(untilFound),
                Effect.timeoutOption(settings.submissionTimeout),
                Effect.map(Option.flatten)
              )
              return Option.isSome(later)
                ? yield* included(later.value)
                : yield* pending("the chain holds this commitment; its receipt is not final yet")
            }
            const until = `may still be included until block #${lastBlock} (now #${best.number})`
            if (relation !== "Behind") {
              // Superseded or in conflict: it must not be sent again, but it may still land by itself.
              return yield* pending(
                `${until}; not sent again: the chain's snapshot is ${relation === "Later" ? "later" : "in conflict"}`
              )
            }
            if (!resend) return yield* pending(`${until}; a newer attempt is pending`)
            // The same signed bytes can be sent again safely (same nonce), if they still verify.
            const valid = yield* stillValid(bucket, prepared.submission.commitment, prepared.submission.signatures)
            if (valid.length < prepared.submission.signatures.length) {
              // The pallet would refuse it at dispatch: even if it lands, it changes no snapshot.
              return yield* dead("its signatures no longer verify")
            }
            return yield* broadcast(prepared).pipe(
              Effect.map((receipt): Settled => ({ _tag: "Included", receipt })),
              Effect.catchIf(
                (error) => error.error === "Stale" || (error.paid && Option.isSome(error.module)),
                (): Effect.Effect<Settled> => Effect.succeed({ _tag: "Dead" })
              ),
              Effect.catchIf(
                (error) => error.paid,
                (): Effect.Effect<Settled> => Effect.succeed({ _tag: "Pending", prepared })
              )
            )
          })

        /**
         * Settles what earlier attempts left unresolved, oldest first, each through the chain; only the
         * newest is ever sent again. Returns the newest receipt found and the attempts that may still land.
         */
        const resumeUnresolved = (bucketId: BucketId) =>
          Effect.gen(function*() {
            const unresolved = yield* journal.unresolved(bucketId)
            let latest = Option.none<CheckpointReceipt>()
            const pending: Array<PreparedCheckpoint> = []
            // The chain is read only when there is something to settle (the common round has nothing).
            if (unresolved.length === 0) return { latest, pending }
            const bucket = yield* read("bucket", chain.bucket(bucketId))
            for (let i = 0; i < unresolved.length; i++) {
              const settled = yield* resumeAttempt(
                bucketId,
                bucket,
                unresolved[i],
                i === unresolved.length - 1
              )
              if (settled._tag === "Included") {
                latest = Option.some(settled.receipt)
                yield* events.publish(
                  CheckpointEvent.CheckpointSubmitted({ bucketId, receipt: settled.receipt, settled: true })
                )
              }
              if (settled._tag === "Pending") pending.push(settled.prepared)
            }
            return { latest, pending }
          })

        /** The chain already holds this commitment, or a later one, in `state`. */
        const alreadyIn = (state: BucketInfo, commitment: Commitment, decision: Decision) => {
          const relation = CommitmentRelation.toSnapshot(state, commitment)
          return (relation === "Same" || relation === "Later") && Option.isSome(state.snapshot)
            ? new AlreadyCheckpointed(
              { bucketId: decision.bucketId, snapshot: state.snapshot.value, relation, decision },
              true
            )
            : undefined
        }

        const submitLocked = (decision: Decision, pinned: BucketInfo | undefined) =>
          Effect.gen(function*() {
            const { bucketId } = decision
            if (Option.isNone(decision.majority) || !decision.thresholdMet) {
              return yield* refused(bucketId, "NoConsensus", "the decision does not meet the threshold")
            }
            const { commitment, signatures } = decision.majority.value
            const { latest, pending } = yield* resumeUnresolved(bucketId)
            if (Option.isSome(latest) && sameCommitment(latest.value.commitment, commitment)) {
              return new Submitted({ receipt: latest.value, decision, settled: true }, true)
            }
            // A finalized state says so already: nothing to read again (the idle bucket's round).
            const held = pinned === undefined || pinned.bucketId !== bucketId
              ? undefined
              : alreadyIn(pinned, commitment, decision)
            if (held !== undefined) return held
            const finalized = yield* read("bucket", chain.bucket(bucketId))
            const best = yield* read("bestBlock", chain.bestBlock)
            const atBest = yield* read("bucket", chain.bucket(bucketId, best.hash))
            for (const state of [finalized, atBest]) {
              const already = alreadyIn(state, commitment, decision)
              if (already !== undefined) return already
            }
            const relation = CommitmentRelation.toSnapshot(atBest, commitment)
            if (relation === "Conflict") {
              const held = Option.getOrThrow(atBest.snapshot).commitment
              return yield* refused(
                bucketId,
                "ConflictsWithSnapshot",
                `the chain holds root ${held.mmrRoot} over ${held.startSeq}+${held.leafCount}; ` +
                  `the providers signed ${commitment.mmrRoot} over ${commitment.startSeq}+${commitment.leafCount}`
              )
            }
            const regression = CommitmentRelation.regression(atBest, commitment)
            if (regression !== undefined) return yield* refused(bucketId, "RangeRegression", regression)

            // An earlier extrinsic that may still land holds the bucket: a second one could be paid for too,
            // or land after it and move the snapshot backwards.
            if (pending.length > 0) {
              const newest = pending[pending.length - 1]
              return yield* refused(
                bucketId,
                "PreviousSubmissionInDoubt",
                `extrinsic ${newest.extrinsicHash} may still be included until block #${
                  validUntil(newest)
                } (now #${best.number}); nothing new is signed for this bucket before it lands or expires`
              )
            }

            const signer = chain.signerFor(bucketId)
            if (Option.isNone(signer)) {
              return yield* refused(bucketId, "NoSigner", "no account is configured to sign submissions")
            }
            const role = finalized.roleOf(signer.value)
            if (role !== "Admin" && role !== "Writer") {
              return yield* refused(
                bucketId,
                "NotBucketWriter",
                `${signer.value} is ${role === undefined ? "not a member" : `a ${role}`} of bucket ${bucketId}`
              )
            }
            const valid = yield* stillValid(finalized, commitment, signatures)
            const required = requiredSignatures({
              total: new Set(finalized.primaryProviders).size,
              thresholdPercent: forBucket(settings, bucketId).consensusThreshold,
              minProviders: finalized.minProviders
            })
            if (valid.length < required || valid.length === 0) {
              return yield* refused(
                bucketId,
                "InsufficientSignatures",
                `${valid.length} signatures still valid for the bucket as it is now; ${required} required`
              )
            }

            const submission = new CheckpointSubmission({ bucketId, commitment, signatures: valid }, true)
            const spend = yield* guardSpend(bucketId, submission, signer.value)
            const reservation = spend?.reservation
            const unpaid = (key: Spending.Reservation | undefined) =>
              key === undefined ? Effect.void : ledger.release(key)

            const prepared = yield* chain.prepareCheckpoint(submission).pipe(
              Effect.catchAll(notPrepared(bucketId)),
              Effect.onError(() => unpaid(reservation))
            )
            const charged = reservation === undefined ? undefined : prepared.extrinsicHash
            if (reservation !== undefined) yield* ledger.bind(reservation, prepared.extrinsicHash)
            yield* journal.recordPrepared(prepared).pipe(Effect.onError(() => unpaid(charged)))
            const receipt = yield* broadcast(prepared).pipe(
              Effect.tap((landed) => charged === undefined ? Effect.void : ledger.paid(charged, landed)),
              // Paid (rejected at dispatch) or maybe paid (it may still land): the estimate stays charged.
              Effect.tapError((error) =>
                error._tag === "TransactionFailed" && !error.paid ? unpaid(charged) : Effect.void
              )
            )
            if (receipt.event.bucketId !== bucketId || !sameCommitment(receipt.event.commitment, commitment)) {
              return yield* new TransactionFailed({
                bucketId,
                error: "EventMismatch",
                module: Option.none(),
                detail:
                  `BucketCheckpointed reports bucket ${receipt.event.bucketId} root ${receipt.event.commitment.mmrRoot}`,
                paid: true
              })
            }
            return new Submitted({ receipt, decision }, true)
          })

        /** Holds the bucket's lock in this process and, with a journal, across processes. */
        const exclusive = <A>(
          bucketId: BucketId,
          effect: Effect.Effect<A, SubmitError>
        ): Effect.Effect<A, SubmitError> => journal.exclusive(bucketId, locks.withLock(bucketId, effect))

        const submit = Effect.fn("Submitter.submit")(function*(decision: Decision, options?: SubmitOptions) {
          return yield* exclusive(decision.bucketId, submitLocked(decision, options?.pinned))
        })

        const resume = Effect.fn("Submitter.resume")(function*(bucketId: BucketId) {
          return yield* exclusive(bucketId, Effect.map(resumeUnresolved(bucketId), ({ latest }) => latest))
        })

        return Submitter.of({ submit, resume })
      })
    )
}

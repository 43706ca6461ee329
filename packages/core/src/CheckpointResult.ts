/**
 * The results of `CheckpointManager.submitCheckpoint`: success values and typed failures, with the
 * seed's tag names (`Submitted`, `InsufficientConsensus`, `ProvidersUnreachable`, `NoProviders`,
 * `TransactionFailed`). Chain read problems keep their own tags (`ChainUnavailable`,
 * `BucketNotFound`): they are never reported as transaction failures.
 *
 * A caller who wants one value uses `CheckpointResult` (see `toResult`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { BucketNotFound, ChainUnavailable } from "./ChainClient.js"
import { BucketSnapshot, CheckpointReceipt } from "./ChainClient.js"
import { Conflict, Decision, Resolution } from "./Consensus.js"
import { AccountId, BucketId, H256 } from "./Domain.js"
import { SpendRefusal } from "./SpendGuard.js"

/**
 * The checkpoint landed: here is its receipt and the decision behind it.
 *
 * @since 0.1.0
 * @category results
 */
export class Submitted extends Schema.TaggedClass<Submitted>()("Submitted", {
  receipt: CheckpointReceipt,
  decision: Decision,
  /** Submitted with a journaled round's signatures (after a restart), not a fresh round's. */
  reused: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /**
   * The receipt is of a submission made earlier (by a previous process, or an attempt whose outcome was
   * unknown), found on chain when the journal was settled: nothing new was paid for it now.
   */
  settled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** The round's earlier decisions, oldest first, when it waited for laggards to sync before this one. */
  earlier: Schema.optionalWith(Schema.Array(Decision), { default: () => [] })
}) {}

/**
 * Nothing was paid: the chain already holds this commitment (`Same`) or a later one (`Later`).
 *
 * @since 0.1.0
 * @category results
 */
export class AlreadyCheckpointed extends Schema.TaggedClass<AlreadyCheckpointed>()("AlreadyCheckpointed", {
  bucketId: BucketId,
  snapshot: BucketSnapshot,
  relation: Schema.Literal("Same", "Later"),
  decision: Decision
}) {}

/**
 * Not enough providers signed the majority commitment.
 *
 * @since 0.1.0
 * @category errors
 */
export class InsufficientConsensus extends Schema.TaggedError<InsufficientConsensus>()("InsufficientConsensus", {
  bucketId: BucketId,
  agreeing: Schema.Number,
  required: Schema.Number,
  disagreements: Schema.Array(Schema.Struct({ provider: AccountId, mmrRoot: H256 })),
  conflicts: Schema.Array(Conflict),
  resolution: Resolution
}) {
  override get message(): string {
    return `bucket ${this.bucketId}: ${this.agreeing} of ${this.required} required signatures agree (${this.resolution._tag})`
  }
}

/**
 * No provider of the bucket answered: `providers` could not be reached; `notAwaited` were still being
 * asked when the round stopped, because it could no longer succeed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProvidersUnreachable extends Schema.TaggedError<ProvidersUnreachable>()("ProvidersUnreachable", {
  bucketId: BucketId,
  providers: Schema.Array(AccountId),
  notAwaited: Schema.Array(AccountId)
}) {
  override get message(): string {
    const waiting = this.notAwaited.length === 0 ? "" : ` (${this.notAwaited.length} more not awaited)`
    return `bucket ${this.bucketId}: no provider answered; ${this.providers.length} could not be reached${waiting}`
  }
}

/**
 * The bucket has no primary providers to ask.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoProviders extends Schema.TaggedError<NoProviders>()("NoProviders", { bucketId: BucketId }) {
  override get message(): string {
    return `bucket ${this.bucketId} has no primary providers`
  }
}

/**
 * Why a checkpoint was refused before anything was signed or sent.
 *
 * - `NoConsensus`: the decision does not meet the threshold;
 * - `ConflictsWithSnapshot`: the chain holds another commitment over the same range;
 * - `RangeRegression`: the commitment would move the snapshot backwards (the pallet would accept it);
 * - `PreviousSubmissionInDoubt`: an earlier extrinsic for the bucket may still land;
 * - `NoSigner`, `NotBucketWriter`: no account, or one that is not a Writer or Admin of the bucket;
 * - `InsufficientSignatures`: too few signatures still valid for the bucket as it is now;
 * - `Unsupported`, `SigningFailed`: the runtime has no such call, or the signer could not sign;
 * - `PrepareFailed`: the chain client could not estimate or prepare the extrinsic, for a reason its port
 *   does not name (nothing was sent);
 * - the spend guardrails (`CheckpointConfig`), checked on the fee estimated before signing:
 *   `FeeAboveCap` (above `maxFeePerCheckpoint`), `BudgetExhausted` (the bucket's or the signer's fees in
 *   the last `budgetPeriod`, plus this one, would exceed `bucketBudget` or `signerBudget`),
 *   `BalanceBelowMinimum` (the signer's free balance, less this fee, would fall below `minimumBalance`).
 *
 * @since 0.1.0
 * @category errors
 */
export const RefusalReason = Schema.Literal(
  "NoConsensus",
  "ConflictsWithSnapshot",
  "RangeRegression",
  "PreviousSubmissionInDoubt",
  "NoSigner",
  "NotBucketWriter",
  "InsufficientSignatures",
  "Unsupported",
  "SigningFailed",
  "PrepareFailed",
  "FeeAboveCap",
  "BudgetExhausted",
  "BalanceBelowMinimum"
)

/**
 * @since 0.1.0
 * @category errors
 */
export type RefusalReason = typeof RefusalReason.Type

/**
 * The submitter refused to submit: nothing was signed or sent, so nothing was paid (by construction:
 * there is no `paid` field to get wrong).
 *
 * @since 0.1.0
 * @category errors
 */
export class SubmissionRefused extends Schema.TaggedError<SubmissionRefused>()("SubmissionRefused", {
  bucketId: BucketId,
  reason: RefusalReason,
  detail: Schema.String,
  /** A spend guardrail's refusal (its `_tag` is `reason`), with its amounts in planck. */
  spend: Schema.optional(SpendRefusal)
}) {
  override get message(): string {
    return `bucket ${this.bucketId}: not submitted: ${this.reason}${this.detail === "" ? "" : ` (${this.detail})`}`
  }
}

/**
 * The receipt journal could not be used: `Unreadable` (a damaged or newer file), `Unavailable` (a write
 * that must precede the broadcast failed) or `Locked` (another process holds the bucket). Nothing was
 * sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class JournalFailed extends Schema.TaggedError<JournalFailed>()("JournalFailed", {
  bucketId: BucketId,
  reason: Schema.Literal("Unreadable", "Unavailable", "Locked"),
  detail: Schema.String
}) {
  override get message(): string {
    return `bucket ${this.bucketId}: journal ${this.reason.toLowerCase()}: ${this.detail}`
  }
}

/**
 * The checkpoint transaction failed on the chain's side. `error` is the chain's module error name when
 * the chain rejected it at dispatch (`InsufficientSignatures`, `NotBucketWriter`, ..., with `module`),
 * or the stage at which the submission was lost (`Pool`, `Dropped`, `Stale`, `FinalityTimeout`,
 * `ChainUnavailable`, `EventMismatch`). `paid` says whether a fee may have been charged (the extrinsic
 * may have been included). Refusals before sending are `SubmissionRefused`, never this.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransactionFailed extends Schema.TaggedError<TransactionFailed>()("TransactionFailed", {
  bucketId: BucketId,
  error: Schema.String,
  module: Schema.OptionFromNullOr(Schema.String),
  detail: Schema.String,
  paid: Schema.Boolean
}) {
  override get message(): string {
    return `bucket ${this.bucketId}: checkpoint transaction failed: ${this.error}${
      this.detail === "" ? "" : ` (${this.detail})`
    }`
  }
}

/**
 * Every way a checkpoint can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type CheckpointError =
  | InsufficientConsensus
  | ProvidersUnreachable
  | NoProviders
  | TransactionFailed
  | SubmissionRefused
  | JournalFailed
  | ChainUnavailable
  | BucketNotFound

/**
 * Every way a checkpoint attempt can end, as one value.
 *
 * @since 0.1.0
 * @category results
 */
export type CheckpointResult = Submitted | AlreadyCheckpointed | CheckpointError

/**
 * Turns a checkpoint attempt into one value that is never a failure.
 *
 * @since 0.1.0
 * @category combinators
 */
export const toResult = <R>(
  attempt: Effect.Effect<Submitted | AlreadyCheckpointed, CheckpointError, R>
): Effect.Effect<CheckpointResult, never, R> => Effect.merge(attempt)

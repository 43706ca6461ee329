/**
 * What the command checks before it asks any provider (a signer that can submit to each bucket), and
 * what a `--dry-run` would have done, with the exit code the real run would have had.
 *
 * @internal
 */
import {
  ChainClient,
  CheckpointConfig,
  CommitmentRelation,
  type Consensus,
  type Domain,
  ReceiptJournal,
  SpendGuard
} from "@checkpointer/core"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { EXIT_SPEND_LIMIT } from "./exitCodes.js"

/** The signer cannot pay: no funds, or a balance below `minimumBalance`. Exit code 7. */
export class SpendLimit extends Data.TaggedError("SpendLimit")<{ readonly message: string }> {}

/** The signer cannot submit checkpoints to a bucket (none, or not a Writer or Admin). Exit code 2. */
export class SignerCannotSubmit extends Data.TaggedError("SignerCannotSubmit")<{ readonly message: string }> {}

/**
 * Checks, from the chain, that the configured signer is a Writer or Admin of every bucket: a signer that
 * cannot submit is found before any provider is asked, not after a full round.
 */
export const preflightSigner = (
  buckets: ReadonlyArray<Domain.BucketId>,
  spend: { readonly minimumBalance: Option.Option<bigint>; readonly format: (planck: bigint) => string }
) =>
  Effect.gen(function*() {
    const chain = yield* ChainClient.ChainClient
    // Each bucket's signer (its own, or the process's) must be able to submit to it, and to pay.
    const signers = new Set<Domain.AccountId>()
    for (const bucketId of buckets) {
      const signerOf = chain.signerFor(bucketId)
      if (Option.isNone(signerOf)) {
        return yield* new SignerCannotSubmit({
          message: "signer: none configured (--suri or CHECKPOINTER_SIGNER_SURI)"
        })
      }
      const signer = signerOf.value
      signers.add(signer)
      const bucket = yield* chain.bucket(bucketId)
      const role = bucket.roleOf(signer)
      if (role !== "Admin" && role !== "Writer") {
        return yield* new SignerCannotSubmit({
          message: `signer: ${signer} is ${
            role === undefined ? "not a member" : `a ${role}`
          } of bucket ${bucketId}; checkpoints need a Writer or Admin`
        })
      }
    }
    // Enough to pay: some funds at all, and no less than the minimum balance the settings keep.
    for (const signer of signers) {
      const balance = yield* chain.freeBalance(signer)
      if (Option.isSome(spend.minimumBalance) && balance < spend.minimumBalance.value) {
        return yield* new SpendLimit({
          message: `balance: ${signer} has ${spend.format(balance)}, below minimumBalance ${
            spend.format(spend.minimumBalance.value)
          }; nothing is sent until it is funded`
        })
      }
      if (balance === 0n) {
        return yield* new SpendLimit({ message: `balance: ${signer} has no funds to pay a fee` })
      }
    }
  })

/** What `submit` would have done with this decision, and its exit code. */
export interface Verdict {
  readonly would: "Submit" | "NothingToDo" | "Refuse" | "NoConsensus"
  readonly detail: string
  readonly exitCode: number
  /** A spend guardrail's refusal, with its amounts in planck. */
  readonly spend?: SpendGuard.SpendRefusal | undefined
}

/**
 * A spend refusal in words, its amounts in the chain's unit (`format`): the core's rules and wording,
 * the command's units.
 */
export const describeSpend = (
  refusal: SpendGuard.SpendRefusal,
  format: (planck: bigint) => string,
  period?: Duration.Duration
) => SpendGuard.describe(refusal, { format, period: period === undefined ? undefined : Duration.format(period) })

/**
 * A spend refusal's amounts for `--json`: each in the chain's unit (`estimate: "0.001359 UNIT"`) and, beside
 * it, in planck (`estimatePlanck`), with its `scope` where it has one.
 */
export const spendFields = (refusal: SpendGuard.SpendRefusal, format: (planck: bigint) => string) =>
  Object.fromEntries(
    Object.entries(refusal).flatMap(([key, value]): Array<[string, unknown]> =>
      typeof value === "bigint"
        ? [[key, format(value)], [`${key}Planck`, value.toString()]]
        : key === "_tag"
        ? []
        : [[key, value]]
    )
  )

/**
 * The spend guardrails as the submitter would apply them to this submission now (`SpendGuard`'s rules):
 * the fee the chain quotes against the cap, the fees the journal recorded in the budget period plus this
 * one against the budgets (as a process that has just started counts them: this bucket's receipts), and
 * the signer's balance less the fee against the minimum. Nothing when no guardrail is set.
 */
const wouldSpend = (submission: ChainClient.CheckpointSubmission, signer: Domain.AccountId) =>
  Effect.gen(function*() {
    const chain = yield* ChainClient.ChainClient
    const settings = yield* CheckpointConfig.CheckpointConfig
    const limits = CheckpointConfig.forBucket(settings, submission.bucketId)
    if (!SpendGuard.guarded(limits)) return Option.none<SpendGuard.SpendRefusal>()
    const estimate = yield* chain.estimateFee(submission)
    const aboveCap = SpendGuard.checkFee(estimate, limits)
    if (Option.isSome(aboveCap)) return aboveCap
    if (SpendGuard.budgeted(limits)) {
      const since = Date.now() - Duration.toMillis(settings.budgetPeriod)
      const journal = yield* ReceiptJournal.ReceiptJournal
      const stored = yield* journal.read(submission.bucketId).pipe(
        Effect.orElseSucceed(() => Option.none<ReceiptJournal.BucketJournal>())
      )
      const spent = Option.match(stored, {
        onNone: () => 0n,
        onSome: (j) =>
          j.receipts.reduce((sum, r) => r.fee !== undefined && r.finalizedAtMillis >= since ? sum + r.fee : sum, 0n)
      })
      const exhausted = SpendGuard.checkBudgets(estimate, { bucket: spent, signer: spent }, limits)
      if (Option.isSome(exhausted)) return exhausted
    }
    if (Option.isSome(limits.minimumBalance)) {
      return SpendGuard.checkBalance(yield* chain.freeBalance(signer), estimate, limits)
    }
    return Option.none<SpendGuard.SpendRefusal>()
  })

/** The dry run's verdict: the decision against the chain's snapshot now, as the submitter would judge it. */
export const dryRunVerdict = (decision: Consensus.Decision, format: (planck: bigint) => string) =>
  Effect.gen(function*() {
    const chain = yield* ChainClient.ChainClient
    if (!decision.thresholdMet || Option.isNone(decision.majority)) {
      return {
        would: "NoConsensus",
        detail: `no consensus (${decision.agreeing} of ${decision.required} required): nothing would be sent`,
        exitCode: 3
      } satisfies Verdict as Verdict
    }
    const { commitment, signatures } = decision.majority.value
    const bucket = yield* chain.bucket(decision.bucketId)
    const relation = CommitmentRelation.toSnapshot(bucket, commitment)
    if (relation === "Same" || relation === "Later") {
      return {
        would: "NothingToDo",
        detail: `the chain already holds ${relation === "Same" ? "this" : "a later"} checkpoint: nothing would be sent`,
        exitCode: 0
      } satisfies Verdict as Verdict
    }
    if (relation === "Conflict") {
      return {
        would: "Refuse",
        detail: "refused: the chain's snapshot holds another root over the same range (ConflictsWithSnapshot)",
        exitCode: 4
      } satisfies Verdict as Verdict
    }
    const regression = CommitmentRelation.regression(bucket, commitment)
    if (regression !== undefined) {
      return {
        would: "Refuse",
        detail: `refused: ${regression} (RangeRegression)`,
        exitCode: 4
      } satisfies Verdict as Verdict
    }
    const signerOf = chain.signerFor(decision.bucketId)
    const role = Option.map(signerOf, (s) => bucket.roleOf(s))
    if (Option.isNone(signerOf) || Option.isNone(role) || (role.value !== "Admin" && role.value !== "Writer")) {
      return {
        would: "Refuse",
        detail: Option.isNone(signerOf)
          ? "refused: no signer configured (--suri)"
          : `refused: the signer is not a Writer or Admin of bucket ${decision.bucketId}`,
        exitCode: 2
      } satisfies Verdict as Verdict
    }
    const spend = yield* wouldSpend(
      new ChainClient.CheckpointSubmission({ bucketId: decision.bucketId, commitment, signatures }, true),
      signerOf.value
    )
    if (Option.isSome(spend)) {
      const settings = yield* CheckpointConfig.CheckpointConfig
      return {
        would: "Refuse",
        detail: `refused: ${spend.value._tag} (${describeSpend(spend.value, format, settings.budgetPeriod)})`,
        exitCode: EXIT_SPEND_LIMIT,
        spend: spend.value
      } satisfies Verdict as Verdict
    }
    return {
      would: "Submit",
      detail: `would submit ${commitment.leafCount} leaves with ${signatures.length} signatures (one fee)`,
      exitCode: 0
    } satisfies Verdict as Verdict
  })

/**
 * The spend guardrails' rules, as pure functions: a checkpoint whose quoted fee is above
 * `maxFeePerCheckpoint`, that would take the bucket's or the signer's fees in the budget period over
 * `bucketBudget` / `signerBudget`, or that would leave the signer's free balance below `minimumBalance`,
 * is refused. The `Submitter` applies them before signing (with its ledger of what was spent), and a
 * dry run applies the same ones to say what a submission would do.
 *
 * A refusal carries its amounts in planck, typed, so that whoever reports it can print them in the
 * chain's unit (`describe` with a formatter).
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The quoted fee is above the cap.
 *
 * @since 0.1.0
 * @category models
 */
export class FeeAboveCap extends Schema.TaggedClass<FeeAboveCap>()("FeeAboveCap", {
  /** The fee the chain quoted for the extrinsic as it would be signed (planck). */
  estimate: Schema.BigInt,
  /** `maxFeePerCheckpoint` (planck). */
  cap: Schema.BigInt
}) {}

/**
 * This fee would take the fees paid in the budget period over a budget.
 *
 * @since 0.1.0
 * @category models
 */
export class BudgetExhausted extends Schema.TaggedClass<BudgetExhausted>()("BudgetExhausted", {
  /** `bucket` (`bucketBudget`) or `signer` (`signerBudget`, across the signer's buckets). */
  scope: Schema.Literal("bucket", "signer"),
  /** Fees already paid (or reserved) in the period (planck). */
  spent: Schema.BigInt,
  /** The quoted fee of this checkpoint (planck). */
  estimate: Schema.BigInt,
  /** The budget (planck). */
  budget: Schema.BigInt
}) {}

/**
 * Paying this fee would leave the signer's free balance below the minimum.
 *
 * @since 0.1.0
 * @category models
 */
export class BalanceBelowMinimum extends Schema.TaggedClass<BalanceBelowMinimum>()("BalanceBelowMinimum", {
  /** The signer's free balance now (planck). */
  free: Schema.BigInt,
  /** The quoted fee of this checkpoint (planck). */
  estimate: Schema.BigInt,
  /** `minimumBalance` (planck). */
  minimum: Schema.BigInt
}) {}

/**
 * Why a spend guardrail refused a checkpoint, with its amounts; its `_tag` is the refusal's reason.
 *
 * @since 0.1.0
 * @category models
 */
export const SpendRefusal = Schema.Union(FeeAboveCap, BudgetExhausted, BalanceBelowMinimum)

/**
 * @since 0.1.0
 * @category models
 */
export type SpendRefusal = typeof SpendRefusal.Type

/**
 * The limits of one bucket (`CheckpointConfig.forBucket`), in planck; `none` is no limit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly maxFeePerCheckpoint: Option.Option<bigint>
  readonly bucketBudget: Option.Option<bigint>
  readonly signerBudget: Option.Option<bigint>
  readonly minimumBalance: Option.Option<bigint>
}

/**
 * Whether any budget is set (the fees paid in the period must then be counted).
 *
 * @since 0.1.0
 * @category rules
 */
export const budgeted = (limits: Limits): boolean =>
  Option.isSome(limits.bucketBudget) || Option.isSome(limits.signerBudget)

/**
 * Whether any guardrail is set (with none, no fee is even quoted).
 *
 * @since 0.1.0
 * @category rules
 */
export const guarded = (limits: Limits): boolean =>
  budgeted(limits) || Option.isSome(limits.maxFeePerCheckpoint) || Option.isSome(limits.minimumBalance)

/**
 * The cap: a fee above `maxFeePerCheckpoint` is refused (at the cap it pays).
 *
 * @since 0.1.0
 * @category rules
 */
export const checkFee = (estimate: bigint, limits: Limits): Option.Option<FeeAboveCap> =>
  Option.isSome(limits.maxFeePerCheckpoint) && estimate > limits.maxFeePerCheckpoint.value
    ? Option.some(new FeeAboveCap({ estimate, cap: limits.maxFeePerCheckpoint.value }))
    : Option.none()

/**
 * The budgets: what the bucket, and the signer across its buckets, spent in the period plus this fee may
 * not exceed theirs (the bucket's budget is checked first).
 *
 * @since 0.1.0
 * @category rules
 */
export const checkBudgets = (
  estimate: bigint,
  spent: { readonly bucket: bigint; readonly signer: bigint },
  limits: Pick<Limits, "bucketBudget" | "signerBudget">
): Option.Option<BudgetExhausted> => {
  if (Option.isSome(limits.bucketBudget) && spent.bucket + estimate > limits.bucketBudget.value) {
    return Option.some(
      new BudgetExhausted({ scope: "bucket", spent: spent.bucket, estimate, budget: limits.bucketBudget.value })
    )
  }
  if (Option.isSome(limits.signerBudget) && spent.signer + estimate > limits.signerBudget.value) {
    return Option.some(
      new BudgetExhausted({ scope: "signer", spent: spent.signer, estimate, budget: limits.signerBudget.value })
    )
  }
  return Option.none()
}

/**
 * The minimum balance: the signer's free balance less this fee may not fall below `minimumBalance`.
 *
 * @since 0.1.0
 * @category rules
 */
export const checkBalance = (free: bigint, estimate: bigint, limits: Limits): Option.Option<BalanceBelowMinimum> =>
  Option.isSome(limits.minimumBalance) && free - estimate < limits.minimumBalance.value
    ? Option.some(new BalanceBelowMinimum({ free, estimate, minimum: limits.minimumBalance.value }))
    : Option.none()

/**
 * A refusal in words, its amounts written by `format` (`${planck} planck` by default; the command uses
 * the chain's unit and decimals). `payer` names who paid, for a budget refusal.
 *
 * @since 0.1.0
 * @category rules
 */
export const describe = (
  refusal: SpendRefusal,
  options: {
    readonly format?: ((planck: bigint) => string) | undefined
    readonly payer?: string | undefined
    readonly period?: string | undefined
  } = {}
): string => {
  const format = options.format ?? ((planck: bigint) => `${planck} planck`)
  switch (refusal._tag) {
    case "FeeAboveCap":
      return `the checkpoint's fee is estimated at ${format(refusal.estimate)}, above the cap of ${format(refusal.cap)}`
    case "BudgetExhausted":
      return `${
        options.payer ?? (refusal.scope === "bucket" ? "the bucket" : "the signer, across its buckets,")
      } paid ${format(refusal.spent)} in fees${
        options.period === undefined ? " in the budget period" : ` in the last ${options.period}`
      }; with this checkpoint's estimated ${format(refusal.estimate)} that is over the ${refusal.scope}'s budget of ${
        format(refusal.budget)
      }`
    case "BalanceBelowMinimum":
      return `the signer${options.payer === undefined ? "" : ` ${options.payer}`} holds ${
        format(refusal.free)
      } free; paying the estimated ${format(refusal.estimate)} would leave it below the minimum of ${
        format(refusal.minimum)
      }`
  }
}

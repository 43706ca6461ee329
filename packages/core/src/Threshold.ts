/**
 * How many provider signatures a checkpoint needs.
 *
 * `required = max(ceil(total * pct / 100), minProviders)`, in integer arithmetic. The Rust anchor
 * computes the ceiling in floating point, so 67 % of 3 providers becomes 2.01 and then 3 (every
 * provider must agree); here it is `ceil(201 / 100) = 3` as well, but computed exactly, and the
 * chain's own floor (`Bucket.min_providers`) is never undercut: a checkpoint with fewer signatures
 * would be rejected on chain with `InsufficientSignatures` after paying the fee.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The inputs of the threshold rule.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThresholdInput {
  /** Every primary provider of the bucket, reachable or not. A non-negative integer. */
  readonly total: number
  /** The consensus threshold in percent, an integer from 0 to 100 (default 51). */
  readonly thresholdPercent: number
  /** The bucket's on-chain `min_providers`, a non-negative integer. */
  readonly minProviders: number
}

/**
 * The default consensus threshold, in percent (the seed's and the anchor's 51 %).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_THRESHOLD_PERCENT = 51

const checkInteger = (value: number, name: string, max: number) => {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    // Config and chain values are decoded with schemas before they get here; this is a caller bug.
    throw new RangeError(`${name} must be an integer between 0 and ${max}, got ${value}`)
  }
}

/**
 * The number of agreeing signatures a checkpoint needs:
 * `max(ceil(total * thresholdPercent / 100), minProviders)`, exact in integer arithmetic.
 *
 * @example
 * requiredSignatures({ total: 3, thresholdPercent: 67, minProviders: 1 }) // 3
 * requiredSignatures({ total: 3, thresholdPercent: 66, minProviders: 1 }) // 2
 * requiredSignatures({ total: 4, thresholdPercent: 51, minProviders: 4 }) // 4
 *
 * @since 0.1.0
 * @category constructors
 */
export const requiredSignatures = ({ minProviders, thresholdPercent, total }: ThresholdInput): number => {
  checkInteger(total, "total", 1_000_000)
  checkInteger(thresholdPercent, "thresholdPercent", 100)
  checkInteger(minProviders, "minProviders", 0xffff_ffff)
  // ceil(a / b) for non-negative integers is floor((a + b - 1) / b); total * pct stays far below 2^53.
  const byPercent = Math.floor((total * thresholdPercent + 99) / 100)
  return Math.max(byPercent, minProviders)
}

/**
 * A consensus threshold from configuration: an integer percentage from 1 to 100. (The anchor takes any
 * `u8`, so 150 % can never be met and 0 % accepts a lone provider; both are refused here.)
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThresholdPercent = Schema.Number.pipe(
  Schema.int({ message: () => "the threshold is a whole percentage" }),
  Schema.between(1, 100, { message: () => "the threshold must be between 1 and 100 percent" }),
  Schema.brand("ThresholdPercent"),
  Schema.annotations({ identifier: "ThresholdPercent" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type ThresholdPercent = typeof ThresholdPercent.Type

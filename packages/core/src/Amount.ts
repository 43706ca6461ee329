/**
 * Amounts of the chain's token: planck shown in the chain's unit (`0.001456 UNIT` for 1,456,000,000
 * planck at 12 decimals), exactly, with no floating point. The command's lines and the status page use it.
 *
 * @since 0.1.0
 */

/**
 * A chain's token (its `tokenDecimals` and `tokenSymbol`): an amount in planck is shown as
 * `planck / 10^decimals` of `symbol`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Units {
  readonly decimals: number
  readonly symbol: string
}

/**
 * An amount in planck with its thousands grouped (`1,553,000,000 planck`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const planck = (amount: bigint): string => `${amount.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")} planck`

/**
 * An amount in the chain's token (`0.001456 UNIT`), exact (no rounding); in planck without units.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (amount: bigint, units?: Units | undefined): string => {
  if (units === undefined) return planck(amount)
  const negative = amount < 0n
  const digits = (negative ? -amount : amount).toString().padStart(units.decimals + 1, "0")
  const whole = digits.slice(0, digits.length - units.decimals)
  const fraction = digits.slice(digits.length - units.decimals).replace(/0+$/, "")
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`} ${units.symbol}`
}

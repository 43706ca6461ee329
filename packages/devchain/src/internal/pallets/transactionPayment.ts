/**
 * TransactionPayment (index 11): the fee model and the event that reports a paid fee. The model is
 * flat (a base fee, a per-byte fee, the tip; every call weighs the same): enough for fee accounting
 * to be visible and exact. The executive charges the fee; `payment_queryInfo` quotes it.
 *
 * @internal
 */
import type { Pallet } from "../dispatch.js"
import * as S from "../scale.js"
import { AccountId32 } from "../types.js"

export const pallet: Pallet = { name: "TransactionPayment", index: 11 }

export const BASE_FEE = 1_000_000_000n
export const BYTE_FEE = 1_000_000n
export const CALL_WEIGHT = 100_000_000n
export const feeFor = (length: number, tip: bigint): bigint => BASE_FEE + BYTE_FEE * BigInt(length) + tip

export const Event = S.enumOf({
  path: ["pallet_transaction_payment", "pallet", "Event"],
  params: [{ name: "T", type: null }]
}, {
  TransactionFeePaid: {
    index: 0,
    fields: {
      who: S.field(AccountId32, "T::AccountId"),
      actual_fee: S.field(S.u128, "BalanceOf<T>"),
      tip: S.field(S.u128, "BalanceOf<T>")
    }
  }
})

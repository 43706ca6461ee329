/**
 * Timestamp (index 2): the block's time, set by the inherent each block opens with. A signed
 * `Timestamp.set` is not a valid transaction (the executive rejects it).
 *
 * @internal
 */
import type { Pallet } from "../dispatch.js"
import * as S from "../scale.js"
import { type State, storageItem } from "../storage.js"

export const pallet: Pallet = { name: "Timestamp", index: 2 }

export const storage = {
  Now: storageItem("Timestamp", "Now", {
    keys: [] as const,
    value: S.u64,
    fallback: 0n,
    docs: [" The current time for the current block."]
  })
}

export const Call = S.enumOf({
  path: ["pallet_timestamp", "pallet", "Call"],
  params: [{ name: "T", type: null }]
}, {
  set: { index: 0, fields: { now: S.field(S.compact(S.u64), "T::Moment") } }
})

export const constants = [{ name: "MinimumPeriod", codec: S.u64, value: 500n }] as const

/** The inherent's effect (`Timestamp::set`). */
export const set = (state: State, now: bigint): void => state.put(storage.Now, [], now)

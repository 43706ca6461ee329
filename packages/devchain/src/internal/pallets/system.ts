/**
 * System (index 0): accounts and their nonces, block number and hashes, events, and its calls
 * (`remark`, `remark_with_event`). The executive writes the per-block items; `System.Events` is
 * declared with each runtime profile, as its records hold that profile's `RuntimeEvent`.
 *
 * @internal
 */
import { u8aToHex } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import { type DispatchContext, ensureSigned, type Pallet } from "../dispatch.js"
import type { RuntimeEvent } from "../runtime.js"
import * as S from "../scale.js"
import { storageItem } from "../storage.js"
import { AccountId32, AccountInfo, DispatchError, DispatchInfo, H256 } from "../types.js"

export const pallet: Pallet = { name: "System", index: 0 }

export const storage = {
  Account: storageItem("System", "Account", {
    keys: [["Blake2_128Concat", AccountId32]] as const,
    value: AccountInfo,
    fallback: {
      nonce: 0,
      consumers: 0,
      providers: 0,
      sufficients: 0,
      data: { free: 0n, reserved: 0n, frozen: 0n, flags: 1n << 127n }
    },
    docs: [" The full account information for a particular account ID."]
  }),
  BlockHash: storageItem("System", "BlockHash", {
    keys: [["Twox64Concat", S.u32]] as const,
    value: H256,
    fallback: `0x${"00".repeat(32)}` as `0x${string}`,
    docs: [" Map of block numbers to block hashes."]
  }),
  Number: storageItem("System", "Number", {
    keys: [] as const,
    value: S.u32,
    fallback: 0,
    docs: [" The current block number being processed. Set by `execute_block`."]
  }),
  ParentHash: storageItem("System", "ParentHash", {
    keys: [] as const,
    value: H256,
    fallback: `0x${"00".repeat(32)}` as `0x${string}`,
    docs: [" Hash of the previous block."]
  }),
  EventCount: storageItem("System", "EventCount", {
    keys: [] as const,
    value: S.u32,
    fallback: 0,
    docs: [" The number of events in the `Events<T>` list."]
  })
}

export const Call = S.enumOf({ path: ["frame_system", "pallet", "Call"], params: [{ name: "T", type: null }] }, {
  remark: { index: 0, fields: { remark: S.field(S.bytes, "Vec<u8>") } },
  remark_with_event: { index: 7, fields: { remark: S.field(S.bytes, "Vec<u8>") } }
})

export const Event = S.enumOf(
  { path: ["frame_system", "pallet", "Event"], params: [{ name: "T", type: null }] },
  {
    ExtrinsicSuccess: { index: 0, fields: { dispatch_info: S.field(DispatchInfo, "DispatchInfo") } },
    ExtrinsicFailed: {
      index: 1,
      fields: {
        dispatch_error: S.field(DispatchError, "DispatchError"),
        dispatch_info: S.field(DispatchInfo, "DispatchInfo")
      }
    },
    CodeUpdated: { index: 2 },
    NewAccount: { index: 3, fields: { account: S.field(AccountId32, "T::AccountId") } },
    KilledAccount: { index: 4, fields: { account: S.field(AccountId32, "T::AccountId") } },
    Remarked: { index: 5, fields: { sender: S.field(AccountId32, "T::AccountId"), hash: S.field(H256, "T::Hash") } }
  }
)

export const errors = [
  "InvalidSpecName",
  "SpecVersionNeedsToIncrease",
  "FailedToExtractRuntimeVersion",
  "NonDefaultComposite",
  "NonZeroRefCount",
  "CallFiltered"
] as const

export const constants = [
  { name: "BlockHashCount", codec: S.u32, value: 4096 },
  { name: "SS58Prefix", codec: S.u16, value: 42 }
] as const

/** Deposits one of System's events. */
export const deposit = (ctx: DispatchContext, value: S.TypeOf<typeof Event>): void =>
  ctx.deposit({ _tag: "System", value } as RuntimeEvent)

export const dispatch = (ctx: DispatchContext, call: S.TypeOf<typeof Call>): void => {
  const who = ensureSigned(ctx.origin)
  if (call._tag === "remark_with_event") {
    deposit(ctx, { _tag: "Remarked", sender: who, hash: u8aToHex(blake2AsU8a(call.remark, 256)) })
  }
}

/**
 * Substrate's own types, with the paths polkadot.js recognises (devchain-notes §2.2), shared by every
 * pallet of the devchain runtime.
 *
 * @internal
 */
import { hexToU8a, u8aToHex } from "@polkadot/util"
import * as S from "./scale.js"

export type Hex = `0x${string}`

const hex32 = S.transform(S.fixed(32), (b): Hex => u8aToHex(b), (h: Hex) => hexToU8a(h))

export const AccountId32 = S.newtype({ path: ["sp_core", "crypto", "AccountId32"] }, hex32, "[u8; 32]")
export const H256 = S.newtype({ path: ["primitive_types", "H256"] }, hex32, "[u8; 32]")

export const MultiAddress = S.enumOf({
  path: ["sp_runtime", "multiaddress", "MultiAddress"],
  params: [{ name: "AccountId", type: AccountId32 }, { name: "AccountIndex", type: null }]
}, {
  Id: { index: 0, value: S.field(AccountId32, "AccountId") },
  Index: { index: 1, value: S.field(S.compact(S.u32), "AccountIndex") },
  Raw: { index: 2, value: S.field(S.bytes, "Vec<u8>") },
  Address32: { index: 3, value: S.field(S.fixed(32), "[u8; 32]") },
  Address20: { index: 4, value: S.field(S.fixed(20), "[u8; 20]") }
})
export type MultiAddress = S.TypeOf<typeof MultiAddress>

export const MultiSignature = S.enumOf({ path: ["sp_runtime", "MultiSignature"] }, {
  Ed25519: { index: 0, value: S.field(S.fixed(64), "ed25519::Signature") },
  Sr25519: { index: 1, value: S.field(S.fixed(64), "sr25519::Signature") },
  Ecdsa: { index: 2, value: S.field(S.fixed(65), "ecdsa::Signature") },
  Eth: { index: 3, value: S.field(S.fixed(65), "ecdsa::KeccakSignature") }
})
export type MultiSignature = S.TypeOf<typeof MultiSignature>

export const Weight = S.struct({ path: ["sp_weights", "weight_v2", "Weight"] }, {
  ref_time: S.field(S.compact(S.u64), "u64"),
  proof_size: S.field(S.compact(S.u64), "u64")
})
export type Weight = S.TypeOf<typeof Weight>

export const DispatchClass = S.enumOf({ path: ["frame_support", "dispatch", "DispatchClass"] }, {
  Normal: { index: 0 },
  Operational: { index: 1 },
  Mandatory: { index: 2 }
})
export const Pays = S.enumOf({ path: ["frame_support", "dispatch", "Pays"] }, { Yes: { index: 0 }, No: { index: 1 } })

export const DispatchInfo = S.struct({ path: ["frame_support", "dispatch", "DispatchInfo"] }, {
  weight: S.field(Weight, "Weight"),
  class: S.field(DispatchClass, "DispatchClass"),
  pays_fee: S.field(Pays, "Pays")
})
export type DispatchInfo = S.TypeOf<typeof DispatchInfo>

export const ModuleError = S.struct({ path: ["sp_runtime", "ModuleError"] }, {
  index: S.field(S.u8, "u8"),
  error: S.field(S.fixed(4), "[u8; MAX_MODULE_ERROR_ENCODED_SIZE]")
})

const unitEnum = (path: Array<string>, names: ReadonlyArray<string>) =>
  S.enumOf({ path }, Object.fromEntries(names.map((name, index) => [name, { index }])))

export const TokenError = unitEnum(["sp_runtime", "TokenError"], [
  "FundsUnavailable",
  "OnlyProvider",
  "BelowMinimum",
  "CannotCreate",
  "UnknownAsset",
  "Frozen",
  "Unsupported",
  "CannotCreateHold",
  "NotExpendable",
  "Blocked"
])
export const ArithmeticError = unitEnum(["sp_arithmetic", "ArithmeticError"], [
  "Underflow",
  "Overflow",
  "DivisionByZero"
])
export const TransactionalError = unitEnum(["sp_runtime", "TransactionalError"], ["LimitReached", "NoLayer"])

export const DispatchError = S.enumOf({ path: ["sp_runtime", "DispatchError"] }, {
  Other: { index: 0 },
  CannotLookup: { index: 1 },
  BadOrigin: { index: 2 },
  Module: { index: 3, value: S.field(ModuleError, "ModuleError") },
  ConsumerRemaining: { index: 4 },
  NoProviders: { index: 5 },
  TooManyConsumers: { index: 6 },
  Token: { index: 7, value: S.field(TokenError, "TokenError") },
  Arithmetic: { index: 8, value: S.field(ArithmeticError, "ArithmeticError") },
  Transactional: { index: 9, value: S.field(TransactionalError, "TransactionalError") },
  Exhausted: { index: 10 },
  Corruption: { index: 11 },
  Unavailable: { index: 12 },
  RootNotAllowed: { index: 13 }
})
export type DispatchError = S.TypeOf<typeof DispatchError>

const Unit = S.tuple()
export const DispatchResult = S.enumOf({
  path: ["Result"],
  params: [{ name: "T", type: Unit }, { name: "E", type: DispatchError }]
}, {
  Ok: { index: 0, value: Unit },
  Err: { index: 1, value: DispatchError }
})

/** `Era` is decoded by the extrinsic parser; here it is only described (polkadot.js uses its own class). */
export const Era = S.describeOnly<never>((b) =>
  b.register("Era", () => {
    const byte = S.u8.register(b)
    return {
      path: ["sp_runtime", "generic", "era", "Era"],
      params: [],
      def: {
        Variant: {
          variants: [
            { name: "Immortal", fields: [], index: 0, docs: [] },
            ...Array.from({ length: 255 }, (_, i) => ({
              name: `Mortal${i + 1}`,
              fields: [{ type: byte, docs: [] }],
              index: i + 1,
              docs: []
            }))
          ]
        }
      },
      docs: []
    }
  })
)

export const ExtraFlags = S.newtype({ path: ["pallet_balances", "types", "ExtraFlags"] }, S.u128, "u128")

export const AccountData = S.struct({
  path: ["pallet_balances", "types", "AccountData"],
  params: [{ name: "Balance", type: S.u128 }]
}, {
  free: S.field(S.u128, "Balance"),
  reserved: S.field(S.u128, "Balance"),
  frozen: S.field(S.u128, "Balance"),
  flags: S.field(ExtraFlags, "ExtraFlags")
})

export const AccountInfo = S.struct({
  path: ["frame_system", "AccountInfo"],
  params: [{ name: "Nonce", type: S.u32 }, { name: "AccountData", type: AccountData }]
}, {
  nonce: S.field(S.u32, "Nonce"),
  consumers: S.field(S.u32, "RefCount"),
  providers: S.field(S.u32, "RefCount"),
  sufficients: S.field(S.u32, "RefCount"),
  data: S.field(AccountData, "AccountData")
})
export type AccountInfo = S.TypeOf<typeof AccountInfo>

export const Phase = S.enumOf({ path: ["frame_system", "Phase"] }, {
  ApplyExtrinsic: { index: 0, value: S.field(S.u32, "u32") },
  Finalization: { index: 1 },
  Initialization: { index: 2 }
})
export type Phase = S.TypeOf<typeof Phase>

/** `ExtrinsicSuccess`'s payload when the call pays normally. */
export const dispatchInfo = (refTime: bigint, klass: "Normal" | "Mandatory" = "Normal"): DispatchInfo => ({
  weight: { ref_time: refTime, proof_size: 0n },
  class: { _tag: klass },
  pays_fee: { _tag: "Yes" }
})

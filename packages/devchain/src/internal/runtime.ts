/**
 * One runtime profile (era C or era A): the pallets (`pallets/`) composed at their indices into the
 * outer `RuntimeCall`/`RuntimeEvent` enums, the V14 metadata built from the same codec definitions,
 * and the runtime version.
 *
 * @internal
 */
import { TypeRegistry } from "@polkadot/types"
import { hexToU8a, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsHex } from "@polkadot/util-crypto"
import * as Balances from "./pallets/balances.js"
import { eraA } from "./pallets/storageProvider/eraA.js"
import { eraC } from "./pallets/storageProvider/eraC.js"
import * as StorageProvider from "./pallets/storageProvider/pallet.js"
import * as Sudo from "./pallets/sudo.js"
import * as System from "./pallets/system.js"
import * as Timestamp from "./pallets/timestamp.js"
import * as TransactionPayment from "./pallets/transactionPayment.js"
import * as S from "./scale.js"
import { describe, type DescribedItem, type StorageItem, storageItem } from "./storage.js"
import { AccountId32, Era, H256, MultiAddress, MultiSignature, Phase } from "./types.js"

const errorEnum = (path: Array<string>, names: ReadonlyArray<string>, params: Array<{ name: string; type: null }>) =>
  S.enumOf({ path, params }, Object.fromEntries(names.map((name, index) => [name, { index }])))

const unitComposite = (path: Array<string>) => S.struct({ path }, {})

const buildProfile = <E extends typeof eraC | typeof eraA>(era: StorageProvider.Era, sp: E) => {
  // eslint-disable-next-line prefer-const -- assigned once below; Sudo's Box<RuntimeCall> needs the forward reference
  let RuntimeCall: S.AnyCodec
  const SudoCall = Sudo.makeCall(S.lazy(() => RuntimeCall))
  RuntimeCall = S.enumOf({ path: ["devchain_runtime", "RuntimeCall"] }, {
    System: { index: System.pallet.index, value: S.field(System.Call, "CallableCallFor<System, Runtime>") },
    Timestamp: {
      index: Timestamp.pallet.index,
      value: S.field(Timestamp.Call, "CallableCallFor<Timestamp, Runtime>")
    },
    Balances: { index: Balances.pallet.index, value: S.field(Balances.Call, "CallableCallFor<Balances, Runtime>") },
    Sudo: { index: Sudo.pallet.index, value: S.field(SudoCall, "CallableCallFor<Sudo, Runtime>") },
    StorageProvider: {
      index: StorageProvider.pallet.index,
      value: S.field(sp.Call as unknown as S.Codec<S.TypeOf<E["Call"]>>, "CallableCallFor<StorageProvider, Runtime>")
    }
  })
  const RuntimeEvent = S.enumOf({ path: ["devchain_runtime", "RuntimeEvent"] }, {
    System: { index: System.pallet.index, value: S.field(System.Event, "frame_system::Event<Runtime>") },
    Balances: { index: Balances.pallet.index, value: S.field(Balances.Event, "pallet_balances::Event<Runtime>") },
    TransactionPayment: {
      index: TransactionPayment.pallet.index,
      value: S.field(TransactionPayment.Event, "pallet_transaction_payment::Event<Runtime>")
    },
    Sudo: { index: Sudo.pallet.index, value: S.field(Sudo.Event, "pallet_sudo::Event<Runtime>") },
    StorageProvider: {
      index: StorageProvider.pallet.index,
      value: S.field(sp.Event as unknown as S.Codec<S.TypeOf<E["Event"]>>, "pallet_storage_provider::Event<Runtime>")
    }
  })
  const EventRecord = S.struct({
    path: ["frame_system", "EventRecord"],
    params: [{ name: "E", type: RuntimeEvent }, { name: "T", type: H256 }]
  }, {
    phase: S.field(Phase, "Phase"),
    event: S.field(RuntimeEvent, "E"),
    topics: S.field(S.vec(H256), "Vec<T>")
  })
  const Events = {
    Events: storageItem("System", "Events", {
      keys: [] as const,
      value: S.vec(EventRecord),
      fallback: [],
      docs: [" Events deposited for the current block."]
    })
  }
  const errors = {
    System: errorEnum(["frame_system", "pallet", "Error"], System.errors, [{ name: "T", type: null }]),
    Balances: errorEnum(["pallet_balances", "pallet", "Error"], Balances.errors, [{ name: "T", type: null }, {
      name: "I",
      type: null
    }]),
    Sudo: errorEnum(["pallet_sudo", "pallet", "Error"], Sudo.errors, [{ name: "T", type: null }]),
    StorageProvider: errorEnum(["pallet_storage_provider", "pallet", "Error"], StorageProvider.errors(era), [{
      name: "T",
      type: null
    }])
  }
  return { era, sp, RuntimeCall: RuntimeCall as S.Codec<RuntimeCallOf<E>>, RuntimeEvent, EventRecord, Events, errors }
}

type RuntimeCallOf<E extends typeof eraC | typeof eraA> =
  | { readonly _tag: "System"; readonly value: S.TypeOf<typeof System.Call> }
  | { readonly _tag: "Timestamp"; readonly value: S.TypeOf<typeof Timestamp.Call> }
  | { readonly _tag: "Balances"; readonly value: S.TypeOf<typeof Balances.Call> }
  | { readonly _tag: "Sudo"; readonly value: Sudo.Call<RuntimeCallOf<E>> }
  | { readonly _tag: "StorageProvider"; readonly value: S.TypeOf<E["Call"]> }

const profiles = { C: buildProfile("C", eraC), A: buildProfile("A", eraA) }
export type ProfileC = typeof profiles.C
export type ProfileA = typeof profiles.A
export type Profile = ProfileC | ProfileA
export type RuntimeEvent = S.TypeOf<ProfileC["RuntimeEvent"]> | S.TypeOf<ProfileA["RuntimeEvent"]>
export type RuntimeCall = S.TypeOf<ProfileC["RuntimeCall"]> | S.TypeOf<ProfileA["RuntimeCall"]>
export type EventRecord = {
  readonly phase: Phase
  readonly event: RuntimeEvent
  readonly topics: ReadonlyArray<`0x${string}`>
}

export const profile = (era: StorageProvider.Era): Profile => profiles[era]

// ---------------------------------------------------------------------------------------------
// Runtime version and the runtime APIs it declares

export interface RuntimeVersion {
  readonly specName: string
  readonly implName: string
  readonly authoringVersion: number
  readonly specVersion: number
  readonly implVersion: number
  readonly apis: ReadonlyArray<readonly [string, number]>
  readonly transactionVersion: number
  readonly stateVersion: number
}

const api = (name: string, version: number) => [blake2AsHex(name, 64), version] as const

export const runtimeVersion = (era: StorageProvider.Era, specVersion?: number): RuntimeVersion => ({
  specName: "checkpointer-devchain",
  implName: "checkpointer-devchain",
  authoringVersion: 1,
  // The real runtimes: era A is spec 1 / tx 1, era C (web3-storage-local) spec 4 / tx 2.
  specVersion: specVersion ?? (era === "C" ? 4 : 1),
  implVersion: 0,
  apis: [
    api("Core", 5),
    api("Metadata", 2),
    api("BlockBuilder", 6),
    api("TaggedTransactionQueue", 3),
    api("AccountNonceApi", 1),
    api("TransactionPaymentApi", 4)
  ],
  transactionVersion: era === "C" ? 2 : 1,
  stateVersion: 1
})

// ---------------------------------------------------------------------------------------------
// Metadata V14

const RuntimeVersionCodec = S.struct({ path: ["sp_version", "RuntimeVersion"] }, {
  spec_name: S.field(S.str, "Cow<'static, str>"),
  impl_name: S.field(S.str, "Cow<'static, str>"),
  authoring_version: S.field(S.u32, "u32"),
  spec_version: S.field(S.u32, "u32"),
  impl_version: S.field(S.u32, "u32"),
  apis: S.field(S.vec(S.tuple(S.fixed(8), S.u32)), "ApisVec"),
  transaction_version: S.field(S.u32, "u32"),
  system_version: S.field(S.u8, "u8")
})

export const SIGNED_EXTENSIONS = [
  "CheckNonZeroSender",
  "CheckSpecVersion",
  "CheckTxVersion",
  "CheckGenesis",
  "CheckMortality",
  "CheckNonce",
  "CheckWeight",
  "ChargeTransactionPayment",
  "CheckMetadataHash"
] as const

const storageEntry = (b: S.TypeBuilder, item: DescribedItem) => {
  const keys = item.keys
  const value = item.value.register(b)
  const type = keys.length === 0
    ? { Plain: value }
    : {
      Map: {
        hashers: keys.map(([h]) => h),
        key: keys.length === 1 ? keys[0]![1].register(b) : b.shape({ Tuple: keys.map(([, c]) => c.register(b)) }),
        value
      }
    }
  return {
    name: item.name,
    modifier: item.modifier,
    type,
    fallback: item.fallbackEncoded === undefined ? "0x00" : u8aToHex(item.fallbackEncoded),
    docs: [...item.docs]
  }
}

const constant = (b: S.TypeBuilder, name: string, codec: S.AnyCodec, value: unknown, docs: Array<string> = []) => ({
  name,
  type: codec.register(b),
  value: u8aToHex(S.encode(codec, value)),
  docs
})

const spStorageItems = (p: Profile): ReadonlyArray<DescribedItem> =>
  p.era === "C"
    ? Object.values(eraC.storage).map((item) => describe(item as StorageItem<ReadonlyArray<unknown>, unknown>))
    : Object.values(eraA.storage).map((item) => describe(item as StorageItem<ReadonlyArray<unknown>, unknown>))

/** The metadata bytes (`0x6d657461` ++ version 14 ++ body) that `state_getMetadata` serves. */
export const buildMetadata = (era: StorageProvider.Era, version = runtimeVersion(era)): Uint8Array => {
  const p = profile(era)
  const b = new S.TypeBuilder()
  // Register the ids polkadot.js expects to find early (AccountId32 first, as in real metadata).
  AccountId32.register(b)
  p.EventRecord.register(b)
  const runtimeCall = p.RuntimeCall.register(b)

  const ext = (path: Array<string>) => unitComposite(path).register(b)
  const unit = b.shape({ Tuple: [] })
  const signedExtensions = [
    {
      identifier: "CheckNonZeroSender",
      type: ext(["frame_system", "extensions", "check_non_zero_sender", "CheckNonZeroSender"]),
      additionalSigned: unit
    },
    {
      identifier: "CheckSpecVersion",
      type: ext(["frame_system", "extensions", "check_spec_version", "CheckSpecVersion"]),
      additionalSigned: S.u32.register(b)
    },
    {
      identifier: "CheckTxVersion",
      type: ext(["frame_system", "extensions", "check_tx_version", "CheckTxVersion"]),
      additionalSigned: S.u32.register(b)
    },
    {
      identifier: "CheckGenesis",
      type: ext(["frame_system", "extensions", "check_genesis", "CheckGenesis"]),
      additionalSigned: H256.register(b)
    },
    {
      identifier: "CheckMortality",
      type: S.newtype({ path: ["frame_system", "extensions", "check_mortality", "CheckMortality"] }, Era, "Era")
        .register(b),
      additionalSigned: H256.register(b)
    },
    {
      identifier: "CheckNonce",
      type: S.newtype(
        { path: ["frame_system", "extensions", "check_nonce", "CheckNonce"] },
        S.compact(S.u32),
        "T::Nonce"
      ).register(b),
      additionalSigned: unit
    },
    {
      identifier: "CheckWeight",
      type: ext(["frame_system", "extensions", "check_weight", "CheckWeight"]),
      additionalSigned: unit
    },
    {
      identifier: "ChargeTransactionPayment",
      type: S.newtype(
        { path: ["pallet_transaction_payment", "ChargeTransactionPayment"] },
        S.compact(S.u128),
        "BalanceOf<T>"
      ).register(b),
      additionalSigned: unit
    },
    {
      identifier: "CheckMetadataHash",
      type: S.struct({ path: ["frame_metadata_hash_extension", "CheckMetadataHash"] }, {
        mode: S.field(
          S.enumOf({ path: ["frame_metadata_hash_extension", "Mode"] }, {
            Disabled: { index: 0 },
            Enabled: { index: 1 }
          }),
          "Mode"
        )
      }).register(b),
      additionalSigned: S.option(S.fixed(32)).register(b)
    }
  ]
  const extraTuple = b.shape({ Tuple: signedExtensions.map((e) => e.type) })
  const uncheckedExtrinsic = b.register("UncheckedExtrinsic", () => ({
    path: ["sp_runtime", "generic", "unchecked_extrinsic", "UncheckedExtrinsic"],
    params: [
      { name: "Address", type: MultiAddress.register(b) },
      { name: "Call", type: runtimeCall },
      { name: "Signature", type: MultiSignature.register(b) },
      { name: "Extra", type: extraTuple }
    ],
    def: { Sequence: { type: S.u8.register(b) } },
    docs: []
  }))
  const runtimeType = unitComposite(["devchain_runtime", "Runtime"]).register(b)

  const pallets = [
    {
      name: "System",
      index: System.pallet.index,
      storage: {
        prefix: "System",
        items: [
          describe(System.storage.Account),
          describe(System.storage.BlockHash),
          describe(System.storage.Number),
          describe(System.storage.ParentHash),
          describe(p.Events.Events as StorageItem<[], ReadonlyArray<unknown>>),
          describe(System.storage.EventCount)
        ].map((i) => storageEntry(b, i))
      },
      calls: { type: System.Call.register(b) },
      events: { type: System.Event.register(b) },
      constants: [
        ...System.constants.map((c) => constant(b, c.name, c.codec, c.value)),
        // `System::Version`: the spec and transaction versions that CheckSpecVersion / CheckTxVersion sign
        // (polkadot-api reads them here, @polkadot/api from the runtime version RPC).
        constant(b, "Version", RuntimeVersionCodec, {
          spec_name: version.specName,
          impl_name: version.implName,
          authoring_version: version.authoringVersion,
          spec_version: version.specVersion,
          impl_version: version.implVersion,
          apis: version.apis.map(([id, v]) => [hexToU8a(id), v] as const),
          transaction_version: version.transactionVersion,
          system_version: version.stateVersion
        }, [" Get the chain's in-code version."])
      ],
      errors: { type: p.errors.System.register(b) }
    },
    {
      name: "Timestamp",
      index: Timestamp.pallet.index,
      storage: { prefix: "Timestamp", items: [storageEntry(b, describe(Timestamp.storage.Now))] },
      calls: { type: Timestamp.Call.register(b) },
      events: null,
      constants: Timestamp.constants.map((c) => constant(b, c.name, c.codec, c.value)),
      errors: null
    },
    {
      name: "Balances",
      index: Balances.pallet.index,
      storage: { prefix: "Balances", items: [storageEntry(b, describe(Balances.storage.TotalIssuance))] },
      calls: { type: Balances.Call.register(b) },
      events: { type: Balances.Event.register(b) },
      constants: Balances.constants.map((c) => constant(b, c.name, c.codec, c.value)),
      errors: { type: p.errors.Balances.register(b) }
    },
    {
      name: "TransactionPayment",
      index: TransactionPayment.pallet.index,
      storage: null,
      calls: null,
      events: { type: TransactionPayment.Event.register(b) },
      constants: [],
      errors: null
    },
    {
      name: "Sudo",
      index: Sudo.pallet.index,
      storage: { prefix: "Sudo", items: [storageEntry(b, describe(Sudo.storage.Key))] },
      calls: { type: typeIdByPath(b, "pallet_sudo::pallet::Call") },
      events: { type: Sudo.Event.register(b) },
      constants: [],
      errors: { type: p.errors.Sudo.register(b) }
    },
    {
      name: "StorageProvider",
      index: StorageProvider.pallet.index,
      storage: {
        prefix: "StorageProvider",
        items: spStorageItems(p).map((i) => storageEntry(b, i))
      },
      calls: { type: p.sp.Call.register(b) },
      events: { type: p.sp.Event.register(b) },
      constants: StorageProvider.constants.map((c) => constant(b, c.name, c.codec, c.value)),
      errors: { type: p.errors.StorageProvider.register(b) }
    }
  ]

  const registry = new TypeRegistry()
  const body = registry.createType("MetadataV14", {
    lookup: { types: b.types },
    pallets,
    extrinsic: { type: uncheckedExtrinsic, version: 4, signedExtensions },
    type: runtimeType
  }).toU8a()
  return u8aConcat(new Uint8Array([0x6d, 0x65, 0x74, 0x61, 14]), body)
}

// Sudo's call enum is only reachable through `RuntimeCall` (it is built inside the profile); find it by path.
const typeIdByPath = (b: S.TypeBuilder, path: string) => {
  const found = b.types.find((t) => t.type.path.join("::") === path)
  if (found === undefined) throw new Error(`metadata: no type ${path}`)
  return found.id
}

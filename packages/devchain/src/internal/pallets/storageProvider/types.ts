/**
 * The StorageProvider types both eras share, and the storage items, calls and events both eras
 * declare alike (each era's module adds its own), named and ordered as in the real runtimes
 * (protocol-facts §1–§2).
 *
 * @internal
 */
import * as S from "../../scale.js"
import { storageItem } from "../../storage.js"
import { AccountId32, H256, MultiSignature } from "../../types.js"
import { MAX_MEMBERS, MAX_MULTIADDR_LENGTH, MAX_PRIMARY_PROVIDERS } from "./pallet.js"

export const BucketId = (codec = S.u64) => S.field(codec, "BucketId")

/**
 * A provider's multiaddr: a `BoundedVec<u8, MaxMultiaddrLength>` that the real runtime's metadata
 * shows as the BoundedVec composite itself (other bounded vectors appear as plain sequences).
 */
const boundedMeta = (item: S.Registrable) => ({
  path: ["bounded_collections", "bounded_vec", "BoundedVec"],
  params: [{ name: "T", type: item }, { name: "S", type: null }]
})
/** `BoundedVec<u8, max>`, described as the BoundedVec composite (as the real runtime's metadata does). */
export const boundedBytes = (max: number) => S.newtype(boundedMeta(S.u8), S.boundedBytes(max), "Vec<T>")
/** `BoundedVec<A, max>`, described as the BoundedVec composite. */
export const boundedVec = <A>(item: S.Codec<A>, max: number) => S.newtype(boundedMeta(item), S.vec(item, max), "Vec<T>")

export const Multiaddr = S.field(boundedBytes(MAX_MULTIADDR_LENGTH), "BoundedVec<u8, T::MaxMultiaddrLength>")
export const Account = S.field(AccountId32, "T::AccountId")
export const Balance = S.field(S.u128, "BalanceOf<T>")
export const BlockNumber = S.field(S.u32, "BlockNumberFor<T>")

export const Role = S.enumOf({ path: ["storage_primitives", "Role"] }, {
  Admin: { index: 0 },
  Writer: { index: 1 },
  Reader: { index: 2 }
})
export type Role = S.TypeOf<typeof Role>

export const Member = S.struct({
  path: ["pallet_storage_provider", "pallet", "Member"],
  params: [{ name: "T", type: null }]
}, {
  account: S.field(AccountId32, "AccountId"),
  role: S.field(Role, "Role")
})

export const Commitment = S.struct({ path: ["storage_primitives", "Commitment"] }, {
  mmr_root: S.field(H256, "H256"),
  start_seq: S.field(S.u64, "u64"),
  leaf_count: S.field(S.u64, "u64")
})
export type Commitment = S.TypeOf<typeof Commitment>

export const ChunkLocation = S.struct({ path: ["storage_primitives", "ChunkLocation"] }, {
  leaf_index: S.field(S.u64, "u64"),
  chunk_index: S.field(S.u64, "u64")
})

export const ChallengeId = S.struct({
  path: ["storage_primitives", "ChallengeId"],
  params: [{ name: "BlockNumber", type: S.u32 }]
}, {
  deadline: S.field(S.u32, "BlockNumber"),
  index: S.field(S.u16, "u16")
})

export const Signatures = S.field(
  boundedVec(S.tuple(AccountId32, MultiSignature), MAX_PRIMARY_PROVIDERS),
  "BoundedVec<(T::AccountId, MultiSignature), T::MaxPrimaryProviders>"
)

export const Visibility = S.enumOf({ path: ["storage_primitives", "Visibility"] }, {
  Public: { index: 0 },
  Private: { index: 1 }
})

export const settingsFields = {
  min_duration: BlockNumber,
  max_duration: BlockNumber,
  price_per_byte: Balance,
  accepting_primary: S.field(S.bool, "bool"),
  replica_sync_price: S.field(S.option(S.u128), "Option<BalanceOf<T>>"),
  accepting_extensions: S.field(S.bool, "bool")
}
export const settingsPath = {
  path: ["pallet_storage_provider", "pallet", "ProviderSettings"],
  params: [{ name: "T", type: null }]
}

/** The path of a type declared in `pallet_storage_provider::pallet`. */
export const palletType = (name: string) => ({
  path: ["pallet_storage_provider", "pallet", name],
  params: [{ name: "T", type: null }]
})

/** The fields of `ProviderStats` both eras share (each era appends its challenge counters). */
export const statsFields = {
  registered_at: BlockNumber,
  agreements_total: S.field(S.u32, "u32"),
  agreements_extended: S.field(S.u32, "u32"),
  agreements_not_extended: S.field(S.u32, "u32"),
  agreements_burned: S.field(S.u32, "u32"),
  total_bytes_committed: S.field(S.u64, "u64")
}

/** `Bucket`'s fields, with the era's snapshot type (era C appends `visibility`). */
export const bucketFields = <Snapshot>(snapshot: S.Codec<Snapshot>) => ({
  members: S.field(boundedVec(Member, MAX_MEMBERS), "BoundedVec<Member<T>, T::MaxMembers>"),
  frozen_start_seq: S.field(S.option(S.u64), "Option<u64>"),
  min_providers: S.field(S.u32, "u32"),
  primary_providers: S.field(
    boundedVec(AccountId32, MAX_PRIMARY_PROVIDERS),
    "BoundedVec<T::AccountId, T::MaxPrimaryProviders>"
  ),
  snapshot: S.field(S.option(snapshot), "Option<BucketSnapshot<BlockNumberFor<T>>>"),
  historical_roots: S.field(S.array(6, S.tuple(S.u32, H256)), "[(u32, H256); 6]"),
  total_snapshots: S.field(S.u32, "u32")
})

/** `StorageAgreement`, with the era's `ProviderRole`. */
export const storageAgreement = <R>(role: S.Codec<R>) =>
  S.struct(palletType("StorageAgreement"), {
    owner: Account,
    max_bytes: S.field(S.u64, "u64"),
    payment_locked: Balance,
    price_per_byte: Balance,
    expires_at: BlockNumber,
    extensions_blocked: S.field(S.bool, "bool"),
    role: S.field(role, "ProviderRole"),
    started_at: BlockNumber
  })

/** The storage items both eras have, over the era's value types. */
export const sharedStorage = <Provider, Bucket, Agreement>(types: {
  readonly ProviderInfo: S.Codec<Provider>
  readonly Bucket: S.Codec<Bucket>
  readonly StorageAgreement: S.Codec<Agreement>
}) => ({
  Providers: storageItem("StorageProvider", "Providers", {
    keys: [["Blake2_128Concat", AccountId32]] as const,
    value: types.ProviderInfo,
    docs: [" Provider registry."]
  }),
  NextBucketId: storageItem("StorageProvider", "NextBucketId", {
    keys: [] as const,
    value: S.u64,
    fallback: 0n,
    docs: [" Monotonically increasing bucket ID counter."]
  }),
  Buckets: storageItem("StorageProvider", "Buckets", {
    keys: [["Blake2_128Concat", S.u64]] as const,
    value: types.Bucket,
    docs: [" Buckets: containers for data with membership and storage agreements."]
  }),
  StorageAgreements: storageItem("StorageProvider", "StorageAgreements", {
    keys: [["Blake2_128Concat", S.u64], ["Blake2_128Concat", AccountId32]] as const,
    value: types.StorageAgreement,
    docs: [" Storage agreements: per-provider contracts for a bucket."]
  })
})

/** The calls both eras have, at the same indices (the settings type is the era's). */
export const sharedCalls = <Settings>(settings: S.Codec<Settings>) => ({
  add_stake: { index: 1, fields: { amount: Balance } },
  update_provider_settings: { index: 3, fields: { settings: S.field(settings, "ProviderSettings<T>") } },
  set_min_providers: { index: 11, fields: { bucket_id: BucketId(), min_providers: S.field(S.u32, "u32") } },
  freeze_bucket: { index: 12, fields: { bucket_id: BucketId() } },
  set_member: { index: 13, fields: { bucket_id: BucketId(), member: Account, role: S.field(Role, "Role") } },
  remove_member: { index: 14, fields: { bucket_id: BucketId(), member: Account } }
})

/** The events both eras have, at the same indices. */
export const sharedEvents = {
  ProviderRegistered: { index: 0, fields: { provider: Account, stake: Balance } },
  ProviderStakeAdded: { index: 2, fields: { provider: Account, amount: Balance, total_stake: Balance } },
  ProviderSettingsUpdated: { index: 3, fields: { provider: Account } },
  BucketCreated: { index: 5, fields: { bucket_id: BucketId(), admin: Account } },
  BucketFrozen: { index: 6, fields: { bucket_id: BucketId(), frozen_start_seq: S.field(S.u64, "u64") } },
  MemberSet: { index: 7, fields: { bucket_id: BucketId(), member: Account, role: S.field(Role, "Role") } },
  MemberRemoved: { index: 8, fields: { bucket_id: BucketId(), member: Account } },
  ProviderAddedToBucket: { index: 10, fields: { bucket_id: BucketId(), provider: Account } }
}

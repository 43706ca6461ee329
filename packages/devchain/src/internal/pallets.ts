/**
 * The devchain runtime's pallets: their types, storage items, calls, events, errors and constants,
 * named and ordered as in the real runtimes (protocol-facts §1–§2; the era-A profile follows the real
 * oldest runtime's metadata in ../shared/fixtures/storage-local.storage-provider.txt).
 *
 * @internal
 */
import * as S from "./scale.js"
import { storageItem } from "./storage.js"
import {
  AccountId32,
  AccountInfo,
  DispatchError,
  DispatchInfo,
  DispatchResult,
  H256,
  MultiAddress,
  MultiSignature,
  Phase,
  Weight
} from "./types.js"

// ---------------------------------------------------------------------------------------------
// System (0), Timestamp (2), Balances (10), TransactionPayment (11), Sudo (15)

export const System = {
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

export const SystemCall = S.enumOf({ path: ["frame_system", "pallet", "Call"], params: [{ name: "T", type: null }] }, {
  remark: { index: 0, fields: { remark: S.field(S.bytes, "Vec<u8>") } },
  remark_with_event: { index: 7, fields: { remark: S.field(S.bytes, "Vec<u8>") } }
})

export const SystemEvent = S.enumOf(
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

export const SystemErrors = [
  "InvalidSpecName",
  "SpecVersionNeedsToIncrease",
  "FailedToExtractRuntimeVersion",
  "NonDefaultComposite",
  "NonZeroRefCount",
  "CallFiltered"
] as const

export const Timestamp = {
  Now: storageItem("Timestamp", "Now", {
    keys: [] as const,
    value: S.u64,
    fallback: 0n,
    docs: [" The current time for the current block."]
  })
}
export const TimestampCall = S.enumOf({
  path: ["pallet_timestamp", "pallet", "Call"],
  params: [{ name: "T", type: null }]
}, {
  set: { index: 0, fields: { now: S.field(S.compact(S.u64), "T::Moment") } }
})

export const Balances = {
  TotalIssuance: storageItem("Balances", "TotalIssuance", {
    keys: [] as const,
    value: S.u128,
    fallback: 0n,
    docs: [" The total units issued in the system."]
  })
}
export const BalancesCall = S.enumOf({
  path: ["pallet_balances", "pallet", "Call"],
  params: [{ name: "T", type: null }, { name: "I", type: null }]
}, {
  transfer_allow_death: {
    index: 0,
    fields: { dest: S.field(MultiAddress, "AccountIdLookupOf<T>"), value: S.field(S.compact(S.u128), "T::Balance") }
  },
  force_transfer: {
    index: 2,
    fields: {
      source: S.field(MultiAddress, "AccountIdLookupOf<T>"),
      dest: S.field(MultiAddress, "AccountIdLookupOf<T>"),
      value: S.field(S.compact(S.u128), "T::Balance")
    }
  },
  transfer_keep_alive: {
    index: 3,
    fields: { dest: S.field(MultiAddress, "AccountIdLookupOf<T>"), value: S.field(S.compact(S.u128), "T::Balance") }
  },
  force_set_balance: {
    index: 8,
    fields: { who: S.field(MultiAddress, "AccountIdLookupOf<T>"), new_free: S.field(S.compact(S.u128), "T::Balance") }
  }
})
export const BalancesEvent = S.enumOf({
  path: ["pallet_balances", "pallet", "Event"],
  params: [{ name: "T", type: null }, { name: "I", type: null }]
}, {
  Endowed: {
    index: 0,
    fields: { account: S.field(AccountId32, "T::AccountId"), free_balance: S.field(S.u128, "T::Balance") }
  },
  Transfer: {
    index: 2,
    fields: {
      from: S.field(AccountId32, "T::AccountId"),
      to: S.field(AccountId32, "T::AccountId"),
      amount: S.field(S.u128, "T::Balance")
    }
  },
  BalanceSet: { index: 3, fields: { who: S.field(AccountId32, "T::AccountId"), free: S.field(S.u128, "T::Balance") } },
  Reserved: { index: 4, fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") } },
  Unreserved: {
    index: 5,
    fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") }
  },
  Deposit: { index: 7, fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") } },
  Withdraw: { index: 8, fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") } }
})
export const BalancesErrors = [
  "VestingBalance",
  "LiquidityRestrictions",
  "InsufficientBalance",
  "ExistentialDeposit",
  "Expendability",
  "ExistingVestingSchedule",
  "DeadAccount",
  "TooManyReserves",
  "TooManyHolds",
  "TooManyFreezes",
  "IssuanceDeactivated",
  "DeltaZero"
] as const

export const TransactionPaymentEvent = S.enumOf({
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

export const Sudo = {
  Key: storageItem("Sudo", "Key", {
    keys: [] as const,
    value: AccountId32,
    docs: [" The `AccountId` of the sudo key."]
  })
}
// Sudo's calls hold a `Box<RuntimeCall>`; the runtime module closes the recursion.
export const makeSudoCall = <C>(runtimeCall: S.Codec<C>) =>
  S.enumOf({ path: ["pallet_sudo", "pallet", "Call"], params: [{ name: "T", type: null }] }, {
    sudo: { index: 0, fields: { call: S.field(runtimeCall, "Box<<T as Config>::RuntimeCall>") } },
    sudo_as: {
      index: 3,
      fields: {
        who: S.field(MultiAddress, "AccountIdLookupOf<T>"),
        call: S.field(runtimeCall, "Box<<T as Config>::RuntimeCall>")
      }
    }
  })
export const SudoEvent = S.enumOf({ path: ["pallet_sudo", "pallet", "Event"], params: [{ name: "T", type: null }] }, {
  Sudid: { index: 0, fields: { sudo_result: S.field(DispatchResult, "DispatchResult") } },
  SudoAsDone: { index: 3, fields: { sudo_result: S.field(DispatchResult, "DispatchResult") } }
})
export const SudoErrors = ["RequireSudo"] as const

// ---------------------------------------------------------------------------------------------
// StorageProvider (50)

const BucketId = (codec = S.u64) => S.field(codec, "BucketId")

/**
 * A provider's multiaddr: a `BoundedVec<u8, MaxMultiaddrLength>` that the real runtime's metadata
 * shows as the BoundedVec composite itself (other bounded vectors appear as plain sequences).
 */
const boundedMeta = (item: S.Registrable) => ({
  path: ["bounded_collections", "bounded_vec", "BoundedVec"],
  params: [{ name: "T", type: item }, { name: "S", type: null }]
})
/** `BoundedVec<u8, max>`, described as the BoundedVec composite (as the real runtime's metadata does). */
const boundedBytes = (max: number) => S.newtype(boundedMeta(S.u8), S.boundedBytes(max), "Vec<T>")
/** `BoundedVec<A, max>`, described as the BoundedVec composite. */
const boundedVec = <A>(item: S.Codec<A>, max: number) => S.newtype(boundedMeta(item), S.vec(item, max), "Vec<T>")

const Multiaddr = S.field(boundedBytes(128), "BoundedVec<u8, T::MaxMultiaddrLength>")
const Account = S.field(AccountId32, "T::AccountId")
const Balance = S.field(S.u128, "BalanceOf<T>")
const BlockNumber = S.field(S.u32, "BlockNumberFor<T>")

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

const Signatures = S.field(
  boundedVec(S.tuple(AccountId32, MultiSignature), 5),
  "BoundedVec<(T::AccountId, MultiSignature), T::MaxPrimaryProviders>"
)

export const Visibility = S.enumOf({ path: ["storage_primitives", "Visibility"] }, {
  Public: { index: 0 },
  Private: { index: 1 }
})

const settingsFields = {
  min_duration: BlockNumber,
  max_duration: BlockNumber,
  price_per_byte: Balance,
  accepting_primary: S.field(S.bool, "bool"),
  replica_sync_price: S.field(S.option(S.u128), "Option<BalanceOf<T>>"),
  accepting_extensions: S.field(S.bool, "bool")
}
const settingsPath = {
  path: ["pallet_storage_provider", "pallet", "ProviderSettings"],
  params: [{ name: "T", type: null }]
}

const ReplicaRequestParams = S.struct({ path: ["storage_primitives", "ReplicaRequestParams"] }, {
  sync_balance: S.field(S.u128, "Balance"),
  min_sync_interval: S.field(S.u32, "BlockNumber")
})

/** Era C (the newest, default) and era A (the oldest, as the real runtime in ../shared/fixtures). */
export type Era = "C" | "A"

/** The pallet's error names, in the real oldest runtime's order; era C appends its newer errors. */
export const storageProviderErrors = (era: Era): ReadonlyArray<string> => [
  "ProviderAlreadyRegistered",
  "ProviderNotFound",
  "InsufficientStake",
  "ProviderHasActiveAgreements",
  "ProviderNotAcceptingPrimary",
  "ProviderNotAcceptingReplicas",
  "ProviderNotAcceptingExtensions",
  "BucketNotFound",
  "BucketFrozen",
  "BucketNotFrozen",
  "NotBucketAdmin",
  "NotBucketMember",
  "NotBucketWriter",
  "MemberNotFound",
  "CannotDemoteAdmin",
  "MaxMembersReached",
  "MaxPrimaryProvidersReached",
  "MinProvidersNotMet",
  "InvalidMinProviders",
  "AgreementNotFound",
  "AgreementRequestNotFound",
  "AgreementAlreadyExists",
  "AgreementRequestAlreadyExists",
  "AgreementExpired",
  "AgreementNotExpired",
  "AgreementExtensionsBlocked",
  "NotAgreementOwner",
  "DurationTooShort",
  "DurationTooLong",
  "PaymentExceedsMax",
  "RequestExpired",
  "CannotTerminateReplica",
  "SettlementWindowPassed",
  "NotReplica",
  "SyncTooFrequent",
  "InvalidSyncRoot",
  "InsufficientSyncBalance",
  "ChallengeNotFound",
  "ChallengeAlreadyExists",
  "InvalidChallengeProof",
  "ChallengeExpired",
  "NotChallengeProvider",
  "ProviderNotInSnapshot",
  "LeafBeyondCanonical",
  "InvalidDeletionProof",
  "InvalidSignature",
  "NoSnapshot",
  "SnapshotViolatesFrozen",
  "InsufficientSignatures",
  "ArithmeticOverflow",
  "InvalidMultiaddr",
  ...(era === "C"
    ? [
      "InvalidPublicKey",
      "TermsBucketMismatch",
      "NonceMismatch",
      "SelfChallenge",
      "UnexpectedReplicaTerms",
      "NotAuthorizedForPrivateBucket",
      "TooManyChallenges"
    ]
    : [])
]

export const storageProviderConstants = [
  { name: "MaxMultiaddrLength", codec: S.u32, value: 128 },
  { name: "MaxMembers", codec: S.u32, value: 100 },
  { name: "MaxPrimaryProviders", codec: S.u32, value: 5 },
  { name: "MinProviderStake", codec: S.u128, value: 1_000_000_000_000_000n },
  { name: "MaxChunkSize", codec: S.u32, value: 262_144 },
  { name: "ChallengeTimeout", codec: S.u32, value: 28_800 },
  { name: "SettlementTimeout", codec: S.u32, value: 14_400 },
  { name: "RequestTimeout", codec: S.u32, value: 3_600 },
  { name: "ChallengeDeposit", codec: S.u128, value: 1_000_000_000_000n }
] as const

const pallet = (name: string) => ({
  path: ["pallet_storage_provider", "pallet", name],
  params: [{ name: "T", type: null }]
})

/** The fields of `ProviderStats` both eras share (each era appends its challenge counters). */
const statsFields = {
  registered_at: BlockNumber,
  agreements_total: S.field(S.u32, "u32"),
  agreements_extended: S.field(S.u32, "u32"),
  agreements_not_extended: S.field(S.u32, "u32"),
  agreements_burned: S.field(S.u32, "u32"),
  total_bytes_committed: S.field(S.u64, "u64")
}

/** `Bucket`'s fields, with the era's snapshot type (era C appends `visibility`). */
const bucketFields = <Snapshot>(snapshot: S.Codec<Snapshot>) => ({
  members: S.field(boundedVec(Member, 100), "BoundedVec<Member<T>, T::MaxMembers>"),
  frozen_start_seq: S.field(S.option(S.u64), "Option<u64>"),
  min_providers: S.field(S.u32, "u32"),
  primary_providers: S.field(boundedVec(AccountId32, 5), "BoundedVec<T::AccountId, T::MaxPrimaryProviders>"),
  snapshot: S.field(S.option(snapshot), "Option<BucketSnapshot<BlockNumberFor<T>>>"),
  historical_roots: S.field(S.array(6, S.tuple(S.u32, H256)), "[(u32, H256); 6]"),
  total_snapshots: S.field(S.u32, "u32")
})

/** `StorageAgreement`, with the era's `ProviderRole`. */
const storageAgreement = <R>(role: S.Codec<R>) =>
  S.struct(pallet("StorageAgreement"), {
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
const sharedStorage = <Provider, Bucket, Agreement>(types: {
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
const sharedCalls = <Settings>(settings: S.Codec<Settings>) => ({
  add_stake: { index: 1, fields: { amount: Balance } },
  update_provider_settings: { index: 3, fields: { settings: S.field(settings, "ProviderSettings<T>") } },
  set_min_providers: { index: 11, fields: { bucket_id: BucketId(), min_providers: S.field(S.u32, "u32") } },
  freeze_bucket: { index: 12, fields: { bucket_id: BucketId() } },
  set_member: { index: 13, fields: { bucket_id: BucketId(), member: Account, role: S.field(Role, "Role") } },
  remove_member: { index: 14, fields: { bucket_id: BucketId(), member: Account } }
})

/** The events both eras have, at the same indices. */
const sharedEvents = {
  ProviderRegistered: { index: 0, fields: { provider: Account, stake: Balance } },
  ProviderStakeAdded: { index: 2, fields: { provider: Account, amount: Balance, total_stake: Balance } },
  ProviderSettingsUpdated: { index: 3, fields: { provider: Account } },
  BucketCreated: { index: 5, fields: { bucket_id: BucketId(), admin: Account } },
  BucketFrozen: { index: 6, fields: { bucket_id: BucketId(), frozen_start_seq: S.field(S.u64, "u64") } },
  MemberSet: { index: 7, fields: { bucket_id: BucketId(), member: Account, role: S.field(Role, "Role") } },
  MemberRemoved: { index: 8, fields: { bucket_id: BucketId(), member: Account } },
  ProviderAddedToBucket: { index: 10, fields: { bucket_id: BucketId(), provider: Account } }
}

/** Era C: public keys, `Commitment` structs, signed-terms bucket setup, `challenge_offchain`. */
export const eraC = (() => {
  const ProviderSettings = S.struct(settingsPath, { ...settingsFields, max_capacity: S.field(S.u64, "u64") })
  const ProviderStats = S.struct(pallet("ProviderStats"), {
    ...statsFields,
    challenges_received_authorized: S.field(S.u32, "u32"),
    challenges_received_public: S.field(S.u32, "u32"),
    challenges_failed: S.field(S.u32, "u32")
  })
  const ProviderInfo = S.struct(pallet("ProviderInfo"), {
    multiaddr: Multiaddr,
    public_key: S.field(boundedBytes(64), "BoundedVec<u8, ConstU32<64>>"),
    stake: Balance,
    committed_bytes: S.field(S.u64, "u64"),
    settings: S.field(ProviderSettings, "ProviderSettings<T>"),
    stats: S.field(ProviderStats, "ProviderStats<T>"),
    deregister_at: S.field(S.option(S.u32), "Option<BlockNumberFor<T>>")
  })
  const BucketSnapshot = S.struct({
    path: ["storage_primitives", "BucketSnapshot"],
    params: [{ name: "BlockNumber", type: S.u32 }]
  }, {
    commitment: S.field(Commitment, "Commitment"),
    checkpoint_block: S.field(S.u32, "BlockNumber"),
    primary_signers: S.field(S.bytes, "Vec<u8>")
  })
  const Bucket = S.struct(pallet("Bucket"), {
    ...bucketFields(BucketSnapshot),
    visibility: S.field(Visibility, "Visibility")
  })
  const ReplicaSyncRecord = S.struct({ path: ["storage_primitives", "ReplicaSyncRecord"] }, {
    commitment: S.field(Commitment, "Commitment"),
    block: S.field(S.u32, "BlockNumber")
  })
  const ProviderRole = S.enumOf({ path: ["storage_primitives", "ProviderRole"] }, {
    Primary: { index: 0 },
    Replica: {
      index: 1,
      fields: {
        sync_balance: S.field(S.u128, "Balance"),
        sync_price: S.field(S.u128, "Balance"),
        min_sync_interval: S.field(S.u32, "BlockNumber"),
        last_sync: S.field(S.option(ReplicaSyncRecord), "Option<ReplicaSyncRecord>")
      }
    }
  })
  const StorageAgreement = storageAgreement(ProviderRole)
  const BucketTarget = S.enumOf({ path: ["storage_primitives", "BucketTarget"] }, {
    New: { index: 0 },
    Existing: { index: 1, value: S.field(S.u64, "BucketId") }
  })
  const ReplicaTermsParams = S.struct({ path: ["storage_primitives", "ReplicaTermsParams"] }, {
    sync_balance: S.field(S.u128, "Balance"),
    min_sync_interval: S.field(S.u32, "BlockNumber"),
    sync_price: S.field(S.u128, "Balance")
  })
  const AgreementTerms = S.struct({ path: ["storage_primitives", "AgreementTerms"] }, {
    owner: S.field(AccountId32, "AccountId"),
    max_bytes: S.field(S.u64, "u64"),
    duration: S.field(S.u32, "BlockNumber"),
    price_per_byte: S.field(S.u128, "Balance"),
    valid_until: S.field(S.u32, "BlockNumber"),
    nonce: S.field(S.u64, "u64"),
    bucket: S.field(BucketTarget, "BucketTarget"),
    replica_params: S.field(S.option(ReplicaTermsParams), "Option<ReplicaTermsParams>")
  })
  const Challenge = S.struct(pallet("Challenge"), {
    bucket_id: BucketId(),
    provider: Account,
    challenger: Account,
    mmr_root: S.field(H256, "H256"),
    start_seq: S.field(S.u64, "u64"),
    target: S.field(ChunkLocation, "ChunkLocation"),
    deposit: Balance,
    authorized: S.field(S.bool, "bool")
  })

  const storage = {
    ...sharedStorage({ ProviderInfo, Bucket, StorageAgreement }),
    Challenges: storageItem("StorageProvider", "Challenges", {
      keys: [["Blake2_128Concat", S.u32], ["Twox64Concat", S.u16]] as const,
      value: Challenge,
      docs: [" Pending challenges by deadline and index."]
    }),
    NextChallengeIndex: storageItem("StorageProvider", "NextChallengeIndex", {
      keys: [["Blake2_128Concat", S.u32]] as const,
      value: S.u16,
      fallback: 0,
      docs: [" Next free challenge index per deadline."]
    }),
    AgreementNonces: storageItem("StorageProvider", "AgreementNonces", {
      keys: [["Blake2_128Concat", AccountId32]] as const,
      value: S.u64,
      fallback: 0n,
      docs: [" Per-owner nonce expected in the next signed agreement terms."]
    })
  }

  const Call = S.enumOf(pallet("Call"), {
    register_provider: {
      index: 0,
      fields: {
        multiaddr: Multiaddr,
        public_key: S.field(boundedBytes(64), "BoundedVec<u8, ConstU32<64>>"),
        stake: Balance
      }
    },
    ...sharedCalls(ProviderSettings),
    create_bucket: {
      index: 10,
      fields: { min_providers: S.field(S.u32, "u32"), visibility: S.field(Visibility, "Visibility") }
    },
    add_primary_provider: {
      index: 18,
      fields: {
        bucket_id: BucketId(),
        provider: Account,
        terms: S.field(AgreementTerms, "AgreementTerms<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>"),
        sig: S.field(MultiSignature, "MultiSignature")
      }
    },
    checkpoint: {
      index: 30,
      fields: { bucket_id: BucketId(), commitment: S.field(Commitment, "Commitment"), signatures: Signatures }
    },
    extend_checkpoint: { index: 31, fields: { bucket_id: BucketId(), additional_signatures: Signatures } },
    challenge_offchain: {
      index: 42,
      fields: {
        bucket_id: BucketId(),
        provider: Account,
        commitment: S.field(Commitment, "Commitment"),
        target: S.field(ChunkLocation, "ChunkLocation"),
        provider_signature: S.field(MultiSignature, "MultiSignature")
      }
    }
  })

  const Event = S.enumOf(pallet("Event"), {
    ...sharedEvents,
    BucketCheckpointed: {
      index: 9,
      fields: {
        bucket_id: BucketId(),
        commitment: S.field(Commitment, "Commitment"),
        providers: S.field(S.vec(AccountId32), "Vec<T::AccountId>")
      }
    },
    ChallengeCreated: {
      index: 25,
      fields: {
        challenge_id: S.field(ChallengeId, "ChallengeId<BlockNumberFor<T>>"),
        bucket_id: BucketId(),
        provider: Account,
        challenger: Account,
        respond_by: BlockNumber
      }
    },
    StorageAgreementEstablished: {
      index: 28,
      fields: {
        bucket_id: BucketId(),
        provider: Account,
        owner: Account,
        terms: S.field(AgreementTerms, "AgreementTerms<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>"),
        expires_at: BlockNumber
      }
    },
    MinProvidersSet: { index: 29, fields: { bucket_id: BucketId(), min_providers: S.field(S.u32, "u32") } }
  })

  return {
    types: {
      ProviderInfo,
      ProviderSettings,
      ProviderStats,
      Bucket,
      BucketSnapshot,
      StorageAgreement,
      AgreementTerms,
      Challenge
    },
    storage,
    Call,
    Event
  }
})()

/** Era A: the oldest runtime (as in ../shared/fixtures): no public keys, flat checkpoint, request/accept setup. */
export const eraA = (() => {
  const ProviderSettings = S.struct(settingsPath, settingsFields)
  const ProviderStats = S.struct(pallet("ProviderStats"), {
    ...statsFields,
    challenges_received: S.field(S.u32, "u32"),
    challenges_failed: S.field(S.u32, "u32")
  })
  const ProviderInfo = S.struct(pallet("ProviderInfo"), {
    multiaddr: Multiaddr,
    stake: Balance,
    committed_bytes: S.field(S.u64, "u64"),
    settings: S.field(ProviderSettings, "ProviderSettings<T>"),
    stats: S.field(ProviderStats, "ProviderStats<T>")
  })
  const BucketSnapshot = S.struct({
    path: ["storage_primitives", "BucketSnapshot"],
    params: [{ name: "BlockNumber", type: S.u32 }]
  }, {
    mmr_root: S.field(H256, "H256"),
    start_seq: S.field(S.u64, "u64"),
    leaf_count: S.field(S.u64, "u64"),
    checkpoint_block: S.field(S.u32, "BlockNumber"),
    primary_signers: S.field(S.bytes, "Vec<u8>")
  })
  const Bucket = S.struct(pallet("Bucket"), {
    ...bucketFields(BucketSnapshot)
  })
  const ProviderRole = S.enumOf({ path: ["storage_primitives", "ProviderRole"] }, {
    Primary: { index: 0 },
    Replica: {
      index: 1,
      fields: {
        sync_balance: S.field(S.u128, "Balance"),
        sync_price: S.field(S.u128, "Balance"),
        min_sync_interval: S.field(S.u32, "BlockNumber"),
        last_sync: S.field(S.option(S.tuple(H256, S.u32)), "Option<(H256, BlockNumber)>")
      }
    }
  })
  const StorageAgreement = storageAgreement(ProviderRole)
  const AgreementRequest = S.struct(pallet("AgreementRequest"), {
    requester: Account,
    max_bytes: S.field(S.u64, "u64"),
    payment_locked: Balance,
    duration: BlockNumber,
    expires_at: BlockNumber,
    replica_params: S.field(S.option(ReplicaRequestParams), "Option<ReplicaRequestParams>")
  })
  const Challenge = S.struct(pallet("Challenge"), {
    bucket_id: BucketId(),
    provider: Account,
    challenger: Account,
    mmr_root: S.field(H256, "H256"),
    start_seq: S.field(S.u64, "u64"),
    leaf_index: S.field(S.u64, "u64"),
    chunk_index: S.field(S.u64, "u64"),
    deposit: Balance
  })

  const storage = {
    ...sharedStorage({ ProviderInfo, Bucket, StorageAgreement }),
    AgreementRequests: storageItem("StorageProvider", "AgreementRequests", {
      keys: [["Blake2_128Concat", AccountId32], ["Blake2_128Concat", S.u64]] as const,
      value: AgreementRequest,
      docs: [" Pending agreement requests (provider → bucket → request)."]
    }),
    Challenges: storageItem("StorageProvider", "Challenges", {
      keys: [["Blake2_128Concat", S.u32]] as const,
      value: S.vec(Challenge),
      docs: [" Pending challenges indexed by deadline block."]
    })
  }

  const Call = S.enumOf(pallet("Call"), {
    register_provider: {
      index: 0,
      fields: { multiaddr: Multiaddr, stake: Balance }
    },
    ...sharedCalls(ProviderSettings),
    create_bucket: { index: 10, fields: { min_providers: S.field(S.u32, "u32") } },
    request_primary_agreement: {
      index: 21,
      fields: {
        bucket_id: BucketId(),
        provider: Account,
        max_bytes: S.field(S.u64, "u64"),
        duration: BlockNumber,
        max_payment: Balance
      }
    },
    accept_agreement: { index: 22, fields: { bucket_id: BucketId() } },
    checkpoint: {
      index: 30,
      fields: {
        bucket_id: BucketId(),
        mmr_root: S.field(H256, "H256"),
        start_seq: S.field(S.u64, "u64"),
        leaf_count: S.field(S.u64, "u64"),
        signatures: Signatures
      }
    }
  })

  const Event = S.enumOf(pallet("Event"), {
    ...sharedEvents,
    BucketCheckpointed: {
      index: 9,
      fields: {
        bucket_id: BucketId(),
        mmr_root: S.field(H256, "H256"),
        start_seq: S.field(S.u64, "u64"),
        leaf_count: S.field(S.u64, "u64"),
        providers: S.field(S.vec(AccountId32), "Vec<T::AccountId>")
      }
    },
    AgreementRequested: {
      index: 16,
      fields: {
        bucket_id: BucketId(),
        provider: Account,
        requester: Account,
        max_bytes: S.field(S.u64, "u64"),
        payment_locked: Balance,
        duration: BlockNumber
      }
    },
    AgreementAccepted: { index: 17, fields: { bucket_id: BucketId(), provider: Account, expires_at: BlockNumber } }
  })

  return {
    types: {
      ProviderInfo,
      ProviderSettings,
      ProviderStats,
      Bucket,
      BucketSnapshot,
      StorageAgreement,
      AgreementRequest,
      Challenge
    },
    storage,
    Call,
    Event
  }
})()

export { Phase, Weight }

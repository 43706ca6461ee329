/**
 * StorageProvider at era C (the newest, the default): public keys, `Commitment` structs, signed-terms
 * bucket setup, `challenge_offchain`. The era's own types, storage items, calls and events, over
 * those both eras share.
 *
 * @internal
 */
import * as S from "../../scale.js"
import { storageItem } from "../../storage.js"
import { AccountId32, H256, MultiSignature } from "../../types.js"
import {
  Account,
  Balance,
  BlockNumber,
  boundedBytes,
  bucketFields,
  BucketId,
  ChallengeId,
  ChunkLocation,
  Commitment,
  Multiaddr,
  palletType,
  settingsFields,
  settingsPath,
  sharedCalls,
  sharedEvents,
  sharedStorage,
  Signatures,
  statsFields,
  storageAgreement,
  Visibility
} from "./types.js"

const ProviderSettings = S.struct(settingsPath, { ...settingsFields, max_capacity: S.field(S.u64, "u64") })
const ProviderStats = S.struct(palletType("ProviderStats"), {
  ...statsFields,
  challenges_received_authorized: S.field(S.u32, "u32"),
  challenges_received_public: S.field(S.u32, "u32"),
  challenges_failed: S.field(S.u32, "u32")
})
const ProviderInfo = S.struct(palletType("ProviderInfo"), {
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
const Bucket = S.struct(palletType("Bucket"), {
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
const Challenge = S.struct(palletType("Challenge"), {
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

const Call = S.enumOf(palletType("Call"), {
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

const Event = S.enumOf(palletType("Event"), {
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

/** Era C: public keys, `Commitment` structs, signed-terms bucket setup, `challenge_offchain`. */
export const eraC = {
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

/**
 * StorageProvider at era A, the oldest runtime (its real metadata is in
 * ../shared/fixtures/storage-local.storage-provider.txt): no public keys, a flat checkpoint,
 * request/accept setup. The era's own types, storage items, calls and events, over those both eras
 * share.
 *
 * @internal
 */
import * as S from "../../scale.js"
import { storageItem } from "../../storage.js"
import { AccountId32, H256 } from "../../types.js"
import {
  Account,
  Balance,
  BlockNumber,
  bucketFields,
  BucketId,
  Multiaddr,
  palletType,
  settingsFields,
  settingsPath,
  sharedCalls,
  sharedEvents,
  sharedStorage,
  Signatures,
  statsFields,
  storageAgreement
} from "./types.js"

const ReplicaRequestParams = S.struct({ path: ["storage_primitives", "ReplicaRequestParams"] }, {
  sync_balance: S.field(S.u128, "Balance"),
  min_sync_interval: S.field(S.u32, "BlockNumber")
})

const ProviderSettings = S.struct(settingsPath, settingsFields)
const ProviderStats = S.struct(palletType("ProviderStats"), {
  ...statsFields,
  challenges_received: S.field(S.u32, "u32"),
  challenges_failed: S.field(S.u32, "u32")
})
const ProviderInfo = S.struct(palletType("ProviderInfo"), {
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
const Bucket = S.struct(palletType("Bucket"), {
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
const AgreementRequest = S.struct(palletType("AgreementRequest"), {
  requester: Account,
  max_bytes: S.field(S.u64, "u64"),
  payment_locked: Balance,
  duration: BlockNumber,
  expires_at: BlockNumber,
  replica_params: S.field(S.option(ReplicaRequestParams), "Option<ReplicaRequestParams>")
})
const Challenge = S.struct(palletType("Challenge"), {
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

const Call = S.enumOf(palletType("Call"), {
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

const Event = S.enumOf(palletType("Event"), {
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

/** Era A: the oldest runtime (as in ../shared/fixtures): no public keys, flat checkpoint, request/accept setup. */
export const eraA = {
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

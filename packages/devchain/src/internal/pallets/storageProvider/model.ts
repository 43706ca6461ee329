/**
 * The StorageProvider pallet's storage as one model over both eras: providers, buckets and
 * agreements read and written in a normalised shape, encoded for the runtime's era. The calls work
 * in this model; so do the migration from one era's layout to another's, and the genesis.
 *
 * @internal
 */
import { hexToU8a } from "@polkadot/util"
import * as S from "../../scale.js"
import type { State } from "../../storage.js"
import type { Hex } from "../../types.js"
import * as System from "../system.js"
import { eraA } from "./eraA.js"
import { eraC } from "./eraC.js"
import type { Era } from "./pallet.js"
import type { Commitment, Role } from "./types.js"

export const EMPTY_ROOTS: ReadonlyArray<readonly [number, Hex]> = Array.from(
  { length: 6 },
  () => [0, `0x${"00".repeat(32)}`] as const
)

export interface SettingsModel {
  readonly min_duration: number
  readonly max_duration: number
  readonly price_per_byte: bigint
  readonly accepting_primary: boolean
  readonly replica_sync_price: bigint | undefined
  readonly accepting_extensions: boolean
  readonly max_capacity: bigint
}
export const DEFAULT_SETTINGS: SettingsModel = {
  min_duration: 0,
  max_duration: 0xffffffff,
  price_per_byte: 0n,
  accepting_primary: true,
  replica_sync_price: undefined,
  accepting_extensions: true,
  max_capacity: 0n
}
/** A newly registered provider's statistics (era C's shape; era A folds the challenge counts). */
export const EMPTY_STATS = {
  registered_at: 0,
  agreements_total: 0,
  agreements_extended: 0,
  agreements_not_extended: 0,
  agreements_burned: 0,
  total_bytes_committed: 0n,
  challenges_received_authorized: 0,
  challenges_received_public: 0,
  challenges_failed: 0
}
export interface ProviderModel {
  readonly multiaddr: Uint8Array
  readonly public_key: Uint8Array
  readonly stake: bigint
  readonly committed_bytes: bigint
  readonly settings: SettingsModel
  readonly stats: typeof EMPTY_STATS
  readonly deregister_at: number | undefined
}
export interface BucketModel {
  readonly members: ReadonlyArray<{ readonly account: Hex; readonly role: Role }>
  readonly frozen_start_seq: bigint | undefined
  readonly min_providers: number
  readonly primary_providers: ReadonlyArray<Hex>
  readonly snapshot:
    | { readonly commitment: Commitment; readonly checkpoint_block: number; readonly primary_signers: Uint8Array }
    | undefined
  readonly historical_roots: ReadonlyArray<readonly [number, Hex]>
  readonly total_snapshots: number
  readonly visibility: { readonly _tag: "Public" | "Private" }
}
export interface AgreementModel {
  readonly owner: Hex
  readonly max_bytes: bigint
  readonly payment_locked: bigint
  readonly price_per_byte: bigint
  readonly expires_at: number
  readonly extensions_blocked: boolean
  readonly started_at: number
}

/** Reads and writes the pallet's storage in the normalised model, encoding for the profile's era. */
export class StorageProviderState {
  readonly items: typeof eraC.storage | typeof eraA.storage
  constructor(readonly state: State, readonly era: Era) {
    this.items = era === "C" ? eraC.storage : eraA.storage
  }

  provider(who: Hex): ProviderModel | undefined {
    if (this.era === "C") return this.state.get(eraC.storage.Providers, who)
    const p = this.state.get(eraA.storage.Providers, who)
    if (p === undefined) return undefined
    const { challenges_received, ...stats } = p.stats
    return {
      ...p,
      public_key: hexToU8a(who),
      settings: { ...p.settings, max_capacity: 0n },
      stats: { ...stats, challenges_received_authorized: challenges_received, challenges_received_public: 0 },
      deregister_at: undefined
    }
  }
  putProvider(who: Hex, p: ProviderModel): void {
    if (this.era === "C") return this.state.put(eraC.storage.Providers, [who], p)
    const { max_capacity: _cap, ...settings } = p.settings
    const { challenges_received_authorized, challenges_received_public, ...stats } = p.stats
    this.state.put(eraA.storage.Providers, [who], {
      multiaddr: p.multiaddr,
      stake: p.stake,
      committed_bytes: p.committed_bytes,
      settings,
      stats: { ...stats, challenges_received: challenges_received_authorized + challenges_received_public }
    })
  }

  bucket(id: bigint): BucketModel | undefined {
    if (this.era === "C") return this.state.get(eraC.storage.Buckets, id)
    const b = this.state.get(eraA.storage.Buckets, id)
    if (b === undefined) return undefined
    const s = b.snapshot
    return {
      ...b,
      snapshot: s === undefined ? undefined : {
        commitment: { mmr_root: s.mmr_root, start_seq: s.start_seq, leaf_count: s.leaf_count },
        checkpoint_block: s.checkpoint_block,
        primary_signers: s.primary_signers
      },
      visibility: { _tag: "Public" }
    }
  }
  putBucket(id: bigint, b: BucketModel): void {
    if (this.era === "C") return this.state.put(eraC.storage.Buckets, [id], b)
    const { visibility: _v, snapshot, ...rest } = b
    this.state.put(eraA.storage.Buckets, [id], {
      ...rest,
      snapshot: snapshot === undefined ? undefined : {
        ...snapshot.commitment,
        checkpoint_block: snapshot.checkpoint_block,
        primary_signers: snapshot.primary_signers
      }
    })
  }

  agreement(bucket: bigint, provider: Hex): AgreementModel | undefined {
    return this.era === "C"
      ? this.state.get(eraC.storage.StorageAgreements, bucket, provider)
      : this.state.get(eraA.storage.StorageAgreements, bucket, provider)
  }
  putAgreement(bucket: bigint, provider: Hex, a: AgreementModel): void {
    const value = { ...a, role: { _tag: "Primary" } as const }
    if (this.era === "C") this.state.put(eraC.storage.StorageAgreements, [bucket, provider], value)
    else this.state.put(eraA.storage.StorageAgreements, [bucket, provider], value)
  }
}

/**
 * Re-encodes `StorageProvider` storage from one era's layout to another's (providers, buckets,
 * agreements; era-specific items such as pending requests and challenges are cleared).
 */
export const migrate = (state: State, from: Era, to: Era): void => {
  if (from === to) return
  const before = new StorageProviderState(state, from)
  const after = new StorageProviderState(state, to)
  const tail = (key: Hex, bytes: number) => key.slice(key.length - bytes * 2)
  for (const [key] of state.entries(before.items.Providers.prefix)) {
    const who = `0x${tail(key, 32)}` as Hex
    const provider = before.provider(who)
    if (provider !== undefined) after.putProvider(who, provider)
  }
  for (const [key] of state.entries(before.items.Buckets.prefix)) {
    const id = S.decode(S.u64, hexToU8a(`0x${tail(key, 8)}`))
    const bucket = before.bucket(id)
    if (bucket !== undefined) after.putBucket(id, bucket)
  }
  for (const [key] of state.entries(before.items.StorageAgreements.prefix)) {
    // blake2_128(bucket) ++ bucket(8) ++ blake2_128(provider) ++ provider(32)
    const provider = `0x${tail(key, 32)}` as Hex
    const bucket = S.decode(
      S.u64,
      hexToU8a(`0x${key.slice(key.length - (32 + 16 + 8) * 2, key.length - (32 + 16) * 2)}`)
    )
    const agreement = before.agreement(bucket, provider)
    if (agreement !== undefined) after.putAgreement(bucket, provider, agreement)
  }
  const eraSpecific = from === "A"
    ? [eraA.storage.AgreementRequests.prefix, eraA.storage.Challenges.prefix]
    : [
      eraC.storage.Challenges.prefix,
      eraC.storage.NextChallengeIndex.prefix,
      eraC.storage.AgreementNonces.prefix
    ]
  for (const prefix of eraSpecific) for (const [key] of state.entries(prefix)) state.writeRaw(key, null)
}

/** A provider registered at genesis (its stake reserved from its endowment). */
export interface ProviderGenesis {
  readonly account: Hex
  readonly multiaddr: string
  readonly publicKey: Hex
  readonly stake: bigint
}

/** A bucket created at genesis (ids from 0, in order), with agreements for its primaries. */
export interface BucketGenesis {
  readonly admin: Hex
  readonly minProviders: number
  readonly primaries: ReadonlyArray<Hex>
  readonly members: ReadonlyArray<{ readonly account: Hex; readonly role: "Admin" | "Writer" | "Reader" }>
}

/** Writes the genesis providers and buckets; throws when the configuration cannot hold. */
export const buildGenesis = (
  state: State,
  era: Era,
  providers: ReadonlyArray<ProviderGenesis>,
  buckets: ReadonlyArray<BucketGenesis>
): void => {
  const sp = new StorageProviderState(state, era)
  for (const p of providers) {
    const info = state.getOr(System.storage.Account, p.account)
    if (info.data.free < p.stake) throw new Error(`genesis provider ${p.account} cannot reserve its stake`)
    state.put(System.storage.Account, [p.account], {
      ...info,
      data: { ...info.data, free: info.data.free - p.stake, reserved: info.data.reserved + p.stake }
    })
    sp.putProvider(p.account, {
      multiaddr: new TextEncoder().encode(p.multiaddr),
      public_key: hexToU8a(p.publicKey),
      stake: p.stake,
      committed_bytes: 0n,
      settings: DEFAULT_SETTINGS,
      stats: EMPTY_STATS,
      deregister_at: undefined
    })
  }
  let next = 0n
  for (const b of buckets) {
    const members: Array<{ account: Hex; role: Role }> = [{ account: b.admin, role: { _tag: "Admin" } }]
    for (const m of b.members) {
      if (m.account !== b.admin) members.push({ account: m.account, role: { _tag: m.role } })
    }
    for (const primary of b.primaries) {
      if (sp.provider(primary) === undefined) throw new Error(`genesis bucket primary ${primary} is not a provider`)
      sp.putAgreement(next, primary, {
        owner: b.admin,
        max_bytes: 1n << 30n,
        payment_locked: 0n,
        price_per_byte: 0n,
        expires_at: 0xffffffff,
        extensions_blocked: false,
        started_at: 0
      })
    }
    if (b.minProviders > b.primaries.length) {
      throw new Error(`genesis bucket: min_providers ${b.minProviders} > ${b.primaries.length} primaries`)
    }
    sp.putBucket(next, {
      members,
      frozen_start_seq: undefined,
      min_providers: b.minProviders,
      primary_providers: [...b.primaries],
      snapshot: undefined,
      historical_roots: EMPTY_ROOTS,
      total_snapshots: 0,
      visibility: { _tag: "Public" }
    })
    next++
  }
  state.put(sp.items.NextBucketId, [], next)
}

/**
 * The runtime's logic: transaction validity (as the pool checks it), applying extrinsics in a block
 * (fee, nonce, dispatch in a storage transaction, events), and the pallets' calls. StorageProvider's
 * rules follow protocol-facts §2; failures are `DispatchError::Module` naming the pallet's error.
 *
 * @internal
 */
import { hexToU8a, stringToU8a, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import {
  eraBirth,
  eraDeath,
  type Extrinsic,
  type InvalidReason,
  signingPayload,
  verifyBy,
  verifyWithKey
} from "./extrinsic.js"
import * as P from "./pallets.js"
import {
  EXISTENTIAL_DEPOSIT,
  PALLET_INDEX,
  type Profile,
  type RuntimeCall,
  type RuntimeEvent,
  type RuntimeVersion
} from "./runtime.js"
import * as S from "./scale.js"
import type { State, StorageItem } from "./storage.js"
import {
  type AccountInfo,
  type DispatchError,
  dispatchInfo,
  type Hex,
  type MultiAddress,
  type MultiSignature,
  type Phase
} from "./types.js"

// ---------------------------------------------------------------------------------------------
// Fees and weights (a flat model: enough for fee accounting to be visible and exact)

export const BASE_FEE = 1_000_000_000n
export const BYTE_FEE = 1_000_000n
export const CALL_WEIGHT = 100_000_000n
export const feeFor = (length: number, tip: bigint): bigint => BASE_FEE + BYTE_FEE * BigInt(length) + tip

const MIN_PROVIDER_STAKE = 1_000_000_000_000_000n
const MAX_PRIMARY_PROVIDERS = 5
const MAX_MEMBERS = 100
const REQUEST_TIMEOUT = 3_600
const CHALLENGE_TIMEOUT = 28_800
const CHALLENGE_DEPOSIT = 1_000_000_000_000n
const MAX_CHALLENGES_PER_DEADLINE = 1_000
const HISTORICAL_ROOT_PRIMES = [3, 7, 11, 23, 47, 113]

// ---------------------------------------------------------------------------------------------
// Outcomes

type Origin = { readonly _tag: "Signed"; readonly who: Hex } | { readonly _tag: "Root" } | { readonly _tag: "None" }

class DispatchFailure {
  constructor(readonly error: DispatchError) {}
}

/** The pool's verdict; whether a valid transaction is ready or waits for a gap is the pool's call. */
export type Validity =
  | {
    readonly _tag: "Valid"
    readonly sender: Hex
    readonly nonce: number
    /** The sender's nonce in the state it was checked against. */
    readonly stateNonce: number
    readonly fee: bigint
  }
  | { readonly _tag: "Invalid"; readonly reason: InvalidReason }

export interface ChainView {
  readonly genesisHash: Hex
  /** The hash of a block on the current chain by number, if known. */
  readonly blockHash: (n: number) => Hex | undefined
}

type AnyCall = RuntimeCall
type SpCall = S.TypeOf<typeof P.eraC.Call> | S.TypeOf<typeof P.eraA.Call>
type SpCallOf<T extends SpCall["_tag"]> = Extract<SpCall, { readonly _tag: T }>

/** The runtime of one profile; stateless, the state is passed in. */
export class Executive {
  private events: Array<{ phase: Phase; event: RuntimeEvent; topics: ReadonlyArray<Hex> }> = []
  private phase: Phase = { _tag: "Initialization" }

  constructor(readonly profile: Profile, readonly version: RuntimeVersion) {}

  get era(): P.Era {
    return this.profile.era
  }

  // ------------------------------------------------------------------------- validity

  /** The pool's check, at the state of block `current - 1` (the best block). */
  validate(state: State, ext: Extrinsic<AnyCall>, current: number, chain: ChainView): Validity {
    const signed = ext.signed
    if (signed === undefined) return { _tag: "Invalid", reason: "Call" }
    if (/^0x0{64}$/.test(signed.signer)) return { _tag: "Invalid", reason: "BadSigner" }
    // CheckMortality: the birth block must be known and the era not over.
    if (current >= eraDeath(signed.era, current)) return { _tag: "Invalid", reason: "AncientBirthBlock" }
    const birth = eraBirth(signed.era, current)
    const birthHash = signed.era._tag === "Immortal" ? chain.genesisHash : chain.blockHash(birth)
    if (birthHash === undefined) return { _tag: "Invalid", reason: "AncientBirthBlock" }
    if (signed.metadataHashMode !== 0) return { _tag: "Invalid", reason: "BadProof" }
    const payload = signingPayload(ext.callBytes, signed, {
      specVersion: this.version.specVersion,
      transactionVersion: this.version.transactionVersion,
      genesisHash: hexToU8a(chain.genesisHash),
      birthHash: hexToU8a(birthHash)
    })
    if (!verifyBy(signed.signature, payload, hexToU8a(signed.signer))) return { _tag: "Invalid", reason: "BadProof" }
    const account = state.getOr(P.System.Account, signed.signer)
    if (signed.nonce < account.nonce) return { _tag: "Invalid", reason: "Stale" }
    const fee = feeFor(ext.bytes.length, signed.tip)
    if (account.data.free < fee) return { _tag: "Invalid", reason: "Payment" }
    if (ext.call._tag === "Timestamp") return { _tag: "Invalid", reason: "Call" }
    return { _tag: "Valid", sender: signed.signer, nonce: signed.nonce, stateNonce: account.nonce, fee }
  }

  // ------------------------------------------------------------------------- blocks

  initializeBlock(state: State, number: number, parentHash: Hex): void {
    this.events = []
    this.phase = { _tag: "Initialization" }
    state.put(P.System.Number, [], number)
    state.put(P.System.ParentHash, [], parentHash)
    state.put(P.System.BlockHash, [number - 1], parentHash)
    state.remove(this.profile.Events.Events as StorageItem<[], unknown>)
    state.put(P.System.EventCount, [], 0)
  }

  /** Applies the timestamp inherent (always index 0 of a block). */
  applyInherent(state: State, now: bigint): void {
    this.phase = { _tag: "ApplyExtrinsic", value: 0 }
    state.put(P.Timestamp.Now, [], now)
    this.deposit({
      _tag: "System",
      value: { _tag: "ExtrinsicSuccess", dispatch_info: dispatchInfo(CALL_WEIGHT, "Mandatory") }
    } as RuntimeEvent)
  }

  /**
   * Applies a signed extrinsic at `index`. Returns `false` (and changes nothing) when it is no longer
   * valid at this point of the block (stale nonce, cannot pay): the block builder drops it.
   */
  applyExtrinsic(state: State, ext: Extrinsic<AnyCall>, index: number, blockNumber: number): boolean {
    const signed = ext.signed
    if (signed === undefined) return false
    const account = state.getOr(P.System.Account, signed.signer)
    const fee = feeFor(ext.bytes.length, signed.tip)
    if (signed.nonce !== account.nonce || account.data.free < fee) return false
    this.phase = { _tag: "ApplyExtrinsic", value: index }
    // Pre-dispatch: bump the nonce and withdraw the fee; these stay even if the call fails.
    state.put(P.System.Account, [signed.signer], {
      ...account,
      nonce: account.nonce + 1,
      data: { ...account.data, free: account.data.free - fee }
    })
    this.deposit({ _tag: "Balances", value: { _tag: "Withdraw", who: signed.signer, amount: fee } } as RuntimeEvent)
    const origin: Origin = { _tag: "Signed", who: signed.signer }
    const result = this.dispatchTransactional(state, origin, ext.call, blockNumber)
    this.deposit({
      _tag: "TransactionPayment",
      value: { _tag: "TransactionFeePaid", who: signed.signer, actual_fee: fee, tip: signed.tip }
    } as RuntimeEvent)
    const info = dispatchInfo(CALL_WEIGHT)
    this.deposit(
      (result === undefined
        ? { _tag: "System", value: { _tag: "ExtrinsicSuccess", dispatch_info: info } }
        : {
          _tag: "System",
          value: { _tag: "ExtrinsicFailed", dispatch_error: result, dispatch_info: info }
        }) as RuntimeEvent
    )
    return true
  }

  /** `System.CodeUpdated`, in the block that sets new runtime code. */
  codeUpdated(): void {
    this.phase = { _tag: "Finalization" }
    this.deposit({ _tag: "System", value: { _tag: "CodeUpdated" } } as RuntimeEvent)
  }

  /** Writes `System.Events` for the block; returns the events. */
  finalizeBlock(state: State): ReadonlyArray<{ phase: Phase; event: RuntimeEvent; topics: ReadonlyArray<Hex> }> {
    this.phase = { _tag: "Finalization" }
    state.put(this.profile.Events.Events as unknown as StorageItem<[], ReadonlyArray<unknown>>, [], this.events)
    state.put(P.System.EventCount, [], this.events.length)
    return this.events
  }

  private deposit(event: RuntimeEvent): void {
    this.events.push({ phase: this.phase, event, topics: [] })
  }

  // ------------------------------------------------------------------------- dispatch

  /** Runs a call in a storage transaction; returns the error, or `undefined` on success. */
  dispatchTransactional(state: State, origin: Origin, call: AnyCall, block: number): DispatchError | undefined {
    const mark = this.events.length
    const outcome = state.transactional(() => {
      try {
        this.dispatch(state, origin, call, block)
        return undefined
      } catch (failure) {
        if (failure instanceof DispatchFailure) return failure.error
        // Undecodable storage (or a bug): where a node would fail the block, fail the call instead,
        // so one bad entry cannot stop block production.
        return { _tag: "Corruption" } as const
      }
    }, (error) => error === undefined)
    // A failed call's events are discarded with its writes.
    if (outcome !== undefined) this.events.length = mark
    return outcome
  }

  private dispatch(state: State, origin: Origin, call: AnyCall, block: number): void {
    switch (call._tag) {
      case "System":
        return this.system(origin, call.value)
      case "Balances":
        return this.balances(state, origin, call.value)
      case "Sudo":
        return this.sudo(state, origin, call.value, block)
      case "StorageProvider":
        return this.storageProvider(state, origin, call.value, block)
      default:
        throw new DispatchFailure({ _tag: "BadOrigin" })
    }
  }

  private fail(pallet: keyof typeof this.profile.errors, name: string): never {
    const names = pallet === "StorageProvider"
      ? P.storageProviderErrors(this.era)
      : pallet === "Balances"
      ? P.BalancesErrors
      : pallet === "Sudo"
      ? P.SudoErrors
      : P.SystemErrors
    const index = (names as ReadonlyArray<string>).indexOf(name)
    if (index < 0) throw new Error(`no error ${pallet}.${name}`)
    throw new DispatchFailure({
      _tag: "Module",
      value: { index: PALLET_INDEX[pallet], error: new Uint8Array([index, 0, 0, 0]) }
    })
  }

  private signed(origin: Origin): Hex {
    if (origin._tag !== "Signed") throw new DispatchFailure({ _tag: "BadOrigin" })
    return origin.who
  }

  private system(origin: Origin, call: S.TypeOf<typeof P.SystemCall>): void {
    const who = this.signed(origin)
    if (call._tag === "remark_with_event") {
      this.deposit({
        _tag: "System",
        value: { _tag: "Remarked", sender: who, hash: u8aToHex(blake2AsU8a(call.remark, 256)) }
      } as RuntimeEvent)
    }
  }

  private sudo(state: State, origin: Origin, call: { _tag: string; call: AnyCall; who?: MultiAddress }, block: number) {
    const who = this.signed(origin)
    if (state.get(P.Sudo.Key) !== who) this.fail("Sudo", "RequireSudo")
    const inner: Origin = call._tag === "sudo_as" ? { _tag: "Signed", who: lookup(call.who!) } : { _tag: "Root" }
    const error = this.dispatchTransactional(state, inner, call.call, block)
    this.deposit({
      _tag: "Sudo",
      value: {
        _tag: call._tag === "sudo_as" ? "SudoAsDone" : "Sudid",
        sudo_result: error === undefined ? { _tag: "Ok", value: [] } : { _tag: "Err", value: error }
      }
    } as RuntimeEvent)
  }

  // ------------------------------------------------------------------------- balances

  private account(state: State, who: Hex): AccountInfo {
    return state.getOr(P.System.Account, who)
  }

  /** Moves `amount` of free balance; creates the destination account when needed. */
  transfer(state: State, from: Hex, to: Hex, amount: bigint, keepAlive: boolean): void {
    const source = this.account(state, from)
    if (source.data.free < amount) throw new DispatchFailure({ _tag: "Token", value: { _tag: "FundsUnavailable" } })
    const remaining = source.data.free - amount
    if (keepAlive && remaining < EXISTENTIAL_DEPOSIT) {
      throw new DispatchFailure({ _tag: "Token", value: { _tag: "NotExpendable" } })
    }
    state.put(P.System.Account, [from], { ...source, data: { ...source.data, free: remaining } })
    const dest = this.account(state, to)
    const isNew = dest.providers === 0
    if (isNew && amount < EXISTENTIAL_DEPOSIT) {
      throw new DispatchFailure({ _tag: "Token", value: { _tag: "BelowMinimum" } })
    }
    state.put(P.System.Account, [to], {
      ...dest,
      providers: isNew ? 1 : dest.providers,
      data: { ...dest.data, free: dest.data.free + amount }
    })
    if (isNew) {
      this.deposit({ _tag: "System", value: { _tag: "NewAccount", account: to } } as RuntimeEvent)
      this.deposit({ _tag: "Balances", value: { _tag: "Endowed", account: to, free_balance: amount } } as RuntimeEvent)
    }
    this.deposit({ _tag: "Balances", value: { _tag: "Transfer", from, to, amount } } as RuntimeEvent)
  }

  private reserve(state: State, who: Hex, amount: bigint): void {
    const account = this.account(state, who)
    if (account.data.free < amount) this.fail("Balances", "InsufficientBalance")
    state.put(P.System.Account, [who], {
      ...account,
      data: { ...account.data, free: account.data.free - amount, reserved: account.data.reserved + amount }
    })
    this.deposit({ _tag: "Balances", value: { _tag: "Reserved", who, amount } } as RuntimeEvent)
  }

  private balances(state: State, origin: Origin, call: S.TypeOf<typeof P.BalancesCall>): void {
    switch (call._tag) {
      case "transfer_allow_death":
      case "transfer_keep_alive":
        return this.transfer(
          state,
          this.signed(origin),
          lookup(call.dest),
          call.value,
          call._tag === "transfer_keep_alive"
        )
      case "force_transfer":
        if (origin._tag !== "Root") throw new DispatchFailure({ _tag: "BadOrigin" })
        return this.transfer(state, lookup(call.source), lookup(call.dest), call.value, false)
      case "force_set_balance": {
        if (origin._tag !== "Root") throw new DispatchFailure({ _tag: "BadOrigin" })
        const who = lookup(call.who)
        const account = this.account(state, who)
        state.put(P.System.Account, [who], {
          ...account,
          providers: Math.max(account.providers, 1),
          data: { ...account.data, free: call.new_free }
        })
        this.deposit({ _tag: "Balances", value: { _tag: "BalanceSet", who, free: call.new_free } } as RuntimeEvent)
        return
      }
    }
  }

  // ------------------------------------------------------------------------- storage provider

  private spFail(name: string): never {
    return this.fail("StorageProvider", name)
  }

  private storageProvider(state: State, origin: Origin, call: SpCall, block: number): void {
    const who = this.signed(origin)
    const sp = new StorageProviderState(state, this.era)
    const deposit = (event: Record<string, unknown>) =>
      this.deposit({ _tag: "StorageProvider", value: event } as unknown as RuntimeEvent)
    const bucketOf = (id: bigint) => sp.bucket(id) ?? this.spFail("BucketNotFound")
    const requireRole = (bucket: BucketModel, roles: ReadonlyArray<string>, error: string) => {
      const member = bucket.members.find((m) => m.account === who)
      if (member === undefined || !roles.includes(member.role._tag)) this.spFail(error)
    }
    const c = call
    switch (c._tag) {
      case "register_provider": {
        if (sp.provider(who) !== undefined) this.spFail("ProviderAlreadyRegistered")
        const multiaddr: Uint8Array = c.multiaddr
        if (!isMultiaddrText(multiaddr)) this.spFail("InvalidMultiaddr")
        const publicKey: Uint8Array = "public_key" in c ? c.public_key : hexToU8a(who)
        if (![32, 33, 64].includes(publicKey.length)) this.spFail("InvalidPublicKey")
        if (c.stake < MIN_PROVIDER_STAKE) this.spFail("InsufficientStake")
        this.reserve(state, who, c.stake)
        sp.putProvider(who, {
          multiaddr,
          public_key: publicKey,
          stake: c.stake,
          committed_bytes: 0n,
          settings: DEFAULT_SETTINGS,
          stats: { ...EMPTY_STATS, registered_at: block },
          deregister_at: undefined
        })
        return deposit({ _tag: "ProviderRegistered", provider: who, stake: c.stake })
      }
      case "add_stake": {
        const provider = sp.provider(who) ?? this.spFail("ProviderNotFound")
        this.reserve(state, who, c.amount)
        sp.putProvider(who, { ...provider, stake: provider.stake + c.amount })
        return deposit({
          _tag: "ProviderStakeAdded",
          provider: who,
          amount: c.amount,
          total_stake: provider.stake + c.amount
        })
      }
      case "update_provider_settings": {
        const provider = sp.provider(who) ?? this.spFail("ProviderNotFound")
        sp.putProvider(who, { ...provider, settings: { max_capacity: 0n, ...c.settings } })
        return deposit({ _tag: "ProviderSettingsUpdated", provider: who })
      }
      case "create_bucket": {
        if (c.min_providers > MAX_PRIMARY_PROVIDERS) this.spFail("InvalidMinProviders")
        const id = state.getOr(sp.items.NextBucketId)
        state.put(sp.items.NextBucketId, [], id + 1n)
        sp.putBucket(id, {
          members: [{ account: who, role: { _tag: "Admin" } }],
          frozen_start_seq: undefined,
          min_providers: c.min_providers,
          primary_providers: [],
          snapshot: undefined,
          historical_roots: EMPTY_ROOTS,
          total_snapshots: 0,
          visibility: "visibility" in c ? c.visibility : { _tag: "Public" }
        })
        return deposit({ _tag: "BucketCreated", bucket_id: id, admin: who })
      }
      case "set_min_providers": {
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin"], "NotBucketAdmin")
        if (c.min_providers > bucket.primary_providers.length) this.spFail("InvalidMinProviders")
        sp.putBucket(c.bucket_id, { ...bucket, min_providers: c.min_providers })
        if (this.era === "C") {
          deposit({ _tag: "MinProvidersSet", bucket_id: c.bucket_id, min_providers: c.min_providers })
        }
        return
      }
      case "freeze_bucket": {
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin"], "NotBucketAdmin")
        if (bucket.frozen_start_seq !== undefined) this.spFail("BucketFrozen")
        const frozen = bucket.snapshot?.commitment.start_seq ?? 0n
        sp.putBucket(c.bucket_id, { ...bucket, frozen_start_seq: frozen })
        return deposit({ _tag: "BucketFrozen", bucket_id: c.bucket_id, frozen_start_seq: frozen })
      }
      case "set_member": {
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin"], "NotBucketAdmin")
        const existing = bucket.members.find((m) => m.account === c.member)
        if (existing?.role._tag === "Admin" && c.role._tag !== "Admin" && adminCount(bucket) === 1) {
          this.spFail("CannotDemoteAdmin")
        }
        if (existing === undefined && bucket.members.length >= MAX_MEMBERS) this.spFail("MaxMembersReached")
        const members = existing === undefined
          ? [...bucket.members, { account: c.member, role: c.role }]
          : bucket.members.map((m) => m.account === c.member ? { account: c.member, role: c.role } : m)
        sp.putBucket(c.bucket_id, { ...bucket, members })
        return deposit({ _tag: "MemberSet", bucket_id: c.bucket_id, member: c.member, role: c.role })
      }
      case "remove_member": {
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin"], "NotBucketAdmin")
        const existing = bucket.members.find((m) => m.account === c.member) ?? this.spFail("MemberNotFound")
        if (existing.role._tag === "Admin" && adminCount(bucket) === 1) this.spFail("CannotDemoteAdmin")
        sp.putBucket(c.bucket_id, { ...bucket, members: bucket.members.filter((m) => m.account !== c.member) })
        return deposit({ _tag: "MemberRemoved", bucket_id: c.bucket_id, member: c.member })
      }
      case "add_primary_provider":
        return this.addPrimaryProvider(state, sp, who, c, block, deposit)
      case "request_primary_agreement": {
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin"], "NotBucketAdmin")
        const provider = sp.provider(c.provider) ?? this.spFail("ProviderNotFound")
        if (!provider.settings.accepting_primary) this.spFail("ProviderNotAcceptingPrimary")
        if (sp.agreement(c.bucket_id, c.provider) !== undefined) this.spFail("AgreementAlreadyExists")
        const items = P.eraA.storage
        if (state.get(items.AgreementRequests, c.provider, c.bucket_id) !== undefined) {
          this.spFail("AgreementRequestAlreadyExists")
        }
        if (c.duration < provider.settings.min_duration) this.spFail("DurationTooShort")
        if (c.duration > provider.settings.max_duration) this.spFail("DurationTooLong")
        const payment = provider.settings.price_per_byte * c.max_bytes * BigInt(c.duration)
        if (payment > c.max_payment) this.spFail("PaymentExceedsMax")
        this.reserve(state, who, payment)
        state.put(items.AgreementRequests, [c.provider, c.bucket_id], {
          requester: who,
          max_bytes: c.max_bytes,
          payment_locked: payment,
          duration: c.duration,
          expires_at: block + REQUEST_TIMEOUT,
          replica_params: undefined
        })
        return deposit({
          _tag: "AgreementRequested",
          bucket_id: c.bucket_id,
          provider: c.provider,
          requester: who,
          max_bytes: c.max_bytes,
          payment_locked: payment,
          duration: c.duration
        })
      }
      case "accept_agreement": {
        const items = P.eraA.storage
        const request = state.get(items.AgreementRequests, who, c.bucket_id) ?? this.spFail("AgreementRequestNotFound")
        if (block > request.expires_at) this.spFail("RequestExpired")
        const bucket = bucketOf(c.bucket_id)
        if (bucket.primary_providers.length >= MAX_PRIMARY_PROVIDERS) this.spFail("MaxPrimaryProvidersReached")
        const provider = sp.provider(who) ?? this.spFail("ProviderNotFound")
        state.remove(items.AgreementRequests, who, c.bucket_id)
        const expiresAt = block + request.duration
        sp.putAgreement(c.bucket_id, who, {
          owner: request.requester,
          max_bytes: request.max_bytes,
          payment_locked: request.payment_locked,
          price_per_byte: provider.settings.price_per_byte,
          expires_at: expiresAt,
          extensions_blocked: false,
          started_at: block
        })
        sp.putBucket(c.bucket_id, { ...bucket, primary_providers: [...bucket.primary_providers, who] })
        deposit({ _tag: "AgreementAccepted", bucket_id: c.bucket_id, provider: who, expires_at: expiresAt })
        return deposit({ _tag: "ProviderAddedToBucket", bucket_id: c.bucket_id, provider: who })
      }
      case "checkpoint": {
        const commitment: P.Commitment = "commitment" in c
          ? c.commitment
          : { mmr_root: c.mmr_root, start_seq: c.start_seq, leaf_count: c.leaf_count }
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin", "Writer"], "NotBucketWriter")
        if (bucket.frozen_start_seq !== undefined && commitment.start_seq < bucket.frozen_start_seq) {
          this.spFail("SnapshotViolatesFrozen")
        }
        const payload = commitmentPayload(c.bucket_id, commitment)
        const bits = new Uint8Array(Math.ceil(bucket.primary_providers.length / 8))
        const signers: Array<Hex> = []
        for (const [signer, signature] of c.signatures) {
          const index = bucket.primary_providers.indexOf(signer)
          if (index < 0) this.spFail("ProviderNotInSnapshot")
          this.verifyProviderSignature(sp, signer, signature, payload)
          bits[index >> 3]! |= 1 << (index & 7)
          signers.push(signer)
        }
        if (signers.length < bucket.min_providers) this.spFail("InsufficientSignatures")
        sp.putBucket(c.bucket_id, {
          ...bucket,
          snapshot: { commitment, checkpoint_block: block, primary_signers: bits },
          historical_roots: bucket.historical_roots.map((_, i) =>
            [Math.floor(block / HISTORICAL_ROOT_PRIMES[i]!), commitment.mmr_root] as const
          ),
          total_snapshots: bucket.total_snapshots + 1
        })
        return deposit(
          this.era === "C"
            ? { _tag: "BucketCheckpointed", bucket_id: c.bucket_id, commitment, providers: signers }
            : { _tag: "BucketCheckpointed", bucket_id: c.bucket_id, ...commitment, providers: signers }
        )
      }
      case "extend_checkpoint": {
        const bucket = bucketOf(c.bucket_id)
        requireRole(bucket, ["Admin", "Writer"], "NotBucketWriter")
        const snapshot = bucket.snapshot ?? this.spFail("NoSnapshot")
        const payload = commitmentPayload(c.bucket_id, snapshot.commitment)
        const bits = snapshot.primary_signers.slice()
        const added: Array<Hex> = []
        for (const [signer, signature] of c.additional_signatures) {
          const index = bucket.primary_providers.indexOf(signer)
          if (index < 0) this.spFail("ProviderNotInSnapshot")
          this.verifyProviderSignature(sp, signer, signature, payload)
          const byte = index >> 3
          // As the pallet: a signer already counted is skipped; a bit beyond the stored bitfield is not set.
          if (byte >= bits.length || (bits[byte]! & (1 << (index & 7))) !== 0) continue
          bits[byte]! |= 1 << (index & 7)
          added.push(signer)
        }
        sp.putBucket(c.bucket_id, { ...bucket, snapshot: { ...snapshot, primary_signers: bits } })
        return deposit({
          _tag: "BucketCheckpointed",
          bucket_id: c.bucket_id,
          commitment: snapshot.commitment,
          providers: added
        })
      }
      case "challenge_offchain":
        return this.challengeOffchain(state, sp, who, c, block, deposit)
      default:
        throw new DispatchFailure({ _tag: "Other" })
    }
  }

  private verifyProviderSignature(
    sp: StorageProviderState,
    signer: Hex,
    signature: MultiSignature,
    payload: Uint8Array
  ) {
    // Era A (the oldest pallet) checks against the signer's account key; later eras against the
    // registered public key.
    const key = this.era === "A"
      ? hexToU8a(signer)
      : (sp.provider(signer) ?? this.spFail("ProviderNotFound")).public_key
    // The key must suit the signature's scheme (32 bytes for sr25519/ed25519, 33 for ecdsa).
    if (key.length !== (signature._tag === "Ecdsa" || signature._tag === "Eth" ? 33 : 32)) {
      this.spFail("InvalidPublicKey")
    }
    if (!verifyWithKey(signature, payload, key)) this.spFail("InvalidSignature")
  }

  private addPrimaryProvider(
    state: State,
    sp: StorageProviderState,
    who: Hex,
    c: SpCallOf<"add_primary_provider">,
    block: number,
    deposit: (event: Record<string, unknown>) => void
  ): void {
    const bucket = sp.bucket(c.bucket_id) ?? this.spFail("BucketNotFound")
    if (!bucket.members.some((m) => m.account === who && m.role._tag === "Admin")) this.spFail("NotBucketAdmin")
    const provider = sp.provider(c.provider) ?? this.spFail("ProviderNotFound")
    if (!provider.settings.accepting_primary) this.spFail("ProviderNotAcceptingPrimary")
    if (sp.agreement(c.bucket_id, c.provider) !== undefined) this.spFail("AgreementAlreadyExists")
    if (bucket.primary_providers.length >= MAX_PRIMARY_PROVIDERS) this.spFail("MaxPrimaryProvidersReached")
    const terms = c.terms
    if (terms.owner !== who) this.spFail("NotAgreementOwner")
    if (terms.bucket._tag !== "Existing" || terms.bucket.value !== c.bucket_id) this.spFail("TermsBucketMismatch")
    if (terms.replica_params !== undefined) this.spFail("UnexpectedReplicaTerms")
    if (terms.valid_until < block || terms.valid_until > block + REQUEST_TIMEOUT) this.spFail("RequestExpired")
    if (terms.max_bytes === 0n) this.spFail("InvalidMinProviders")
    const expectedNonce = state.getOr(P.eraC.storage.AgreementNonces, who)
    if (terms.nonce !== expectedNonce) this.spFail("NonceMismatch")
    const message = blake2AsU8a(
      u8aConcat(stringToU8a("primary-term-v1:"), S.encode(P.eraC.types.AgreementTerms, terms)),
      256
    )
    if (!verifyWithKey(c.sig, message, provider.public_key)) this.spFail("InvalidSignature")
    if (terms.duration < provider.settings.min_duration) this.spFail("DurationTooShort")
    if (terms.duration > provider.settings.max_duration) this.spFail("DurationTooLong")
    const payment = terms.price_per_byte * terms.max_bytes * BigInt(terms.duration)
    this.reserve(state, who, payment)
    state.put(P.eraC.storage.AgreementNonces, [who], expectedNonce + 1n)
    const expiresAt = block + terms.duration
    sp.putAgreement(c.bucket_id, c.provider, {
      owner: who,
      max_bytes: terms.max_bytes,
      payment_locked: payment,
      price_per_byte: terms.price_per_byte,
      expires_at: expiresAt,
      extensions_blocked: false,
      started_at: block
    })
    sp.putBucket(c.bucket_id, { ...bucket, primary_providers: [...bucket.primary_providers, c.provider] })
    deposit({ _tag: "ProviderAddedToBucket", bucket_id: c.bucket_id, provider: c.provider })
    deposit({
      _tag: "StorageAgreementEstablished",
      bucket_id: c.bucket_id,
      provider: c.provider,
      owner: who,
      terms,
      expires_at: expiresAt
    })
  }

  private challengeOffchain(
    state: State,
    sp: StorageProviderState,
    who: Hex,
    c: SpCallOf<"challenge_offchain">,
    block: number,
    deposit: (event: Record<string, unknown>) => void
  ): void {
    const bucket = sp.bucket(c.bucket_id) ?? this.spFail("BucketNotFound")
    if (c.provider === who) this.spFail("SelfChallenge")
    const agreement = sp.agreement(c.bucket_id, c.provider) ?? this.spFail("AgreementNotFound")
    if (agreement.expires_at < block) this.spFail("AgreementExpired")
    const authorized = bucket.members.some((m) => m.account === who) || agreement.owner === who
    if (bucket.visibility._tag === "Private" && !authorized) this.spFail("NotAuthorizedForPrivateBucket")
    const provider = sp.provider(c.provider) ?? this.spFail("ProviderNotFound")
    const payload = commitmentPayload(c.bucket_id, c.commitment)
    if (!verifyWithKey(c.provider_signature, payload, provider.public_key)) this.spFail("InvalidSignature")
    this.reserve(state, who, CHALLENGE_DEPOSIT)
    const deadline = block + CHALLENGE_TIMEOUT
    const items = P.eraC.storage
    const index = state.getOr(items.NextChallengeIndex, deadline)
    if (index >= MAX_CHALLENGES_PER_DEADLINE) this.spFail("TooManyChallenges")
    state.put(items.NextChallengeIndex, [deadline], index + 1)
    state.put(items.Challenges, [deadline, index], {
      bucket_id: c.bucket_id,
      provider: c.provider,
      challenger: who,
      mmr_root: c.commitment.mmr_root,
      start_seq: c.commitment.start_seq,
      target: c.target,
      deposit: CHALLENGE_DEPOSIT,
      authorized
    })
    sp.putProvider(c.provider, {
      ...provider,
      stats: authorized
        ? { ...provider.stats, challenges_received_authorized: provider.stats.challenges_received_authorized + 1 }
        : { ...provider.stats, challenges_received_public: provider.stats.challenges_received_public + 1 }
    })
    deposit({
      _tag: "ChallengeCreated",
      challenge_id: { deadline, index },
      bucket_id: c.bucket_id,
      provider: c.provider,
      challenger: who,
      respond_by: deadline
    })
  }
}

// ---------------------------------------------------------------------------------------------
// StorageProvider state across eras: one model, era-specific encodings

export const commitmentPayload = (bucketId: bigint, commitment: P.Commitment): Uint8Array => {
  const w = new S.Writer()
  w.u8(1)
  w.uint(bucketId, 8)
  w.bytes(hexToU8a(commitment.mmr_root))
  w.uint(commitment.start_seq, 8)
  w.uint(commitment.leaf_count, 8)
  return w.finish()
}

const isMultiaddrText = (bytes: Uint8Array): boolean => {
  if (bytes.length === 0 || bytes.length > 128) return false
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).startsWith("/")
  } catch {
    return false
  }
}

const lookup = (address: MultiAddress): Hex => {
  if (address._tag === "Id") return address.value
  if (address._tag === "Address32") return u8aToHex(address.value)
  throw new DispatchFailure({ _tag: "CannotLookup" })
}

const adminCount = (bucket: BucketModel) => bucket.members.filter((m) => m.role._tag === "Admin").length

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
  readonly members: ReadonlyArray<{ readonly account: Hex; readonly role: P.Role }>
  readonly frozen_start_seq: bigint | undefined
  readonly min_providers: number
  readonly primary_providers: ReadonlyArray<Hex>
  readonly snapshot:
    | { readonly commitment: P.Commitment; readonly checkpoint_block: number; readonly primary_signers: Uint8Array }
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
  readonly items: typeof P.eraC.storage | typeof P.eraA.storage
  constructor(readonly state: State, readonly era: P.Era) {
    this.items = era === "C" ? P.eraC.storage : P.eraA.storage
  }

  provider(who: Hex): ProviderModel | undefined {
    if (this.era === "C") return this.state.get(P.eraC.storage.Providers, who)
    const p = this.state.get(P.eraA.storage.Providers, who)
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
    if (this.era === "C") return this.state.put(P.eraC.storage.Providers, [who], p)
    const { max_capacity: _cap, ...settings } = p.settings
    const { challenges_received_authorized, challenges_received_public, ...stats } = p.stats
    this.state.put(P.eraA.storage.Providers, [who], {
      multiaddr: p.multiaddr,
      stake: p.stake,
      committed_bytes: p.committed_bytes,
      settings,
      stats: { ...stats, challenges_received: challenges_received_authorized + challenges_received_public }
    })
  }

  bucket(id: bigint): BucketModel | undefined {
    if (this.era === "C") return this.state.get(P.eraC.storage.Buckets, id)
    const b = this.state.get(P.eraA.storage.Buckets, id)
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
    if (this.era === "C") return this.state.put(P.eraC.storage.Buckets, [id], b)
    const { visibility: _v, snapshot, ...rest } = b
    this.state.put(P.eraA.storage.Buckets, [id], {
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
      ? this.state.get(P.eraC.storage.StorageAgreements, bucket, provider)
      : this.state.get(P.eraA.storage.StorageAgreements, bucket, provider)
  }
  putAgreement(bucket: bigint, provider: Hex, a: AgreementModel): void {
    const value = { ...a, role: { _tag: "Primary" } as const }
    if (this.era === "C") this.state.put(P.eraC.storage.StorageAgreements, [bucket, provider], value)
    else this.state.put(P.eraA.storage.StorageAgreements, [bucket, provider], value)
  }
}

/**
 * The StorageProvider pallet's calls: each call routed to its logic, which checks, writes and
 * deposits for both eras (a call only one era declares is only reachable in that era). Failures are
 * `DispatchError::Module` naming the pallet's error; rules follow protocol-facts §2. The calls over
 * signed commitments (checkpoints, challenges) are in `checkpoints.ts`.
 *
 * @internal
 */
import { hexToU8a, stringToU8a, u8aConcat } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import { type DispatchContext, ensureSigned, fail, failWith } from "../../dispatch.js"
import { verifyWithKey } from "../../extrinsic.js"
import type { RuntimeEvent } from "../../runtime.js"
import * as S from "../../scale.js"
import type { State } from "../../storage.js"
import type { Hex } from "../../types.js"
import * as Balances from "../balances.js"
import { challengeOffchain, checkpoint, extendCheckpoint } from "./checkpoints.js"
import { eraA } from "./eraA.js"
import { eraC } from "./eraC.js"
import { type BucketModel, DEFAULT_SETTINGS, EMPTY_ROOTS, EMPTY_STATS, StorageProviderState } from "./model.js"
import {
  type Era,
  errors,
  MAX_MEMBERS,
  MAX_MULTIADDR_LENGTH,
  MAX_PRIMARY_PROVIDERS,
  MIN_PROVIDER_STAKE,
  pallet,
  REQUEST_TIMEOUT
} from "./pallet.js"

/** A StorageProvider call of either era. */
export type Call = S.TypeOf<typeof eraC.Call> | S.TypeOf<typeof eraA.Call>
export type CallOf<T extends Call["_tag"]> = Extract<Call, { readonly _tag: T }>

/** Every call is signed; its signer is the account the call acts for. */
export const dispatch = (ctx: DispatchContext, call: Call): void => {
  const d = new Dispatch(ctx, ensureSigned(ctx.origin))
  switch (call._tag) {
    case "register_provider":
      return registerProvider(d, call)
    case "add_stake":
      return addStake(d, call)
    case "update_provider_settings":
      return updateProviderSettings(d, call)
    case "create_bucket":
      return createBucket(d, call)
    case "set_min_providers":
      return setMinProviders(d, call)
    case "freeze_bucket":
      return freezeBucket(d, call)
    case "set_member":
      return setMember(d, call)
    case "remove_member":
      return removeMember(d, call)
    case "add_primary_provider":
      return addPrimaryProvider(d, call)
    case "request_primary_agreement":
      return requestPrimaryAgreement(d, call)
    case "accept_agreement":
      return acceptAgreement(d, call)
    case "checkpoint":
      return checkpoint(d, call)
    case "extend_checkpoint":
      return extendCheckpoint(d, call)
    case "challenge_offchain":
      return challengeOffchain(d, call)
    default:
      return fail({ _tag: "Other" })
  }
}

const isMultiaddrText = (bytes: Uint8Array): boolean => {
  if (bytes.length === 0 || bytes.length > MAX_MULTIADDR_LENGTH) return false
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).startsWith("/")
  } catch {
    return false
  }
}

const adminCount = (bucket: BucketModel) => bucket.members.filter((m) => m.role._tag === "Admin").length

/**
 * One call at this pallet: the account it acts for (every call is signed), the pallet's storage at
 * the runtime's era, and the pallet's errors and events.
 */
export class Dispatch {
  readonly sp: StorageProviderState
  readonly state: State
  readonly block: number
  readonly era: Era

  constructor(private readonly ctx: DispatchContext, readonly who: Hex) {
    this.sp = new StorageProviderState(ctx.state, ctx.era)
    this.state = ctx.state
    this.block = ctx.block
    this.era = ctx.era
  }

  fail(name: string): never {
    return failWith(pallet, errors(this.era), name)
  }

  /** Reserves `amount` of the signer's free balance (a stake, a payment, a deposit). */
  reserve(amount: bigint): void {
    Balances.reserve(this.ctx, this.who, amount)
  }

  deposit(event: Record<string, unknown>): void {
    this.ctx.deposit({ _tag: "StorageProvider", value: event } as unknown as RuntimeEvent)
  }

  bucketOf(id: bigint): BucketModel {
    return this.sp.bucket(id) ?? this.fail("BucketNotFound")
  }

  requireRole(bucket: BucketModel, roles: ReadonlyArray<string>, error: string): void {
    const member = bucket.members.find((m) => m.account === this.who)
    if (member === undefined || !roles.includes(member.role._tag)) this.fail(error)
  }
}

// ---------------------------------------------------------------------------------------------
// Providers

const registerProvider = (d: Dispatch, c: CallOf<"register_provider">): void => {
  const { sp, who } = d
  if (sp.provider(who) !== undefined) d.fail("ProviderAlreadyRegistered")
  const multiaddr: Uint8Array = c.multiaddr
  if (!isMultiaddrText(multiaddr)) d.fail("InvalidMultiaddr")
  const publicKey: Uint8Array = "public_key" in c ? c.public_key : hexToU8a(who)
  if (![32, 33, 64].includes(publicKey.length)) d.fail("InvalidPublicKey")
  if (c.stake < MIN_PROVIDER_STAKE) d.fail("InsufficientStake")
  d.reserve(c.stake)
  sp.putProvider(who, {
    multiaddr,
    public_key: publicKey,
    stake: c.stake,
    committed_bytes: 0n,
    settings: DEFAULT_SETTINGS,
    stats: { ...EMPTY_STATS, registered_at: d.block },
    deregister_at: undefined
  })
  d.deposit({ _tag: "ProviderRegistered", provider: who, stake: c.stake })
}

const addStake = (d: Dispatch, c: CallOf<"add_stake">): void => {
  const { sp, who } = d
  const provider = sp.provider(who) ?? d.fail("ProviderNotFound")
  d.reserve(c.amount)
  sp.putProvider(who, { ...provider, stake: provider.stake + c.amount })
  d.deposit({
    _tag: "ProviderStakeAdded",
    provider: who,
    amount: c.amount,
    total_stake: provider.stake + c.amount
  })
}

const updateProviderSettings = (d: Dispatch, c: CallOf<"update_provider_settings">): void => {
  const { sp, who } = d
  const provider = sp.provider(who) ?? d.fail("ProviderNotFound")
  sp.putProvider(who, { ...provider, settings: { max_capacity: 0n, ...c.settings } })
  d.deposit({ _tag: "ProviderSettingsUpdated", provider: who })
}

// ---------------------------------------------------------------------------------------------
// Buckets

const createBucket = (d: Dispatch, c: CallOf<"create_bucket">): void => {
  const { sp, who } = d
  if (c.min_providers > MAX_PRIMARY_PROVIDERS) d.fail("InvalidMinProviders")
  const id = d.state.getOr(sp.items.NextBucketId)
  d.state.put(sp.items.NextBucketId, [], id + 1n)
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
  d.deposit({ _tag: "BucketCreated", bucket_id: id, admin: who })
}

const setMinProviders = (d: Dispatch, c: CallOf<"set_min_providers">): void => {
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin"], "NotBucketAdmin")
  if (c.min_providers > bucket.primary_providers.length) d.fail("InvalidMinProviders")
  d.sp.putBucket(c.bucket_id, { ...bucket, min_providers: c.min_providers })
  if (d.era === "C") {
    d.deposit({ _tag: "MinProvidersSet", bucket_id: c.bucket_id, min_providers: c.min_providers })
  }
}

const freezeBucket = (d: Dispatch, c: CallOf<"freeze_bucket">): void => {
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin"], "NotBucketAdmin")
  if (bucket.frozen_start_seq !== undefined) d.fail("BucketFrozen")
  const frozen = bucket.snapshot?.commitment.start_seq ?? 0n
  d.sp.putBucket(c.bucket_id, { ...bucket, frozen_start_seq: frozen })
  d.deposit({ _tag: "BucketFrozen", bucket_id: c.bucket_id, frozen_start_seq: frozen })
}

const setMember = (d: Dispatch, c: CallOf<"set_member">): void => {
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin"], "NotBucketAdmin")
  const existing = bucket.members.find((m) => m.account === c.member)
  if (existing?.role._tag === "Admin" && c.role._tag !== "Admin" && adminCount(bucket) === 1) {
    d.fail("CannotDemoteAdmin")
  }
  if (existing === undefined && bucket.members.length >= MAX_MEMBERS) d.fail("MaxMembersReached")
  const members = existing === undefined
    ? [...bucket.members, { account: c.member, role: c.role }]
    : bucket.members.map((m) => m.account === c.member ? { account: c.member, role: c.role } : m)
  d.sp.putBucket(c.bucket_id, { ...bucket, members })
  d.deposit({ _tag: "MemberSet", bucket_id: c.bucket_id, member: c.member, role: c.role })
}

const removeMember = (d: Dispatch, c: CallOf<"remove_member">): void => {
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin"], "NotBucketAdmin")
  const existing = bucket.members.find((m) => m.account === c.member) ?? d.fail("MemberNotFound")
  if (existing.role._tag === "Admin" && adminCount(bucket) === 1) d.fail("CannotDemoteAdmin")
  d.sp.putBucket(c.bucket_id, { ...bucket, members: bucket.members.filter((m) => m.account !== c.member) })
  d.deposit({ _tag: "MemberRemoved", bucket_id: c.bucket_id, member: c.member })
}

// ---------------------------------------------------------------------------------------------
// Agreements

/** Era C: the bucket's admin adds a primary on terms the provider signed. */
const addPrimaryProvider = (d: Dispatch, c: CallOf<"add_primary_provider">): void => {
  const { sp, who, block } = d
  const bucket = sp.bucket(c.bucket_id) ?? d.fail("BucketNotFound")
  if (!bucket.members.some((m) => m.account === who && m.role._tag === "Admin")) d.fail("NotBucketAdmin")
  const provider = sp.provider(c.provider) ?? d.fail("ProviderNotFound")
  if (!provider.settings.accepting_primary) d.fail("ProviderNotAcceptingPrimary")
  if (sp.agreement(c.bucket_id, c.provider) !== undefined) d.fail("AgreementAlreadyExists")
  if (bucket.primary_providers.length >= MAX_PRIMARY_PROVIDERS) d.fail("MaxPrimaryProvidersReached")
  const terms = c.terms
  if (terms.owner !== who) d.fail("NotAgreementOwner")
  if (terms.bucket._tag !== "Existing" || terms.bucket.value !== c.bucket_id) d.fail("TermsBucketMismatch")
  if (terms.replica_params !== undefined) d.fail("UnexpectedReplicaTerms")
  if (terms.valid_until < block || terms.valid_until > block + REQUEST_TIMEOUT) d.fail("RequestExpired")
  if (terms.max_bytes === 0n) d.fail("InvalidMinProviders")
  const expectedNonce = d.state.getOr(eraC.storage.AgreementNonces, who)
  if (terms.nonce !== expectedNonce) d.fail("NonceMismatch")
  const message = blake2AsU8a(
    u8aConcat(stringToU8a("primary-term-v1:"), S.encode(eraC.types.AgreementTerms, terms)),
    256
  )
  if (!verifyWithKey(c.sig, message, provider.public_key)) d.fail("InvalidSignature")
  if (terms.duration < provider.settings.min_duration) d.fail("DurationTooShort")
  if (terms.duration > provider.settings.max_duration) d.fail("DurationTooLong")
  const payment = terms.price_per_byte * terms.max_bytes * BigInt(terms.duration)
  d.reserve(payment)
  d.state.put(eraC.storage.AgreementNonces, [who], expectedNonce + 1n)
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
  d.deposit({ _tag: "ProviderAddedToBucket", bucket_id: c.bucket_id, provider: c.provider })
  d.deposit({
    _tag: "StorageAgreementEstablished",
    bucket_id: c.bucket_id,
    provider: c.provider,
    owner: who,
    terms,
    expires_at: expiresAt
  })
}

/** Era A: the bucket's admin requests an agreement, locking its payment; the provider accepts. */
const requestPrimaryAgreement = (d: Dispatch, c: CallOf<"request_primary_agreement">): void => {
  const { sp, who, block } = d
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin"], "NotBucketAdmin")
  const provider = sp.provider(c.provider) ?? d.fail("ProviderNotFound")
  if (!provider.settings.accepting_primary) d.fail("ProviderNotAcceptingPrimary")
  if (sp.agreement(c.bucket_id, c.provider) !== undefined) d.fail("AgreementAlreadyExists")
  const items = eraA.storage
  if (d.state.get(items.AgreementRequests, c.provider, c.bucket_id) !== undefined) {
    d.fail("AgreementRequestAlreadyExists")
  }
  if (c.duration < provider.settings.min_duration) d.fail("DurationTooShort")
  if (c.duration > provider.settings.max_duration) d.fail("DurationTooLong")
  const payment = provider.settings.price_per_byte * c.max_bytes * BigInt(c.duration)
  if (payment > c.max_payment) d.fail("PaymentExceedsMax")
  d.reserve(payment)
  d.state.put(items.AgreementRequests, [c.provider, c.bucket_id], {
    requester: who,
    max_bytes: c.max_bytes,
    payment_locked: payment,
    duration: c.duration,
    expires_at: block + REQUEST_TIMEOUT,
    replica_params: undefined
  })
  d.deposit({
    _tag: "AgreementRequested",
    bucket_id: c.bucket_id,
    provider: c.provider,
    requester: who,
    max_bytes: c.max_bytes,
    payment_locked: payment,
    duration: c.duration
  })
}

const acceptAgreement = (d: Dispatch, c: CallOf<"accept_agreement">): void => {
  const { sp, who, block } = d
  const items = eraA.storage
  const request = d.state.get(items.AgreementRequests, who, c.bucket_id) ??
    d.fail("AgreementRequestNotFound")
  if (block > request.expires_at) d.fail("RequestExpired")
  const bucket = d.bucketOf(c.bucket_id)
  if (bucket.primary_providers.length >= MAX_PRIMARY_PROVIDERS) d.fail("MaxPrimaryProvidersReached")
  const provider = sp.provider(who) ?? d.fail("ProviderNotFound")
  d.state.remove(items.AgreementRequests, who, c.bucket_id)
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
  d.deposit({ _tag: "AgreementAccepted", bucket_id: c.bucket_id, provider: who, expires_at: expiresAt })
  d.deposit({ _tag: "ProviderAddedToBucket", bucket_id: c.bucket_id, provider: who })
}

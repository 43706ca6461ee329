/**
 * Chain data as `@polkadot/api` decodes it, turned into plain values and decoded again with Schema
 * into the domain: nothing read from the chain reaches core without passing a schema.
 *
 * @internal
 */
import { ChainAdapter, Domain } from "@checkpointer/core"
import {
  AbstractArray,
  AbstractInt,
  bool as Bool,
  Bytes,
  Enum,
  Null,
  Option as CodecOption,
  Raw,
  Struct
} from "@polkadot/types-codec"
import type { Codec } from "@polkadot/types-codec/types"
import { u8aToHex } from "@polkadot/util"
import * as Schema from "effect/Schema"

/** A JSON-like value: what `toPlain` produces. */
export type Plain = string | boolean | null | ReadonlyArray<Plain> | { readonly [key: string]: Plain }

/**
 * Plain values from decoded codecs: integers as decimal strings (u64/u128 stay exact), byte strings
 * and fixed byte arrays (hashes, account ids) as `0x` hex, options as `null` or the value, unit enums
 * as their variant name, data enums as `{ Variant: value }`, structs with their camelCase keys.
 */
export const toPlain = (codec: Codec): Plain => {
  if (codec instanceof CodecOption) return codec.isNone ? null : toPlain(codec.unwrap())
  if (codec instanceof Struct) {
    const out: Record<string, Plain> = {}
    for (const [key, value] of codec.entries()) out[String(key)] = toPlain(value)
    return out
  }
  if (codec instanceof Enum) return codec.isBasic ? codec.type : { [codec.type]: toPlain(codec.value) }
  if (codec instanceof AbstractInt) return codec.toString()
  if (codec instanceof Bool) return codec.isTrue
  if (codec instanceof Bytes) return u8aToHex(codec.toU8a(true))
  if (codec instanceof Raw) return u8aToHex(codec.toU8a())
  if (codec instanceof AbstractArray) return codec.map(toPlain)
  if (codec instanceof Null) return null
  // Compact and other wrappers expose their inner value's string form.
  return codec.toString()
}

const Count = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())
const BlockNumber = Schema.compose(Schema.NumberFromString, Domain.BlockNumber)

export const CommitmentWire = Schema.Struct({ mmrRoot: Domain.H256, startSeq: Domain.U64, leafCount: Domain.U64 })

const Signers = Domain.BytesFromHex

/** Era C's snapshot (`commitment` struct) or era A's (flat fields). */
export const SnapshotWire = Schema.Union(
  Schema.Struct({ commitment: CommitmentWire, checkpointBlock: BlockNumber, primarySigners: Signers }),
  Schema.Struct({
    mmrRoot: Domain.H256,
    startSeq: Domain.U64,
    leafCount: Domain.U64,
    checkpointBlock: BlockNumber,
    primarySigners: Signers
  })
)

export const BucketWire = Schema.Struct({
  members: Schema.Array(Schema.Struct({ account: Domain.AccountId, role: Domain.Role })),
  frozenStartSeq: Schema.NullOr(Domain.U64),
  minProviders: Count,
  primaryProviders: Schema.Array(Domain.AccountId),
  snapshot: Schema.NullOr(SnapshotWire)
})

/** `ProviderInfo`: era A has no `publicKey` (the account is the key). */
export const ProviderWire = Schema.Struct({
  multiaddr: ChainAdapter.Utf8FromHex,
  publicKey: Schema.optional(Domain.PublicKey)
})

/** `BucketCheckpointed`'s fields by position: era C `(bucket, commitment, providers)`, era A flat. */
export const CheckpointedWire = Schema.Union(
  Schema.Tuple(Domain.BucketId, CommitmentWire, Schema.Array(Domain.AccountId)),
  Schema.Tuple(Domain.BucketId, Domain.H256, Domain.U64, Domain.U64, Schema.Array(Domain.AccountId))
)

/** `ChallengeCreated`: `(challenge_id {deadline, index}, bucket, provider, challenger, respond_by)`. */
export const ChallengeCreatedWire = Schema.Tuple(
  Schema.Struct({ deadline: BlockNumber, index: Count }),
  Domain.BucketId,
  Domain.AccountId,
  Domain.AccountId,
  BlockNumber
)

export const FeePaidWire = Schema.Tuple(Domain.AccountId, Schema.BigInt, Schema.BigInt)

/** `System.Account`: only the free balance is read (the rest differs between runtimes). */
export const AccountWire = Schema.Struct({ data: Schema.Struct({ free: Schema.BigInt }) })

/** `TransactionPaymentApi_query_info`'s `RuntimeDispatchInfo`: the partial fee (without tip) is the quote. */
export const DispatchInfoWire = Schema.Struct({ partialFee: Schema.BigInt })

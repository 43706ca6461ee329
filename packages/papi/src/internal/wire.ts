/**
 * Chain data as polkadot-api decodes it dynamically (structs with the runtime's snake_case field names,
 * enums as `{ type, value }`, `Vec<u8>` as `Uint8Array`, fixed byte arrays as hex, accounts as SS58,
 * u64/u128 as bigint), turned into plain values and decoded again with Schema into the domain: nothing
 * read from the chain reaches core without passing a schema.
 *
 * @internal
 */
import { ChainAdapter, Domain } from "@checkpointer/core"
import * as Schema from "effect/Schema"

/** A JSON-like value (bigints kept exact). */
export type Plain = string | number | bigint | boolean | null | ReadonlyArray<Plain> | { readonly [key: string]: Plain }

const toHex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString("hex")}`

/**
 * Plain values from polkadot-api's: bytes as `0x` hex, `undefined` (an absent option) as `null`, unit
 * enum variants as their name, data variants as `{ Variant: value }`, structs and arrays element-wise.
 */
export const toPlain = (value: unknown): Plain => {
  if (value === undefined || value === null) return null
  if (value instanceof Uint8Array) return toHex(value)
  if (
    typeof value === "string" || typeof value === "number" || typeof value === "bigint" || typeof value === "boolean"
  ) {
    return value
  }
  if (Array.isArray(value)) return value.map(toPlain)
  if (typeof value === "object") {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record)
    if (typeof record.type === "string" && keys.every((k) => k === "type" || k === "value")) {
      return record.value === undefined ? record.type : { [record.type]: toPlain(record.value) }
    }
    const out: Record<string, Plain> = {}
    for (const key of keys) out[key] = toPlain(record[key])
    return out
  }
  return String(value)
}

const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

export const CommitmentWire = Schema.Struct({ mmr_root: Domain.H256, start_seq: Domain.U64, leaf_count: Domain.U64 })

/** Era C's snapshot (`commitment` struct) or era A's (flat fields). */
export const SnapshotWire = Schema.Union(
  Schema.Struct({
    commitment: CommitmentWire,
    checkpoint_block: Domain.BlockNumber,
    primary_signers: Domain.BytesFromHex
  }),
  Schema.Struct({
    mmr_root: Domain.H256,
    start_seq: Domain.U64,
    leaf_count: Domain.U64,
    checkpoint_block: Domain.BlockNumber,
    primary_signers: Domain.BytesFromHex
  })
)

export const BucketWire = Schema.Struct({
  members: Schema.Array(Schema.Struct({ account: Domain.AccountId, role: Domain.Role })),
  frozen_start_seq: Schema.NullOr(Domain.U64),
  min_providers: Count,
  primary_providers: Schema.Array(Domain.AccountId),
  snapshot: Schema.NullOr(SnapshotWire)
})

/** `ProviderInfo`: era A has no `public_key` (the account is the key). */
export const ProviderWire = Schema.Struct({
  multiaddr: ChainAdapter.Utf8FromHex,
  public_key: Schema.optional(Schema.NullOr(Domain.PublicKey))
})

/** `BucketCheckpointed`: era C `{ bucket_id, commitment, providers }`, era A flat. */
export const CheckpointedWire = Schema.Union(
  Schema.Struct({ bucket_id: Domain.BucketId, commitment: CommitmentWire, providers: Schema.Array(Domain.AccountId) }),
  Schema.Struct({
    bucket_id: Domain.BucketId,
    mmr_root: Domain.H256,
    start_seq: Domain.U64,
    leaf_count: Domain.U64,
    providers: Schema.Array(Domain.AccountId)
  })
)

/** `ChallengeCreated`: the challenge id names it. */
export const ChallengeCreatedWire = Schema.Struct({
  challenge_id: Schema.Struct({ deadline: Domain.BlockNumber, index: Count })
})

export const FeePaidWire = Schema.Struct({ who: Domain.AccountId, actual_fee: Schema.BigIntFromSelf })

/** `System.Account`: the nonce and the free balance (the rest differs between runtimes). */
export const AccountWire = Schema.Struct({ nonce: Count, data: Schema.Struct({ free: Schema.BigIntFromSelf }) })

/** A block as polkadot-api reports it. */
export const BlockWire = Schema.Struct({ number: Domain.BlockNumber, hash: Domain.H256 })

/** An event record of a block, its phase and `Pallet.Event` name with its fields. */
export const EventRecordWire = Schema.Struct({
  phase: Schema.Union(Schema.String, Schema.Struct({ ApplyExtrinsic: Count })),
  event: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/** A dispatch error as polkadot-api reports it: `{ Module: { Pallet: "Error" } }` or a plain variant. */
export const DispatchErrorWire = Schema.Union(
  Schema.Struct({ Module: Schema.Record({ key: Schema.String, value: Schema.Unknown }) }),
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  Schema.String
)

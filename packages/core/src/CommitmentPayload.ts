/**
 * The bytes a provider signs: SCALE of the pallet's `CommitmentPayload`, signed raw (no hashing, no
 * domain prefix, no `<Bytes>` wrapper).
 *
 * - v1 (eras A and C), 57 bytes: `0x01 ‖ bucket_id u64le ‖ mmr_root[32] ‖ start_seq u64le ‖ leaf_count u64le`
 * - v2 (era B), 65 bytes: `0x02 ‖ … ‖ nonce u64le`
 *
 * @since 0.1.0
 */
import type { BucketId, H256, U64 } from "./Domain.js"
import { hexToBytes } from "./internal/hex.js"

/**
 * The fields of a commitment payload. Integers may be given as bigints or safe-integer numbers;
 * the root as an `H256` or its 32 bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommitmentPayloadFields {
  readonly bucketId: BucketId | bigint | number
  readonly mmrRoot: H256 | Uint8Array
  readonly startSeq: U64 | bigint | number
  readonly leafCount: U64 | bigint | number
}

/**
 * Length of the v1 payload in bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const COMMITMENT_PAYLOAD_V1_LENGTH = 57

/**
 * Length of the v2 (era B, with nonce) payload in bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const COMMITMENT_PAYLOAD_V2_LENGTH = 65

const U64_MAX = (1n << 64n) - 1n

const toU64 = (value: bigint | number, field: string): bigint => {
  const big = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n
  if (big < 0n || big > U64_MAX) {
    // Branded inputs can never get here; a caller that bypassed decoding has a bug, not bad data.
    throw new RangeError(`${field} is not a u64: ${String(value)}`)
  }
  return big
}

const rootBytes = (root: H256 | Uint8Array): Uint8Array => {
  const bytes = typeof root === "string" ? hexToBytes(root) : root
  if (bytes === undefined || bytes.length !== 32) {
    throw new RangeError("mmrRoot is not 32 bytes")
  }
  return bytes
}

const writeHeader = (view: DataView, out: Uint8Array, version: number, fields: CommitmentPayloadFields) => {
  out[0] = version
  view.setBigUint64(1, toU64(fields.bucketId, "bucketId"), true)
  out.set(rootBytes(fields.mmrRoot), 9)
  view.setBigUint64(41, toU64(fields.startSeq, "startSeq"), true)
  view.setBigUint64(49, toU64(fields.leafCount, "leafCount"), true)
}

/**
 * The 57-byte v1 payload (eras A and C) that providers sign and `checkpoint` verifies.
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeCommitmentPayload = (fields: CommitmentPayloadFields): Uint8Array => {
  const out = new Uint8Array(COMMITMENT_PAYLOAD_V1_LENGTH)
  writeHeader(new DataView(out.buffer), out, 1, fields)
  return out
}

/**
 * The 65-byte v2 payload of era B, which appends the signing nonce (a recent block number).
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeCommitmentPayloadV2 = (
  fields: CommitmentPayloadFields & { readonly nonce: U64 | bigint | number }
): Uint8Array => {
  const out = new Uint8Array(COMMITMENT_PAYLOAD_V2_LENGTH)
  const view = new DataView(out.buffer)
  writeHeader(view, out, 2, fields)
  view.setBigUint64(57, toU64(fields.nonce, "nonce"), true)
  return out
}

/**
 * How commitments relate, in one place: equality, a map key, where a commitment stands against the
 * chain's snapshot, and whether it would move the snapshot backwards. The collector, the consensus, the
 * submitter and the journal all ask these questions; none answers them on its own.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { BucketInfo } from "./ChainClient.js"
import { Commitment } from "./Domain.js"

/**
 * Whether two commitments are the same (root, start and count).
 *
 * @since 0.1.0
 * @category functions
 */
export const same: (a: Commitment, b: Commitment) => boolean = Schema.equivalence(Commitment)

/**
 * A commitment as a map key: equal keys, equal commitments.
 *
 * @since 0.1.0
 * @category functions
 */
export const key = (commitment: Commitment): string =>
  `${commitment.mmrRoot}:${commitment.startSeq}:${commitment.leafCount}`

/**
 * Where a commitment stands against a bucket's snapshot: the same, behind the chain (the snapshot ends
 * further: `Later`), in conflict (another commitment over the same range, or one that starts before the
 * snapshot), or ahead of it (`Behind`: the chain is behind it, and it extends the snapshot).
 *
 * @since 0.1.0
 * @category functions
 */
export const toSnapshot = (bucket: BucketInfo, commitment: Commitment): "Same" | "Later" | "Conflict" | "Behind" => {
  if (Option.isNone(bucket.snapshot)) return "Behind"
  const held = bucket.snapshot.value.commitment
  if (same(held, commitment)) return "Same"
  const heldEnd = held.startSeq + held.leafCount
  const ourEnd = commitment.startSeq + commitment.leafCount
  if (heldEnd > ourEnd) return "Later"
  if (heldEnd === ourEnd || commitment.startSeq < held.startSeq) return "Conflict"
  return "Behind"
}

/**
 * Why a commitment goes backwards from what the chain already holds, if it does (the pallet itself
 * accepts regressions). A delete moves the start forward and shortens the count without moving the end:
 * that is legitimate.
 *
 * @since 0.1.0
 * @category functions
 */
export const regression = (bucket: BucketInfo, commitment: Commitment): string | undefined => {
  const start = commitment.startSeq
  const end = start + commitment.leafCount
  if (Option.isSome(bucket.frozenStartSeq) && start < bucket.frozenStartSeq.value) {
    return `start_seq ${start} is before the bucket's frozen start ${bucket.frozenStartSeq.value}`
  }
  if (Option.isNone(bucket.snapshot)) return undefined
  const floor = bucket.snapshot.value.commitment
  const floorEnd = floor.startSeq + floor.leafCount
  if (start < floor.startSeq) return `start_seq rewinds from ${floor.startSeq} to ${start}`
  if (end < floorEnd) return `the range ends at ${end}, before the on-chain snapshot's end ${floorEnd}`
  return undefined
}

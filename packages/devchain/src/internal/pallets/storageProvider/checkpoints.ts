/**
 * The StorageProvider calls over commitments providers signed (protocol-facts §3.1): `checkpoint`
 * and `extend_checkpoint` record a bucket's snapshot with its primaries' signatures;
 * `challenge_offchain` holds a provider to a commitment it signed, for a deposit.
 *
 * @internal
 */
import { hexToU8a } from "@polkadot/util"
import { verifyWithKey } from "../../extrinsic.js"
import * as S from "../../scale.js"
import type { Hex, MultiSignature } from "../../types.js"
import type { CallOf, Dispatch } from "./calls.js"
import { eraC } from "./eraC.js"
import { CHALLENGE_DEPOSIT, CHALLENGE_TIMEOUT } from "./pallet.js"
import type { Commitment } from "./types.js"

const MAX_CHALLENGES_PER_DEADLINE = 1_000
/** The periods (in blocks) of a bucket's six historical roots. */
const HISTORICAL_ROOT_PRIMES = [3, 7, 11, 23, 47, 113]

/** The v1 commitment payload providers sign (protocol-facts §3.1): 57 bytes. */
export const commitmentPayload = (bucketId: bigint, commitment: Commitment): Uint8Array => {
  const w = new S.Writer()
  w.u8(1)
  w.uint(bucketId, 8)
  w.bytes(hexToU8a(commitment.mmr_root))
  w.uint(commitment.start_seq, 8)
  w.uint(commitment.leaf_count, 8)
  return w.finish()
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/** A bucket writer records a snapshot signed by at least `min_providers` of the bucket's primaries. */
export const checkpoint = (d: Dispatch, c: CallOf<"checkpoint">): void => {
  const { sp, block } = d
  const commitment: Commitment = "commitment" in c
    ? c.commitment
    : { mmr_root: c.mmr_root, start_seq: c.start_seq, leaf_count: c.leaf_count }
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin", "Writer"], "NotBucketWriter")
  if (bucket.frozen_start_seq !== undefined && commitment.start_seq < bucket.frozen_start_seq) {
    d.fail("SnapshotViolatesFrozen")
  }
  const payload = commitmentPayload(c.bucket_id, commitment)
  const bits = new Uint8Array(Math.ceil(bucket.primary_providers.length / 8))
  const signers: Array<Hex> = []
  for (const [signer, signature] of c.signatures) {
    const index = bucket.primary_providers.indexOf(signer)
    if (index < 0) d.fail("ProviderNotInSnapshot")
    verifyProviderSignature(d, signer, signature, payload)
    bits[index >> 3]! |= 1 << (index & 7)
    signers.push(signer)
  }
  if (signers.length < bucket.min_providers) d.fail("InsufficientSignatures")
  sp.putBucket(c.bucket_id, {
    ...bucket,
    snapshot: { commitment, checkpoint_block: block, primary_signers: bits },
    historical_roots: bucket.historical_roots.map((_, i) =>
      [Math.floor(block / HISTORICAL_ROOT_PRIMES[i]!), commitment.mmr_root] as const
    ),
    total_snapshots: bucket.total_snapshots + 1
  })
  d.deposit(
    d.era === "C"
      ? { _tag: "BucketCheckpointed", bucket_id: c.bucket_id, commitment, providers: signers }
      : { _tag: "BucketCheckpointed", bucket_id: c.bucket_id, ...commitment, providers: signers }
  )
}

/** More primaries' signatures for the bucket's current snapshot (as the pallet counts them). */
export const extendCheckpoint = (d: Dispatch, c: CallOf<"extend_checkpoint">): void => {
  const bucket = d.bucketOf(c.bucket_id)
  d.requireRole(bucket, ["Admin", "Writer"], "NotBucketWriter")
  const snapshot = bucket.snapshot ?? d.fail("NoSnapshot")
  const payload = commitmentPayload(c.bucket_id, snapshot.commitment)
  const bits = snapshot.primary_signers.slice()
  const added: Array<Hex> = []
  for (const [signer, signature] of c.additional_signatures) {
    const index = bucket.primary_providers.indexOf(signer)
    if (index < 0) d.fail("ProviderNotInSnapshot")
    verifyProviderSignature(d, signer, signature, payload)
    const byte = index >> 3
    // As the pallet: a signer already counted is skipped; a bit beyond the stored bitfield is not set.
    if (byte >= bits.length || (bits[byte]! & (1 << (index & 7))) !== 0) continue
    bits[byte]! |= 1 << (index & 7)
    added.push(signer)
  }
  d.sp.putBucket(c.bucket_id, { ...bucket, snapshot: { ...snapshot, primary_signers: bits } })
  d.deposit({
    _tag: "BucketCheckpointed",
    bucket_id: c.bucket_id,
    commitment: snapshot.commitment,
    providers: added
  })
}

/** A primary's signature over the payload, by the key its era checks against. */
const verifyProviderSignature = (d: Dispatch, signer: Hex, signature: MultiSignature, payload: Uint8Array): void => {
  // Era A (the oldest pallet) checks against the signer's account key; later eras against the
  // registered public key.
  const key = d.era === "A"
    ? hexToU8a(signer)
    : (d.sp.provider(signer) ?? d.fail("ProviderNotFound")).public_key
  // The key must suit the signature's scheme (32 bytes for sr25519/ed25519, 33 for ecdsa).
  if (key.length !== (signature._tag === "Ecdsa" || signature._tag === "Eth" ? 33 : 32)) {
    d.fail("InvalidPublicKey")
  }
  if (!verifyWithKey(signature, payload, key)) d.fail("InvalidSignature")
}

// ---------------------------------------------------------------------------------------------
// Challenges

/** Era C: anyone may challenge a provider over a commitment it signed, for a deposit. */
export const challengeOffchain = (d: Dispatch, c: CallOf<"challenge_offchain">): void => {
  const { sp, who, block } = d
  const bucket = sp.bucket(c.bucket_id) ?? d.fail("BucketNotFound")
  if (c.provider === who) d.fail("SelfChallenge")
  const agreement = sp.agreement(c.bucket_id, c.provider) ?? d.fail("AgreementNotFound")
  if (agreement.expires_at < block) d.fail("AgreementExpired")
  const authorized = bucket.members.some((m) => m.account === who) || agreement.owner === who
  if (bucket.visibility._tag === "Private" && !authorized) d.fail("NotAuthorizedForPrivateBucket")
  const provider = sp.provider(c.provider) ?? d.fail("ProviderNotFound")
  const payload = commitmentPayload(c.bucket_id, c.commitment)
  if (!verifyWithKey(c.provider_signature, payload, provider.public_key)) d.fail("InvalidSignature")
  d.reserve(CHALLENGE_DEPOSIT)
  const deadline = block + CHALLENGE_TIMEOUT
  const items = eraC.storage
  const index = d.state.getOr(items.NextChallengeIndex, deadline)
  if (index >= MAX_CHALLENGES_PER_DEADLINE) d.fail("TooManyChallenges")
  d.state.put(items.NextChallengeIndex, [deadline], index + 1)
  d.state.put(items.Challenges, [deadline, index], {
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
  d.deposit({
    _tag: "ChallengeCreated",
    challenge_id: { deadline, index },
    bucket_id: c.bucket_id,
    provider: c.provider,
    challenger: who,
    respond_by: deadline
  })
}

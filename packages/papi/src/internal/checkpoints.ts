/**
 * `checkpoint` and `challenge_offchain` through the chain port: built as the runtime's metadata says
 * (dynamic API), quoted, prepared (signed, not sent), submitted, found again after a crash. A receipt
 * is built from the finalized block itself: the extrinsic's index, its `BucketCheckpointed` event
 * checked against the submission, the fee it paid.
 *
 * @internal
 */
import type { ChainClient } from "@checkpointer/core"
import { ChainAdapter, Domain, encodeMultiSignature } from "@checkpointer/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Nonces } from "./nonces.js"
import { decodeWith, type UnsafeApi, type UnsafeTx } from "./reads.js"
import type { PalletShape } from "./shape.js"
import type { Included, Transactions } from "./transactions.js"
import { ChallengeCreatedWire, CheckpointedWire, FeePaidWire, type Plain } from "./wire.js"

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}`

/** `MultiSignature` as the dynamic API takes it: `{ type: "Sr25519", value: 0x… }`. */
const signatureArg = (signature: Domain.MultiSignature) => ({
  type: signature._tag,
  value: hex(encodeMultiSignature(signature).subarray(1))
})

const commitmentArg = (c: Domain.Commitment) => ({
  mmr_root: c.mmrRoot,
  start_seq: c.startSeq,
  leaf_count: c.leafCount
})

export const checkpointCall = (
  api: UnsafeApi,
  shape: PalletShape,
  submission: ChainClient.CheckpointSubmission
): UnsafeTx | undefined => {
  const tx = api.tx.StorageProvider?.checkpoint
  if (tx === undefined) return undefined
  const signatures = submission.signatures.map((s) => [s.signer, signatureArg(s.signature)])
  return shape.checkpoint === "Commitment"
    ? tx({ bucket_id: submission.bucketId, commitment: commitmentArg(submission.commitment), signatures })
    : tx({ bucket_id: submission.bucketId, ...commitmentArg(submission.commitment), signatures })
}

export const challengeCall = (
  api: UnsafeApi,
  shape: PalletShape,
  challenge: ChainClient.OffchainChallenge
): UnsafeTx | undefined => {
  const tx = api.tx.StorageProvider?.challenge_offchain
  if (tx === undefined) return undefined
  const { commitment, target } = challenge
  const base = { bucket_id: challenge.bucketId, provider: challenge.provider }
  switch (shape.challengeOffchain) {
    case "Commitment":
      return tx({
        ...base,
        commitment: commitmentArg(commitment),
        target: { leaf_index: target.leafIndex, chunk_index: target.chunkIndex },
        provider_signature: signatureArg(challenge.signature)
      })
    case "Flat":
      return tx({
        ...base,
        mmr_root: commitment.mmrRoot,
        start_seq: commitment.startSeq,
        leaf_index: target.leafIndex,
        chunk_index: target.chunkIndex,
        provider_signature: signatureArg(challenge.signature)
      })
    case "Absent":
      return undefined
  }
}

/** The checkpoint's `BucketCheckpointed` (era C `{ bucket_id, commitment, providers }`, era A flat) and fee. */
const eventsOf = (inc: Included) =>
  Effect.gen(function*() {
    const event = inc.events.find((e) => e.name === "StorageProvider.BucketCheckpointed")
    const fields = event === undefined
      ? undefined
      : yield* decodeWith(CheckpointedWire, "BucketCheckpointed")(event.fields as Plain)
    const committed = fields === undefined ? undefined : "commitment" in fields ? fields.commitment : fields
    const checkpointed = fields === undefined || committed === undefined ? undefined : {
      bucketId: fields.bucket_id,
      commitment: { mmrRoot: committed.mmr_root, startSeq: committed.start_seq, leafCount: committed.leaf_count },
      providers: fields.providers
    }
    const feeEvent = inc.events.find((e) => e.name === "TransactionPayment.TransactionFeePaid")
    const fee = feeEvent === undefined
      ? undefined
      : (yield* decodeWith(FeePaidWire, "TransactionFeePaid")(feeEvent.fields as Plain)).actual_fee
    return { checkpointed, fee }
  })

export interface CheckpointsOptions {
  readonly api: UnsafeApi
  readonly shape: Effect.Effect<PalletShape, ChainClient.SubmissionFailed | ChainClient.ChainUnavailable>
  readonly nonces: Nonces
  readonly transactions: Transactions
}

/** The port's `estimateFee`, `prepareCheckpoint`, `submitPrepared`, `findReceipt`, `nonceUsed` and `challengeOffchain`. */
export const make = ({ api, nonces, shape, transactions }: CheckpointsOptions) => {
  const sign = (submission: ChainClient.CheckpointSubmission) =>
    Effect.flatMap(shape, (s) => transactions.sign(() => checkpointCall(api, s, submission)))

  const port = ChainAdapter.checkpoints({
    signerAddress: Effect.map(
      transactions.requireSigner,
      ({ address }) => Schema.decodeSync(Domain.AccountId)(address)
    ),
    sign,
    estimate: (submission) =>
      Effect.flatMap(shape, (s) => transactions.estimate(() => checkpointCall(api, s, submission))),
    drive: transactions.drive,
    locate: transactions.locate,
    finalizedNonce: nonces.finalized,
    events: eventsOf,
    nonces
  })

  const challengeOffchain = ChainAdapter.challengeOffchain({
    signer: (challenge: ChainClient.OffchainChallenge) =>
      Effect.map(shape, (s) =>
        s.challengeOffchain === "Absent"
          ? Option.none()
          : Option.some(() => transactions.sign(() => challengeCall(api, s, challenge)))),
    drive: transactions.drive,
    challengeCreated: (included: Included) => {
      const created = included.events.find((e) => e.name === "StorageProvider.ChallengeCreated")
      return created === undefined ? Effect.succeedNone : Effect.asSome(
        Effect.map(
          decodeWith(ChallengeCreatedWire, "ChallengeCreated")(created.fields as Plain),
          ({ challenge_id }) => challenge_id
        )
      )
    }
  })

  return { ...port, challengeOffchain }
}

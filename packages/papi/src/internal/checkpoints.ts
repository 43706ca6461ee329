/**
 * `checkpoint` and `challenge_offchain` through the chain port: built as the runtime's metadata says
 * (dynamic API), quoted, prepared (signed, not sent), submitted, found again after a crash. A receipt
 * is built from the finalized block itself: the extrinsic's index, its `BucketCheckpointed` event
 * checked against the submission, the fee it paid.
 *
 * @internal
 */
import { ChainClient, Domain, encodeMultiSignature } from "@checkpointer/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Nonces } from "./nonces.js"
import { decodeWith, type UnsafeApi, type UnsafeTx } from "./reads.js"
import type { PalletShape } from "./shape.js"
import type { Included, PreparedTx, Transactions } from "./transactions.js"
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

/** The receipt of an included `checkpoint`, refused unless its event matches the submission. */
const receiptOf = (
  prepared: ChainClient.PreparedCheckpoint,
  inc: Included,
  extrinsicHash: Domain.H256,
  submittedAtMillis: number
) =>
  Effect.gen(function*() {
    const event = inc.events.find((e) => e.name === "StorageProvider.BucketCheckpointed")
    if (event === undefined) {
      return yield* new ChainClient.ChainUnavailable({
        operation: "receipt",
        detail: `no BucketCheckpointed event for extrinsic ${inc.index} of block ${inc.blockHash}`
      })
    }
    const fields = yield* decodeWith(CheckpointedWire, "BucketCheckpointed")(event.fields as Plain)
    const committed = "commitment" in fields ? fields.commitment : fields
    const checkpointed = {
      bucketId: fields.bucket_id,
      commitment: { mmrRoot: committed.mmr_root, startSeq: committed.start_seq, leafCount: committed.leaf_count },
      providers: fields.providers
    }
    const { submission } = prepared
    const expectedSigners = new Set(submission.signatures.map((s) => s.signer))
    if (
      checkpointed.bucketId !== submission.bucketId ||
      checkpointed.commitment.mmrRoot !== submission.commitment.mmrRoot ||
      checkpointed.commitment.startSeq !== submission.commitment.startSeq ||
      checkpointed.commitment.leafCount !== submission.commitment.leafCount ||
      checkpointed.providers.length !== expectedSigners.size ||
      !checkpointed.providers.every((p) => expectedSigners.has(p))
    ) {
      return yield* new ChainClient.ChainUnavailable({
        operation: "receipt",
        detail: `BucketCheckpointed in ${inc.blockHash} does not match the submission (bucket ${checkpointed.bucketId})`
      })
    }
    const feeEvent = inc.events.find((e) => e.name === "TransactionPayment.TransactionFeePaid")
    const fee = feeEvent === undefined
      ? undefined
      : (yield* decodeWith(FeePaidWire, "TransactionFeePaid")(feeEvent.fields as Plain)).actual_fee
    const finalizedAtMillis = yield* Clock.currentTimeMillis
    const commitment = new Domain.Commitment(checkpointed.commitment, true)
    return new ChainClient.CheckpointReceipt({
      bucketId: submission.bucketId,
      commitment,
      signers: checkpointed.providers,
      extrinsicHash,
      blockHash: inc.blockHash,
      blockNumber: inc.blockNumber as Domain.BlockNumber,
      extrinsicIndex: inc.index,
      event: new ChainClient.BucketCheckpointed({
        bucketId: checkpointed.bucketId,
        commitment,
        providers: checkpointed.providers
      }, true),
      submittedAtMillis,
      finalizedAtMillis,
      ...(fee === undefined ? {} : { fee })
    }, true)
  })

const asTx = (prepared: ChainClient.PreparedCheckpoint): PreparedTx => ({
  bytes: prepared.bytes as `0x${string}`,
  hash: prepared.extrinsicHash,
  nonce: prepared.nonce,
  preparedAtBlock: prepared.preparedAtBlock,
  validUntilBlock: ChainClient.validUntil(prepared)
})

export interface CheckpointsOptions {
  readonly api: UnsafeApi
  readonly shape: Effect.Effect<PalletShape, ChainClient.SubmissionFailed | ChainClient.ChainUnavailable>
  readonly nonces: Nonces
  readonly transactions: Transactions
}

/** The port's `estimateFee`, `prepareCheckpoint`, `submitPrepared`, `findReceipt`, `nonceUsed` and `challengeOffchain`. */
export const make = ({ api, nonces, shape, transactions }: CheckpointsOptions) => {
  const signCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
    Effect.flatMap(shape, (s) => transactions.sign(() => checkpointCall(api, s, submission)))

  const estimateFee = (submission: ChainClient.CheckpointSubmission) =>
    Effect.flatMap(shape, (s) => transactions.estimate(() => checkpointCall(api, s, submission)))

  const prepareCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
    Effect.gen(function*() {
      const { address } = yield* transactions.requireSigner
      const tx = yield* signCheckpoint(submission)
      return new ChainClient.PreparedCheckpoint({
        submission,
        extrinsicHash: tx.hash,
        bytes: tx.bytes,
        signer: Schema.decodeSync(Domain.AccountId)(address),
        nonce: tx.nonce,
        preparedAtBlock: tx.preparedAtBlock as Domain.BlockNumber,
        validUntilBlock: tx.validUntilBlock as Domain.BlockNumber
      }, true)
    })

  const submitPrepared = (prepared: ChainClient.PreparedCheckpoint) =>
    Effect.gen(function*() {
      const submittedAtMillis = yield* Clock.currentTimeMillis
      // Signing again with a new nonce is safe only for bytes this process signed and never sent.
      const fresh = nonces.isFresh({ nonce: prepared.nonce, hash: prepared.extrinsicHash })
      const { included, prepared: sent } = yield* transactions.drive(
        asTx(prepared),
        fresh ? Option.some(() => signCheckpoint(prepared.submission)) : Option.none()
      )
      return yield* receiptOf(prepared, included, sent.hash, submittedAtMillis)
    })

  const findReceipt = (prepared: ChainClient.PreparedCheckpoint) =>
    Effect.gen(function*() {
      const found = yield* transactions.locate(asTx(prepared), prepared.signer)
      if (Option.isNone(found)) return Option.none<ChainClient.CheckpointReceipt>()
      const now = yield* Clock.currentTimeMillis
      return Option.some(
        yield* receiptOf(prepared, found.value, prepared.extrinsicHash, now).pipe(
          Effect.mapError((e) => new ChainClient.ChainUnavailable({ operation: "findReceipt", detail: e.message }))
        )
      )
    })

  const nonceUsed = (prepared: ChainClient.PreparedCheckpoint) =>
    Effect.map(nonces.finalized(prepared.signer), (next) => next > prepared.nonce)

  const challengeOffchain = (challenge: ChainClient.OffchainChallenge) =>
    Effect.gen(function*() {
      const s = yield* shape
      if (s.challengeOffchain === "Absent") {
        return yield* new ChainClient.SubmissionFailed({
          stage: "Unsupported",
          detail: "this runtime has no StorageProvider.challenge_offchain",
          maybeIncluded: false
        })
      }
      const signOnce = () => transactions.sign(() => challengeCall(api, s, challenge))
      const { included } = yield* transactions.drive(yield* signOnce(), Option.some(signOnce))
      const created = included.events.find((e) => e.name === "StorageProvider.ChallengeCreated")
      if (created === undefined) {
        return yield* new ChainClient.ChainUnavailable({
          operation: "challengeOffchain",
          detail: "no ChallengeCreated event"
        })
      }
      const { challenge_id } = yield* decodeWith(ChallengeCreatedWire, "ChallengeCreated")(created.fields as Plain)
      return new ChainClient.ChallengeReceipt({
        deadline: challenge_id.deadline,
        index: challenge_id.index,
        blockHash: included.blockHash,
        blockNumber: included.blockNumber as Domain.BlockNumber
      }, true)
    })

  return { estimateFee, prepareCheckpoint, submitPrepared, findReceipt, nonceUsed, challengeOffchain }
}

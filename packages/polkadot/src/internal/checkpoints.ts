/**
 * The `checkpoint` extrinsic through the chain port: its fee quoted (nothing signed), prepared (signed,
 * not sent), submitted, found again after a crash, its nonce judged. A receipt is built from the finalized block itself: the
 * extrinsic located by hash, its `BucketCheckpointed` event checked against the submission, the fee it
 * paid.
 *
 * @internal
 */
import { ChainClient, Domain } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Included, Inclusion, PreparedTx } from "./inclusion.js"
import type { Nonces } from "./nonces.js"
import { decodeWith } from "./reads.js"
import { checkpointCall, type PalletShape } from "./shape.js"
import type { Transactions } from "./transactions.js"
import { CheckpointedWire, FeePaidWire, toPlain } from "./wire.js"

export interface CheckpointsOptions {
  readonly api: ApiPromise
  readonly shape: Effect.Effect<PalletShape, ChainClient.SubmissionFailed>
  readonly nonces: Nonces
  readonly inclusion: Inclusion
  readonly transactions: Transactions
}

/** The receipt of an included `checkpoint`, refused unless its event matches the submission. */
const receiptOf = (
  prepared: ChainClient.PreparedCheckpoint,
  inc: Included,
  extrinsicHash: Domain.H256,
  submittedAtMillis: number
) =>
  Effect.gen(function*() {
    const event = inc.events.find((e) => e.name === "storageProvider.BucketCheckpointed")
    if (event === undefined) {
      return yield* new ChainClient.ChainUnavailable({
        operation: "receipt",
        detail: `no BucketCheckpointed event for extrinsic ${inc.index} of block ${inc.blockHash}`
      })
    }
    const fields = yield* decodeWith(CheckpointedWire, "BucketCheckpointed")(toPlain(event.data))
    const checkpointed = fields.length === 3
      ? { bucketId: fields[0], commitment: fields[1], providers: fields[2] }
      : {
        bucketId: fields[0],
        commitment: { mmrRoot: fields[1], startSeq: fields[2], leafCount: fields[3] },
        providers: fields[4]
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
    const feeEvent = inc.events.find((e) => e.name === "transactionPayment.TransactionFeePaid")
    const fee = feeEvent === undefined
      ? undefined
      : (yield* decodeWith(FeePaidWire, "TransactionFeePaid")(toPlain(feeEvent.data)))[1]
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

const toPrepared = (submission: ChainClient.CheckpointSubmission, tx: PreparedTx, signer: Domain.AccountId) =>
  new ChainClient.PreparedCheckpoint({
    submission,
    extrinsicHash: tx.hash,
    bytes: tx.bytes,
    signer,
    nonce: tx.nonce,
    preparedAtBlock: tx.preparedAtBlock as Domain.BlockNumber,
    ...(tx.validUntilBlock === undefined ? {} : { validUntilBlock: tx.validUntilBlock as Domain.BlockNumber })
  }, true)

const asTx = (prepared: ChainClient.PreparedCheckpoint): PreparedTx => ({
  bytes: prepared.bytes as `0x${string}`,
  hash: prepared.extrinsicHash,
  nonce: prepared.nonce,
  preparedAtBlock: prepared.preparedAtBlock,
  validUntilBlock: ChainClient.validUntil(prepared)
})

/** The port's `estimateFee`, `prepareCheckpoint`, `submitPrepared`, `findReceipt` and `nonceUsed`. */
export const make = (options: CheckpointsOptions) => {
  const { api, inclusion, nonces, shape, transactions } = options

  const signCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
    Effect.flatMap(shape, (s) => transactions.sign(() => checkpointCall(api, s, submission)))

  const estimateFee = (submission: ChainClient.CheckpointSubmission) =>
    Effect.flatMap(shape, (s) => transactions.estimate(() => checkpointCall(api, s, submission)))

  const prepareCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
    Effect.gen(function*() {
      const signer = yield* transactions.requireSigner
      const tx = yield* signCheckpoint(submission)
      return toPrepared(submission, tx, Schema.decodeSync(Domain.AccountId)(signer.address))
    })

  const submitPrepared = (prepared: ChainClient.PreparedCheckpoint) =>
    Effect.gen(function*() {
      const submittedAtMillis = yield* Clock.currentTimeMillis
      // Signing again with a new nonce is safe only for bytes this process signed and never sent.
      const fresh = nonces.isFresh({ nonce: prepared.nonce, hash: prepared.extrinsicHash })
      const { included: inc, prepared: sent } = yield* transactions.drive(
        asTx(prepared),
        fresh ? Option.some(() => signCheckpoint(prepared.submission)) : Option.none()
      )
      return yield* receiptOf(prepared, inc, sent.hash, submittedAtMillis)
    })

  const findReceipt = (prepared: ChainClient.PreparedCheckpoint) =>
    Effect.gen(function*() {
      const found = yield* inclusion.locate(asTx(prepared), prepared.signer)
      if (Option.isNone(found)) return Option.none<ChainClient.CheckpointReceipt>()
      const inc = yield* inclusion.dispatchOutcome(found.value)
      const now = yield* Clock.currentTimeMillis
      return Option.some(
        yield* receiptOf(prepared, inc, prepared.extrinsicHash, now).pipe(
          Effect.mapError((e) => new ChainClient.ChainUnavailable({ operation: "findReceipt", detail: e.message }))
        )
      )
    })

  const nonceUsed = (prepared: ChainClient.PreparedCheckpoint) =>
    Effect.map(nonces.finalized(prepared.signer), (next) => next > prepared.nonce)

  return { estimateFee, prepareCheckpoint, submitPrepared, findReceipt, nonceUsed }
}

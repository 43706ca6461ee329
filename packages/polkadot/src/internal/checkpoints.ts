/**
 * The `checkpoint` extrinsic through the chain port, as core's `ChainAdapter.checkpoints` drives it
 * (quoted, prepared, submitted, found again after a crash, its nonce judged) over this layer's signing,
 * driving and searching. What is `@polkadot/api`'s own here: the call built for the runtime's shape, and
 * the `BucketCheckpointed` and `TransactionFeePaid` events decoded from the block it landed in.
 *
 * @internal
 */
import { ChainAdapter, type ChainClient, Domain } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Included, Inclusion } from "./inclusion.js"
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

/** The checkpoint's `BucketCheckpointed` (era C `(bucket, commitment, providers)`, era A flat) and fee. */
const eventsOf = (inc: Included) =>
  Effect.gen(function*() {
    const event = inc.events.find((e) => e.name === "storageProvider.BucketCheckpointed")
    const fields = event === undefined
      ? undefined
      : yield* decodeWith(CheckpointedWire, "BucketCheckpointed")(toPlain(event.data))
    const checkpointed = fields === undefined ? undefined : fields.length === 3
      ? { bucketId: fields[0], commitment: fields[1], providers: fields[2] }
      : {
        bucketId: fields[0],
        commitment: { mmrRoot: fields[1], startSeq: fields[2], leafCount: fields[3] },
        providers: fields[4]
      }
    const feeEvent = inc.events.find((e) => e.name === "transactionPayment.TransactionFeePaid")
    const fee = feeEvent === undefined
      ? undefined
      : (yield* decodeWith(FeePaidWire, "TransactionFeePaid")(toPlain(feeEvent.data)))[1]
    return { checkpointed, fee }
  })

/** The port's `estimateFee`, `prepareCheckpoint`, `submitPrepared`, `findReceipt` and `nonceUsed`. */
export const make = ({ api, inclusion, nonces, shape, transactions }: CheckpointsOptions) => {
  const sign = (submission: ChainClient.CheckpointSubmission) =>
    Effect.flatMap(shape, (s) => transactions.sign(() => checkpointCall(api, s, submission)))

  return ChainAdapter.checkpoints({
    signerAddress: Effect.map(transactions.requireSigner, (pair) => Schema.decodeSync(Domain.AccountId)(pair.address)),
    sign,
    estimate: (submission) =>
      Effect.flatMap(shape, (s) => transactions.estimate(() => checkpointCall(api, s, submission))),
    drive: transactions.drive,
    locate: (tx, signer) =>
      Effect.flatMap(
        inclusion.locate(tx, signer),
        (found) => found._tag === "None" ? Effect.succeed(found) : Effect.asSome(inclusion.dispatchOutcome(found.value))
      ),
    finalizedNonce: nonces.finalized,
    events: eventsOf,
    nonces
  })
}

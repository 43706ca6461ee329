/**
 * Sending a signed checkpoint extrinsic, as the submitter does with a new one and recovery with the
 * same signed bytes again, and the checks both make against the chain as it is now:
 *
 * - `broadcast`: sent and followed to finality within `submissionTimeout`; what became of it is written
 *   through `RoundJournal` (`InDoubt` when it may still land — a timeout, a lost connection, an
 *   interruption —, `Failed` when it never can or was rejected at dispatch, its receipt when it landed);
 *   every failure is a `TransactionFailed` saying whether a fee may have been paid;
 * - `stillValid`: the signatures a submission carries that still count for the bucket as it is now —
 *   signed by a current primary and verifying against the provider's current on-chain key (keys may have
 *   changed since discovery cached them);
 * - `read`: a chain read bounded by `chainTimeout`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type { BucketInfo, CheckpointSignature, PreparedCheckpoint } from "../ChainClient.js"
import { ChainClient, SubmissionFailed, validUntil } from "../ChainClient.js"
import { CheckpointConfig } from "../CheckpointConfig.js"
import { TransactionFailed } from "../CheckpointResult.js"
import { encodeCommitmentPayload } from "../CommitmentPayload.js"
import type { Commitment } from "../Domain.js"
import { publicKeyOfAccount } from "../Domain.js"
import * as Metrics from "../Metrics.js"
import { RoundJournal } from "../RoundJournal.js"
import { SignatureVerifier } from "../SignatureVerifier.js"
import { bounded } from "./chainRead.js"

/** The sending of checkpoint extrinsics over the services of a round. */
export const make = Effect.gen(function*() {
  const chain = yield* ChainClient
  const settings = yield* CheckpointConfig
  const verifier = yield* SignatureVerifier
  const journal = yield* RoundJournal

  const read = <A, E>(operation: string, effect: Effect.Effect<A, E>) =>
    bounded(operation, settings.chainTimeout)(effect)

  /** Signatures still valid for the fresh bucket: current primaries, verifying against current keys. */
  const stillValid = (
    bucket: BucketInfo,
    commitment: Commitment,
    signatures: ReadonlyArray<CheckpointSignature>
  ) =>
    Effect.gen(function*() {
      const message = encodeCommitmentPayload({ bucketId: bucket.bucketId, ...commitment })
      const kept: Array<CheckpointSignature> = []
      for (const signature of signatures) {
        if (!bucket.primaryProviders.includes(signature.signer)) continue
        const record = yield* read("provider", chain.provider(signature.signer))
        if (Option.isNone(record)) continue
        const publicKey = Option.getOrElse(record.value.publicKey, () => publicKeyOfAccount(signature.signer))
        const check = yield* Effect.either(
          verifier.verify({ signature: signature.signature, message, publicKey })
        )
        if (Either.isRight(check)) kept.push(signature)
      }
      return kept
    })

  const broadcast = (prepared: PreparedCheckpoint) => {
    const bucketId = prepared.submission.bucketId
    const markInDoubt = journal.settle(
      prepared,
      "InDoubt",
      `may still be included until block #${validUntil(prepared)}`
    )
    const failed = (detail: string) => journal.settle(prepared, "Failed", detail)
    return Metric.increment(Metrics.submissions).pipe(
      Effect.zipRight(chain.submitPrepared(prepared)),
      // Interrupted while waiting (the loop stopped, a deadline passed): it may still land.
      Effect.onInterrupt(() => markInDoubt),
      Effect.tap(() => Metric.increment(Metrics.paidTransactions)),
      Effect.tap((receipt) => Metric.incrementBy(Metrics.feesPaid, receipt.fee ?? 0n)),
      Effect.tapErrorTag("DispatchFailed", () => Metric.increment(Metrics.paidTransactions)),
      Effect.timeoutFail({
        duration: settings.submissionTimeout,
        onTimeout: () =>
          new SubmissionFailed({
            stage: "FinalityTimeout",
            detail: "no finalized outcome within the submission timeout",
            maybeIncluded: true
          })
      }),
      Effect.catchTags({
        DispatchFailed: (error) =>
          Effect.zipRight(
            failed(`${error.module}.${error.error}`),
            Effect.fail(
              new TransactionFailed({
                bucketId,
                error: error.error,
                module: Option.some(error.module),
                detail: error.detail,
                paid: true
              })
            )
          ),
        SubmissionFailed: (error) =>
          Effect.zipRight(
            error.maybeIncluded ? markInDoubt : failed(`${error.stage}: ${error.detail}`),
            Effect.fail(
              new TransactionFailed({
                bucketId,
                error: error.stage,
                module: Option.none(),
                detail: error.detail,
                paid: error.maybeIncluded
              })
            )
          ),
        ChainUnavailable: (error) =>
          Effect.zipRight(
            markInDoubt,
            Effect.fail(
              new TransactionFailed({
                bucketId,
                error: "ChainUnavailable",
                module: Option.none(),
                detail: error.message,
                paid: true
              })
            )
          )
      }),
      // A receipt of another extrinsic (signed again: another sender took the nonce before it reached
      // the pool) also marks the prepared one failed: it can never land.
      Effect.tap((receipt) => journal.recordReceipt(prepared, receipt))
    )
  }

  return { read, stillValid, broadcast }
})

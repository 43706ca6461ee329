/**
 * Turns a decided majority into a finalized checkpoint, paying at most once.
 *
 * Before paying it reads the bucket again: if the chain already holds this commitment, or a later one,
 * it succeeds without submitting. It refuses to pay for an extrinsic the chain would certainly reject
 * (no signer, a signer that is not a bucket Writer or Admin, signatures from accounts that are no longer
 * primaries, fewer than `min_providers` left). Otherwise it submits through `ChainClient`, waits for
 * finality within `submissionTimeout`, and checks that the `BucketCheckpointed` event is for this
 * bucket and commitment.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { BucketInfo, ChainReadError } from "./ChainClient.js"
import { ChainClient, CheckpointSubmission, SubmissionFailed } from "./ChainClient.js"
import { CheckpointConfig } from "./CheckpointConfig.js"
import { AlreadyCheckpointed, Submitted, TransactionFailed } from "./CheckpointResult.js"
import type { Decision } from "./Consensus.js"
import { Commitment } from "./Domain.js"
import type { BucketId } from "./Domain.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SubmitterService {
  readonly submit: (
    decision: Decision
  ) => Effect.Effect<Submitted | AlreadyCheckpointed, TransactionFailed | ChainReadError>
}

const sameCommitment = Schema.equivalence(Commitment)

/**
 * How the chain's snapshot relates to a commitment we are about to submit.
 *
 * @since 0.1.0
 * @category functions
 */
export const snapshotRelation = (bucket: BucketInfo, commitment: Commitment): "Same" | "Later" | "Behind" => {
  if (Option.isNone(bucket.snapshot)) return "Behind"
  const held = bucket.snapshot.value.commitment
  if (sameCommitment(held, commitment)) return "Same"
  return held.startSeq + held.leafCount > commitment.startSeq + commitment.leafCount ? "Later" : "Behind"
}

const notSent = (bucketId: BucketId, reason: string, detail: string) =>
  new TransactionFailed({ bucketId, reason, module: Option.none(), detail, paid: false })

/**
 * The submitter.
 *
 * @since 0.1.0
 * @category tags
 */
export class Submitter extends Context.Tag("@checkpointer/core/Submitter")<Submitter, SubmitterService>() {
  static readonly layer: Layer.Layer<Submitter, never, ChainClient | CheckpointConfig> = Layer.effect(
    Submitter,
    Effect.gen(function*() {
      const chain = yield* ChainClient
      const settings = yield* CheckpointConfig

      const submit = Effect.fn("Submitter.submit")(function*(decision: Decision) {
        const { bucketId } = decision
        if (Option.isNone(decision.majority) || !decision.thresholdMet) {
          return yield* notSent(bucketId, "NoConsensus", "the decision does not meet the threshold")
        }
        const majority = decision.majority.value
        const bucket = yield* chain.bucket(bucketId)
        const relation = snapshotRelation(bucket, majority.commitment)
        if (relation !== "Behind" && Option.isSome(bucket.snapshot)) {
          return new AlreadyCheckpointed({ bucketId, snapshot: bucket.snapshot.value, relation, decision }, true)
        }
        if (Option.isNone(chain.signer)) {
          return yield* notSent(bucketId, "NoSigner", "no account is configured to sign submissions")
        }
        const role = bucket.roleOf(chain.signer.value)
        if (role !== "Admin" && role !== "Writer") {
          return yield* notSent(
            bucketId,
            "NotBucketWriter",
            `${chain.signer.value} is ${role === undefined ? "not a member" : `a ${role}`} of bucket ${bucketId}`
          )
        }
        const signatures = majority.signatures.filter((s) => bucket.primaryProviders.includes(s.signer))
        if (signatures.length < bucket.minProviders || signatures.length === 0) {
          return yield* notSent(
            bucketId,
            "InsufficientSignatures",
            `${signatures.length} signatures from current primaries, the bucket requires ${bucket.minProviders}`
          )
        }

        const receipt = yield* chain.submitCheckpoint(
          new CheckpointSubmission({ bucketId, commitment: majority.commitment, signatures }, true)
        ).pipe(
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
              Effect.fail(
                new TransactionFailed({
                  bucketId,
                  reason: error.error,
                  module: Option.some(error.module),
                  detail: error.detail,
                  paid: true
                })
              ),
            SubmissionFailed: (error) =>
              Effect.fail(
                new TransactionFailed({
                  bucketId,
                  reason: error.stage,
                  module: Option.none(),
                  detail: error.detail,
                  paid: error.maybeIncluded
                })
              ),
            ChainUnavailable: (error) =>
              Effect.fail(
                new TransactionFailed({
                  bucketId,
                  reason: "ChainUnavailable",
                  module: Option.none(),
                  detail: error.message,
                  paid: true
                })
              )
          })
        )
        if (receipt.event.bucketId !== bucketId || !sameCommitment(receipt.event.commitment, majority.commitment)) {
          return yield* new TransactionFailed({
            bucketId,
            reason: "EventMismatch",
            module: Option.none(),
            detail:
              `BucketCheckpointed reports bucket ${receipt.event.bucketId} root ${receipt.event.commitment.mmrRoot}`,
            paid: true
          })
        }
        return new Submitted({ receipt, decision }, true)
      })

      return Submitter.of({ submit })
    })
  )
}

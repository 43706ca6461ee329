/**
 * What the command checks before it asks any provider (a signer that can submit to each bucket), and
 * what a `--dry-run` would have done, with the exit code the real run would have had.
 *
 * @internal
 */
import { ChainClient, CommitmentRelation, type Consensus, type Domain } from "@checkpointer/core"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** The signer cannot pay: no funds, or a balance below `minimumBalance`. Exit code 7. */
export class SpendLimit extends Data.TaggedError("SpendLimit")<{ readonly message: string }> {}

/** The signer cannot submit checkpoints to a bucket (none, or not a Writer or Admin). Exit code 2. */
export class SignerCannotSubmit extends Data.TaggedError("SignerCannotSubmit")<{ readonly message: string }> {}

/**
 * Checks, from the chain, that the configured signer is a Writer or Admin of every bucket: a signer that
 * cannot submit is found before any provider is asked, not after a full round.
 */
export const preflightSigner = (
  buckets: ReadonlyArray<Domain.BucketId>,
  spend: { readonly minimumBalance: Option.Option<bigint>; readonly format: (planck: bigint) => string }
) =>
  Effect.gen(function*() {
    const chain = yield* ChainClient.ChainClient
    // Each bucket's signer (its own, or the process's) must be able to submit to it, and to pay.
    const signers = new Set<Domain.AccountId>()
    for (const bucketId of buckets) {
      const signerOf = chain.signerFor(bucketId)
      if (Option.isNone(signerOf)) {
        return yield* new SignerCannotSubmit({
          message: "signer: none configured (--suri or CHECKPOINTER_SIGNER_SURI)"
        })
      }
      const signer = signerOf.value
      signers.add(signer)
      const bucket = yield* chain.bucket(bucketId)
      const role = bucket.roleOf(signer)
      if (role !== "Admin" && role !== "Writer") {
        return yield* new SignerCannotSubmit({
          message: `signer: ${signer} is ${
            role === undefined ? "not a member" : `a ${role}`
          } of bucket ${bucketId}; checkpoints need a Writer or Admin`
        })
      }
    }
    // Enough to pay: some funds at all, and no less than the minimum balance the settings keep.
    for (const signer of signers) {
      const balance = yield* chain.freeBalance(signer)
      if (Option.isSome(spend.minimumBalance) && balance < spend.minimumBalance.value) {
        return yield* new SpendLimit({
          message: `balance: ${signer} has ${spend.format(balance)}, below minimumBalance ${
            spend.format(spend.minimumBalance.value)
          }; nothing is sent until it is funded`
        })
      }
      if (balance === 0n) {
        return yield* new SpendLimit({ message: `balance: ${signer} has no funds to pay a fee` })
      }
    }
  })

/** What `submit` would have done with this decision, and its exit code. */
export interface Verdict {
  readonly would: "Submit" | "NothingToDo" | "Refuse" | "NoConsensus"
  readonly detail: string
  readonly exitCode: number
}

/** The dry run's verdict: the decision against the chain's snapshot now, as the submitter would judge it. */
export const dryRunVerdict = (decision: Consensus.Decision) =>
  Effect.gen(function*() {
    const chain = yield* ChainClient.ChainClient
    if (!decision.thresholdMet || Option.isNone(decision.majority)) {
      return {
        would: "NoConsensus",
        detail: `no consensus (${decision.agreeing} of ${decision.required} required): nothing would be sent`,
        exitCode: 3
      } satisfies Verdict as Verdict
    }
    const { commitment, signatures } = decision.majority.value
    const bucket = yield* chain.bucket(decision.bucketId)
    const relation = CommitmentRelation.toSnapshot(bucket, commitment)
    if (relation === "Same" || relation === "Later") {
      return {
        would: "NothingToDo",
        detail: `the chain already holds ${relation === "Same" ? "this" : "a later"} checkpoint: nothing would be sent`,
        exitCode: 0
      } satisfies Verdict as Verdict
    }
    if (relation === "Conflict") {
      return {
        would: "Refuse",
        detail: "refused: the chain's snapshot holds another root over the same range (ConflictsWithSnapshot)",
        exitCode: 4
      } satisfies Verdict as Verdict
    }
    const regression = CommitmentRelation.regression(bucket, commitment)
    if (regression !== undefined) {
      return {
        would: "Refuse",
        detail: `refused: ${regression} (RangeRegression)`,
        exitCode: 4
      } satisfies Verdict as Verdict
    }
    const signerOf = chain.signerFor(decision.bucketId)
    const signer = Option.map(signerOf, (s) => bucket.roleOf(s))
    if (Option.isNone(signer) || (signer.value !== "Admin" && signer.value !== "Writer")) {
      return {
        would: "Refuse",
        detail: Option.isNone(signerOf)
          ? "refused: no signer configured (--suri)"
          : `refused: the signer is not a Writer or Admin of bucket ${decision.bucketId}`,
        exitCode: 2
      } satisfies Verdict as Verdict
    }
    return {
      would: "Submit",
      detail: `would submit ${commitment.leafCount} leaves with ${signatures.length} signatures (one fee)`,
      exitCode: 0
    } satisfies Verdict as Verdict
  })

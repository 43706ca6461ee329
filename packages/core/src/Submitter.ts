/**
 * Turns a decided majority into a finalized checkpoint, paying at most once.
 *
 * Submissions for one bucket are serialised: two rounds racing for the same bucket submit once. Under
 * the bucket's lock (`RoundJournal.exclusive`: in this process, and shared with every process using the
 * same journal), it goes down one short path:
 *
 * 1. the checks before signing (`internal/preflight`), each of which pays nothing: the decision meets the
 *    threshold; the chain (finalized, and at the best block) does not already hold this commitment or a
 *    later one (then `AlreadyCheckpointed`), another one over the same range, or a range ours would move
 *    backwards; no earlier attempt of the bucket is unresolved in the journal
 *    (`PreviousSubmissionInDoubt` — settling it is `Recovery`'s job, never the submitter's); a signer that
 *    is a bucket Writer or Admin; every signature verified again against the provider's current on-chain
 *    key, only current primaries' kept, and `max(ceil(total · pct / 100), min_providers)` of the fresh
 *    bucket still there;
 * 2. the spend guardrails, when any is set (`internal/guardrails`: fee cap, budgets, minimum balance;
 *    the fee reserved against the budgets in the ledger of `internal/spending`);
 * 3. the signed extrinsic prepared (a failure to prepare is a refusal too: nothing was sent), recorded in
 *    the journal before it is broadcast (`JournalFailed { Unavailable }` otherwise), followed to finality
 *    within `submissionTimeout` (`internal/sending`), its `BucketCheckpointed` event checked against this
 *    bucket and commitment, and its receipt recorded.
 *
 * Refusals are `SubmissionRefused { reason }` (nothing signed, nothing sent); what happened once sent is
 * `TransactionFailed { paid }`. The journal is required, written through `RoundJournal`
 * (`Checkpointer.inMemory()` keeps it in memory only, by name).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { BucketInfo, ChainReadError } from "./ChainClient.js"
import { ChainClient, CheckpointSubmission } from "./ChainClient.js"
import type { CheckpointConfig } from "./CheckpointConfig.js"
import type { CheckpointEvents } from "./CheckpointEvents.js"
import type { JournalFailed, SubmissionRefused } from "./CheckpointResult.js"
import { AlreadyCheckpointed, Submitted, TransactionFailed } from "./CheckpointResult.js"
import * as CommitmentRelation from "./CommitmentRelation.js"
import type { Decision } from "./Consensus.js"
import * as Guardrails from "./internal/guardrails.js"
import * as Preflight from "./internal/preflight.js"
import * as Sending from "./internal/sending.js"
import * as Spending from "./internal/spending.js"
import { RoundJournal } from "./RoundJournal.js"
import type { SignatureVerifier } from "./SignatureVerifier.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SubmitterService {
  /**
   * Submits a decision at most once. `options.pinned` is the bucket as the round read it (at the
   * finalized block its discovery pinned): when it already holds the decided commitment (or a later
   * one), the answer is `AlreadyCheckpointed` without reading the chain again; an idle bucket's round
   * costs no chain read beyond its pinned snapshot.
   */
  readonly submit: (
    decision: Decision,
    options?: SubmitOptions
  ) => Effect.Effect<Submitted | AlreadyCheckpointed, SubmitError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SubmitOptions {
  /** The bucket as the round read it, at its pinned finalized block. */
  readonly pinned?: BucketInfo | undefined
}

/**
 * How a submission can fail: refused before anything was sent, the journal unusable, or the chain.
 *
 * @since 0.1.0
 * @category errors
 */
export type SubmitError = SubmissionRefused | JournalFailed | TransactionFailed | ChainReadError

/**
 * The submitter. Its layer also provides the spend ledger it shares with `Recovery` (which drops the
 * estimate of an extrinsic it finds dead).
 *
 * @since 0.1.0
 * @category tags
 */
export class Submitter extends Context.Tag("@checkpointer/core/Submitter")<Submitter, SubmitterService>() {
  static readonly layer: Layer.Layer<
    Submitter | Spending.SpendLedger,
    never,
    ChainClient | CheckpointConfig | SignatureVerifier | RoundJournal | CheckpointEvents
  > = Layer
    .effect(
      Submitter,
      Effect.gen(function*() {
        const chain = yield* ChainClient
        const journal = yield* RoundJournal
        const ledger = yield* Spending.SpendLedger
        const preflight = yield* Preflight.make
        const { guardSpend } = yield* Guardrails.make
        const { broadcast } = yield* Sending.make

        const submitLocked = (decision: Decision, pinned: BucketInfo | undefined) =>
          Effect.gen(function*() {
            const { bucketId } = decision
            const { commitment, signatures } = yield* preflight.majority(decision)
            const fresh = yield* preflight.snapshot(decision, commitment, pinned)
            if (fresh instanceof AlreadyCheckpointed) return fresh
            yield* preflight.noneInDoubt(bucketId, fresh)
            const signer = yield* preflight.signer(bucketId, fresh)
            const valid = yield* preflight.signatures(fresh, commitment, signatures)

            const submission = new CheckpointSubmission({ bucketId, commitment, signatures: valid }, true)
            const spend = yield* guardSpend(bucketId, submission, signer)
            const reservation = spend?.reservation
            const unpaid = (key: Spending.Reservation | undefined) =>
              key === undefined ? Effect.void : ledger.release(key)

            const prepared = yield* chain.prepareCheckpoint(submission).pipe(
              Effect.catchAll(Preflight.notPrepared(bucketId)),
              Effect.onError(() => unpaid(reservation))
            )
            const charged = reservation === undefined ? undefined : prepared.extrinsicHash
            if (reservation !== undefined) yield* ledger.bind(reservation, prepared.extrinsicHash)
            yield* journal.recordPrepared(prepared).pipe(Effect.onError(() => unpaid(charged)))
            const receipt = yield* broadcast(prepared).pipe(
              Effect.tap((landed) => charged === undefined ? Effect.void : ledger.paid(charged, landed)),
              // Paid (rejected at dispatch) or maybe paid (it may still land): the estimate stays charged.
              Effect.tapError((error) => error.paid ? Effect.void : unpaid(charged))
            )
            if (
              receipt.event.bucketId !== bucketId || !CommitmentRelation.same(receipt.event.commitment, commitment)
            ) {
              return yield* new TransactionFailed({
                bucketId,
                error: "EventMismatch",
                module: Option.none(),
                detail:
                  `BucketCheckpointed reports bucket ${receipt.event.bucketId} root ${receipt.event.commitment.mmrRoot}`,
                paid: true
              })
            }
            return new Submitted({ receipt, decision }, true)
          })

        const submit = Effect.fn("Submitter.submit")(function*(decision: Decision, options?: SubmitOptions) {
          return yield* journal.exclusive(decision.bucketId, submitLocked(decision, options?.pinned))
        })

        return Submitter.of({ submit })
      })
    )
    .pipe(Layer.provideMerge(Spending.layer))
}

/**
 * The spend guardrails (their rules: `SpendGuard`), checked by the submitter before anything is signed,
 * when any is set (`CheckpointConfig`, per bucket where it has its own; all off by default, and then no
 * fee is even estimated). The chain quotes the fee of the extrinsic as it would be signed, and the checkpoint is
 * refused when that fee is above `maxFeePerCheckpoint` (`FeeAboveCap`), when the fees of the bucket, or
 * of the signer across its buckets, in the last `budgetPeriod` plus this one would exceed `bucketBudget`
 * or `signerBudget` (`BudgetExhausted`), or when the signer's free balance less this fee would fall below
 * `minimumBalance` (`BalanceBelowMinimum`).
 *
 * The budgets count the fees of the bucket's journaled receipts and, in memory, of every submission this
 * process made (`internal/spending`); this submission's estimate is reserved against them before signing,
 * so concurrent buckets cannot overrun the signer's budget together.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { CheckpointSubmission } from "../ChainClient.js"
import { ChainClient } from "../ChainClient.js"
import { CheckpointConfig, forBucket } from "../CheckpointConfig.js"
import { SubmissionRefused } from "../CheckpointResult.js"
import type { AccountId, BucketId } from "../Domain.js"
import { RoundJournal } from "../RoundJournal.js"
import * as SpendGuard from "../SpendGuard.js"
import { notPrepared } from "./preflight.js"
import * as Sending from "./sending.js"
import type * as Spending from "./spending.js"
import { SpendLedger } from "./spending.js"

/** What the spend guardrails let through: the estimated fee, and its reservation against the budgets. */
export interface Spend {
  readonly estimate: bigint
  readonly reservation: Spending.Reservation | undefined
}

/** The spend guardrails over the services of a round and the submitter's ledger. */
export const make = Effect.gen(function*() {
  const chain = yield* ChainClient
  const settings = yield* CheckpointConfig
  const journal = yield* RoundJournal
  const ledger = yield* SpendLedger
  const { read } = yield* Sending.make

  /** A spend guardrail's refusal: its amounts typed (`spend`) and in words (`detail`). */
  const spendRefused = (bucketId: BucketId, spend: SpendGuard.SpendRefusal, payer?: string) =>
    new SubmissionRefused({
      bucketId,
      reason: spend._tag,
      detail: SpendGuard.describe(spend, { payer, period: Duration.format(settings.budgetPeriod) }),
      spend
    })

  /**
   * The fee as the chain quotes it against the cap, the budgets (reserving it), and the signer's
   * balance (`SpendGuard`'s rules). `undefined` when none is set.
   */
  const guardSpend = (bucketId: BucketId, submission: CheckpointSubmission, signer: AccountId) =>
    Effect.gen(function*() {
      // The bucket's own cap and budget where it has them.
      const limits = forBucket(settings, bucketId)
      if (!SpendGuard.guarded(limits)) return undefined
      const estimate = yield* read("estimateFee", chain.estimateFee(submission)).pipe(
        Effect.catchAll(notPrepared(bucketId))
      )
      const overCap = SpendGuard.checkFee(estimate, limits)
      if (Option.isSome(overCap)) return yield* spendRefused(bucketId, overCap.value)
      let reservation: Spending.Reservation | undefined
      if (SpendGuard.budgeted(limits)) {
        const now = yield* Clock.currentTimeMillis
        const sinceMillis = now - Duration.toMillis(settings.budgetPeriod)
        yield* ledger.learn(bucketId, yield* journal.feesPaidSince(bucketId, sinceMillis))
        const reserved = yield* ledger.reserve(bucketId, estimate, now, {
          limits,
          sinceMillis,
          sameSigner: (other) => Option.contains(chain.signerFor(other), signer)
        })
        if (Either.isLeft(reserved)) {
          const payer = reserved.left.scope === "bucket"
            ? `bucket ${bucketId}`
            : `the signer ${signer}, across its buckets,`
          return yield* spendRefused(bucketId, reserved.left, payer)
        }
        reservation = reserved.right
      }
      if (Option.isSome(limits.minimumBalance)) {
        const free = yield* read("freeBalance", chain.freeBalance(signer)).pipe(
          Effect.onError(() => reservation === undefined ? Effect.void : ledger.release(reservation))
        )
        const low = SpendGuard.checkBalance(free, estimate, limits)
        if (Option.isSome(low)) {
          if (reservation !== undefined) yield* ledger.release(reservation)
          return yield* spendRefused(bucketId, low.value, signer)
        }
      }
      return { estimate, reservation } satisfies Spend
    })

  return { guardSpend }
})

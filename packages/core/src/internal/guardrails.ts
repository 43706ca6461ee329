/**
 * The spend guardrails, checked by the submitter before anything is signed, when any is set
 * (`CheckpointConfig`, per bucket where it has its own; all off by default, and then no fee is even
 * estimated). The chain quotes the fee of the extrinsic as it would be signed, and the checkpoint is
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
import type { AccountId, BucketId } from "../Domain.js"
import { RoundJournal } from "../RoundJournal.js"
import { notPrepared, refused } from "./preflight.js"
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

  /**
   * The fee as the chain quotes it against the cap, the budgets (reserving it), and the signer's
   * balance. `undefined` when none is set.
   */
  const guardSpend = (bucketId: BucketId, submission: CheckpointSubmission, signer: AccountId) =>
    Effect.gen(function*() {
      // The bucket's own cap and budget where it has them.
      const limits = forBucket(settings, bucketId)
      const { maxFeePerCheckpoint, minimumBalance } = limits
      const budgeted = Option.isSome(limits.bucketBudget) || Option.isSome(limits.signerBudget)
      const guarded = budgeted || Option.isSome(maxFeePerCheckpoint) || Option.isSome(minimumBalance)
      if (!guarded) return undefined
      const estimate = yield* read("estimateFee", chain.estimateFee(submission)).pipe(
        Effect.catchAll(notPrepared(bucketId))
      )
      if (Option.isSome(maxFeePerCheckpoint) && estimate > maxFeePerCheckpoint.value) {
        return yield* refused(
          bucketId,
          "FeeAboveCap",
          `the checkpoint's fee is estimated at ${estimate} planck, above the cap of ${maxFeePerCheckpoint.value}`
        )
      }
      let reservation: Spending.Reservation | undefined
      if (budgeted) {
        const now = yield* Clock.currentTimeMillis
        const sinceMillis = now - Duration.toMillis(settings.budgetPeriod)
        yield* ledger.learn(bucketId, yield* journal.feesPaidSince(bucketId, sinceMillis))
        const reserved = yield* ledger.reserve(bucketId, estimate, now, {
          bucket: Option.getOrUndefined(limits.bucketBudget),
          signer: Option.getOrUndefined(limits.signerBudget),
          sinceMillis,
          sameSigner: (other) => Option.contains(chain.signerFor(other), signer)
        })
        if (Either.isLeft(reserved)) {
          const { budget, scope, spent } = reserved.left
          const payer = scope === "bucket" ? `bucket ${bucketId}` : `the signer ${signer}, across its buckets,`
          return yield* refused(
            bucketId,
            "BudgetExhausted",
            `${payer} paid ${spent} planck in fees in the last ${Duration.format(settings.budgetPeriod)}; ` +
              `with this checkpoint's estimated ${estimate} that is over the ${scope}'s budget of ${budget}`
          )
        }
        reservation = reserved.right
      }
      if (Option.isSome(minimumBalance)) {
        const free = yield* read("freeBalance", chain.freeBalance(signer)).pipe(
          Effect.onError(() => reservation === undefined ? Effect.void : ledger.release(reservation))
        )
        if (free - estimate < minimumBalance.value) {
          if (reservation !== undefined) yield* ledger.release(reservation)
          return yield* refused(
            bucketId,
            "BalanceBelowMinimum",
            `the signer ${signer} holds ${free} planck free; paying the estimated ${estimate} would leave it ` +
              `below the minimum of ${minimumBalance.value}`
          )
        }
      }
      return { estimate, reservation } satisfies Spend
    })

  return { guardSpend }
})

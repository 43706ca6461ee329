/**
 * What the signer spent on checkpoints lately, for the budgets of the spend guardrails: a ledger held in
 * memory for the process, one entry per extrinsic, each kept for one budget period.
 *
 * It learns of fees two ways. From a bucket's journaled receipts (what this process or an earlier one was
 * told a checkpoint paid), merged before each check of that bucket. And from this process's own
 * submissions: the estimated fee is reserved when the budgets are checked — before signing, in one atomic
 * step, so that two buckets paying at once cannot both slip under the signer's budget — and corrected by
 * the outcome: the receipt's fee once it lands, nothing if the extrinsic was never sent or never included,
 * the estimate kept while it may still land or when it was paid without a receipt (rejected at dispatch).
 *
 * So the signer's budget counts every bucket this process has submitted for or checked since it
 * started, and, after a restart, the journaled receipts of each bucket from its first check on.
 *
 * One ledger per submitter, shared with recovery (`SpendLedger`, provided with `Submitter.layer`):
 * recovery drops the estimate of an extrinsic it finds dead (never included, so never paid).
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { CheckpointReceipt } from "../ChainClient.js"
import type { BucketId, H256 } from "../Domain.js"
import type { PaidFee } from "../RoundJournal.js"
import * as SpendGuard from "../SpendGuard.js"
import * as MapRef from "./mapRef.js"

interface Charge {
  readonly bucketId: BucketId
  readonly fee: bigint
  readonly atMillis: number
}

/** The budgets to check, over the window since `sinceMillis`. */
export interface Budgets {
  readonly limits: Pick<SpendGuard.Limits, "bucketBudget" | "signerBudget">
  readonly sinceMillis: number
  /** Whether a bucket is paid for by the same signer (the signer's budget counts those buckets only). */
  readonly sameSigner: (bucketId: BucketId) => boolean
}

/** A reservation: the key of a ledger entry (the extrinsic's hash once it is signed). */
export type Reservation = string

/** The ledger of one submitter. */
export type Ledger = Effect.Effect.Success<typeof make>

/** An empty ledger: a new map per ledger, changed in place (see `MapRef`). */
export const make = Effect.map(MapRef.make<string, Charge>(), (ledger) => {
  let reservations = 0
  const forget = (charges: Map<string, Charge>, sinceMillis: number) => {
    for (const [key, charge] of charges) if (charge.atMillis < sinceMillis) charges.delete(key)
  }

  /** Merges a bucket's journaled fees (a receipt's fee replaces the estimate reserved for its extrinsic). */
  const learn = (bucketId: BucketId, fees: ReadonlyArray<PaidFee>) =>
    Ref.update(ledger, (charges) => {
      for (const paid of fees) charges.set(paid.extrinsicHash, { bucketId, fee: paid.fee, atMillis: paid.atMillis })
      return charges
    })

  /** Reserves `estimate` for the bucket if neither budget would be exceeded; otherwise says which one. */
  const reserve = (bucketId: BucketId, estimate: bigint, nowMillis: number, budgets: Budgets) =>
    Ref.modify(ledger, (charges): [Either.Either<Reservation, SpendGuard.BudgetExhausted>, Map<string, Charge>] => {
      forget(charges, budgets.sinceMillis)
      let bucketSpent = 0n
      let signerSpent = 0n
      for (const charge of charges.values()) {
        if (charge.bucketId === bucketId) bucketSpent += charge.fee
        if (charge.bucketId === bucketId || budgets.sameSigner(charge.bucketId)) signerSpent += charge.fee
      }
      const exhausted = SpendGuard.checkBudgets(estimate, { bucket: bucketSpent, signer: signerSpent }, budgets.limits)
      if (Option.isSome(exhausted)) return [Either.left(exhausted.value), charges]
      const reservation = `reserved:${++reservations}`
      charges.set(reservation, { bucketId, fee: estimate, atMillis: nowMillis })
      return [Either.right(reservation), charges]
    })

  /** The reservation now belongs to a signed extrinsic: its entry is found by the extrinsic's hash. */
  const bind = (reservation: Reservation, extrinsicHash: H256) =>
    Ref.update(ledger, (charges) => {
      const charge = charges.get(reservation)
      if (charge !== undefined) {
        charges.delete(reservation)
        charges.set(extrinsicHash, charge)
      }
      return charges
    })

  /** Nothing was paid for it: the entry is dropped. */
  const release = (key: Reservation) => Ref.update(ledger, (charges) => (charges.delete(key), charges))

  /** It landed: the receipt's fee (the estimate where the chain reports none) replaces the reservation. */
  const paid = (key: Reservation, receipt: CheckpointReceipt) =>
    Ref.update(ledger, (charges) => {
      const reserved = charges.get(key)
      charges.delete(key)
      const fee = receipt.fee ?? reserved?.fee
      if (fee !== undefined) {
        charges.set(receipt.extrinsicHash, { bucketId: receipt.bucketId, fee, atMillis: receipt.finalizedAtMillis })
      }
      return charges
    })

  return { learn, reserve, bind, release, paid }
})

/** The submitter's ledger, shared with recovery. */
export class SpendLedger extends Context.Tag("@checkpointer/core/internal/SpendLedger")<SpendLedger, Ledger>() {}

/** A fresh, empty ledger. */
export const layer: Layer.Layer<SpendLedger> = Layer.effect(SpendLedger, make)

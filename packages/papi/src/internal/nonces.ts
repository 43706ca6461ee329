/**
 * One signer's nonces: as the chain sees them (at the best block, and in the latest finalized state)
 * and as this process hands them out. The next nonce is the larger of the best block's and this
 * process's own cursor, so that concurrent preparations never share a nonce. A reservation that was
 * never broadcast is handed out again after a while rather than leaving a gap that would hold every
 * later extrinsic back; two extrinsics with one nonce can never both land.
 *
 * Unlike the `@polkadot/api` layer this reads no pool (`system_accountNextIndex` is a legacy method
 * the new JSON-RPC spec has no counterpart for): an extrinsic of ours still in the pool from before a
 * restart is re-sent from the journal with its own bytes, and one signed anew with its nonce is refused
 * at validation once the first lands (`Stale`), then signed again.
 *
 * @internal
 */
import type { Domain } from "@checkpointer/core"
import * as Effect from "effect/Effect"
import type { Reads } from "./reads.js"

const ABANDONED_AFTER_MS = 30_000

interface Reservation {
  readonly hash: Domain.H256
  broadcast: boolean
  readonly atMillis: number
}

interface Signed {
  readonly nonce: number
  readonly hash: Domain.H256
}

export type Nonces = Effect.Effect.Success<ReturnType<typeof make>>

export const make = (reads: Reads) =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    let cursor = 0
    const reservations = new Map<number, Reservation>()
    const serialize = lock.withPermits(1)

    const reserve = (chainNext: number, now: number): number => {
      for (const [nonce] of reservations) if (nonce < chainNext) reservations.delete(nonce)
      const abandoned = [...reservations].filter(([, r]) => !r.broadcast && now - r.atMillis > ABANDONED_AFTER_MS)
        .map(([nonce]) => nonce).sort((a, b) => a - b)[0]
      if (abandoned !== undefined) return abandoned
      const nonce = Math.max(chainNext, cursor)
      cursor = nonce + 1
      return nonce
    }
    const record = (signed: Signed, now: number) => {
      reservations.set(signed.nonce, { hash: signed.hash, broadcast: false, atMillis: now })
    }
    const markBroadcast = (signed: Signed) =>
      Effect.sync(() => {
        const r = reservations.get(signed.nonce)
        if (r !== undefined && r.hash === signed.hash) r.broadcast = true
      })
    /**
     * Gives a nonce back when nothing signed with it can land (signing failed, or polkadot-api refused the
     * extrinsic before broadcasting it): it is handed out again next, leaving no gap.
     */
    const release = (nonce: number) =>
      Effect.sync(() => {
        reservations.delete(nonce)
        if (cursor === nonce + 1) cursor = nonce
      })
    const isFresh = (signed: Signed): boolean => {
      const reservation = reservations.get(signed.nonce)
      return reservation !== undefined && reservation.hash === signed.hash && !reservation.broadcast
    }
    /** The account's nonce at the best block (pending blocks included). */
    const bestNext = (account: string) => Effect.map(reads.account("accountNonce", account, "best"), (a) => a.nonce)
    /** The account's nonce in the latest finalized state. */
    const finalized = (account: string) =>
      Effect.flatMap(reads.finalizedBlock, (block) =>
        Effect.map(reads.account("accountNonce", account, block.hash), (a) => a.nonce))

    return { serialize, reserve, record, release, markBroadcast, isFresh, bestNext, finalized }
  })

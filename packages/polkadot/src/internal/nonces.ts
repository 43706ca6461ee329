/**
 * The signer's nonces: as the chain sees them (the pool-aware next nonce, the nonce in the latest
 * finalized state) and as this process hands them out.
 *
 * The next nonce is the larger of the pool-aware `system_accountNextIndex` and this process's own
 * cursor, so that concurrent preparations never share a nonce. A reservation that was never broadcast
 * (a journal write failed, a round was interrupted) is handed out again after a while rather than
 * leaving a gap that would hold every later extrinsic back; two extrinsics with one nonce can never
 * both land.
 *
 * @internal
 */
import type { Domain } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import * as Effect from "effect/Effect"
import type { Reads } from "./reads.js"
import { toPlain } from "./wire.js"

const ABANDONED_AFTER_MS = 30_000

/** A nonce this process handed out, and the extrinsic signed with it. */
interface Reservation {
  readonly hash: Domain.H256
  broadcast: boolean
  readonly atMillis: number
}

/** The extrinsic a nonce was reserved for. */
interface Signed {
  readonly nonce: number
  readonly hash: Domain.H256
}

/** The signer's nonce manager. */
export type Nonces = Effect.Effect.Success<ReturnType<typeof make>>

/** The nonce manager of one client (one signer), starting with nothing reserved. */
export const make = (api: ApiPromise, reads: Reads) =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    let cursor = 0
    const reservations = new Map<number, Reservation>()

    /** Runs one preparation at a time: from reading the chain's next nonce to recording the signed extrinsic. */
    const serialize = lock.withPermits(1)

    /** The nonce to sign with next, given the chain's pool-aware next nonce (call under `serialize`). */
    const reserve = (chainNext: number, now: number): number => {
      for (const [nonce] of reservations) if (nonce < chainNext) reservations.delete(nonce)
      const abandoned = [...reservations].filter(([, r]) => !r.broadcast && now - r.atMillis > ABANDONED_AFTER_MS)
        .map(([nonce]) => nonce).sort((a, b) => a - b)[0]
      if (abandoned !== undefined) return abandoned
      const nonce = Math.max(chainNext, cursor)
      cursor = nonce + 1
      return nonce
    }

    /** Records the extrinsic signed with a reserved nonce, not broadcast yet. */
    const record = (signed: Signed, now: number) => {
      reservations.set(signed.nonce, { hash: signed.hash, broadcast: false, atMillis: now })
    }

    /** From now on the extrinsic may land: its nonce is no longer handed out again. */
    const markBroadcast = (signed: Signed) =>
      Effect.sync(() => {
        const r = reservations.get(signed.nonce)
        if (r !== undefined && r.hash === signed.hash) r.broadcast = true
      })

    /** Whether this process signed the extrinsic and never broadcast it: nothing else with its nonce of ours can land. */
    const isFresh = (signed: Signed): boolean => {
      const reservation = reservations.get(signed.nonce)
      return reservation !== undefined && reservation.hash === signed.hash && !reservation.broadcast
    }

    /** The account's next nonce, counting the extrinsics in the pool (`system_accountNextIndex`). */
    const poolNext = (account: string) =>
      reads.read("accountNextIndex", () => api.rpc.system.accountNextIndex(account)).pipe(
        Effect.map((next) => next.toNumber())
      )

    /** The account's nonce in the latest finalized state. */
    const finalized = (account: string) =>
      Effect.gen(function*() {
        const decorated = yield* reads.at("accountNonce", undefined)
        const info = yield* reads.read("accountNonce", () => decorated.query.system.account(account))
        const plain = toPlain(info)
        return typeof plain === "object" && plain !== null && !Array.isArray(plain) && "nonce" in plain
          ? Number(plain.nonce)
          : 0
      })

    return { serialize, reserve, record, markBroadcast, isFresh, poolNext, finalized }
  })

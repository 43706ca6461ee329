/**
 * The signer's nonces: as the chain sees them (the pool-aware next nonce, the nonce in the latest
 * finalized state) and as this process hands them out (core's `ChainAdapter.NonceCursor`, whose next
 * nonce is the larger of the pool-aware `system_accountNextIndex` and this process's own cursor).
 *
 * @internal
 */
import { ChainAdapter } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import * as Effect from "effect/Effect"
import type { Reads } from "./reads.js"
import { toPlain } from "./wire.js"

/** The signer's nonce manager. */
export type Nonces = Effect.Effect.Success<ReturnType<typeof make>>

/** The nonce manager of one client (one signer), starting with nothing reserved. */
export const make = (api: ApiPromise, reads: Reads) =>
  Effect.map(ChainAdapter.makeNonceCursor, (cursor) => {
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

    return { ...cursor, poolNext, finalized }
  })

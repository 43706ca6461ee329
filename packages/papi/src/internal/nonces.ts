/**
 * One signer's nonces: as the chain sees them (at the best block, and in the latest finalized state)
 * and as this process hands them out (core's `ChainAdapter.NonceCursor`, whose next nonce is the
 * larger of the best block's and this process's own cursor).
 *
 * Unlike the `@polkadot/api` layer this reads no pool (`system_accountNextIndex` is a legacy method
 * the new JSON-RPC spec has no counterpart for): an extrinsic of ours still in the pool from before a
 * restart is re-sent from the journal with its own bytes, and one signed anew with its nonce is refused
 * at validation once the first lands (`Stale`), then signed again.
 *
 * @internal
 */
import { ChainAdapter } from "@checkpointer/core"
import * as Effect from "effect/Effect"
import type { Reads } from "./reads.js"

export type Nonces = Effect.Effect.Success<ReturnType<typeof make>>

export const make = (reads: Reads) =>
  Effect.map(ChainAdapter.makeNonceCursor, (cursor) => {
    /** The account's nonce at the best block (pending blocks included). */
    const bestNext = (account: string) => Effect.map(reads.account("accountNonce", account, "best"), (a) => a.nonce)
    /** The account's nonce in the latest finalized state. */
    const finalized = (account: string) =>
      Effect.flatMap(reads.finalizedBlock, (block) =>
        Effect.map(reads.account("accountNonce", account, block.hash), (a) => a.nonce))

    return { ...cursor, bestNext, finalized }
  })

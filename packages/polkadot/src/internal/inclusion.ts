/**
 * Where a signed extrinsic of ours landed: found in finalized blocks by its hash (searched only once
 * the signer's finalized nonce moved past it, and only as far as its mortal era reaches), its events in
 * that block, and its dispatch outcome (the pallet's error by name).
 *
 * @internal
 */
import { ChainClient, type Domain } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import type { Codec } from "@polkadot/types-codec/types"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Nonces } from "./nonces.js"
import type { Reads } from "./reads.js"

/** A signed extrinsic of this client's signer, with what is needed to follow it. */
export interface PreparedTx {
  readonly bytes: `0x${string}`
  readonly hash: Domain.H256
  readonly nonce: number
  readonly preparedAtBlock: number
  readonly validUntilBlock?: number | undefined
}

/** The extrinsic's place and events in a finalized block. */
export interface Included {
  readonly blockHash: Domain.H256
  readonly blockNumber: number
  readonly index: number
  readonly events: ReadonlyArray<{ readonly name: string; readonly data: Codec; readonly raw: Codec }>
}

/** Finding our extrinsics on chain. */
export type Inclusion = ReturnType<typeof make>

/** `period` is the mortal era our extrinsics are signed with (the search's bound when one has no end recorded). */
export const make = (api: ApiPromise, reads: Reads, nonces: Nonces, period: number) => {
  const { read } = reads

  const included = (blockHash: Domain.H256, blockNumber: number, index: number) =>
    Effect.gen(function*() {
      const decorated = yield* read("events", () => api.at(blockHash))
      const records = yield* read("events", () => decorated.query.system.events())
      const events = (records as unknown as ReadonlyArray<
        {
          phase: Codec & { isApplyExtrinsic: boolean; asApplyExtrinsic: Codec }
          event: Codec & { section: string; method: string; data: Codec }
        }
      >)
        .filter((r) => r.phase.isApplyExtrinsic && Number(r.phase.asApplyExtrinsic.toString()) === index)
        .map((r) => ({ name: `${r.event.section}.${r.event.method}`, data: r.event.data, raw: r.event }))
      return { blockHash, blockNumber, index, events } satisfies Included
    })

  /** Looks for the extrinsic in finalized blocks after `preparedAtBlock` (bounded by its mortality). */
  const locate = (prepared: PreparedTx, signer: string) =>
    Effect.gen(function*() {
      // Not final unless the signer's finalized nonce moved past it.
      if ((yield* nonces.finalized(signer)) <= prepared.nonce) return Option.none<Included>()
      const finalized = yield* reads.finalizedBlock
      const last = Math.min(finalized.number, prepared.validUntilBlock ?? prepared.preparedAtBlock + period + 1)
      for (let n = last; n > prepared.preparedAtBlock; n--) {
        const hash = (yield* read("blockHash", () => api.rpc.chain.getBlockHash(n))).toHex() as Domain.H256
        const block = yield* read("block", () => api.rpc.chain.getBlock(hash))
        const index = block.block.extrinsics.findIndex((ext) => ext.hash.toHex() === prepared.hash)
        if (index >= 0) return Option.some(yield* included(hash, n, index))
      }
      return Option.none<Included>()
    })

  /** The extrinsic in the finalized block the pool reported it in. */
  const includedByHash = (prepared: PreparedTx, blockHash: Domain.H256) =>
    Effect.gen(function*() {
      const block = yield* read("block", () => api.rpc.chain.getBlock(blockHash))
      const index = block.block.extrinsics.findIndex((ext) => ext.hash.toHex() === prepared.hash)
      if (index < 0) {
        return yield* new ChainClient.ChainUnavailable({
          operation: "receipt",
          detail: `extrinsic ${prepared.hash} is not in its finalized block ${blockHash}`
        })
      }
      return yield* included(blockHash, block.block.header.number.toNumber(), index)
    })

  /** The dispatch outcome of an included extrinsic: its events, or the pallet's error by name. */
  const dispatchOutcome = (inc: Included) =>
    Effect.gen(function*() {
      const failed = inc.events.find((e) => e.name === "system.ExtrinsicFailed")
      if (failed === undefined) return inc
      const [dispatchError] = failed.data as unknown as [
        Codec & { isModule: boolean; asModule: Codec; type: string }
      ]
      if (dispatchError.isModule) {
        const meta = api.registry.findMetaError(dispatchError.asModule as never)
        return yield* new ChainClient.DispatchFailed({
          module: meta.section,
          error: meta.name,
          detail: meta.docs.join(" ").trim(),
          blockHash: Option.some(inc.blockHash)
        })
      }
      return yield* new ChainClient.DispatchFailed({
        module: "System",
        error: dispatchError.type,
        detail: dispatchError.toString(),
        blockHash: Option.some(inc.blockHash)
      })
    })

  return { locate, includedByHash, dispatchOutcome }
}

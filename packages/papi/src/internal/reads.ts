/**
 * Reads through polkadot-api's dynamic (unsafe) API: blocks, and the pallet's storage pinned to a block
 * (the latest finalized by default), decoded with Schema into the domain and retried on transient
 * failures; a failure is `ChainUnavailable`, never a defect.
 *
 * @internal
 */
import type { Domain } from "@checkpointer/core"
import { ChainAdapter, ChainClient } from "@checkpointer/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { PolkadotClient } from "polkadot-api"
import { AccountWire, BlockWire, BucketWire, ProviderWire, toPlain } from "./wire.js"

/** A failed call as `ChainUnavailable`, naming the operation. */
export const unavailable = (operation: string) => (error: unknown) =>
  new ChainClient.ChainUnavailable({ operation, detail: error instanceof Error ? error.message : String(error) })

/** Chain data decoded with `schema`; data that does not decode is `ChainUnavailable`. */
export const decodeWith = ChainAdapter.decodeWith

export type Reads = ReturnType<typeof make>

// The dynamic API's entries: typed here only as far as we call them; what they return is decoded.
type Entry = {
  readonly getValue: (...args: ReadonlyArray<unknown>) => Promise<unknown>
}
export type UnsafeApi = {
  readonly query: Record<string, Record<string, Entry>>
  readonly tx: Record<string, Record<string, (args: Record<string, unknown>) => UnsafeTx>>
  readonly constants: Record<string, Record<string, () => Promise<unknown>>>
}
export type UnsafeTx = {
  readonly sign: (signer: unknown, options: Record<string, unknown>) => Promise<Uint8Array>
  readonly getEstimatedFees: (from: string, options: Record<string, unknown>) => Promise<bigint>
}

export const make = (client: PolkadotClient, readRetry: Schedule.Schedule<unknown, ChainClient.ChainUnavailable>) => {
  const api = client.getUnsafeApi() as unknown as UnsafeApi
  const call = <A>(operation: string, run: () => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: unavailable(operation) })
  const read = <A>(operation: string, run: () => Promise<A>) => call(operation, run).pipe(Effect.retry(readRetry))

  const blockRef = (operation: string) => (block: unknown) =>
    decodeWith(BlockWire, operation)(toPlain(block)).pipe(
      Effect.map((b) => new ChainClient.BlockRef(b, true))
    )
  const finalizedBlock = read("finalizedBlock", () => client.getFinalizedBlock()).pipe(
    Effect.flatMap(blockRef("finalizedBlock"))
  )
  const bestBlock = read("bestBlock", () => client.getBestBlocks()).pipe(
    Effect.flatMap((blocks) => blockRef("bestBlock")(blocks[0]))
  )
  const finalizedHeads: Stream.Stream<ChainClient.BlockRef, ChainClient.ChainUnavailable> = Stream.asyncPush<
    unknown,
    ChainClient.ChainUnavailable
  >((emit) =>
    Effect.acquireRelease(
      Effect.sync(() =>
        client.finalizedBlock$.subscribe({
          next: (block) => emit.single(block),
          error: (error) => emit.fail(unavailable("finalizedHeads")(error))
        })
      ),
      (subscription) => Effect.sync(() => subscription.unsubscribe())
    )
  ).pipe(Stream.mapEffect(blockRef("finalizedHeads")))

  /** The block to read at: the given one, or the latest finalized. */
  const at = (hash: Domain.H256 | undefined) =>
    hash === undefined ? Effect.map(finalizedBlock, (b) => b.hash) : Effect.succeed(hash)

  const entry = (operation: string, name: string) => {
    const found = api.query.StorageProvider?.[name]
    return found === undefined
      ? Effect.fail(new ChainClient.ChainUnavailable({ operation, detail: `no StorageProvider.${name}` }))
      : Effect.succeed(found)
  }

  const bucket = (bucketId: Domain.BucketId, atHash?: Domain.H256) =>
    Effect.gen(function*() {
      const hash = yield* at(atHash)
      const buckets = yield* entry("bucket", "Buckets")
      const raw = yield* read("bucket", () => buckets.getValue(bucketId, { at: hash }))
      if (raw === undefined) return yield* new ChainClient.BucketNotFound({ bucketId })
      const wire = yield* decodeWith(BucketWire, "bucket")(toPlain(raw))
      const { snapshot } = wire
      const committed = snapshot === null ? null : "commitment" in snapshot ? snapshot.commitment : snapshot
      return ChainAdapter.bucketInfo(bucketId, {
        primaryProviders: wire.primary_providers,
        minProviders: wire.min_providers,
        members: wire.members,
        frozenStartSeq: wire.frozen_start_seq,
        snapshot: snapshot === null || committed === null ? null : {
          commitment: { mmrRoot: committed.mmr_root, startSeq: committed.start_seq, leafCount: committed.leaf_count },
          checkpointBlock: snapshot.checkpoint_block,
          primarySigners: snapshot.primary_signers
        }
      })
    })

  const provider = (account: Domain.AccountId, atHash?: Domain.H256) =>
    Effect.gen(function*() {
      const hash = yield* at(atHash)
      const providers = yield* entry("provider", "Providers")
      const raw = yield* read("provider", () => providers.getValue(account, { at: hash }))
      if (raw === undefined) return Option.none<ChainClient.ProviderRecord>()
      const wire = yield* decodeWith(ProviderWire, "provider")(toPlain(raw))
      return Option.some(
        new ChainClient.ProviderRecord({
          accountId: account,
          multiaddr: wire.multiaddr,
          publicKey: Option.fromNullable(wire.public_key)
        }, true)
      )
    })

  /** `System.Account` at a block ("best" or a hash): its nonce and free balance. */
  const account = (operation: string, who: string, atBlock: string) =>
    Effect.gen(function*() {
      const system = api.query.System?.Account
      if (system === undefined) {
        return yield* new ChainClient.ChainUnavailable({ operation, detail: "no System.Account" })
      }
      return yield* read(operation, () => system.getValue(who, { at: atBlock })).pipe(
        Effect.flatMap((raw) => decodeWith(AccountWire, operation)(toPlain(raw)))
      )
    })

  const freeBalance = (who: Domain.AccountId) => Effect.map(account("freeBalance", who, "best"), (a) => a.data.free)

  return { api, call, read, finalizedBlock, bestBlock, finalizedHeads, at, bucket, provider, account, freeBalance }
}

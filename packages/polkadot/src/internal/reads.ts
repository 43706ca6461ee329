/**
 * Reads of the chain: blocks (finalized, best, the finalized heads as they come), the pallet's storage
 * pinned to a block (the latest finalized by default) and an account's free balance, decoded with Schema
 * into the domain and retried on transient failures. Also the two helpers every chain call of the client shares: a failure
 * as `ChainUnavailable`, chain data decoded or refused as `ChainUnavailable`.
 *
 * @internal
 */
import type { Domain } from "@checkpointer/core"
import { ChainAdapter, ChainClient } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import type { Header } from "@polkadot/types/interfaces"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { AccountWire, BucketWire, ProviderWire, toPlain } from "./wire.js"

/** A failed chain call as `ChainUnavailable`, naming the operation. */
const unavailable = (operation: string) => (error: unknown) =>
  new ChainClient.ChainUnavailable({
    operation,
    detail: error instanceof Error ? error.message : String(error)
  })

/** Chain data decoded with `schema`; data that does not decode is `ChainUnavailable`, never a defect. */
export const decodeWith = ChainAdapter.decodeWith

/** The client's reads on a connected api. */
export type Reads = ReturnType<typeof make>

/** The reads, each retried with `readRetry` on a transient failure. */
export const make = (api: ApiPromise, readRetry: Schedule.Schedule<unknown, ChainClient.ChainUnavailable>) => {
  /** One call, not retried (a write, a subscription). */
  const rpc = <A>(operation: string, run: () => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: unavailable(operation) })
  /** One read, retried on transient failures. */
  const read = <A>(operation: string, run: () => Promise<A>) => rpc(operation, run).pipe(Effect.retry(readRetry))

  // --------------------------------------------------------------------------- blocks

  const blockRef = (header: Header) =>
    Schema.decodeUnknown(ChainClient.BlockRef)({ number: header.number.toNumber(), hash: header.hash.toHex() }).pipe(
      Effect.mapError((e) => new ChainClient.ChainUnavailable({ operation: "header", detail: e.message }))
    )
  const finalizedHash = read("finalizedHead", () => api.rpc.chain.getFinalizedHead()).pipe(
    Effect.map((h) => h.toHex() as Domain.H256)
  )
  const finalizedBlock = finalizedHash.pipe(
    Effect.flatMap((hash) => read("finalizedBlock", () => api.rpc.chain.getHeader(hash))),
    Effect.flatMap(blockRef)
  )
  const bestBlock = read("bestBlock", () => api.rpc.chain.getHeader()).pipe(Effect.flatMap(blockRef))

  const finalizedHeads: Stream.Stream<ChainClient.BlockRef, ChainClient.ChainUnavailable> = Stream.asyncPush<
    Header,
    ChainClient.ChainUnavailable
  >((emit) =>
    Effect.acquireRelease(
      // The provider re-subscribes chain_* subscriptions after a reconnect: the stream survives drops.
      rpc("finalizedHeads", () =>
        api.rpc.chain.subscribeFinalizedHeads((header) => {
          emit.single(header)
        })),
      (unsubscribe) => Effect.sync(() => unsubscribe())
    )
  ).pipe(Stream.mapEffect(blockRef))

  /** The api decorated for a block (its metadata and state), the latest finalized by default. */
  const at = (operation: string, hash: Domain.H256 | undefined) =>
    (hash === undefined ? finalizedHash : Effect.succeed(hash)).pipe(
      Effect.flatMap((h) => read(operation, () => api.at(h)))
    )

  // --------------------------------------------------------------------------- storage

  const bucket = (bucketId: Domain.BucketId, atHash?: Domain.H256) =>
    Effect.gen(function*() {
      const decorated = yield* at("bucket", atHash)
      const query = decorated.query.storageProvider?.buckets
      if (query === undefined) {
        return yield* new ChainClient.ChainUnavailable({ operation: "bucket", detail: "no StorageProvider.Buckets" })
      }
      const raw = yield* read("bucket", () => query(bucketId))
      const plain = toPlain(raw)
      if (plain === null) return yield* new ChainClient.BucketNotFound({ bucketId })
      const wire = yield* decodeWith(BucketWire, "bucket")(plain)
      const { snapshot } = wire
      return ChainAdapter.bucketInfo(bucketId, {
        ...wire,
        snapshot: snapshot === null ? null : {
          commitment: "commitment" in snapshot ? snapshot.commitment : snapshot,
          checkpointBlock: snapshot.checkpointBlock,
          primarySigners: snapshot.primarySigners
        }
      })
    })

  const provider = (account: Domain.AccountId, atHash?: Domain.H256) =>
    Effect.gen(function*() {
      const decorated = yield* at("provider", atHash)
      const query = decorated.query.storageProvider?.providers
      if (query === undefined) {
        return yield* new ChainClient.ChainUnavailable({
          operation: "provider",
          detail: "no StorageProvider.Providers"
        })
      }
      const plain = toPlain(yield* read("provider", () => query(account)))
      if (plain === null) return Option.none<ChainClient.ProviderRecord>()
      const wire = yield* decodeWith(ProviderWire, "provider")(plain)
      return Option.some(
        new ChainClient.ProviderRecord({
          accountId: account,
          multiaddr: wire.multiaddr,
          publicKey: Option.fromNullable(wire.publicKey)
        }, true)
      )
    })

  /** An account's free balance at the best block (what its next fee is taken from, pending blocks included). */
  const freeBalance = (account: Domain.AccountId) =>
    bestBlock.pipe(
      Effect.flatMap((best) => at("freeBalance", best.hash)),
      Effect.flatMap((decorated) => read("freeBalance", () => decorated.query.system.account(account))),
      Effect.flatMap((info) => decodeWith(AccountWire, "freeBalance")(toPlain(info))),
      Effect.map((wire) => wire.data.free)
    )

  return { read, finalizedBlock, bestBlock, finalizedHeads, at, bucket, provider, freeBalance }
}

/**
 * One signer's transactions: signed with a reserved nonce and a mortal era anchored at the latest
 * finalized block, broadcast with `transaction_v1_broadcast` and followed (by polkadot-api, through
 * `chainHead_v1_follow`) to a finalized, dispatched outcome; or quoted, before any of that, by the
 * runtime's fee model.
 *
 * A refusal for the nonce on a fresh extrinsic is resolved by signing again with a new nonce, never by
 * sending a second copy of something that may still land. When the watch ends without an outcome, the
 * outcome is established from the chain (the extrinsic in finalized blocks, the signer's nonce) before
 * anything is sent again; re-sending is only ever of the same signed bytes, which the chain includes at
 * most once.
 *
 * What a dropped socket does, compared with `@polkadot/api` (both tested): there the
 * `author_submitAndWatchExtrinsic` subscription simply dies with the socket (the provider does not
 * re-subscribe it) and the layer notices the disconnection; here polkadot-api reconnects and re-follows
 * the chain by itself, but the transaction's watch errors ("Tracking stopped") and the broadcast is not
 * resumed: the same path follows (find it on chain, else the same bytes again). An invalid transaction
 * is refused by polkadot-api before it is broadcast (`TaggedTransactionQueue_validate_transaction`,
 * `InvalidTxError`) where `@polkadot/api` gets the pool's JSON-RPC error (1010/1014) back; a nonce
 * clash therefore shows as `Stale` validity, not as "priority too low".
 *
 * @internal
 */
import { ChainClient, Domain } from "@checkpointer/core"
import { Blake2256 } from "@polkadot-api/substrate-bindings"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { InvalidTxError, type PolkadotClient, type PolkadotSigner } from "polkadot-api"
import type { Nonces } from "./nonces.js"
import { decodeWith, type Reads, type UnsafeTx } from "./reads.js"
import { DispatchErrorWire, EventRecordWire, toPlain } from "./wire.js"

/** A signed extrinsic of ours, with what is needed to follow it. */
export interface PreparedTx {
  readonly bytes: `0x${string}`
  readonly hash: Domain.H256
  readonly nonce: number
  readonly preparedAtBlock: number
  readonly validUntilBlock: number
}

/** The extrinsic's place and events (`Pallet.Event` with its fields, plain) in a finalized block. */
export interface Included {
  readonly blockHash: Domain.H256
  readonly blockNumber: number
  readonly index: number
  readonly events: ReadonlyArray<{ readonly name: string; readonly fields: unknown }>
}

type Watched =
  | { readonly _tag: "Finalized"; readonly included: Included; readonly dispatchError: unknown }
  | { readonly _tag: "Invalid"; readonly reason: string; readonly broadcast: boolean }
  | { readonly _tag: "Lost"; readonly detail: string }

const toHex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}` as `0x${string}`
const fromHex = (hex: string) => Uint8Array.from(Buffer.from(hex.slice(2), "hex"))
export const hashOf = (bytes: Uint8Array) => Schema.decodeSync(Domain.H256)(toHex(Blake2256(bytes)))

/** Events as polkadot-api gives them (`{ type: Pallet, value: { type: Event, value: fields } }`), named. */
const namedEvents = (records: ReadonlyArray<unknown>) =>
  records.flatMap((record) => {
    const event = (record as { event?: unknown }).event ?? record
    const { type, value } = event as { type?: unknown; value?: { type?: unknown; value?: unknown } }
    return typeof type === "string" && typeof value?.type === "string"
      ? [{ name: `${type}.${value.type}`, fields: toPlain(value.value) }]
      : []
  })

export interface TransactionsOptions {
  readonly client: PolkadotClient
  readonly reads: Reads
  readonly nonces: Nonces
  readonly signer: { readonly signer: PolkadotSigner; readonly address: string } | undefined
  readonly period: number
  readonly finalityTimeout: Duration.DurationInput
}

export type Transactions = ReturnType<typeof make>

export const make = (options: TransactionsOptions) => {
  const { client, finalityTimeout, nonces, period, reads } = options

  const requireSigner = options.signer === undefined
    ? Effect.fail(
      new ChainClient.SubmissionFailed({ stage: "NoSigner", detail: "no signer configured", maybeIncluded: false })
    )
    : Effect.succeed(options.signer)

  const unsupported = new ChainClient.SubmissionFailed({
    stage: "Unsupported",
    detail: "the runtime's metadata has no such StorageProvider call",
    maybeIncluded: false
  })
  const signingFailed = (error: unknown) =>
    new ChainClient.SubmissionFailed({ stage: "Signing", detail: String(error), maybeIncluded: false })

  /**
   * Signs `build()` with a fresh nonce and a mortal era from the latest finalized block (so its end is
   * known exactly: past `validUntilBlock`, an extrinsic not on chain can never land).
   */
  const sign = (build: () => UnsafeTx | undefined) =>
    nonces.serialize(Effect.gen(function*() {
      const { address, signer } = yield* requireSigner
      const tx = build()
      if (tx === undefined) return yield* unsupported
      const chainNext = yield* nonces.bestNext(address)
      const best = yield* reads.bestBlock
      const anchor = yield* reads.finalizedBlock
      const now = yield* Clock.currentTimeMillis
      const nonce = nonces.reserve(chainNext, now)
      const bytes = yield* Effect.tryPromise({
        try: () => tx.sign(signer, { nonce, mortality: { mortal: true, period }, at: anchor.hash }),
        catch: signingFailed
      }).pipe(Effect.tapError(() => nonces.release(nonce)))
      const hash = hashOf(bytes)
      nonces.record({ nonce, hash }, now)
      return {
        bytes: toHex(bytes),
        hash,
        nonce,
        preparedAtBlock: best.number,
        validUntilBlock: anchor.number + period - 1
      } satisfies PreparedTx
    }))

  /**
   * The fee `build()` would pay, signed as `sign` signs it (same signer, next nonce, same era length) by
   * polkadot-api's stand-in signer: quoted by `TransactionPaymentApi_query_info` (partial fee, no tip).
   */
  const estimate = (build: () => UnsafeTx | undefined) =>
    Effect.gen(function*() {
      const { address } = yield* requireSigner
      const tx = build()
      if (tx === undefined) return yield* unsupported
      const nonce = yield* nonces.bestNext(address)
      return yield* reads.read(
        "estimateFee",
        () => tx.getEstimatedFees(address, { nonce, mortality: { mortal: true, period } })
      )
    })

  // --------------------------------------------------------------------------- following

  /** Broadcasts and follows one extrinsic until it is finalized, refused, or the watch is lost. */
  const watch = (prepared: PreparedTx): Effect.Effect<Watched> =>
    Effect.async<Watched>((resume) => {
      // polkadot-api validates before it broadcasts: a refusal before `broadcasted` never left this process.
      let broadcast = false
      const subscription = client.submitAndWatch(fromHex(prepared.bytes)).subscribe({
        next: (event) => {
          if (event.type === "broadcasted") broadcast = true
          if (event.type !== "finalized") return
          resume(Effect.succeed({
            _tag: "Finalized",
            included: {
              blockHash: event.block.hash as Domain.H256,
              blockNumber: event.block.number,
              index: event.block.index,
              events: namedEvents(event.events)
            },
            dispatchError: event.ok ? undefined : event.dispatchError
          }))
        },
        error: (error: unknown) =>
          resume(Effect.succeed(
            error instanceof InvalidTxError
              ? {
                _tag: "Invalid",
                reason: JSON.stringify(toPlain(error.error), (_, v) => typeof v === "bigint" ? `${v}` : v),
                broadcast
              }
              : { _tag: "Lost", detail: error instanceof Error ? error.message : String(error) }
          )),
        complete: () => resume(Effect.succeed({ _tag: "Lost", detail: "the watch ended without an outcome" }))
      })
      return Effect.sync(() => subscription.unsubscribe())
    })

  /** The pallet's error by name, or the events of a successful dispatch. */
  const dispatchOutcome = (included: Included, dispatchError: unknown) =>
    Effect.gen(function*() {
      if (dispatchError === undefined) return included
      const error = yield* decodeWith(DispatchErrorWire, "dispatchError")(toPlain(dispatchError))
      if (typeof error === "object" && "Module" in error) {
        const [module, detail] = Object.entries(error.Module as Record<string, unknown>)[0] ?? ["Unknown", "Unknown"]
        return yield* new ChainClient.DispatchFailed({
          module,
          error: typeof detail === "string" ? detail : JSON.stringify(detail),
          detail: "",
          blockHash: Option.some(included.blockHash)
        })
      }
      return yield* new ChainClient.DispatchFailed({
        module: "System",
        error: typeof error === "string" ? error : Object.keys(error)[0] ?? "Unknown",
        detail: typeof error === "string" ? "" : JSON.stringify(error, (_, v) => typeof v === "bigint" ? `${v}` : v),
        blockHash: Option.some(included.blockHash)
      })
    })

  /** The extrinsic's events in a block, read at that block (`System.Events`), and its dispatch error. */
  const includedAt = (blockHash: Domain.H256, blockNumber: number, index: number) =>
    Effect.gen(function*() {
      const events = reads.api.query.System?.Events
      if (events === undefined) {
        return yield* new ChainClient.ChainUnavailable({ operation: "events", detail: "no System.Events" })
      }
      const records = yield* reads.read("events", () => events.getValue({ at: blockHash }))
      const mine: Array<unknown> = []
      for (const record of Array.isArray(records) ? records : []) {
        const wire = yield* decodeWith(EventRecordWire, "events")(toPlain(record))
        if (typeof wire.phase === "object" && wire.phase.ApplyExtrinsic === index) mine.push(record)
      }
      const named = namedEvents(mine)
      const failed = named.find((e) => e.name === "System.ExtrinsicFailed")
      const included: Included = { blockHash, blockNumber, index, events: named }
      const dispatchError = failed === undefined
        ? undefined
        : ((mine.map((r) => (r as { event: { value: { value: { dispatch_error?: unknown } } } }).event.value.value)
          .find((v) => v?.dispatch_error !== undefined))?.dispatch_error)
      return { included, dispatchError }
    })

  /**
   * Looks for the extrinsic in finalized blocks after it was prepared and within its era, once the
   * signer's finalized nonce moved past it (else it is not final, or not there).
   */
  const locate = (prepared: PreparedTx, signer: string) =>
    Effect.gen(function*() {
      if ((yield* nonces.finalized(signer)) <= prepared.nonce) return Option.none<Included>()
      const finalized = yield* reads.finalizedBlock
      const blockHashes = reads.api.query.System?.BlockHash
      if (blockHashes === undefined) {
        return yield* new ChainClient.ChainUnavailable({ operation: "locate", detail: "no System.BlockHash" })
      }
      const last = Math.min(finalized.number, prepared.validUntilBlock)
      for (let n = last; n > prepared.preparedAtBlock; n--) {
        const hash = n === finalized.number
          ? finalized.hash
          : String(yield* reads.read("blockHash", () => blockHashes.getValue(n, { at: finalized.hash }))) as Domain.H256
        const body = yield* reads.read("block", () => client.getBlockBody(hash))
        const index = body.findIndex((ext: Uint8Array | string) =>
          hashOf(typeof ext === "string" ? fromHex(ext) : ext) === prepared.hash
        )
        if (index >= 0) {
          const { dispatchError, included } = yield* includedAt(hash, n, index)
          return Option.some(yield* dispatchOutcome(included, dispatchError))
        }
      }
      return Option.none<Included>()
    })

  /**
   * Sends a prepared extrinsic and follows it to a finalized, dispatched outcome. `resign`, when given,
   * signs the same call again with a new nonce if this one was refused for its nonce (only for
   * extrinsics this process prepared and never broadcast).
   */
  const drive = (
    first: PreparedTx,
    resign: Option.Option<() => Effect.Effect<PreparedTx, ChainClient.ChainWriteError>>
  ): Effect.Effect<{ prepared: PreparedTx; included: Included }, ChainClient.ChainWriteError> =>
    Effect.gen(function*() {
      const { address } = yield* requireSigner
      let prepared = first
      let resigns = 0
      let broadcastOnce = false
      let losses = 0
      for (;;) {
        yield* nonces.markBroadcast(prepared)
        const outcome = yield* watch(prepared)
        switch (outcome._tag) {
          case "Finalized":
            return { prepared, included: yield* dispatchOutcome(outcome.included, outcome.dispatchError) }
          case "Lost": {
            broadcastOnce = true
            // Find out from the chain before sending anything again (bounded retries of the reads).
            const found = yield* locate(prepared, address).pipe(
              Effect.retry(Schedule.spaced("500 millis").pipe(Schedule.intersect(Schedule.recurs(20))))
            )
            if (Option.isSome(found)) return { prepared, included: found.value }
            // A node that keeps losing the watch is given longer each time (0.2 s doubling, at most 5 s).
            yield* Effect.sleep(Duration.millis(Math.min(5_000, 200 * 2 ** losses++)))
            continue // the same bytes again: the chain includes them at most once
          }
          case "Invalid": {
            // Our own extrinsic may be what used the nonce (sent before a drop).
            const found = yield* locate(prepared, address)
            if (Option.isSome(found)) return { prepared, included: found.value }
            const stale = /Stale/.test(outcome.reason)
            // Refused before it was sent, for another reason than its nonce: the nonce is free again.
            if (!stale && !outcome.broadcast && !broadcastOnce) yield* nonces.release(prepared.nonce)
            // Signed again only if these bytes never left this process: once broadcast, "stale" may mean
            // that they themselves used the nonce in a block not final yet (polkadot-api validates again
            // at new best blocks), and a second extrinsic would pay twice.
            const sent = outcome.broadcast || broadcastOnce
            if (stale && Option.isSome(resign) && !sent && resigns < 3) {
              resigns++
              prepared = yield* resign.value()
              continue
            }
            return yield* new ChainClient.SubmissionFailed({
              stage: stale ? "Stale" : "Pool",
              detail: stale
                ? `nonce ${prepared.nonce} was used by another extrinsic (${outcome.reason})`
                : `invalid transaction: ${outcome.reason}`,
              // Sent once: it may still land; its outcome is settled from the chain before anything else.
              maybeIncluded: sent
            })
          }
        }
      }
    }).pipe(
      Effect.timeoutFail({
        duration: finalityTimeout,
        onTimeout: () =>
          new ChainClient.SubmissionFailed({
            stage: "FinalityTimeout",
            detail: `no finalized outcome within ${Duration.format(finalityTimeout)}`,
            maybeIncluded: true
          })
      })
    )

  return { requireSigner, sign, estimate, drive, locate }
}

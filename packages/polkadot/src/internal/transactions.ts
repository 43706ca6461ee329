/**
 * Transactions of the client's signer: signed with a reserved nonce and a mortal era, broadcast and
 * followed to a finalized, dispatched outcome; or quoted, before any of that, by the runtime's fee model.
 *
 * A pool conflict on a fresh extrinsic is resolved by signing again with a new nonce, never by sending
 * a second copy of something that may still land. When the socket drops mid-submission, the outcome is
 * established from the chain (the extrinsic in recent blocks, the signer's nonce) before anything is
 * sent again; re-sending is only ever of the same signed bytes, which the chain includes at most once.
 *
 * @internal
 */
import { ChainClient, Domain } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import type { Signer, SubmittableExtrinsic } from "@polkadot/api/types"
import type { KeyringPair } from "@polkadot/keyring/types"
import type { ProviderInterface } from "@polkadot/rpc-provider/types"
import { u8aToHex } from "@polkadot/util"
import type { KeypairType } from "@polkadot/util-crypto/types"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type { Included, Inclusion, PreparedTx } from "./inclusion.js"
import type { Nonces } from "./nonces.js"
import { decodeWith, type Reads } from "./reads.js"
import { DispatchInfoWire, toPlain } from "./wire.js"

type Watched =
  | { readonly _tag: "Finalized"; readonly blockHash: Domain.H256 }
  | { readonly _tag: "Rejected"; readonly code: number; readonly message: string }
  | { readonly _tag: "Gone"; readonly status: string }
  | { readonly _tag: "Disconnected" }

const RPC_ERROR = /^(-?\d+): (.*)$/s

/** Substrate's transaction status notifications (`author_extrinsicUpdate`). */
const TransactionStatus = Schema.Union(
  Schema.Literal("future", "ready", "dropped", "invalid"),
  Schema.Struct({ broadcast: Schema.Array(Schema.String) }),
  Schema.Struct({ inBlock: Domain.H256 }),
  Schema.Struct({ retracted: Domain.H256 }),
  Schema.Struct({ finalityTimeout: Domain.H256 }),
  Schema.Struct({ finalized: Domain.H256 }),
  Schema.Struct({ usurped: Domain.H256 })
)

export interface TransactionsOptions {
  readonly api: ApiPromise
  /** The provider under the api: extrinsics are watched through it directly (see `watch`). */
  readonly provider: ProviderInterface
  readonly connected: SubscriptionRef.SubscriptionRef<boolean>
  readonly reads: Reads
  readonly nonces: Nonces
  readonly inclusion: Inclusion
  /** The signer's key pair; without one, every transaction fails at `NoSigner`. */
  readonly pair: KeyringPair | undefined
  /** Mortal era length in blocks. */
  readonly period: number
  /** Bound on a transaction's finalized outcome, and on waiting for a reconnection. */
  readonly finalityTimeout: Duration.DurationInput
}

/** Signing and following the signer's transactions. */
export type Transactions = ReturnType<typeof make>

/**
 * A signature of the key type's `MultiSignature` variant and length (as the keyring signs: variant byte,
 * then 64 bytes, or 65 for ecdsa and ethereum keys), filled with ones as `@polkadot/api`'s own fake
 * signature is (all zeros would read as no signature, and encode an unsigned extrinsic): it makes an
 * extrinsic exactly as long as the signed one, for a fee quote, without using the key.
 */
const standInSignature = (type: KeypairType): `0x${string}` => {
  const signature = new Uint8Array(type === "ecdsa" || type === "ethereum" ? 66 : 65).fill(1)
  signature[0] = type === "ed25519" ? 0 : type === "sr25519" ? 1 : 2
  return u8aToHex(signature)
}

/** Signing (`sign`), and following to a finalized, dispatched outcome (`drive`). */
export const make = (options: TransactionsOptions) => {
  const { api, connected, finalityTimeout, inclusion, nonces, pair, period, reads } = options
  const rpcProvider = options.provider
  const { dispatchOutcome, includedByHash, locate } = inclusion

  const requireSigner = pair === undefined
    ? Effect.fail(
      new ChainClient.SubmissionFailed({ stage: "NoSigner", detail: "no signer configured", maybeIncluded: false })
    )
    : Effect.succeed(pair)

  // --------------------------------------------------------------------------- signing

  const unsupported = new ChainClient.SubmissionFailed({
    stage: "Unsupported",
    detail: "the runtime's metadata has no such StorageProvider call",
    maybeIncluded: false
  })

  /**
   * The mortal era to sign with, built here from the latest finalized block (as the api itself prefers:
   * no fork can take it away), so that its end is known exactly: past it, an extrinsic not on chain can
   * never land (the submitter's proof that it is dead).
   */
  const mortalEra = Effect.map(reads.finalizedBlock, (anchor) => ({
    anchor,
    era: api.registry.createType("ExtrinsicEra", { current: anchor.number, period })
  }))

  /** Signs `build()` with a fresh nonce and a mortal era; `undefined` means the runtime lacks the call. */
  const sign = (build: () => SubmittableExtrinsic<"promise"> | undefined) =>
    nonces.serialize(Effect.gen(function*() {
      const signer = yield* requireSigner
      const chainNext = yield* nonces.poolNext(signer.address)
      const best = yield* reads.bestBlock
      const now = yield* Clock.currentTimeMillis
      const tx = build()
      if (tx === undefined) return yield* unsupported
      const nonce = nonces.reserve(chainNext, now)
      const { anchor, era } = yield* mortalEra
      const validUntilBlock = era.isMortalEra ? era.asMortalEra.death(anchor.number) - 1 : undefined
      yield* Effect.tryPromise({
        try: () => tx.signAsync(signer, { nonce, era, blockHash: anchor.hash }),
        catch: (error) =>
          new ChainClient.SubmissionFailed({ stage: "Signing", detail: String(error), maybeIncluded: false })
      })
      const hash = tx.hash.toHex() as Domain.H256
      nonces.record({ nonce, hash }, now)
      return { bytes: tx.toHex(), hash, nonce, preparedAtBlock: best.number, validUntilBlock } satisfies PreparedTx
    }))

  /**
   * The fee (planck) `build()` would pay, signed as `sign` signs it — the signer's address, its next nonce,
   * the same mortal era — but with a stand-in signature of the signer's key type (so the length, which the
   * fee depends on, is exact): quoted by the runtime (`TransactionPaymentApi_query_info`'s partial fee; we
   * never tip). No key is used, no nonce reserved, nothing can be sent.
   */
  const estimate = (build: () => SubmittableExtrinsic<"promise"> | undefined) =>
    Effect.gen(function*() {
      const signer = yield* requireSigner
      const tx = build()
      if (tx === undefined) return yield* unsupported
      const queryInfo = api.call.transactionPaymentApi?.queryInfo
      if (queryInfo === undefined) {
        return yield* new ChainClient.SubmissionFailed({
          stage: "Unsupported",
          detail: "the runtime has no TransactionPaymentApi to quote fees",
          maybeIncluded: false
        })
      }
      const nonce = yield* nonces.poolNext(signer.address)
      const { anchor, era } = yield* mortalEra
      const standIn: Signer = {
        signPayload: () => Promise.resolve({ id: 0, signature: standInSignature(signer.type) })
      }
      yield* Effect.tryPromise({
        try: () => tx.signAsync(signer.address, { nonce, era, blockHash: anchor.hash, signer: standIn }),
        catch: (error) =>
          new ChainClient.SubmissionFailed({ stage: "Signing", detail: String(error), maybeIncluded: false })
      })
      // An unsigned extrinsic would be quoted without its signature's bytes: too low.
      if (!tx.isSigned) {
        return yield* new ChainClient.SubmissionFailed({
          stage: "Signing",
          detail: "the extrinsic to quote was not signed with the stand-in signature",
          maybeIncluded: false
        })
      }
      const info = yield* reads.read("estimateFee", () => queryInfo(tx.toU8a(), tx.encodedLength))
      const quoted = yield* decodeWith(DispatchInfoWire, "estimateFee")(toPlain(info))
      return quoted.partialFee
    })

  // --------------------------------------------------------------------------- following a transaction

  /**
   * Broadcasts and follows one extrinsic until it is finalized, refused, gone, or the socket drops.
   * It talks to the provider directly: rpc-core memoises subscriptions by their parameters (and
   * keeps a closed one for a while), so sending the same bytes again after a reconnect through
   * `api.rpc` would only replay the old, dead subscription.
   */
  const watch = (bytes: `0x${string}`): Effect.Effect<Watched> => {
    const follow = Effect.async<Watched>((resume) => {
      let subscription: string | number | undefined
      let done = false
      const unsubscribe = () => {
        if (subscription !== undefined) {
          rpcProvider.unsubscribe("author_extrinsicUpdate", "author_unwatchExtrinsic", subscription).catch(() => {})
        }
      }
      const finish = (outcome: Watched) => {
        if (done) return
        done = true
        unsubscribe()
        resume(Effect.succeed(outcome))
      }
      rpcProvider.subscribe(
        "author_extrinsicUpdate",
        "author_submitAndWatchExtrinsic",
        [bytes],
        (error: Error | null, result: unknown) => {
          if (error !== null) return
          const status = Schema.decodeUnknownOption(TransactionStatus)(result)
          if (Option.isNone(status)) return
          const value = status.value
          if (typeof value === "object" && "finalized" in value) {
            finish({ _tag: "Finalized", blockHash: value.finalized })
          } else if (value === "dropped" || value === "invalid") {
            finish({ _tag: "Gone", status: value })
          } else if (typeof value === "object" && ("usurped" in value || "finalityTimeout" in value)) {
            finish({ _tag: "Gone", status: "usurped" in value ? "usurped" : "finalityTimeout" })
          }
        }
      ).then(
        (id) => {
          subscription = id
          if (done) unsubscribe()
        },
        (error: Error) => {
          const match = RPC_ERROR.exec(error.message)
          finish(
            match === null
              ? { _tag: "Disconnected" }
              : { _tag: "Rejected", code: Number(match[1]), message: match[2]! }
          )
        }
      )
      return Effect.sync(() => {
        done = true
        unsubscribe()
      })
    })
    // The provider does not re-subscribe author_* subscriptions after a reconnect: a drop ends the watch.
    const dropped = connected.changes.pipe(
      Stream.filter((up) => !up),
      Stream.runHead,
      Effect.as<Watched>({ _tag: "Disconnected" })
    )
    return Effect.raceFirst(follow, dropped)
  }

  const waitConnected = connected.changes.pipe(
    Stream.filter((up) => up),
    Stream.runHead,
    Effect.timeoutFail({
      duration: finalityTimeout,
      onTimeout: () => new ChainClient.ChainUnavailable({ operation: "reconnect", detail: "no connection" })
    })
  )

  /**
   * Sends a prepared extrinsic and follows it to a finalized, dispatched outcome. `resign`, when given,
   * signs the same call again with a new nonce if this one was refused for its nonce (only for
   * extrinsics this process prepared and never broadcast before: nothing else with the old nonce of
   * ours can still land).
   */
  const drive = (
    first: PreparedTx,
    resign: Option.Option<() => Effect.Effect<PreparedTx, ChainClient.ChainWriteError>>
  ): Effect.Effect<{ prepared: PreparedTx; included: Included }, ChainClient.ChainWriteError> =>
    Effect.gen(function*() {
      const signer = yield* requireSigner
      let prepared = first
      let resigns = 0
      let broadcastOnce = false
      for (;;) {
        yield* nonces.markBroadcast(prepared)
        const outcome = yield* watch(prepared.bytes)
        switch (outcome._tag) {
          case "Finalized":
            return {
              prepared,
              included: yield* includedByHash(prepared, outcome.blockHash).pipe(Effect.flatMap(dispatchOutcome))
            }
          case "Disconnected": {
            broadcastOnce = true
            // Find out from the chain before sending anything again.
            yield* waitConnected
            const found = yield* locate(prepared, signer.address)
            if (Option.isSome(found)) return { prepared, included: yield* dispatchOutcome(found.value) }
            continue // same bytes again: the pool refuses a duplicate, the chain includes it at most once
          }
          case "Gone":
            return yield* new ChainClient.SubmissionFailed({
              stage: outcome.status === "usurped" ? "Stale" : "Dropped",
              detail: `the pool reported ${outcome.status}`,
              // This node's pool let it go, but it was accepted and gossiped: another node's pool may still
              // include it within its era. In doubt, settled from the chain before anything is paid again.
              maybeIncluded: true
            })
          case "Rejected": {
            if (outcome.code === 1013) {
              // Already in the pool (sent before a reconnect): follow it through the chain while the
              // pool holds it; if the pool lets it go unincluded, the same bytes go out again.
              broadcastOnce = true
              const found = yield* awaitIncluded(prepared, signer.address)
              if (Option.isSome(found)) return { prepared, included: yield* dispatchOutcome(found.value) }
              continue
            }
            const nonceClash = outcome.code === 1014 ||
              (outcome.code === 1010 && /outdated|stale/i.test(outcome.message))
            if (!nonceClash) {
              return yield* new ChainClient.SubmissionFailed({
                stage: "Pool",
                detail: `${outcome.code}: ${outcome.message}`,
                maybeIncluded: false
              })
            }
            // Our own extrinsic may be what used the nonce (sent before a drop).
            const found = yield* locate(prepared, signer.address)
            if (Option.isSome(found)) return { prepared, included: yield* dispatchOutcome(found.value) }
            if (Option.isSome(resign) && !broadcastOnce && resigns < 3) {
              resigns++
              prepared = yield* resign.value()
              continue
            }
            return yield* new ChainClient.SubmissionFailed({
              stage: "Stale",
              detail: `nonce ${prepared.nonce} was used by another extrinsic (${outcome.code}: ${outcome.message})`,
              maybeIncluded: false
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

  /** The extrinsic is in the pool's hands: waits for it in a finalized block, or for the pool to let it go. */
  const awaitIncluded = (prepared: PreparedTx, signer: string) =>
    Effect.gen(function*() {
      const found = yield* locate(prepared, signer)
      if (Option.isSome(found)) return found
      const pending = yield* reads.read("pendingExtrinsics", () => api.rpc.author.pendingExtrinsics())
      // Still pending (or in a block not yet final): keep waiting. Gone: `None`, so it is sent again.
      const inPool = pending.some((ext) => ext.hash.toHex() === prepared.hash)
      return inPool || (yield* inBestChain(prepared, signer)) ? undefined : Option.none<Included>()
    }).pipe(
      Effect.repeat(
        Schedule.recurUntil<Option.Option<Included> | undefined>((r) => r !== undefined).pipe(
          Schedule.addDelay(() => Duration.millis(500))
        )
      ),
      Effect.map((r) => r ?? Option.none<Included>())
    )

  /** Whether the signer's nonce at the best block moved past this extrinsic's (it may be in a block not final yet). */
  const inBestChain = (prepared: PreparedTx, signer: string) =>
    Effect.map(nonces.poolNext(signer), (next) => next > prepared.nonce)

  return { requireSigner, sign, estimate, drive }
}

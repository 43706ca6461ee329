/**
 * The production `ChainClient`: the chain port of `@checkpointer/core` over `@polkadot/api`.
 *
 * - Reads are pinned to a block (the latest finalized by default), decoded with Schema, and retried
 *   on transient failures.
 * - The pallet's era is read from the metadata (and again after a runtime upgrade); calls are built
 *   to match it.
 * - Submissions are signed with a per-signer nonce manager (several buckets can submit at once from
 *   one account), with a mortal era; a pool conflict on a fresh extrinsic is resolved by signing
 *   again with a new nonce, never by sending a second copy of something that may still land.
 * - A receipt is built from the finalized block itself: the extrinsic located by hash, its
 *   `BucketCheckpointed` event checked against the submission, the fee it paid.
 * - When the socket drops mid-submission, the outcome is established from the chain (the extrinsic
 *   in recent blocks, the signer's nonce) before anything is sent again; re-sending is only ever of
 *   the same signed bytes, which the chain includes at most once.
 *
 * @since 0.1.0
 */
import { ChainClient, Domain } from "@checkpointer/core"
import type { SubmittableExtrinsic } from "@polkadot/api/types"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import type { Codec } from "@polkadot/types-codec/types"
import type { Header } from "@polkadot/types/interfaces"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { challengeCall, checkpointCall, detectShape, type PalletShape } from "./internal/shape.js"
import {
  BucketWire,
  ChallengeCreatedWire,
  CheckpointedWire,
  FeePaidWire,
  type Plain,
  ProviderWire,
  toPlain
} from "./internal/wire.js"
import { PolkadotApi } from "./PolkadotApi.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** The signer's secret URI (`//Alice`, a mnemonic, `0x` seed, with derivations); never logged. */
  readonly signer?: Redacted.Redacted<string>
  /** The signer's key type (default sr25519). */
  readonly keyType?: "sr25519" | "ed25519" | "ecdsa"
  /** Bound on waiting for a submission's finality (default 2 minutes). */
  readonly finalityTimeout?: Duration.DurationInput
  /** Mortal era length in blocks for signed extrinsics (default 256; at most the chain's BlockHashCount). */
  readonly mortalityPeriod?: number
  /** Retry for reads on transient failures (default: exponential from 100 ms, 4 retries). */
  readonly readRetry?: Schedule.Schedule<unknown, ChainClient.ChainUnavailable>
}

type Watched =
  | { readonly _tag: "Finalized"; readonly blockHash: Domain.H256 }
  | { readonly _tag: "Rejected"; readonly code: number; readonly message: string }
  | { readonly _tag: "Gone"; readonly status: string }
  | { readonly _tag: "Disconnected" }

/** A signed extrinsic of this client's signer, with what is needed to follow it. */
interface PreparedTx {
  readonly bytes: `0x${string}`
  readonly hash: Domain.H256
  readonly nonce: number
  readonly preparedAtBlock: number
  readonly validUntilBlock?: number | undefined
}

/** The extrinsic's place and events in a finalized block. */
interface Included {
  readonly blockHash: Domain.H256
  readonly blockNumber: number
  readonly index: number
  readonly events: ReadonlyArray<{ readonly name: string; readonly data: Codec; readonly raw: Codec }>
}

const unavailable = (operation: string) => (error: unknown) =>
  new ChainClient.ChainUnavailable({
    operation,
    detail: error instanceof Error ? error.message : String(error)
  })

const decodeWith = <A, I>(schema: Schema.Schema<A, I>, operation: string) => (plain: Plain) =>
  Schema.decodeUnknown(schema)(plain).pipe(
    Effect.mapError((error) =>
      new ChainClient.ChainUnavailable({ operation, detail: `undecodable chain data: ${error.message}` })
    )
  )

/** The primaries whose bits are set: bit i (LSB first within each byte) is `primary_providers[i]`. */
const signersOf = <A>(primaries: ReadonlyArray<A>, bitfield: Uint8Array): ReadonlyArray<A> =>
  primaries.filter((_, i) => ((bitfield[i >> 3] ?? 0) & (1 << (i & 7))) !== 0)

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

/**
 * The configured signer cannot be turned into a key pair (the secret itself is never included).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidSigner extends Data.TaggedError("InvalidSigner")<{ readonly detail: string }> {
  override get message(): string {
    return `signer: ${this.detail}`
  }
}

/**
 * Builds the client on a connected api.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ClientOptions = {}) =>
  Effect.gen(function*() {
    const { api, connected, provider: rpcProvider } = yield* PolkadotApi
    const finalityTimeout = options.finalityTimeout ?? Duration.minutes(2)
    const period = options.mortalityPeriod ?? 256
    const readRetry = options.readRetry ??
      Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4)))
    const secret = options.signer
    const pair: KeyringPair | undefined = secret === undefined ? undefined : yield* Effect.try({
      try: () =>
        new Keyring({ type: options.keyType ?? "sr25519", ss58Format: Domain.SS58_PREFIX })
          .addFromUri(Redacted.value(secret)),
      // The keyring's message may quote the secret: only its kind is kept.
      catch: () =>
        new InvalidSigner({
          detail: "not a valid secret URI, mnemonic or seed (a dev URI like //Alice, 12 or 24 words, or 0x + 64 hex)"
        })
    })
    const signerAccount = pair === undefined
      ? Option.none<Domain.AccountId>()
      : Option.some(Schema.decodeSync(Domain.AccountId)(pair.address))

    const rpc = <A>(operation: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: unavailable(operation) })
    const read = <A>(operation: string, run: () => Promise<A>) => rpc(operation, run).pipe(Effect.retry(readRetry))

    // --------------------------------------------------------------------------- shape

    let shapeCache: PalletShape | undefined
    const shape = Effect.suspend(() => {
      const spec = api.runtimeVersion.specVersion.toNumber()
      if (shapeCache !== undefined && shapeCache.specVersion === spec) return Effect.succeed(shapeCache)
      return Either.match(detectShape(api), {
        onLeft: (unsupported) =>
          Effect.fail(
            new ChainClient.SubmissionFailed({
              stage: "Unsupported",
              detail: `unsupported StorageProvider pallet: ${unsupported.found}`,
              maybeIncluded: false
            })
          ),
        onRight: (detected) => Effect.sync(() => (shapeCache = detected))
      })
    })

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

    // --------------------------------------------------------------------------- reads

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
        const snapshot = wire.snapshot === null ? Option.none() : Option.some(
          new ChainClient.BucketSnapshot({
            commitment: new Domain.Commitment(
              "commitment" in wire.snapshot
                ? wire.snapshot.commitment
                : {
                  mmrRoot: wire.snapshot.mmrRoot,
                  startSeq: wire.snapshot.startSeq,
                  leafCount: wire.snapshot.leafCount
                },
              true
            ),
            checkpointBlock: wire.snapshot.checkpointBlock,
            signers: signersOf(wire.primaryProviders, wire.snapshot.primarySigners)
          }, true)
        )
        return new ChainClient.BucketInfo({
          bucketId,
          primaryProviders: wire.primaryProviders,
          minProviders: wire.minProviders,
          members: wire.members.map((m) => new ChainClient.BucketMember(m, true)),
          snapshot,
          frozenStartSeq: Option.fromNullable(wire.frozenStartSeq)
        }, true)
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

    // --------------------------------------------------------------------------- nonces

    /**
     * The next nonce per signer: the larger of the pool-aware `system_accountNextIndex` and this
     * process's own cursor, so that concurrent preparations never share a nonce. A reservation that
     * was never broadcast (a journal write failed, a round was interrupted) is handed out again after a
     * while rather than leaving a gap that would hold every later extrinsic back; two extrinsics with
     * one nonce can never both land.
     */
    const nonceLock = yield* Effect.makeSemaphore(1)
    let cursor = 0
    const reservations = new Map<number, { hash: Domain.H256; broadcast: boolean; atMillis: number }>()
    const ABANDONED_AFTER_MS = 30_000

    const reserveNonce = (chainNext: number, now: number): number => {
      for (const [nonce] of reservations) if (nonce < chainNext) reservations.delete(nonce)
      const abandoned = [...reservations].filter(([, r]) => !r.broadcast && now - r.atMillis > ABANDONED_AFTER_MS)
        .map(([nonce]) => nonce).sort((a, b) => a - b)[0]
      if (abandoned !== undefined) return abandoned
      const nonce = Math.max(chainNext, cursor)
      cursor = nonce + 1
      return nonce
    }

    const requireSigner = pair === undefined
      ? Effect.fail(
        new ChainClient.SubmissionFailed({ stage: "NoSigner", detail: "no signer configured", maybeIncluded: false })
      )
      : Effect.succeed(pair)

    /** Signs `build()` with a fresh nonce and a mortal era; `undefined` means the runtime lacks the call. */
    const sign = (build: () => SubmittableExtrinsic<"promise"> | undefined) =>
      nonceLock.withPermits(1)(Effect.gen(function*() {
        const signer = yield* requireSigner
        const chainNext = (yield* read("accountNextIndex", () => api.rpc.system.accountNextIndex(signer.address)))
          .toNumber()
        const best = yield* bestBlock
        const now = yield* Clock.currentTimeMillis
        const tx = build()
        if (tx === undefined) {
          return yield* new ChainClient.SubmissionFailed({
            stage: "Unsupported",
            detail: "the runtime's metadata has no such StorageProvider call",
            maybeIncluded: false
          })
        }
        const nonce = reserveNonce(chainNext, now)
        // The era is built here, from the latest finalized block (as the api itself prefers: no fork can
        // take it away), so its end is known exactly: past it, an extrinsic not on chain can never land
        // (the submitter's proof that it is dead).
        const anchor = yield* finalizedBlock
        const era = api.registry.createType("ExtrinsicEra", { current: anchor.number, period })
        const validUntilBlock = era.isMortalEra ? era.asMortalEra.death(anchor.number) - 1 : undefined
        yield* Effect.tryPromise({
          try: () => tx.signAsync(signer, { nonce, era, blockHash: anchor.hash }),
          catch: (error) =>
            new ChainClient.SubmissionFailed({ stage: "Signing", detail: String(error), maybeIncluded: false })
        })
        const hash = tx.hash.toHex() as Domain.H256
        reservations.set(nonce, { hash, broadcast: false, atMillis: now })
        return { bytes: tx.toHex(), hash, nonce, preparedAtBlock: best.number, validUntilBlock } satisfies PreparedTx
      }))

    const markBroadcast = (prepared: PreparedTx) =>
      Effect.sync(() => {
        const r = reservations.get(prepared.nonce)
        if (r !== undefined && r.hash === prepared.hash) r.broadcast = true
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

    /** The signer's nonce in the latest finalized state. */
    const finalizedNonce = (account: string) =>
      Effect.gen(function*() {
        const decorated = yield* at("accountNonce", undefined)
        const info = yield* read("accountNonce", () => decorated.query.system.account(account))
        const plain = toPlain(info)
        return typeof plain === "object" && plain !== null && !Array.isArray(plain) && "nonce" in plain
          ? Number(plain.nonce)
          : 0
      })

    /** Looks for the extrinsic in finalized blocks after `preparedAtBlock` (bounded by its mortality). */
    const locate = (prepared: PreparedTx, signer: string) =>
      Effect.gen(function*() {
        // Not final unless the signer's finalized nonce moved past it.
        if ((yield* finalizedNonce(signer)) <= prepared.nonce) return Option.none<Included>()
        const finalized = yield* finalizedBlock
        const last = Math.min(finalized.number, prepared.validUntilBlock ?? prepared.preparedAtBlock + period + 1)
        for (let n = last; n > prepared.preparedAtBlock; n--) {
          const hash = (yield* read("blockHash", () => api.rpc.chain.getBlockHash(n))).toHex() as Domain.H256
          const block = yield* read("block", () => api.rpc.chain.getBlock(hash))
          const index = block.block.extrinsics.findIndex((ext) => ext.hash.toHex() === prepared.hash)
          if (index >= 0) return Option.some(yield* included(hash, n, index))
        }
        return Option.none<Included>()
      })

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
          yield* markBroadcast(prepared)
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
                maybeIncluded: false
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

    /** Polls finalized blocks until the extrinsic shows up (it is in the pool or a block already). */
    /** The extrinsic is in the pool's hands: waits for it in a finalized block, or for the pool to let it go. */
    const awaitIncluded = (prepared: PreparedTx, signer: string) =>
      Effect.gen(function*() {
        const found = yield* locate(prepared, signer)
        if (Option.isSome(found)) return found
        const pending = yield* read("pendingExtrinsics", () => api.rpc.author.pendingExtrinsics())
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
      read("accountNextIndex", () => api.rpc.system.accountNextIndex(signer)).pipe(
        Effect.map((next) => next.toNumber() > prepared.nonce)
      )

    // --------------------------------------------------------------------------- checkpoints

    const receiptOf = (
      prepared: ChainClient.PreparedCheckpoint,
      inc: Included,
      extrinsicHash: Domain.H256,
      submittedAtMillis: number
    ) =>
      Effect.gen(function*() {
        const event = inc.events.find((e) => e.name === "storageProvider.BucketCheckpointed")
        if (event === undefined) {
          return yield* new ChainClient.ChainUnavailable({
            operation: "receipt",
            detail: `no BucketCheckpointed event for extrinsic ${inc.index} of block ${inc.blockHash}`
          })
        }
        const fields = yield* decodeWith(CheckpointedWire, "BucketCheckpointed")(toPlain(event.data))
        const checkpointed = fields.length === 3
          ? { bucketId: fields[0], commitment: fields[1], providers: fields[2] }
          : {
            bucketId: fields[0],
            commitment: { mmrRoot: fields[1], startSeq: fields[2], leafCount: fields[3] },
            providers: fields[4]
          }
        const { submission } = prepared
        const expectedSigners = new Set(submission.signatures.map((s) => s.signer))
        if (
          checkpointed.bucketId !== submission.bucketId ||
          checkpointed.commitment.mmrRoot !== submission.commitment.mmrRoot ||
          checkpointed.commitment.startSeq !== submission.commitment.startSeq ||
          checkpointed.commitment.leafCount !== submission.commitment.leafCount ||
          checkpointed.providers.length !== expectedSigners.size ||
          !checkpointed.providers.every((p) => expectedSigners.has(p))
        ) {
          return yield* new ChainClient.ChainUnavailable({
            operation: "receipt",
            detail:
              `BucketCheckpointed in ${inc.blockHash} does not match the submission (bucket ${checkpointed.bucketId})`
          })
        }
        const feeEvent = inc.events.find((e) => e.name === "transactionPayment.TransactionFeePaid")
        const fee = feeEvent === undefined
          ? undefined
          : (yield* decodeWith(FeePaidWire, "TransactionFeePaid")(toPlain(feeEvent.data)))[1]
        const finalizedAtMillis = yield* Clock.currentTimeMillis
        const commitment = new Domain.Commitment(checkpointed.commitment, true)
        return new ChainClient.CheckpointReceipt({
          bucketId: submission.bucketId,
          commitment,
          signers: checkpointed.providers,
          extrinsicHash,
          blockHash: inc.blockHash,
          blockNumber: inc.blockNumber as Domain.BlockNumber,
          extrinsicIndex: inc.index,
          event: new ChainClient.BucketCheckpointed({
            bucketId: checkpointed.bucketId,
            commitment,
            providers: checkpointed.providers
          }, true),
          submittedAtMillis,
          finalizedAtMillis,
          ...(fee === undefined ? {} : { fee })
        }, true)
      })

    const toPrepared = (submission: ChainClient.CheckpointSubmission, tx: PreparedTx, signer: Domain.AccountId) =>
      new ChainClient.PreparedCheckpoint({
        submission,
        extrinsicHash: tx.hash,
        bytes: tx.bytes,
        signer,
        nonce: tx.nonce,
        preparedAtBlock: tx.preparedAtBlock as Domain.BlockNumber,
        ...(tx.validUntilBlock === undefined ? {} : { validUntilBlock: tx.validUntilBlock as Domain.BlockNumber })
      }, true)

    const signCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
      Effect.flatMap(shape, (s) => sign(() => checkpointCall(api, s, submission)))

    const prepareCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
      Effect.gen(function*() {
        const signer = yield* requireSigner
        const tx = yield* signCheckpoint(submission)
        return toPrepared(submission, tx, Schema.decodeSync(Domain.AccountId)(signer.address))
      })

    const asTx = (prepared: ChainClient.PreparedCheckpoint): PreparedTx => ({
      bytes: prepared.bytes as `0x${string}`,
      hash: prepared.extrinsicHash,
      nonce: prepared.nonce,
      preparedAtBlock: prepared.preparedAtBlock,
      validUntilBlock: ChainClient.validUntil(prepared)
    })

    const submitPrepared = (prepared: ChainClient.PreparedCheckpoint) =>
      Effect.gen(function*() {
        const submittedAtMillis = yield* Clock.currentTimeMillis
        const reservation = reservations.get(prepared.nonce)
        const fresh = reservation !== undefined && reservation.hash === prepared.extrinsicHash && !reservation.broadcast
        const { included: inc, prepared: sent } = yield* drive(
          asTx(prepared),
          fresh ? Option.some(() => signCheckpoint(prepared.submission)) : Option.none()
        )
        return yield* receiptOf(prepared, inc, sent.hash, submittedAtMillis)
      })

    const findReceipt = (prepared: ChainClient.PreparedCheckpoint) =>
      Effect.gen(function*() {
        const found = yield* locate(asTx(prepared), prepared.signer)
        if (Option.isNone(found)) return Option.none<ChainClient.CheckpointReceipt>()
        const inc = yield* dispatchOutcome(found.value)
        const now = yield* Clock.currentTimeMillis
        return Option.some(
          yield* receiptOf(prepared, inc, prepared.extrinsicHash, now).pipe(
            Effect.mapError((e) => new ChainClient.ChainUnavailable({ operation: "findReceipt", detail: e.message }))
          )
        )
      })

    const nonceUsed = (prepared: ChainClient.PreparedCheckpoint) =>
      Effect.map(finalizedNonce(prepared.signer), (next) => next > prepared.nonce)

    const challengeOffchain = (challenge: ChainClient.OffchainChallenge) =>
      Effect.gen(function*() {
        const s = yield* shape
        if (s.challengeOffchain === "Absent") {
          return yield* new ChainClient.SubmissionFailed({
            stage: "Unsupported",
            detail: "this runtime has no StorageProvider.challenge_offchain",
            maybeIncluded: false
          })
        }
        const signOnce = () => sign(() => challengeCall(api, s, challenge))
        const tx = yield* signOnce()
        const { included: inc } = yield* drive(tx, Option.some(signOnce))
        const created = inc.events.find((e) => e.name === "storageProvider.ChallengeCreated")
        if (created === undefined) {
          return yield* new ChainClient.ChainUnavailable({
            operation: "challengeOffchain",
            detail: "no ChallengeCreated event"
          })
        }
        const [id] = yield* decodeWith(ChallengeCreatedWire, "ChallengeCreated")(toPlain(created.data))
        return new ChainClient.ChallengeReceipt({
          deadline: id.deadline,
          index: id.index,
          blockHash: inc.blockHash,
          blockNumber: inc.blockNumber as Domain.BlockNumber
        }, true)
      })

    return ChainClient.ChainClient.of({
      finalizedBlock,
      bestBlock,
      finalizedHeads,
      bucket,
      provider: (account, atHash) => provider(account, atHash),
      signer: signerAccount,
      prepareCheckpoint,
      submitPrepared,
      findReceipt,
      nonceUsed,
      challengeOffchain
    })
  })

/**
 * The live chain client on a `PolkadotApi` connection.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: ClientOptions = {}
): Layer.Layer<ChainClient.ChainClient, InvalidSigner, PolkadotApi> =>
  Layer.effect(ChainClient.ChainClient, make(options))

/**
 * From configuration: `CHECKPOINTER_SIGNER_SURI` (redacted; optional: read-only without it),
 * `CHECKPOINTER_SIGNER_KEY_TYPE` (sr25519, ed25519 or ecdsa), `CHECKPOINTER_FINALITY_TIMEOUT`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<
  ChainClient.ChainClient,
  ConfigError.ConfigError | InvalidSigner,
  PolkadotApi
> = Layer
  .unwrapEffect(
    Effect.gen(function*() {
      const signer = yield* Config.option(Config.redacted("CHECKPOINTER_SIGNER_SURI"))
      const keyType = yield* Config.literal("sr25519", "ed25519", "ecdsa")("CHECKPOINTER_SIGNER_KEY_TYPE").pipe(
        Config.withDefault("sr25519" as const)
      )
      const finalityTimeout = yield* Config.duration("CHECKPOINTER_FINALITY_TIMEOUT").pipe(
        Config.withDefault(Duration.minutes(2))
      )
      return layer({
        ...(Option.isSome(signer) ? { signer: signer.value } : {}),
        keyType,
        finalityTimeout
      })
    })
  )

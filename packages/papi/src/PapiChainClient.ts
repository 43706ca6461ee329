/**
 * A `ChainClient` (the chain port of `@checkpointer/core`) over polkadot-api, with the guarantees of
 * the `@polkadot/api` layer in `@checkpointer/polkadot`:
 *
 * - Reads are pinned to a block (the latest finalized by default), decoded again with Schema, and
 *   retried on transient failures.
 * - The pallet's era is read from the runtime's metadata (and again after a runtime upgrade); calls are
 *   built to match it.
 * - A checkpoint's fee is quoted by the runtime before anything is signed (`estimateFee`).
 * - Submissions are signed with a per-signer nonce manager and a mortal era; a refusal for the nonce on
 *   a fresh extrinsic is resolved by signing again, never by sending a second copy of something that
 *   may still land.
 * - A receipt is built from the finalized block: the extrinsic's index, its `BucketCheckpointed` event
 *   checked against the submission, the fee it paid (`TransactionFeePaid`).
 * - When the watch is lost (socket or follow subscription gone), the outcome is established from the
 *   chain before anything is sent again; re-sending is only ever of the same signed bytes.
 *
 * Reads at a given block go through `chainHead_v1` while polkadot-api still pins it (the latest
 * finalized block, and a little history), else through `archive_v1`, which polkadot-api falls back to:
 * the devchain and Chopsticks serve it; a node serves it when its archive methods are enabled. Extrinsics
 * are found again after a drop from `System.BlockHash` and block bodies, the same way.
 *
 * **Dynamic, not generated descriptors.** Checkpointer drives every era of the pallet (A's flat
 * `checkpoint`, C's `Commitment`; `challenge_offchain` present or not; providers with or without keys)
 * and follows a runtime upgrade while running: one set of typed descriptors describes one runtime, and a
 * generated API checks compatibility against it, refusing exactly the calls whose shape changed between
 * eras. polkadot-api recommends its unsafe (dynamic) API for clients that must work across runtimes;
 * here the pallet's shape is read from the live metadata, the calls are built for that shape, and
 * everything read back is decoded with Schema, which is what typed descriptors would otherwise give.
 * It also keeps the package free of a codegen step and of chain-specific generated files, and lets it
 * share the host app's client whatever descriptors the app itself uses.
 *
 * @since 0.1.0
 */
import { ChainAdapter, ChainClient, Domain } from "@checkpointer/core"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { PolkadotClient, PolkadotSigner } from "polkadot-api"
import * as Checkpoints from "./internal/checkpoints.js"
import * as Nonces from "./internal/nonces.js"
import * as Reads from "./internal/reads.js"
import { detectShape, type PalletShape } from "./internal/shape.js"
import { fromSuri, type KeyType } from "./internal/signer.js"
import * as Transactions from "./internal/transactions.js"
import { PapiClient } from "./PapiClient.js"

/**
 * A signing account: a secret URI (derived here), or a polkadot-api signer the host app already has
 * (a wallet, the storage chain SDK's signer) with its SS58 address.
 *
 * @since 0.1.0
 * @category models
 */
export type SignerInput =
  | Redacted.Redacted<string>
  | { readonly signer: PolkadotSigner; readonly address: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** The signer (a secret URI is never logged). */
  readonly signer?: SignerInput
  /** The key type of a secret URI (default sr25519). */
  readonly keyType?: KeyType
  /** Buckets signed for by an account of their own; every other bucket's by `signer`. */
  readonly bucketSigners?: ReadonlyArray<{ readonly bucketId: Domain.BucketId; readonly signer: SignerInput }>
  /** Bound on waiting for a submission's finality (default 2 minutes). */
  readonly finalityTimeout?: Duration.DurationInput
  /** Mortal era length in blocks (a power of two; default 256). */
  readonly mortalityPeriod?: number
  /** Retry for reads on transient failures (default: exponential from 100 ms, 4 retries). */
  readonly readRetry?: Schedule.Schedule<unknown, ChainClient.ChainUnavailable>
}

/**
 * The configured signer cannot be turned into a key pair (the secret itself is never included).
 * Core's `ChainAdapter.InvalidSigner`, shared by both chain layers.
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidSigner = ChainAdapter.InvalidSigner
/**
 * @since 0.1.0
 * @category errors
 */
export type InvalidSigner = ChainAdapter.InvalidSigner

const resolveSigner = (input: SignerInput, keyType: KeyType, whose: string) =>
  Redacted.isRedacted(input)
    ? Effect.try({
      try: () => fromSuri(Redacted.value(input), keyType),
      catch: () =>
        new InvalidSigner({
          detail:
            `${whose}not a valid secret URI, mnemonic or seed (a dev URI like //Alice, 12 or 24 words, or 0x + 64 hex)`
        })
    })
    : Schema.decodeUnknown(Domain.AccountId)(input.address).pipe(
      Effect.map((address) => ({ signer: input.signer, address: address as string })),
      Effect.mapError(() => new InvalidSigner({ detail: `${whose}not an SS58 address: ${input.address}` }))
    )

/**
 * Builds the client on a polkadot-api client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ClientOptions = {}) =>
  Effect.gen(function*() {
    const { client } = yield* PapiClient
    const keyType = options.keyType ?? "sr25519"
    const period = options.mortalityPeriod ?? 256
    const finalityTimeout = options.finalityTimeout ?? Duration.minutes(2)
    const readRetry = options.readRetry ??
      Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4)))
    const main = options.signer === undefined ? undefined : yield* resolveSigner(options.signer, keyType, "")
    const bucketSigners = new Map<Domain.BucketId, { signer: PolkadotSigner; address: string }>()
    for (const { bucketId, signer } of options.bucketSigners ?? []) {
      bucketSigners.set(bucketId, yield* resolveSigner(signer, keyType, `bucket ${bucketId}'s signer: `))
    }

    const reads = Reads.make(client, readRetry)
    const shape = yield* shapeCache(client, reads)
    const signingWith = (signer: { signer: PolkadotSigner; address: string } | undefined) =>
      Effect.map(Nonces.make(reads), (nonces) => {
        const transactions = Transactions.make({ client, reads, nonces, signer, period, finalityTimeout })
        return Checkpoints.make({ api: reads.api, shape, nonces, transactions })
      })
    const primary = yield* signingWith(main)
    const byAccount = new Map<string, typeof primary>()
    if (main !== undefined) byAccount.set(main.address, primary)
    for (const signer of bucketSigners.values()) {
      if (!byAccount.has(signer.address)) byAccount.set(signer.address, yield* signingWith(signer))
    }
    const forBucket = (bucketId: Domain.BucketId) => {
      const own = bucketSigners.get(bucketId)
      return own === undefined ? primary : byAccount.get(own.address)!
    }
    const forPrepared = (prepared: ChainClient.PreparedCheckpoint) => byAccount.get(prepared.signer) ?? primary
    const accountOf = (address: string) => Schema.decodeSync(Domain.AccountId)(address)
    const signerAccount = main === undefined ? Option.none<Domain.AccountId>() : Option.some(accountOf(main.address))

    return ChainClient.ChainClient.of({
      finalizedBlock: reads.finalizedBlock,
      bestBlock: reads.bestBlock,
      finalizedHeads: reads.finalizedHeads,
      bucket: reads.bucket,
      provider: (account, at) => reads.provider(account, at),
      signer: signerAccount,
      signerFor: (bucketId) => {
        const own = bucketSigners.get(bucketId)
        return own === undefined ? signerAccount : Option.some(accountOf(own.address))
      },
      estimateFee: (submission) => forBucket(submission.bucketId).estimateFee(submission),
      freeBalance: reads.freeBalance,
      prepareCheckpoint: (submission) => forBucket(submission.bucketId).prepareCheckpoint(submission),
      submitPrepared: (prepared) => forPrepared(prepared).submitPrepared(prepared),
      findReceipt: (prepared) => forPrepared(prepared).findReceipt(prepared),
      nonceUsed: (prepared) => forPrepared(prepared).nonceUsed(prepared),
      challengeOffchain: (challenge) => primary.challengeOffchain(challenge)
    })
  })

/**
 * The pallet's shape for the runtime at the latest finalized block (what extrinsics are signed
 * against), detected once per runtime: polkadot-api hands out one metadata object per runtime, so a
 * runtime upgrade is a new object and a new detection.
 */
const shapeCache = (client: PolkadotClient, reads: Reads.Reads) =>
  Effect.sync(() => {
    const shapes = new WeakMap<Uint8Array, PalletShape>()
    return Effect.gen(function*() {
      const finalized = yield* reads.finalizedBlock
      const metadata = yield* reads.read("metadata", () => client.getMetadata(finalized.hash))
      const cached = shapes.get(metadata)
      if (cached !== undefined) return cached
      const detected = yield* Effect.try({
        try: () => detectShape(metadata),
        catch: Reads.unavailable("metadata")
      })
      if ("unsupported" in detected) {
        return yield* new ChainClient.SubmissionFailed({
          stage: "Unsupported",
          detail: `unsupported StorageProvider pallet: ${detected.unsupported}`,
          maybeIncluded: false
        })
      }
      shapes.set(metadata, detected)
      return detected
    })
  })

/**
 * The live chain client on a `PapiClient`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ClientOptions = {}): Layer.Layer<ChainClient.ChainClient, InvalidSigner, PapiClient> =>
  Layer.effect(ChainClient.ChainClient, make(options))

/**
 * The live chain client from configuration: `CHECKPOINTER_SIGNER_SURI` (redacted),
 * `CHECKPOINTER_SIGNER_KEY_TYPE` and `CHECKPOINTER_FINALITY_TIMEOUT`, the names `@checkpointer/polkadot`
 * reads.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<
  ChainClient.ChainClient,
  ConfigError.ConfigError | InvalidSigner,
  PapiClient
> = Layer.unwrapEffect(Effect.map(ChainAdapter.signerConfig, layer))

/**
 * The production `ChainClient`: the chain port of `@checkpointer/core` over `@polkadot/api`.
 *
 * - Reads are pinned to a block (the latest finalized by default), decoded with Schema, and retried
 *   on transient failures.
 * - The pallet's era is read from the metadata (and again after a runtime upgrade); calls are built
 *   to match it.
 * - A checkpoint's fee is quoted by the runtime before anything is signed (`estimateFee`), as the
 *   extrinsic would be signed; the signer's free balance is read at the best block (`freeBalance`).
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
import { ChainAdapter, ChainClient, Domain } from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Challenges from "./internal/challenges.js"
import * as Checkpoints from "./internal/checkpoints.js"
import * as Inclusion from "./internal/inclusion.js"
import * as Nonces from "./internal/nonces.js"
import * as Reads from "./internal/reads.js"
import * as Shape from "./internal/shape.js"
import * as Transactions from "./internal/transactions.js"
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
  /**
   * Buckets signed for by an account of their own (secret URIs, never logged; the same key type); every
   * other bucket's submissions are signed by `signer`. Each account has its own nonces.
   */
  readonly bucketSigners?: ReadonlyArray<
    { readonly bucketId: Domain.BucketId; readonly signer: Redacted.Redacted<string> }
  >
  /** Bound on waiting for a submission's finality (default 2 minutes). */
  readonly finalityTimeout?: Duration.DurationInput
  /** Mortal era length in blocks for signed extrinsics (default 256; at most the chain's BlockHashCount). */
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

/**
 * Builds the client on a connected api.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ClientOptions = {}) =>
  Effect.gen(function*() {
    const { api, connected, provider } = yield* PolkadotApi
    const finalityTimeout = options.finalityTimeout ?? Duration.minutes(2)
    const period = options.mortalityPeriod ?? 256
    const readRetry = options.readRetry ??
      Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4)))
    const keyring = new Keyring({ type: options.keyType ?? "sr25519", ss58Format: Domain.SS58_PREFIX })
    const pairOf = (secret: Redacted.Redacted<string>, whose: string) =>
      Effect.try({
        try: (): KeyringPair => keyring.addFromUri(Redacted.value(secret)),
        // The keyring's message may quote the secret: only its kind is kept.
        catch: () =>
          new InvalidSigner({
            detail:
              `${whose}not a valid secret URI, mnemonic or seed (a dev URI like //Alice, 12 or 24 words, or 0x + 64 hex)`
          })
      })
    const accountOf = (pair: KeyringPair) => Schema.decodeSync(Domain.AccountId)(pair.address)
    const pair = options.signer === undefined ? undefined : yield* pairOf(options.signer, "")
    const signerAccount = pair === undefined ? Option.none<Domain.AccountId>() : Option.some(accountOf(pair))
    const bucketPairs = new Map<Domain.BucketId, KeyringPair>()
    for (const { bucketId, signer } of options.bucketSigners ?? []) {
      bucketPairs.set(bucketId, yield* pairOf(signer, `bucket ${bucketId}'s signer: `))
    }

    const reads = Reads.make(api, readRetry)
    const shape = Shape.makeCache(api)
    // Nonces, signing and submission per signing account (several buckets of one account submit at once
    // through one nonce manager); reads, the runtime's shape and inclusion are shared.
    const nonces = yield* Nonces.make(api, reads)
    const inclusion = Inclusion.make(api, reads, nonces, period)
    const signingWith = (signingPair: KeyringPair | undefined, signingNonces: Nonces.Nonces) => {
      const transactions = Transactions.make({
        api,
        provider,
        connected,
        reads,
        nonces: signingNonces,
        inclusion,
        pair: signingPair,
        period,
        finalityTimeout
      })
      return {
        transactions,
        checkpoints: Checkpoints.make({ api, shape, nonces: signingNonces, inclusion, transactions })
      }
    }
    const main = signingWith(pair, nonces)
    const byAccount = new Map<string, ReturnType<typeof signingWith>>()
    if (pair !== undefined) byAccount.set(pair.address, main)
    for (const bucketPair of bucketPairs.values()) {
      if (!byAccount.has(bucketPair.address)) {
        byAccount.set(bucketPair.address, signingWith(bucketPair, yield* Nonces.make(api, reads)))
      }
    }
    const forBucket = (bucketId: Domain.BucketId) => {
      const own = bucketPairs.get(bucketId)
      return own === undefined ? main : byAccount.get(own.address)!
    }
    const forPrepared = (prepared: ChainClient.PreparedCheckpoint) => byAccount.get(prepared.signer) ?? main
    const { challengeOffchain } = Challenges.make(api, shape, main.transactions)

    return ChainClient.ChainClient.of({
      finalizedBlock: reads.finalizedBlock,
      bestBlock: reads.bestBlock,
      finalizedHeads: reads.finalizedHeads,
      bucket: reads.bucket,
      provider: (account, atHash) => reads.provider(account, atHash),
      signer: signerAccount,
      signerFor: (bucketId) => {
        const own = bucketPairs.get(bucketId)
        return own === undefined ? signerAccount : Option.some(accountOf(own))
      },
      estimateFee: (submission) => forBucket(submission.bucketId).checkpoints.estimateFee(submission),
      freeBalance: reads.freeBalance,
      prepareCheckpoint: (submission) => forBucket(submission.bucketId).checkpoints.prepareCheckpoint(submission),
      submitPrepared: (prepared) => forPrepared(prepared).checkpoints.submitPrepared(prepared),
      findReceipt: (prepared) => forPrepared(prepared).checkpoints.findReceipt(prepared),
      nonceUsed: (prepared) => forPrepared(prepared).checkpoints.nonceUsed(prepared),
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
> = Layer.unwrapEffect(Effect.map(ChainAdapter.signerConfig, layer))

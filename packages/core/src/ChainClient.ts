/**
 * The chain port: every read and write of the storage chain that Checkpointer needs, in domain
 * types only (no `@polkadot` type appears here). The live layer over `@polkadot/api` lives in
 * `@checkpointer/polkadot`; an in-memory chain that enforces the pallet's rules is in
 * `@checkpointer/testing`.
 *
 * Reads take an optional block hash so that one round can pin its reads to one consistent state.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import {
  AccountId,
  BlockNumber,
  BucketId,
  Commitment,
  H256,
  MultiSignatureFromHex,
  PublicKey,
  Role,
  U64
} from "./Domain.js"

// ---------------------------------------------------------------------------------------------------
// Chain state
// ---------------------------------------------------------------------------------------------------

/**
 * A block by number and hash.
 *
 * @since 0.1.0
 * @category models
 */
export class BlockRef extends Schema.Class<BlockRef>("BlockRef")({
  number: BlockNumber,
  hash: H256
}) {}

/**
 * A member of a bucket and its role.
 *
 * @since 0.1.0
 * @category models
 */
export class BucketMember extends Schema.Class<BucketMember>("BucketMember")({
  account: AccountId,
  role: Role
}) {}

/**
 * The checkpoint a bucket currently holds on chain (`Bucket.snapshot`). `signers` are the primaries
 * whose bits are set in the snapshot's bitfield, in primary order.
 *
 * @since 0.1.0
 * @category models
 */
export class BucketSnapshot extends Schema.Class<BucketSnapshot>("BucketSnapshot")({
  commitment: Commitment,
  checkpointBlock: BlockNumber,
  signers: Schema.Array(AccountId)
}) {}

/**
 * What a round needs to know of a bucket: its primaries (in on-chain order, which is the bitfield
 * order), the chain's signature floor, its members and its current snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export class BucketInfo extends Schema.Class<BucketInfo>("BucketInfo")({
  bucketId: BucketId,
  primaryProviders: Schema.Array(AccountId),
  minProviders: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  members: Schema.Array(BucketMember),
  snapshot: Schema.OptionFromNullOr(BucketSnapshot),
  frozenStartSeq: Schema.OptionFromNullOr(U64)
}) {
  /** The role of an account in this bucket, if it is a member. */
  roleOf(account: AccountId): Role | undefined {
    return this.members.find((member) => member.account === account)?.role
  }
}

/**
 * A provider's on-chain registration (`Providers[account]`). The oldest pallet era registers no
 * public key; signatures are then checked against the account itself.
 *
 * @since 0.1.0
 * @category models
 */
export class ProviderRecord extends Schema.Class<ProviderRecord>("ProviderRecord")({
  accountId: AccountId,
  multiaddr: Schema.String,
  publicKey: Schema.OptionFromNullOr(PublicKey)
}) {}

// ---------------------------------------------------------------------------------------------------
// Submissions and receipts
// ---------------------------------------------------------------------------------------------------

/**
 * One provider's signature in a checkpoint.
 *
 * @since 0.1.0
 * @category models
 */
export class CheckpointSignature extends Schema.Class<CheckpointSignature>("CheckpointSignature")({
  signer: AccountId,
  signature: MultiSignatureFromHex
}) {}

/**
 * The arguments of the `checkpoint` extrinsic (era A's flat form and era C's `Commitment` carry the
 * same values; the live layer builds whichever the metadata describes).
 *
 * @since 0.1.0
 * @category models
 */
export class CheckpointSubmission extends Schema.Class<CheckpointSubmission>("CheckpointSubmission")({
  bucketId: BucketId,
  commitment: Commitment,
  signatures: Schema.Array(CheckpointSignature)
}) {}

/**
 * A signed `checkpoint` extrinsic, ready to broadcast: its hash, its bytes and the signer's nonce it
 * uses. Broadcasting the same prepared extrinsic again can never be included twice (the nonce can be
 * used once), which is what lets a journal re-send it safely after a crash.
 *
 * @since 0.1.0
 * @category models
 */
export class PreparedCheckpoint extends Schema.Class<PreparedCheckpoint>("PreparedCheckpoint")({
  submission: CheckpointSubmission,
  extrinsicHash: H256,
  bytes: Schema.String,
  signer: AccountId,
  nonce: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  /** The best block when it was prepared: a receipt, if any, is in a later block. */
  preparedAtBlock: BlockNumber,
  /**
   * The last block that can include it (the end of its mortal era). Journals written before this field
   * existed lack it: `validUntil` then assumes the default era of 256 blocks.
   */
  validUntilBlock: Schema.optional(BlockNumber)
}) {}

/**
 * The default mortal era of a signed extrinsic, in blocks.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MORTALITY = 256

/**
 * The last block that can include a prepared extrinsic: past it, an extrinsic not found on chain can
 * never land.
 *
 * @since 0.1.0
 * @category functions
 */
export const validUntil = (prepared: PreparedCheckpoint): number =>
  prepared.validUntilBlock ?? prepared.preparedAtBlock + DEFAULT_MORTALITY

/**
 * The `BucketCheckpointed` event as it was emitted.
 *
 * @since 0.1.0
 * @category models
 */
export class BucketCheckpointed extends Schema.Class<BucketCheckpointed>("BucketCheckpointed")({
  bucketId: BucketId,
  commitment: Commitment,
  providers: Schema.Array(AccountId)
}) {}

/**
 * Proof that a checkpoint landed: where (block, extrinsic), what (commitment, signers, the event) and
 * when (milliseconds since the epoch, by the submitting process's clock).
 *
 * @since 0.1.0
 * @category models
 */
export class CheckpointReceipt extends Schema.Class<CheckpointReceipt>("CheckpointReceipt")({
  bucketId: BucketId,
  commitment: Commitment,
  signers: Schema.Array(AccountId),
  extrinsicHash: H256,
  blockHash: H256,
  blockNumber: BlockNumber,
  extrinsicIndex: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  event: BucketCheckpointed,
  submittedAtMillis: Schema.Number,
  finalizedAtMillis: Schema.Number,
  /** The fee the extrinsic paid (`TransactionFeePaid.actual_fee`), where the chain reports it. */
  fee: Schema.optional(Schema.BigInt)
}) {}

/**
 * The chunk a challenge targets.
 *
 * @since 0.1.0
 * @category models
 */
export class ChunkLocation extends Schema.Class<ChunkLocation>("ChunkLocation")({
  leafIndex: U64,
  chunkIndex: U64
}) {}

/**
 * The arguments of `challenge_offchain`: a provider is held to a commitment it signed itself.
 *
 * @since 0.1.0
 * @category models
 */
export class OffchainChallenge extends Schema.Class<OffchainChallenge>("OffchainChallenge")({
  bucketId: BucketId,
  provider: AccountId,
  commitment: Commitment,
  target: ChunkLocation,
  signature: MultiSignatureFromHex
}) {}

/**
 * A challenge that was created on chain.
 *
 * @since 0.1.0
 * @category models
 */
export class ChallengeReceipt extends Schema.Class<ChallengeReceipt>("ChallengeReceipt")({
  deadline: BlockNumber,
  index: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  blockHash: H256,
  blockNumber: BlockNumber
}) {}

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/**
 * The chain could not be reached or read (connection lost, RPC error, undecodable state).
 *
 * @since 0.1.0
 * @category errors
 */
export class ChainUnavailable extends Schema.TaggedError<ChainUnavailable>()("ChainUnavailable", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `chain ${this.operation} failed: ${this.detail}`
  }
}

/**
 * The bucket does not exist on chain.
 *
 * @since 0.1.0
 * @category errors
 */
export class BucketNotFound extends Schema.TaggedError<BucketNotFound>()("BucketNotFound", {
  bucketId: BucketId
}) {
  override get message(): string {
    return `bucket ${this.bucketId} does not exist on chain`
  }
}

/**
 * The chain executed the extrinsic and rejected it: the fee was paid, the state did not change.
 * `error` keeps the module error's name (`InsufficientSignatures`, `NotBucketWriter`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class DispatchFailed extends Schema.TaggedError<DispatchFailed>()("DispatchFailed", {
  module: Schema.String,
  error: Schema.String,
  detail: Schema.String,
  blockHash: Schema.OptionFromNullOr(H256)
}) {
  override get message(): string {
    return `${this.module}.${this.error}${this.detail === "" ? "" : `: ${this.detail}`}`
  }
}

/**
 * The extrinsic did not reach a final outcome: it could not be signed, the pool refused or dropped it,
 * or finality did not come in time. `maybeIncluded` says whether it might still land.
 *
 * @since 0.1.0
 * @category errors
 */
export class SubmissionFailed extends Schema.TaggedError<SubmissionFailed>()("SubmissionFailed", {
  stage: Schema.Literal("NoSigner", "Signing", "Pool", "Dropped", "Stale", "FinalityTimeout", "Unsupported"),
  detail: Schema.String,
  maybeIncluded: Schema.Boolean
}) {
  override get message(): string {
    return `checkpoint submission failed at ${this.stage}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type ChainReadError = ChainUnavailable | BucketNotFound

/**
 * @since 0.1.0
 * @category errors
 */
export type ChainWriteError = DispatchFailed | SubmissionFailed | ChainUnavailable

// ---------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface ChainClientService {
  /** The latest finalized block. */
  readonly finalizedBlock: Effect.Effect<BlockRef, ChainUnavailable>
  /** The best (latest, possibly unfinalized) block. */
  readonly bestBlock: Effect.Effect<BlockRef, ChainUnavailable>
  /** Finalized heads as they come. */
  readonly finalizedHeads: Stream.Stream<BlockRef, ChainUnavailable>
  /** A bucket, at a given block or the latest finalized one. */
  readonly bucket: (bucketId: BucketId, at?: H256) => Effect.Effect<BucketInfo, ChainReadError>
  /** A provider's registration, if it is registered. */
  readonly provider: (account: AccountId, at?: H256) => Effect.Effect<Option.Option<ProviderRecord>, ChainUnavailable>
  /** The account that signs submissions, if one is configured. */
  readonly signer: Option.Option<AccountId>
  /**
   * The account that signs this bucket's submissions: its own signer where the client has one for it,
   * else `signer`. `estimateFee` and `prepareCheckpoint` sign a submission as the signer of its bucket.
   */
  readonly signerFor: (bucketId: BucketId) => Option.Option<AccountId>
  /**
   * The fee (planck) the `checkpoint` extrinsic for this submission would pay, as `prepareCheckpoint`
   * would sign it (same signer, era and length), quoted by the chain's fee model. Nothing is signed and
   * no nonce is taken: the submitter asks before it decides to pay.
   */
  readonly estimateFee: (
    submission: CheckpointSubmission
  ) => Effect.Effect<bigint, SubmissionFailed | ChainUnavailable>
  /** An account's free balance (planck), at the best block: what the next fee is taken from. */
  readonly freeBalance: (account: AccountId) => Effect.Effect<bigint, ChainUnavailable>
  /** Signs a `checkpoint` extrinsic with the signer's next nonce, without sending it. */
  readonly prepareCheckpoint: (submission: CheckpointSubmission) => Effect.Effect<PreparedCheckpoint, ChainWriteError>
  /**
   * Broadcasts a prepared extrinsic and waits for finality; the receipt proves the event was emitted.
   * Broadcasting one already included returns its receipt; one whose nonce was used by another
   * extrinsic fails with `SubmissionFailed` at stage `Stale`.
   */
  readonly submitPrepared: (prepared: PreparedCheckpoint) => Effect.Effect<CheckpointReceipt, ChainWriteError>
  /** The receipt of a prepared extrinsic if it was included and finalized, by searching from where it was prepared. */
  readonly findReceipt: (
    prepared: PreparedCheckpoint
  ) => Effect.Effect<Option.Option<CheckpointReceipt>, ChainUnavailable | DispatchFailed>
  /**
   * Whether the signer's finalized nonce has moved past the prepared extrinsic's: then it was included
   * (and `findReceipt` finds it) or another extrinsic used its nonce, and it can never land.
   */
  readonly nonceUsed: (prepared: PreparedCheckpoint) => Effect.Effect<boolean, ChainUnavailable>
  /** Submits `challenge_offchain` and waits for finality. */
  readonly challengeOffchain: (challenge: OffchainChallenge) => Effect.Effect<ChallengeReceipt, ChainWriteError>
}

/**
 * The chain port.
 *
 * @since 0.1.0
 * @category tags
 */
export class ChainClient extends Context.Tag("@checkpointer/core/ChainClient")<ChainClient, ChainClientService>() {}

/**
 * Prepares and broadcasts in one step, for callers that keep no journal.
 *
 * @since 0.1.0
 * @category combinators
 */
export const submitCheckpoint = (
  chain: ChainClientService,
  submission: CheckpointSubmission
): Effect.Effect<CheckpointReceipt, ChainWriteError> =>
  Effect.flatMap(chain.prepareCheckpoint(submission), chain.submitPrepared)

/**
 * What every `ChainClient` adapter over a Substrate client library needs and no client library
 * decides: the signer's nonce cursor, the bucket and receipt built from decoded chain data (a
 * receipt is refused unless the chain's `BucketCheckpointed` matches the submission), and the
 * checkpoint half of the port (`estimateFee`, `prepareCheckpoint`, `submitPrepared`, `findReceipt`,
 * `nonceUsed`) over an adapter's signing, driving and searching primitives.
 *
 * `@checkpointer/polkadot` (over `@polkadot/api`) and `@checkpointer/papi` (over polkadot-api) both
 * build on it, so the rules that keep a checkpoint from being paid twice are written once.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  BucketCheckpointed,
  BucketInfo,
  BucketMember,
  BucketSnapshot,
  ChainUnavailable,
  ChallengeReceipt,
  CheckpointReceipt,
  type CheckpointSubmission,
  type OffchainChallenge,
  PreparedCheckpoint,
  SubmissionFailed,
  validUntil
} from "./ChainClient.js"
import {
  type AccountId,
  type BlockNumber,
  type BucketId,
  BytesFromHex,
  Commitment,
  type H256,
  type Role,
  type U64
} from "./Domain.js"

// ---------------------------------------------------------------------------------------------------
// Errors of making an adapter
// ---------------------------------------------------------------------------------------------------

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
 * The connection could not be established in time (bad endpoint, no node, no finalized block).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionFailed extends Data.TaggedError("ConnectionFailed")<{
  readonly endpoints: ReadonlyArray<string>
  readonly detail: string
}> {
  override get message(): string {
    return `cannot connect to ${this.endpoints.join(", ")}: ${this.detail}`
  }
}

// ---------------------------------------------------------------------------------------------------
// Configuration both layers read
// ---------------------------------------------------------------------------------------------------

/**
 * The connection from configuration: `CHECKPOINTER_CHAIN_ENDPOINTS` (comma-separated WebSocket URLs,
 * blanks dropped) and optional `CHECKPOINTER_CHAIN_CONNECT_TIMEOUT` (a duration such as `30 seconds`).
 *
 * @since 0.1.0
 * @category config
 */
export const connectionConfig: Config.Config<{
  readonly endpoints: ReadonlyArray<string>
  readonly connectTimeout?: Duration.Duration
}> = Config.all({
  endpoints: Config.array(Config.string(), "CHECKPOINTER_CHAIN_ENDPOINTS"),
  connectTimeout: Config.option(Config.duration("CHECKPOINTER_CHAIN_CONNECT_TIMEOUT"))
}).pipe(Config.map(({ connectTimeout, endpoints }) => ({
  endpoints: endpoints.map((e) => e.trim()).filter((e) => e.length > 0),
  ...(Option.isSome(connectTimeout) ? { connectTimeout: connectTimeout.value } : {})
})))

/**
 * The signer from configuration: `CHECKPOINTER_SIGNER_SURI` (redacted; none: read-only),
 * `CHECKPOINTER_SIGNER_KEY_TYPE` (default sr25519) and `CHECKPOINTER_FINALITY_TIMEOUT` (default 2 minutes).
 *
 * @since 0.1.0
 * @category config
 */
export const signerConfig: Config.Config<{
  readonly signer?: Redacted.Redacted<string>
  readonly keyType: "sr25519" | "ed25519" | "ecdsa"
  readonly finalityTimeout: Duration.Duration
}> = Config.all({
  signer: Config.option(Config.redacted("CHECKPOINTER_SIGNER_SURI")),
  keyType: Config.literal("sr25519", "ed25519", "ecdsa")("CHECKPOINTER_SIGNER_KEY_TYPE").pipe(
    Config.withDefault("sr25519" as const)
  ),
  finalityTimeout: Config.duration("CHECKPOINTER_FINALITY_TIMEOUT").pipe(Config.withDefault(Duration.minutes(2)))
}).pipe(Config.map(({ finalityTimeout, keyType, signer }) => ({
  ...(Option.isSome(signer) ? { signer: signer.value } : {}),
  keyType,
  finalityTimeout
})))

// ---------------------------------------------------------------------------------------------------
// Nonces
// ---------------------------------------------------------------------------------------------------

/** A reservation never broadcast is handed out again after this long, rather than leaving a gap. */
const ABANDONED_AFTER_MS = 30_000

/**
 * An extrinsic signed with a nonce this process handed out.
 *
 * @since 0.1.0
 * @category nonces
 */
export interface Signed {
  readonly nonce: number
  readonly hash: H256
}

/**
 * One signer's nonces as this process hands them out. The next nonce is the larger of the chain's
 * (as the adapter reads it: pool-aware, or at the best block) and this process's own cursor, so
 * concurrent preparations never share a nonce. A reservation never broadcast (a journal write failed,
 * a round was interrupted) is handed out again after a while rather than leaving a gap that would hold
 * every later extrinsic back; two extrinsics with one nonce can never both land.
 *
 * @since 0.1.0
 * @category nonces
 */
export interface NonceCursor {
  /** Runs one preparation at a time: from reading the chain's next nonce to recording the signed extrinsic. */
  readonly serialize: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The nonce to sign with next, given the chain's next nonce (call under `serialize`). */
  readonly reserve: (chainNext: number, nowMillis: number) => number
  /** Records the extrinsic signed with a reserved nonce, not broadcast yet. */
  readonly record: (signed: Signed, nowMillis: number) => void
  /** Gives a nonce back when nothing signed with it can land: it is handed out again next, leaving no gap. */
  readonly release: (nonce: number) => Effect.Effect<void>
  /** From now on the extrinsic may land: its nonce is no longer handed out again. */
  readonly markBroadcast: (signed: Signed) => Effect.Effect<void>
  /** Whether this process signed the extrinsic and never broadcast it: nothing else with its nonce of ours can land. */
  readonly isFresh: (signed: Signed) => boolean
}

/**
 * A nonce cursor with nothing reserved.
 *
 * @since 0.1.0
 * @category nonces
 */
export const makeNonceCursor: Effect.Effect<NonceCursor> = Effect.map(Effect.makeSemaphore(1), (lock) => {
  let cursor = 0
  const reservations = new Map<number, { readonly hash: H256; broadcast: boolean; readonly atMillis: number }>()
  return {
    serialize: lock.withPermits(1),
    reserve: (chainNext, now) => {
      for (const [nonce] of reservations) if (nonce < chainNext) reservations.delete(nonce)
      const abandoned = [...reservations].filter(([, r]) => !r.broadcast && now - r.atMillis > ABANDONED_AFTER_MS)
        .map(([nonce]) => nonce).sort((a, b) => a - b)[0]
      if (abandoned !== undefined) return abandoned
      const nonce = Math.max(chainNext, cursor)
      cursor = nonce + 1
      return nonce
    },
    record: (signed, now) => {
      reservations.set(signed.nonce, { hash: signed.hash, broadcast: false, atMillis: now })
    },
    release: (nonce) =>
      Effect.sync(() => {
        reservations.delete(nonce)
        if (cursor === nonce + 1) cursor = nonce
      }),
    markBroadcast: (signed) =>
      Effect.sync(() => {
        const r = reservations.get(signed.nonce)
        if (r !== undefined && r.hash === signed.hash) r.broadcast = true
      }),
    isFresh: (signed) => {
      const r = reservations.get(signed.nonce)
      return r !== undefined && r.hash === signed.hash && !r.broadcast
    }
  }
})

// ---------------------------------------------------------------------------------------------------
// Chain data into the domain
// ---------------------------------------------------------------------------------------------------

/**
 * Decodes chain data (as an adapter turned it into plain values) with a wire schema; what does not
 * decode is the chain's data unavailable for `operation`, never a defect.
 *
 * @since 0.1.0
 * @category decoded
 */
export const decodeWith = <A, I>(schema: Schema.Schema<A, I, never>, operation: string) => (plain: unknown) =>
  Schema.decodeUnknown(schema)(plain).pipe(
    Effect.mapError((error) => new ChainUnavailable({ operation, detail: `undecodable chain data: ${error.message}` }))
  )

/**
 * A `Vec<u8>` holding UTF-8 text (a provider's multiaddr), from its `0x` hex.
 *
 * @since 0.1.0
 * @category decoded
 */
export const Utf8FromHex = Schema.transformOrFail(BytesFromHex, Schema.String, {
  strict: true,
  decode: (bytes, _, ast) => {
    try {
      return ParseResult.succeed(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, bytes, "not UTF-8 text"))
    }
  },
  encode: (text) => ParseResult.succeed(new TextEncoder().encode(text))
})

/**
 * A commitment's three fields as decoded from the chain.
 *
 * @since 0.1.0
 * @category decoded
 */
export interface CommitmentFields {
  readonly mmrRoot: H256
  readonly startSeq: U64
  readonly leafCount: U64
}

/**
 * A `Bucket` as decoded from the chain (already through the adapter's wire schema), field names
 * normalised.
 *
 * @since 0.1.0
 * @category decoded
 */
export interface BucketFields {
  readonly primaryProviders: ReadonlyArray<AccountId>
  readonly minProviders: number
  readonly members: ReadonlyArray<{ readonly account: AccountId; readonly role: Role }>
  readonly snapshot:
    | null
    | {
      readonly commitment: CommitmentFields
      readonly checkpointBlock: BlockNumber
      readonly primarySigners: Uint8Array
    }
  readonly frozenStartSeq: U64 | null
}

/**
 * The primaries whose bits are set: bit i (LSB first within each byte) is `primaryProviders[i]`.
 *
 * @since 0.1.0
 * @category decoded
 */
export const signersOf = <A>(primaries: ReadonlyArray<A>, bitfield: Uint8Array): ReadonlyArray<A> =>
  primaries.filter((_, i) => ((bitfield[i >> 3] ?? 0) & (1 << (i & 7))) !== 0)

/**
 * The port's `BucketInfo` from a decoded bucket.
 *
 * @since 0.1.0
 * @category decoded
 */
export const bucketInfo = (bucketId: BucketId, wire: BucketFields): BucketInfo =>
  new BucketInfo({
    bucketId,
    primaryProviders: wire.primaryProviders,
    minProviders: wire.minProviders,
    members: wire.members.map((m) => new BucketMember(m, true)),
    snapshot: wire.snapshot === null ? Option.none() : Option.some(
      new BucketSnapshot({
        commitment: new Commitment(wire.snapshot.commitment, true),
        checkpointBlock: wire.snapshot.checkpointBlock,
        signers: signersOf(wire.primaryProviders, wire.snapshot.primarySigners)
      }, true)
    ),
    frozenStartSeq: Option.fromNullable(wire.frozenStartSeq)
  }, true)

/**
 * Where an extrinsic landed in a finalized block.
 *
 * @since 0.1.0
 * @category receipts
 */
export interface IncludedAt {
  readonly blockHash: H256
  readonly blockNumber: number
  readonly index: number
}

/**
 * A `BucketCheckpointed` event as decoded from the chain, in either era's layout.
 *
 * @since 0.1.0
 * @category receipts
 */
export interface CheckpointedFields {
  readonly bucketId: BucketId
  readonly commitment: CommitmentFields
  readonly providers: ReadonlyArray<AccountId>
}

/**
 * What an adapter read of an included `checkpoint`'s events: its `BucketCheckpointed` (if any) and
 * the fee its `TransactionFeePaid` says was paid (if any).
 *
 * @since 0.1.0
 * @category receipts
 */
export interface CheckpointEvents {
  readonly checkpointed: CheckpointedFields | undefined
  readonly fee: bigint | undefined
}

const sameSigners = (a: ReadonlyArray<AccountId>, expected: ReadonlySet<AccountId>) =>
  a.length === expected.size && a.every((p) => expected.has(p))

/**
 * The receipt of an included `checkpoint`, refused unless its `BucketCheckpointed` matches the
 * submission (bucket, commitment and signers): an event of someone else's extrinsic is no receipt.
 *
 * @since 0.1.0
 * @category receipts
 */
export const checkpointReceipt = (
  prepared: PreparedCheckpoint,
  included: IncludedAt,
  events: CheckpointEvents,
  extrinsicHash: H256,
  submittedAtMillis: number
): Effect.Effect<CheckpointReceipt, ChainUnavailable> =>
  Effect.gen(function*() {
    const { checkpointed, fee } = events
    if (checkpointed === undefined) {
      return yield* new ChainUnavailable({
        operation: "receipt",
        detail: `no BucketCheckpointed event for extrinsic ${included.index} of block ${included.blockHash}`
      })
    }
    const { submission } = prepared
    const { commitment: c } = checkpointed
    if (
      checkpointed.bucketId !== submission.bucketId ||
      c.mmrRoot !== submission.commitment.mmrRoot ||
      c.startSeq !== submission.commitment.startSeq ||
      c.leafCount !== submission.commitment.leafCount ||
      !sameSigners(checkpointed.providers, new Set(submission.signatures.map((s) => s.signer)))
    ) {
      return yield* new ChainUnavailable({
        operation: "receipt",
        detail:
          `BucketCheckpointed in ${included.blockHash} does not match the submission (bucket ${checkpointed.bucketId})`
      })
    }
    const finalizedAtMillis = yield* Clock.currentTimeMillis
    const commitment = new Commitment(c, true)
    return new CheckpointReceipt({
      bucketId: submission.bucketId,
      commitment,
      signers: checkpointed.providers,
      extrinsicHash,
      blockHash: included.blockHash,
      blockNumber: included.blockNumber as BlockNumber,
      extrinsicIndex: included.index,
      event: new BucketCheckpointed(
        { bucketId: checkpointed.bucketId, commitment, providers: checkpointed.providers },
        true
      ),
      submittedAtMillis,
      finalizedAtMillis,
      ...(fee === undefined ? {} : { fee })
    }, true)
  })

// ---------------------------------------------------------------------------------------------------
// The checkpoint half of the port
// ---------------------------------------------------------------------------------------------------

/**
 * A signed extrinsic with what is needed to follow it.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export interface SignedTx {
  readonly bytes: `0x${string}`
  readonly hash: H256
  readonly nonce: number
  readonly preparedAtBlock: number
  readonly validUntilBlock?: number | undefined
}

/**
 * A signed extrinsic as the journal has it: the end of its mortal era always known (journals without
 * the field assume the default era).
 *
 * @since 0.1.0
 * @category checkpoints
 */
export interface JournaledTx extends SignedTx {
  readonly validUntilBlock: number
}

/**
 * What an adapter provides for `checkpoints`. `drive` broadcasts the bytes (or re-sends them) and
 * follows them to a finalized outcome; `resign` is given only for bytes this process signed and never
 * sent, the one case where signing anew with a new nonce cannot pay twice. `locate` finds an extrinsic
 * in finalized blocks (none while the signer's finalized nonce has not passed it).
 *
 * @since 0.1.0
 * @category checkpoints
 */
export interface CheckpointPrimitives<T extends SignedTx, I extends IncludedAt, ES, ED, EL, EN> {
  readonly signerAddress: Effect.Effect<AccountId, ES>
  readonly sign: (submission: CheckpointSubmission) => Effect.Effect<T, ES>
  readonly estimate: (submission: CheckpointSubmission) => Effect.Effect<bigint, ES>
  readonly drive: (
    tx: T | JournaledTx,
    resign: Option.Option<() => Effect.Effect<T, ES>>
  ) => Effect.Effect<{ readonly included: I; readonly prepared: SignedTx }, ED>
  readonly locate: (tx: JournaledTx, signer: AccountId) => Effect.Effect<Option.Option<I>, EL>
  /** The signer's nonce in the latest finalized state. */
  readonly finalizedNonce: (signer: AccountId) => Effect.Effect<number, EN>
  /** The checkpoint's events, decoded from the block it landed in. */
  readonly events: (included: I) => Effect.Effect<CheckpointEvents, ChainUnavailable>
  readonly nonces: NonceCursor
}

/** The journal's record of a prepared checkpoint, as the signed extrinsic it is. */
const txOf = (prepared: PreparedCheckpoint): JournaledTx => ({
  bytes: prepared.bytes as `0x${string}`,
  hash: prepared.extrinsicHash,
  nonce: prepared.nonce,
  preparedAtBlock: prepared.preparedAtBlock,
  validUntilBlock: validUntil(prepared)
})

/**
 * The port's `estimateFee`, `prepareCheckpoint`, `submitPrepared`, `findReceipt` and `nonceUsed`.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const checkpoints = <T extends SignedTx, I extends IncludedAt, ES, ED, EL, EN>(
  p: CheckpointPrimitives<T, I, ES, ED, EL, EN>
) => {
  const estimateFee = p.estimate

  const prepareCheckpoint = (submission: CheckpointSubmission) =>
    Effect.gen(function*() {
      const signer = yield* p.signerAddress
      const tx = yield* p.sign(submission)
      return new PreparedCheckpoint({
        submission,
        extrinsicHash: tx.hash,
        bytes: tx.bytes,
        signer,
        nonce: tx.nonce,
        preparedAtBlock: tx.preparedAtBlock as BlockNumber,
        ...(tx.validUntilBlock === undefined ? {} : { validUntilBlock: tx.validUntilBlock as BlockNumber })
      }, true)
    })

  const receipt = (prepared: PreparedCheckpoint, included: I, extrinsicHash: H256, submittedAtMillis: number) =>
    Effect.flatMap(
      p.events(included),
      (events) => checkpointReceipt(prepared, included, events, extrinsicHash, submittedAtMillis)
    )

  const submitPrepared = (prepared: PreparedCheckpoint) =>
    Effect.gen(function*() {
      const submittedAtMillis = yield* Clock.currentTimeMillis
      // Signing again with a new nonce is safe only for bytes this process signed and never sent.
      const fresh = p.nonces.isFresh({ nonce: prepared.nonce, hash: prepared.extrinsicHash })
      const { included, prepared: sent } = yield* p.drive(
        txOf(prepared),
        fresh ? Option.some(() => p.sign(prepared.submission)) : Option.none()
      )
      return yield* receipt(prepared, included, sent.hash, submittedAtMillis)
    })

  const findReceipt = (prepared: PreparedCheckpoint) =>
    Effect.gen(function*() {
      const found = yield* p.locate(txOf(prepared), prepared.signer)
      if (Option.isNone(found)) return Option.none<CheckpointReceipt>()
      const now = yield* Clock.currentTimeMillis
      return Option.some(
        yield* receipt(prepared, found.value, prepared.extrinsicHash, now).pipe(
          Effect.mapError((e) => new ChainUnavailable({ operation: "findReceipt", detail: e.message }))
        )
      )
    })

  const nonceUsed = (prepared: PreparedCheckpoint) =>
    Effect.map(p.finalizedNonce(prepared.signer), (next) => next > prepared.nonce)

  return { estimateFee, prepareCheckpoint, submitPrepared, findReceipt, nonceUsed }
}

// ---------------------------------------------------------------------------------------------------
// Challenges
// ---------------------------------------------------------------------------------------------------

/**
 * What an adapter provides for `challengeOffchain`: the signing of the runtime's call (none where the
 * runtime has no `challenge_offchain`), the driving of it, and the challenge id its `ChallengeCreated`
 * names (none without that event).
 *
 * @since 0.1.0
 * @category challenges
 */
export interface ChallengePrimitives<T extends SignedTx, I extends IncludedAt, EP, ES, ED, EC> {
  readonly signer: (
    challenge: OffchainChallenge
  ) => Effect.Effect<Option.Option<() => Effect.Effect<T, ES>>, EP>
  readonly drive: (
    tx: T,
    resign: Option.Option<() => Effect.Effect<T, ES>>
  ) => Effect.Effect<{ readonly included: I }, ED>
  readonly challengeCreated: (
    included: I
  ) => Effect.Effect<Option.Option<{ readonly deadline: BlockNumber; readonly index: number }>, EC>
}

/**
 * The port's `challengeOffchain`: refused as `Unsupported` where the runtime has no such call, signed
 * again with a new nonce only when the first bytes were never sent, followed to its `ChallengeCreated`.
 *
 * @since 0.1.0
 * @category challenges
 */
export const challengeOffchain =
  <T extends SignedTx, I extends IncludedAt, EP, ES, ED, EC>(p: ChallengePrimitives<T, I, EP, ES, ED, EC>) =>
  (challenge: OffchainChallenge) =>
    Effect.gen(function*() {
      const signer = yield* p.signer(challenge)
      if (Option.isNone(signer)) {
        return yield* new SubmissionFailed({
          stage: "Unsupported",
          detail: "this runtime has no StorageProvider.challenge_offchain",
          maybeIncluded: false
        })
      }
      const { included } = yield* p.drive(yield* signer.value(), signer)
      const id = yield* p.challengeCreated(included)
      if (Option.isNone(id)) {
        return yield* new ChainUnavailable({ operation: "challengeOffchain", detail: "no ChallengeCreated event" })
      }
      return new ChallengeReceipt({
        deadline: id.value.deadline,
        index: id.value.index,
        blockHash: included.blockHash,
        blockNumber: included.blockNumber as BlockNumber
      }, true)
    })

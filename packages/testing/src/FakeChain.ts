/**
 * An in-memory storage chain implementing `ChainClient`, enforcing the `StorageProvider` pallet's
 * checkpoint rules (protocol-facts §2.2) with real signature verification, and recording every
 * submission so a test can assert "submitted exactly once".
 *
 * Rules enforced by `submitCheckpoint`, with the pallet's error names:
 * `BucketNotFound`, `NotBucketWriter` (caller must be Admin or Writer), `SnapshotViolatesFrozen`,
 * `ProviderNotInSnapshot` (every signer a primary), `ProviderNotFound`, `InvalidSignature` (against the
 * registered key), `InsufficientSignatures` (at least `min_providers`; like the pallet, duplicates are
 * not de-duplicated). A rejected extrinsic is still included in a block (its fee is paid).
 *
 * A submission is included at once in a new best block and finalized after `finalityDelay`, even if the
 * caller stops waiting: reads at the best block's hash see it before finality, other reads do not.
 *
 * Fees: every included extrinsic (dispatched or rejected) pays the chain's current fee (`fee`, default
 * `DEFAULT_FEE`; `setFee` changes it) from its signer's free balance, and its receipt reports it;
 * `estimateFee` quotes the same fee. Every account starts with `initialBalance` (`setBalance` changes
 * one); a signer that cannot pay the fee is refused by the pool, as a real one is.
 *
 * @since 0.1.0
 */
import {
  ChainClient,
  CommitmentRelation,
  Domain,
  encodeCommitmentPayload,
  verifyMultiSignature
} from "@checkpointer/core"
import { blake2AsHex } from "@polkadot/util-crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

type AccountId = Domain.AccountId
type BucketId = Domain.BucketId

/**
 * A bucket as the fake chain stores it.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeBucket {
  readonly bucketId: BucketId
  readonly primaryProviders: ReadonlyArray<AccountId>
  readonly minProviders: number
  readonly members: ReadonlyArray<ChainClient.BucketMember>
  readonly snapshot: Option.Option<ChainClient.BucketSnapshot>
  readonly frozenStartSeq: Option.Option<Domain.U64>
}

/**
 * Every `checkpoint` extrinsic that reached the chain, and what became of it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedSubmission {
  readonly submission: ChainClient.CheckpointSubmission
  readonly extrinsicHash: Domain.H256
  readonly signer: AccountId
  readonly nonce: number
  readonly blockNumber: number
  readonly outcome: Either.Either<ChainClient.CheckpointReceipt, ChainClient.DispatchFailed>
}

/**
 * A scripted failure for the next submission (instead of executing it).
 *
 * @since 0.1.0
 * @category models
 */
export type InjectedFailure = ChainClient.DispatchFailed | ChainClient.SubmissionFailed | ChainClient.ChainUnavailable

interface State {
  /** The best block; `finalized` trails it while a submission awaits finality. */
  readonly block: number
  readonly finalized: number
  /** Bucket state at the best block. */
  readonly buckets: ReadonlyMap<BucketId, FakeBucket>
  /** Bucket state at the finalized block. */
  readonly finalizedBuckets: ReadonlyMap<BucketId, FakeBucket>
  readonly providers: ReadonlyMap<AccountId, ChainClient.ProviderRecord>
  readonly submissions: ReadonlyArray<RecordedSubmission>
  readonly counts: SubmissionCounts
  /** The next nonce each signer will be given by `prepareCheckpoint` (reserved, like a client's nonce manager). */
  readonly nonces: ReadonlyMap<AccountId, number>
  /** Nonces already taken by an included extrinsic, per signer. */
  readonly usedNonces: ReadonlyMap<AccountId, ReadonlySet<number>>
  readonly challenges: ReadonlyArray<ChainClient.OffchainChallenge>
  readonly injected: ReadonlyArray<InjectedFailure>
  /** The fee every extrinsic pays, and the free balances that differ from the initial one. */
  readonly fee: bigint
  readonly balances: ReadonlyMap<AccountId, bigint>
  /** How many extrinsics `prepareCheckpoint` has signed, and how many fees `estimateFee` has quoted. */
  readonly prepared: number
  readonly estimates: number
  readonly unavailable: boolean
  readonly hanging: boolean
  readonly reads: number
}

/**
 * Every `checkpoint` extrinsic the chain included, counted (also those no longer kept in `submissions`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SubmissionCounts {
  readonly included: number
  /** Dispatched successfully: a new snapshot. */
  readonly landed: number
  /** Landed with the commitment the bucket's snapshot already held: a checkpoint paid for twice. */
  readonly repeated: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FakeChainService {
  /** The `ChainClient` this chain answers as. */
  readonly client: ChainClient.ChainClientService
  readonly registerProvider: (record: ChainClient.ProviderRecord) => Effect.Effect<void>
  readonly putBucket: (bucket: FakeBucket) => Effect.Effect<void>
  readonly bucket: (bucketId: BucketId) => Effect.Effect<Option.Option<FakeBucket>>
  /** Produces `count` empty blocks (each finalized at once) and publishes their heads. */
  readonly produceBlocks: (count: number) => Effect.Effect<void>
  /** The recorded submissions, oldest first (the last `history` of them, if the chain keeps a bounded history). */
  readonly submissions: Effect.Effect<ReadonlyArray<RecordedSubmission>>
  readonly counts: Effect.Effect<SubmissionCounts>
  readonly challenges: Effect.Effect<ReadonlyArray<ChainClient.OffchainChallenge>>
  /** The next submission fails this way without executing. */
  readonly injectFailure: (failure: InjectedFailure) => Effect.Effect<void>
  /** While true, every read and write fails with `ChainUnavailable`. */
  readonly setUnavailable: (unavailable: boolean) => Effect.Effect<void>
  /** While true, every read and write never answers (a stuck node). */
  readonly setHanging: (hanging: boolean) => Effect.Effect<void>
  /** How many reads (`bucket`, `provider`) have been served. */
  readonly reads: Effect.Effect<number>
  /** From now on every extrinsic pays this fee (planck), and `estimateFee` quotes it. */
  readonly setFee: (fee: bigint) => Effect.Effect<void>
  /** Sets an account's free balance (planck). */
  readonly setBalance: (account: AccountId, free: bigint) => Effect.Effect<void>
  /** An account's free balance (planck). */
  readonly balance: (account: AccountId) => Effect.Effect<bigint>
  /** How many `checkpoint` extrinsics were signed (`prepareCheckpoint`), sent or not. */
  readonly prepared: Effect.Effect<number>
  /** How many fees were quoted (`estimateFee`). */
  readonly estimates: Effect.Effect<number>
}

/**
 * The fake chain's fee per extrinsic unless told otherwise (planck; the devchain's base fee).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_FEE = 1_000_000_000n

/**
 * Every account's free balance at the start unless told otherwise (planck): a million units of 10^12.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BALANCE = 10n ** 18n

/**
 * @since 0.1.0
 * @category models
 */
export interface FakeChainOptions {
  /** The account that signs submissions (none: submissions fail with `NoSigner`). */
  readonly signer?: AccountId | undefined
  /** Buckets whose submissions another account signs (the client's `signerFor`). */
  readonly bucketSigners?: ReadonlyMap<BucketId, AccountId> | undefined
  /** Simulated time from submission to finality. */
  readonly finalityDelay?: Duration.DurationInput | undefined
  /**
   * Whether `checkpoint` verifies each provider signature as the pallet does (default true). Benchmarks
   * turn it off so that the work of the chain, another machine in reality, is not charged to the
   * client measured in the same process; every other rule still applies.
   */
  readonly verifySignatures?: boolean | undefined
  /**
   * Keep only the last `history` recorded submissions (default: all), so that a long soak measures the
   * client's memory rather than the chain's history; `counts` still counts every one. An extrinsic sent
   * again after it left the history is refused as stale (its nonce is used), never included twice.
   */
  readonly history?: number | undefined
  /** Mortal era of prepared extrinsics, in blocks (default 256): past it, one not included never lands. */
  readonly mortality?: number | undefined
  /** The fee every extrinsic pays, in planck (default `DEFAULT_FEE`). */
  readonly fee?: bigint | undefined
  /** Every account's free balance at the start, in planck (default `DEFAULT_BALANCE`). */
  readonly initialBalance?: bigint | undefined
}

/** Deterministic block hashes: blake2-256 of the block number's decimal text (remembered once computed). */
const blockHashes = new Map<number, Domain.H256>()
const blockHash = (number: number): Domain.H256 => {
  let hash = blockHashes.get(number)
  if (hash === undefined) {
    hash = blake2AsHex(`block:${number}`, 256) as Domain.H256
    if (blockHashes.size < 100_000) blockHashes.set(number, hash)
  }
  return hash
}

const ref = (number: number) =>
  new ChainClient.BlockRef({ number: number as Domain.BlockNumber, hash: blockHash(number) })

const dispatch = (error: string, detail: string, block: number) =>
  new ChainClient.DispatchFailed({
    module: "StorageProvider",
    error,
    detail,
    blockHash: Option.some(blockHash(block))
  })

/**
 * Executes `checkpoint` against the state as the pallet would. Returns the new bucket or the error.
 */
const execute = (
  state: State,
  signer: AccountId,
  submission: ChainClient.CheckpointSubmission,
  block: number,
  verifySignatures: boolean
): Either.Either<{ bucket: FakeBucket; signers: ReadonlyArray<AccountId> }, ChainClient.DispatchFailed> => {
  const bucket = state.buckets.get(submission.bucketId)
  if (bucket === undefined) return Either.left(dispatch("BucketNotFound", "", block))
  const role = bucket.members.find((m) => m.account === signer)?.role
  if (role !== "Admin" && role !== "Writer") return Either.left(dispatch("NotBucketWriter", signer, block))
  const { commitment } = submission
  if (Option.isSome(bucket.frozenStartSeq) && commitment.startSeq < bucket.frozenStartSeq.value) {
    return Either.left(dispatch("SnapshotViolatesFrozen", "", block))
  }
  const payload = encodeCommitmentPayload({ bucketId: submission.bucketId, ...commitment })
  const signed = new Set<number>()
  let count = 0
  for (const { signature, signer: provider } of submission.signatures) {
    const index = bucket.primaryProviders.indexOf(provider)
    if (index < 0) return Either.left(dispatch("ProviderNotInSnapshot", provider, block))
    const record = state.providers.get(provider)
    if (record === undefined) return Either.left(dispatch("ProviderNotFound", provider, block))
    // The oldest pallet era registers no key: the account itself is the sr25519 key.
    const publicKey = Option.getOrElse(record.publicKey, () => Domain.publicKeyOfAccount(provider))
    if (verifySignatures && Either.isLeft(verifyMultiSignature({ signature, message: payload, publicKey }))) {
      return Either.left(dispatch("InvalidSignature", provider, block))
    }
    signed.add(index)
    count += 1
  }
  if (count < bucket.minProviders) {
    return Either.left(dispatch("InsufficientSignatures", `${count} < ${bucket.minProviders}`, block))
  }
  const signers = bucket.primaryProviders.filter((_, i) => signed.has(i))
  const snapshot = new ChainClient.BucketSnapshot({
    commitment,
    checkpointBlock: block as Domain.BlockNumber,
    signers
  }, true)
  return Either.right({ bucket: { ...bucket, snapshot: Option.some(snapshot) }, signers })
}

/**
 * The fake chain's handle, for tests to arrange and inspect state.
 *
 * @since 0.1.0
 * @category tags
 */
export class FakeChain extends Context.Tag("@checkpointer/testing/FakeChain")<FakeChain, FakeChainService>() {}

/**
 * Builds a fake chain.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: FakeChainOptions = {}): Effect.Effect<FakeChainService> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({
      block: 1,
      finalized: 1,
      buckets: new Map(),
      finalizedBuckets: new Map(),
      providers: new Map(),
      submissions: [],
      counts: { included: 0, landed: 0, repeated: 0 },
      nonces: new Map(),
      usedNonces: new Map(),
      challenges: [],
      injected: [],
      fee: options.fee ?? DEFAULT_FEE,
      balances: new Map(),
      prepared: 0,
      estimates: 0,
      unavailable: false,
      hanging: false,
      reads: 0
    })
    const heads = yield* PubSub.unbounded<ChainClient.BlockRef>()
    const finalityDelay = Duration.decode(options.finalityDelay ?? Duration.zero)
    const history = Math.max(1, options.history ?? Number.POSITIVE_INFINITY)
    const mortality = options.mortality ?? ChainClient.DEFAULT_MORTALITY
    const initialBalance = options.initialBalance ?? DEFAULT_BALANCE
    const balanceIn = (s: State, account: AccountId) => s.balances.get(account) ?? initialBalance

    const guard = (operation: string) =>
      Effect.flatMap(Ref.get(state), (s) =>
        s.hanging
          ? Effect.never
          : s.unavailable
          ? Effect.fail(new ChainClient.ChainUnavailable({ operation, detail: "the node is not answering" }))
          : Effect.void)

    const produceBlocks = (count: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < count; i++) {
          const next = yield* Ref.modify(state, (s) => [s.block + 1, {
            ...s,
            block: s.block + 1,
            finalized: s.block + 1,
            finalizedBuckets: s.buckets
          }])
          yield* PubSub.publish(heads, ref(next))
        }
      })

    /** Reads at the best block when asked for its hash, at the finalized block otherwise. */
    const bucketRead = (bucketId: BucketId, at?: Domain.H256) =>
      guard("bucket").pipe(
        Effect.zipRight(Ref.modify(state, (s) => {
          const source = at !== undefined && at === blockHash(s.block) ? s.buckets : s.finalizedBuckets
          return [source.get(bucketId), { ...s, reads: s.reads + 1 }]
        })),
        Effect.flatMap((bucket) =>
          bucket === undefined
            ? Effect.fail(new ChainClient.BucketNotFound({ bucketId }))
            : Effect.succeed(new ChainClient.BucketInfo(bucket, true))
        )
      )

    const signerOf = (bucketId: BucketId) => options.bucketSigners?.get(bucketId) ?? options.signer
    const prepareCheckpoint = (submission: ChainClient.CheckpointSubmission) =>
      Effect.gen(function*() {
        yield* guard("prepareCheckpoint")
        const signer = signerOf(submission.bucketId)
        if (signer === undefined) {
          return yield* new ChainClient.SubmissionFailed({
            stage: "NoSigner",
            detail: "no signer configured",
            maybeIncluded: false
          })
        }
        const [s, nonce] = yield* Ref.modify(state, (current): [[State, number], State] => {
          const next = current.nonces.get(signer) ?? 0
          return [[current, next], {
            ...current,
            nonces: new Map(current.nonces).set(signer, next + 1),
            prepared: current.prepared + 1
          }]
        })
        const encoded = JSON.stringify(Schema.encodeSync(ChainClient.CheckpointSubmission)(submission))
        const body = `${signer}:${nonce}:${encoded}`
        return new ChainClient.PreparedCheckpoint({
          submission,
          extrinsicHash: blake2AsHex(body, 256) as Domain.H256,
          bytes: "0x" + Buffer.from(body, "utf8").toString("hex"),
          signer,
          nonce,
          preparedAtBlock: s.block as Domain.BlockNumber,
          validUntilBlock: (s.block + mortality) as Domain.BlockNumber
        }, true)
      })

    const submitPrepared = (prepared: ChainClient.PreparedCheckpoint) =>
      Effect.gen(function*() {
        yield* guard("submitPrepared")
        const existing = (yield* Ref.get(state)).submissions.find((r) => r.extrinsicHash === prepared.extrinsicHash)
        if (existing !== undefined) {
          // The same extrinsic again: the pool knows it; wait for its finality and report its outcome.
          yield* Effect.sleep(finalityDelay)
          return yield* existing.outcome
        }
        if ((yield* Ref.get(state)).block > ChainClient.validUntil(prepared)) {
          return yield* new ChainClient.SubmissionFailed({
            stage: "Stale",
            detail: `its mortal era ended at block ${ChainClient.validUntil(prepared)}`,
            maybeIncluded: false
          })
        }
        const injected = yield* Ref.modify(state, (s) => [s.injected[0], { ...s, injected: s.injected.slice(1) }])
        if (injected !== undefined && injected._tag !== "DispatchFailed") return yield* Effect.fail(injected)
        const submittedAtMillis = yield* Clock.currentTimeMillis
        const { submission } = prepared
        // Included at once in a new best block (the fee is paid even if dispatch fails) ...
        const recorded = yield* Ref.modify(state, (s): [RecordedSubmission | "Stale" | "Payment", State] => {
          // The fake's pool takes reserved nonces in any order; a nonce can be used once.
          const used = (s.usedNonces.get(prepared.signer) ?? new Set<number>()) as Set<number>
          if (used.has(prepared.nonce)) return ["Stale", s]
          // The pool refuses what its signer cannot pay for.
          const free = balanceIn(s, prepared.signer)
          if (free < s.fee) return ["Payment", s]
          used.add(prepared.nonce)
          const block = s.block + 1
          const result: ReturnType<typeof execute> = injected !== undefined
            ? Either.left(new ChainClient.DispatchFailed({ ...injected, blockHash: Option.some(blockHash(block)) }))
            : execute(s, prepared.signer, submission, block, options.verifySignatures ?? true)
          const outcome = Either.map(result, ({ signers }) =>
            new ChainClient.CheckpointReceipt({
              bucketId: submission.bucketId,
              commitment: submission.commitment,
              signers,
              extrinsicHash: prepared.extrinsicHash,
              blockHash: blockHash(block),
              blockNumber: block as Domain.BlockNumber,
              extrinsicIndex: 1,
              event: new ChainClient.BucketCheckpointed({
                bucketId: submission.bucketId,
                commitment: submission.commitment,
                providers: signers
              }, true),
              submittedAtMillis,
              finalizedAtMillis: submittedAtMillis,
              fee: s.fee
            }, true))
          const buckets = Either.isRight(result)
            ? new Map(s.buckets).set(submission.bucketId, result.right.bucket)
            : s.buckets
          const previous = s.buckets.get(submission.bucketId)?.snapshot
          const repeated = Either.isRight(result) && previous !== undefined && Option.isSome(previous) &&
            CommitmentRelation.key(previous.value.commitment) === CommitmentRelation.key(submission.commitment)
          const entry: RecordedSubmission = {
            submission,
            extrinsicHash: prepared.extrinsicHash,
            signer: prepared.signer,
            nonce: prepared.nonce,
            blockNumber: block,
            outcome
          }
          return [entry, {
            ...s,
            block,
            buckets,
            // Paid at inclusion, whether or not the call succeeds.
            balances: new Map(s.balances).set(prepared.signer, free - s.fee),
            submissions: [...s.submissions.slice(Math.max(0, s.submissions.length + 1 - history)), entry],
            counts: {
              included: s.counts.included + 1,
              landed: s.counts.landed + (Either.isRight(result) ? 1 : 0),
              repeated: s.counts.repeated + (repeated ? 1 : 0)
            },
            // The signer's set of used nonces grows in place (it is only read inside this Ref).
            usedNonces: s.usedNonces.has(prepared.signer)
              ? s.usedNonces
              : new Map(s.usedNonces).set(prepared.signer, used)
          }]
        })
        if (recorded === "Stale") {
          return yield* new ChainClient.SubmissionFailed({
            stage: "Stale",
            detail: `nonce ${prepared.nonce} of ${prepared.signer} was already used by another extrinsic`,
            maybeIncluded: false
          })
        }
        if (recorded === "Payment") {
          return yield* new ChainClient.SubmissionFailed({
            stage: "Pool",
            detail: "1010: Invalid Transaction: Inability to pay some fees (e.g. account balance too low)",
            maybeIncluded: false
          })
        }
        // ... and finalized after the delay, whether or not the submitter is still waiting.
        const finalize = Ref.update(state, (s) =>
          s.finalized >= recorded.blockNumber
            ? s
            : { ...s, finalized: recorded.blockNumber, finalizedBuckets: s.buckets }).pipe(
            Effect.zipRight(PubSub.publish(heads, ref(recorded.blockNumber)))
          )
        const finality = yield* Effect.sleep(finalityDelay).pipe(Effect.zipRight(finalize), Effect.forkDaemon)
        yield* Fiber.join(finality)
        const finalizedAtMillis = yield* Clock.currentTimeMillis
        return yield* Either.match(recorded.outcome, {
          onLeft: Effect.fail,
          onRight: (receipt) =>
            Effect.succeed(new ChainClient.CheckpointReceipt({ ...receipt, finalizedAtMillis }, true))
        })
      })

    const findReceipt = (prepared: ChainClient.PreparedCheckpoint) =>
      guard("findReceipt").pipe(
        Effect.zipRight(Ref.get(state)),
        Effect.flatMap((s) => {
          const found = s.submissions.find((r) => r.extrinsicHash === prepared.extrinsicHash)
          if (found === undefined || found.blockNumber > s.finalized) return Effect.succeedNone
          return Either.match(found.outcome, {
            onLeft: (error) => Effect.fail(error),
            onRight: (receipt) => Effect.succeedSome(receipt)
          })
        })
      )

    const nonceUsed = (prepared: ChainClient.PreparedCheckpoint) =>
      guard("nonceUsed").pipe(
        Effect.zipRight(Ref.get(state)),
        Effect.map((s) =>
          s.submissions.some((r) =>
            r.signer === prepared.signer && r.nonce === prepared.nonce && r.blockNumber <= s.finalized
          )
        )
      )

    const client: ChainClient.ChainClientService = {
      finalizedBlock: guard("finalizedBlock").pipe(
        Effect.zipRight(Ref.get(state)),
        Effect.map((s) => ref(s.finalized))
      ),
      bestBlock: guard("bestBlock").pipe(Effect.zipRight(Ref.get(state)), Effect.map((s) => ref(s.block))),
      finalizedHeads: Stream.fromPubSub(heads),
      bucket: (bucketId, at) => bucketRead(bucketId, at),
      provider: (account) =>
        guard("provider").pipe(
          Effect.zipRight(Ref.modify(state, (s) => [s.providers.get(account), { ...s, reads: s.reads + 1 }])),
          Effect.map(Option.fromNullable)
        ),
      signer: Option.fromNullable(options.signer),
      signerFor: (bucketId) => Option.fromNullable(signerOf(bucketId)),
      estimateFee: (submission) =>
        guard("estimateFee").pipe(
          Effect.zipRight(
            signerOf(submission.bucketId) === undefined
              ? Effect.fail(
                new ChainClient.SubmissionFailed({
                  stage: "NoSigner",
                  detail: "no signer configured",
                  maybeIncluded: false
                })
              )
              : Ref.modify(state, (s) => [s.fee, { ...s, estimates: s.estimates + 1 }])
          )
        ),
      freeBalance: (account) =>
        guard("freeBalance").pipe(Effect.zipRight(Ref.get(state)), Effect.map((s) => balanceIn(s, account))),
      prepareCheckpoint,
      submitPrepared,
      findReceipt,
      nonceUsed,
      challengeOffchain: (challenge) =>
        guard("challengeOffchain").pipe(
          Effect.zipRight(Ref.modify(state, (s): [number, State] => [s.block + 1, {
            ...s,
            block: s.block + 1,
            challenges: [...s.challenges, challenge]
          }])),
          Effect.map((block) =>
            new ChainClient.ChallengeReceipt({
              deadline: (block + 100) as Domain.BlockNumber,
              index: 0,
              blockHash: blockHash(block),
              blockNumber: block as Domain.BlockNumber
            }, true)
          )
        )
    }

    return {
      client,
      registerProvider: (record) =>
        Ref.update(state, (s) => ({ ...s, providers: new Map(s.providers).set(record.accountId, record) })),
      putBucket: (bucket) =>
        Ref.update(state, (s) => ({
          ...s,
          buckets: new Map(s.buckets).set(bucket.bucketId, bucket),
          finalizedBuckets: new Map(s.finalizedBuckets).set(bucket.bucketId, bucket)
        })),
      bucket: (bucketId) => Effect.map(Ref.get(state), (s) => Option.fromNullable(s.buckets.get(bucketId))),
      produceBlocks,
      submissions: Effect.map(Ref.get(state), (s) => s.submissions),
      counts: Effect.map(Ref.get(state), (s) => s.counts),
      challenges: Effect.map(Ref.get(state), (s) => s.challenges),
      injectFailure: (failure) => Ref.update(state, (s) => ({ ...s, injected: [...s.injected, failure] })),
      setUnavailable: (unavailable) => Ref.update(state, (s) => ({ ...s, unavailable })),
      setHanging: (hanging) => Ref.update(state, (s) => ({ ...s, hanging })),
      reads: Effect.map(Ref.get(state), (s) => s.reads),
      setFee: (fee) => Ref.update(state, (s) => ({ ...s, fee })),
      setBalance: (account, free) =>
        Ref.update(state, (s) => ({ ...s, balances: new Map(s.balances).set(account, free) })),
      balance: (account) => Effect.map(Ref.get(state), (s) => balanceIn(s, account)),
      prepared: Effect.map(Ref.get(state), (s) => s.prepared),
      estimates: Effect.map(Ref.get(state), (s) => s.estimates)
    } satisfies FakeChainService
  })

/**
 * A layer providing both the fake's handle and the `ChainClient` it implements.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: FakeChainOptions = {}): Layer.Layer<FakeChain | ChainClient.ChainClient> =>
  Layer.effectContext(
    Effect.map(
      make(options),
      (fake) => Context.make(FakeChain, fake).pipe(Context.add(ChainClient.ChainClient, fake.client))
    )
  )

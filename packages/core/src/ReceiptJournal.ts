/**
 * The receipt journal: a durable record, per bucket, of each round's decision, each submission attempt
 * (the exact signed extrinsic, written before it is broadcast) and each receipt, so that a process that
 * dies at any point resumes without paying twice or losing a receipt.
 *
 * The invariant: anything a caller was told is recorded, is on disk. Writes are atomic (temp file, write,
 * fsync, rename, fsync of the directory); every file carries a schema version and a blake2 checksum of its
 * body. A file from a newer version is refused with a clear error; a corrupt or truncated file is moved to
 * `quarantine/` (never deleted) and reported as a typed error, never read as empty; so is a bucket file that
 * holds another bucket's journal (copied or restored under the wrong name). A temp file left by a crash
 * before its rename was never acknowledged, and is cleared. An advisory lock file per bucket keeps two
 * processes from submitting the same checkpoint; a lock left by a dead process is recovered.
 *
 * A journal belongs to one chain: given the chain's genesis hash, the directory records it in `chain.json`
 * at first use, and a journal recorded for another chain is refused when it is opened.
 *
 * Layers: `layerFileSystem(directory)` (on `@effect/platform`'s `FileSystem` and `Path`, so any platform)
 * and `layerMemory`; one test suite runs against both.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { blake2AsHex } from "@polkadot/util-crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { CheckpointReceipt, PreparedCheckpoint } from "./ChainClient.js"
import { Decision } from "./Consensus.js"
import { AccountId, BucketId } from "./Domain.js"
import * as KeyedLock from "./internal/keyedLock.js"

/**
 * The journal's file format version.
 *
 * @since 0.1.0
 * @category constants
 */
export const JOURNAL_VERSION = 1

// ---------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------

/**
 * One submission attempt: the signed extrinsic as prepared (recorded before broadcast) and what became
 * of it. `Prepared` and `InDoubt` are unresolved: the extrinsic may be on chain, or may still land.
 *
 * @since 0.1.0
 * @category models
 */
export class SubmissionAttempt extends Schema.Class<SubmissionAttempt>("SubmissionAttempt")({
  prepared: PreparedCheckpoint,
  status: Schema.Literal("Prepared", "InDoubt", "Finalized", "Failed"),
  detail: Schema.String,
  updatedAtMillis: Schema.Number
}) {
  get unresolved(): boolean {
    return this.status === "Prepared" || this.status === "InDoubt"
  }
}

/**
 * One round's decision record, and what was done with it.
 *
 * @since 0.1.0
 * @category models
 */
export class RoundRecord extends Schema.Class<RoundRecord>("RoundRecord")({
  atMillis: Schema.Number,
  decision: Decision,
  action: Schema.Literal("Submit", "AlreadyCheckpointed", "NotSubmitted"),
  reason: Schema.String
}) {}

/**
 * Everything journaled for one bucket (newest last in every list).
 *
 * @since 0.1.0
 * @category models
 */
export class BucketJournal extends Schema.Class<BucketJournal>("BucketJournal")({
  bucketId: BucketId,
  rounds: Schema.Array(RoundRecord),
  attempts: Schema.Array(SubmissionAttempt),
  receipts: Schema.Array(CheckpointReceipt),
  updatedAtMillis: Schema.Number
}) {
  /** The attempt that may still be on chain or land, if any. */
  get unresolved(): Option.Option<SubmissionAttempt> {
    for (let i = this.attempts.length - 1; i >= 0; i--) {
      if (this.attempts[i].unresolved) return Option.some(this.attempts[i])
    }
    return Option.none()
  }
}

/**
 * A provider's health history as persisted (real event times, not the save time).
 *
 * @since 0.1.0
 * @category models
 */
export class HealthRecord extends Schema.Class<HealthRecord>("HealthRecord")({
  provider: AccountId,
  requests: Schema.Number,
  successes: Schema.Number,
  failures: Schema.Number,
  consecutiveFailures: Schema.Number,
  lastSuccessMillis: Schema.OptionFromNullOr(Schema.Number),
  lastFailureMillis: Schema.OptionFromNullOr(Schema.Number),
  latencyEwmaMillis: Schema.OptionFromNullOr(Schema.Number)
}) {}

/**
 * State that is not per bucket: the loop's dirty buckets and provider health.
 *
 * @since 0.1.0
 * @category models
 */
export class JournalState extends Schema.Class<JournalState>("JournalState")({
  dirtyBuckets: Schema.Array(BucketId),
  health: Schema.Array(HealthRecord),
  updatedAtMillis: Schema.Number
}) {}

/**
 * An empty journal for a bucket.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty = (bucketId: BucketId): BucketJournal =>
  new BucketJournal({ bucketId, rounds: [], attempts: [], receipts: [], updatedAtMillis: 0 }, true)

// ---------------------------------------------------------------------------------------------------
// Pure operations on a bucket's journal
// ---------------------------------------------------------------------------------------------------

/**
 * How much history is kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface Retention {
  readonly rounds: number
  readonly receipts: number
  /** Resolved attempts kept; unresolved ones are always kept. */
  readonly attempts: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultRetention: Retention = { rounds: 50, receipts: 100, attempts: 20 }

const keepLast = <A>(items: ReadonlyArray<A>, n: number): ReadonlyArray<A> => items.slice(Math.max(0, items.length - n))

/**
 * Applies the retention limits.
 *
 * @since 0.1.0
 * @category operations
 */
export const compact = (journal: BucketJournal, retention: Retention = defaultRetention): BucketJournal => {
  const resolved = journal.attempts.filter((a) => !a.unresolved)
  const keptResolved = new Set(keepLast(resolved, retention.attempts))
  return new BucketJournal({
    ...journal,
    rounds: keepLast(journal.rounds, retention.rounds),
    receipts: keepLast(journal.receipts, retention.receipts),
    attempts: journal.attempts.filter((a) => a.unresolved || keptResolved.has(a))
  }, true)
}

/**
 * Adds a round record.
 *
 * @since 0.1.0
 * @category operations
 */
export const addRound = (journal: BucketJournal, round: RoundRecord): BucketJournal =>
  new BucketJournal({ ...journal, rounds: [...journal.rounds, round], updatedAtMillis: round.atMillis }, true)

/**
 * Records a prepared extrinsic, before it is broadcast.
 *
 * @since 0.1.0
 * @category operations
 */
export const addAttempt = (journal: BucketJournal, prepared: PreparedCheckpoint, atMillis: number): BucketJournal =>
  new BucketJournal({
    ...journal,
    attempts: [
      ...journal.attempts,
      new SubmissionAttempt({ prepared, status: "Prepared", detail: "", updatedAtMillis: atMillis }, true)
    ],
    updatedAtMillis: atMillis
  }, true)

/**
 * Settles the attempt with this extrinsic hash.
 *
 * @since 0.1.0
 * @category operations
 */
export const settleAttempt = (
  journal: BucketJournal,
  extrinsicHash: string,
  status: SubmissionAttempt["status"],
  detail: string,
  atMillis: number
): BucketJournal =>
  new BucketJournal({
    ...journal,
    attempts: journal.attempts.map((attempt) =>
      attempt.prepared.extrinsicHash === extrinsicHash
        ? new SubmissionAttempt({ ...attempt, status, detail, updatedAtMillis: atMillis }, true)
        : attempt
    ),
    updatedAtMillis: atMillis
  }, true)

/**
 * Records a receipt (once per extrinsic) and settles its attempt as finalized.
 *
 * @since 0.1.0
 * @category operations
 */
export const addReceipt = (journal: BucketJournal, receipt: CheckpointReceipt, atMillis: number): BucketJournal => {
  const known = journal.receipts.some((r) => r.extrinsicHash === receipt.extrinsicHash)
  const withReceipt = new BucketJournal({
    ...journal,
    receipts: known ? journal.receipts : [...journal.receipts, receipt],
    updatedAtMillis: atMillis
  }, true)
  return settleAttempt(withReceipt, receipt.extrinsicHash, "Finalized", "", atMillis)
}

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/**
 * The journal could not be read or written. A `Corrupt` file, or an `OtherBucket` one (a valid journal of
 * another bucket under this bucket's name), has been moved to `quarantinedTo`. `OtherChain`: the journal
 * was recorded for another chain than the one connected, and is not opened.
 *
 * @since 0.1.0
 * @category errors
 */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  reason: Schema.Literal("FutureVersion", "Corrupt", "OtherBucket", "OtherChain", "Io", "Locked"),
  path: Schema.String,
  detail: Schema.String,
  quarantinedTo: Schema.OptionFromNullOr(Schema.String)
}) {
  override get message(): string {
    const moved = Option.match(this.quarantinedTo, { onNone: () => "", onSome: (p) => ` (moved to ${p})` })
    return `journal ${this.reason} at ${this.path}: ${this.detail}${moved}`
  }
}

// ---------------------------------------------------------------------------------------------------
// File format
// ---------------------------------------------------------------------------------------------------

const Envelope = Schema.Struct({
  version: Schema.Number,
  checksum: Schema.String,
  body: Schema.Unknown
})

const encodeFile = <A, I>(schema: Schema.Schema<A, I>, value: A): string => {
  const body = Schema.encodeSync(schema)(value)
  const bodyText = JSON.stringify(body)
  return JSON.stringify({ version: JOURNAL_VERSION, checksum: blake2AsHex(bodyText, 256), body }, null, 1)
}

/**
 * Decodes a journal file, or says why it cannot be trusted.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeFile = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string
): Either.Either<A, { readonly reason: "FutureVersion" | "Corrupt"; readonly detail: string }> => {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    return Either.left({ reason: "Corrupt", detail: `not JSON (truncated?): ${String(error).slice(0, 200)}` })
  }
  const envelope = Schema.decodeUnknownEither(Envelope)(raw)
  if (Either.isLeft(envelope)) return Either.left({ reason: "Corrupt", detail: "no version, checksum and body" })
  const { body, checksum, version } = envelope.right
  if (version > JOURNAL_VERSION) {
    return Either.left({
      reason: "FutureVersion",
      detail: `written by a newer Checkpointer (format ${version}; this one reads up to ${JOURNAL_VERSION})`
    })
  }
  if (version !== JOURNAL_VERSION) {
    return Either.left({ reason: "Corrupt", detail: `unknown format version ${version}` })
  }
  if (blake2AsHex(JSON.stringify(body), 256) !== checksum) {
    return Either.left({ reason: "Corrupt", detail: "checksum mismatch: the body was altered or damaged" })
  }
  return Either.mapLeft(
    Schema.decodeUnknownEither(schema)(body),
    (error) => ({ reason: "Corrupt" as const, detail: ParseResult.TreeFormatter.formatErrorSync(error).slice(0, 500) })
  )
}

// ---------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface ReceiptJournalService {
  /** A bucket's journal; `None` if nothing was ever journaled for it. */
  readonly read: (bucketId: BucketId) => Effect.Effect<Option.Option<BucketJournal>, JournalError>
  /** Reads, changes and durably writes a bucket's journal (serialised per bucket in this process). */
  readonly update: (
    bucketId: BucketId,
    change: (journal: BucketJournal) => BucketJournal
  ) => Effect.Effect<BucketJournal, JournalError>
  /** Every bucket with a journal. */
  readonly buckets: Effect.Effect<ReadonlyArray<BucketId>, JournalError>
  readonly readState: Effect.Effect<Option.Option<JournalState>, JournalError>
  readonly writeState: (state: JournalState) => Effect.Effect<void, JournalError>
  /** Runs `effect` holding the bucket's lock, shared with every process using the same journal. */
  readonly withLock: <A, E, R>(
    bucketId: BucketId,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | JournalError, R>
}

/**
 * The receipt journal.
 *
 * @since 0.1.0
 * @category tags
 */
export class ReceiptJournal extends Context.Tag("@checkpointer/core/ReceiptJournal")<
  ReceiptJournal,
  ReceiptJournalService
>() {}

/**
 * A journal held in memory (tests, simulations). Same semantics, nothing durable.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (retention: Retention = defaultRetention): Layer.Layer<ReceiptJournal> =>
  Layer.effect(
    ReceiptJournal,
    Effect.gen(function*() {
      const store = yield* Ref.make(new Map<BucketId, BucketJournal>())
      const state = yield* Ref.make<Option.Option<JournalState>>(Option.none())
      const updates = KeyedLock.make<BucketId>()
      const locks = KeyedLock.make<BucketId>()
      const read = (bucketId: BucketId) => Effect.map(Ref.get(store), (m) => Option.fromNullable(m.get(bucketId)))
      return ReceiptJournal.of({
        read,
        update: (bucketId, change) =>
          updates.withLock(
            bucketId,
            Effect.gen(function*() {
              const current = Option.getOrElse(yield* read(bucketId), () => empty(bucketId))
              const next = compact(change(current), retention)
              yield* Ref.update(store, (m) => m.set(bucketId, next))
              return next
            })
          ),
        buckets: Effect.map(Ref.get(store), (m) => Array.from(m.keys())),
        readState: Ref.get(state),
        writeState: (next) => Ref.set(state, Option.some(next)),
        withLock: (bucketId, effect) => locks.withLock(bucketId, effect)
      })
    })
  )

/**
 * @since 0.1.0
 * @category models
 */
export interface FileSystemJournalOptions {
  readonly directory: string
  readonly retention?: Retention | undefined
  /** How long to wait for another process's lock before failing with `Locked` (default 15 min: longer than a submission). */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /** Whether a process id is alive (default: `process.kill(pid, 0)` where `process` exists). */
  readonly isProcessAlive?: ((pid: number) => boolean) | undefined
  /** This process's id, written into lock files (default: `process.pid`). */
  readonly processId?: number | undefined
  /**
   * The connected chain's genesis hash. Recorded in the directory's `chain.json` at first use (a directory
   * without one, from an earlier version, adopts it); a journal recorded for another chain fails to open
   * with `OtherChain`. Without it, the journal is opened whatever chain it was recorded for.
   */
  readonly genesisHash?: string | undefined
}

/** The chain a journal directory belongs to, in `chain.json`. */
const ChainRecord = Schema.Struct({
  genesisHash: Schema.String,
  recordedAtMillis: Schema.Number
})

const defaultIsAlive = (pid: number): boolean => {
  const proc = (globalThis as { process?: { kill?: (pid: number, signal: number) => boolean } }).process
  if (proc?.kill === undefined) return true
  try {
    proc.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: alive but not ours. ESRCH: gone.
    return (error as { code?: string }).code === "EPERM"
  }
}

const LockBody = Schema.parseJson(Schema.Struct({
  pid: Schema.Number,
  instance: Schema.String,
  token: Schema.String,
  atMillis: Schema.Number
}))

/** Journal instances alive in this process: a lock with our pid but another instance is a previous life's. */
const liveInstances = new Set<string>()

/** The bucket locks the current fiber holds (so journal updates inside a held lock do not wait for it). */
const heldLocks = FiberRef.unsafeMake<ReadonlySet<string>>(new Set())

/**
 * A journal in a directory, on `@effect/platform`'s `FileSystem`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFileSystem = (
  options: FileSystemJournalOptions
): Layer.Layer<ReceiptJournal, JournalError, FileSystem.FileSystem | Path.Path> =>
  Layer.scoped(
    ReceiptJournal,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const retention = options.retention ?? defaultRetention
      const isAlive = options.isProcessAlive ?? defaultIsAlive
      const pid = options.processId ?? (globalThis as { process?: { pid?: number } }).process?.pid ?? 0
      const lockTimeout = Duration.decode(options.lockTimeout ?? Duration.minutes(15))
      const instance = `${pid}-${Math.random().toString(36).slice(2)}`
      yield* Effect.acquireRelease(
        Effect.sync(() => liveInstances.add(instance)),
        () => Effect.sync(() => liveInstances.delete(instance))
      )
      const root = path.resolve(options.directory)
      const bucketsDir = path.join(root, "buckets")
      const locksDir = path.join(root, "locks")
      const quarantineDir = path.join(root, "quarantine")
      // In this process: one writer per bucket file, one holder per bucket lock (the lock file is for others).
      const updates = KeyedLock.make<BucketId>()
      const locks = KeyedLock.make<BucketId>()

      const io = (target: string, what: string) => (cause: unknown) =>
        new JournalError({
          reason: "Io",
          path: target,
          detail: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
          quarantinedTo: Option.none()
        })

      yield* Effect.forEach([bucketsDir, locksDir, quarantineDir], (dir) =>
        fs.makeDirectory(dir, { recursive: true }).pipe(
          Effect.mapError(io(dir, "cannot create the journal directory"))
        ))

      // A temp file is only renamed into place once complete and synced; one left behind by a process
      // that died was never acknowledged to anyone, so it is removed. Temp names carry the writer's pid:
      // a live process's temp file (another process sharing this journal) is left alone.
      for (const dir of [bucketsDir, root]) {
        const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(io(dir, "cannot list the journal")))
        for (const name of names) {
          if (!name.endsWith(".tmp")) {
            continue
          }
          const writer = Number(/\.(\d+)\.\d+\.[a-z0-9]+\.tmp$/.exec(name)?.[1] ?? Number.NaN)
          if (Number.isInteger(writer) && writer !== pid && isAlive(writer)) {
            continue
          }
          yield* fs.remove(path.join(dir, name)).pipe(Effect.mapError(io(path.join(dir, name), "cannot clear")))
        }
      }

      const syncDirectory = (dir: string) =>
        Effect.scoped(
          Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) =>
            handle.sync)
        ).pipe(Effect.mapError(io(dir, "cannot sync the directory")))

      /**
       * Writes a file whole: to a temp file, synced, then moved into place. `replace: false` creates it
       * only if it does not exist (linked into place, which fails if it does), and leaves an existing one.
       */
      const writeAtomic = (target: string, text: string, replace = true) =>
        Effect.gen(function*() {
          const dir = path.dirname(target)
          const now = yield* Clock.currentTimeMillis
          const tmp = path.join(
            dir,
            `.${path.basename(target)}.${pid}.${now}.${Math.random().toString(36).slice(2)}.tmp`
          )
          yield* Effect.scoped(Effect.gen(function*() {
            const handle = yield* fs.open(tmp, { flag: "wx" })
            yield* handle.writeAll(new TextEncoder().encode(text))
            yield* handle.sync
          })).pipe(
            Effect.mapError(io(target, "cannot write")),
            Effect.tapError(() =>
              fs.remove(tmp).pipe(Effect.ignore)
            )
          )
          if (replace) {
            yield* fs.rename(tmp, target).pipe(
              Effect.mapError(io(target, "cannot replace")),
              Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore))
            )
          } else {
            const linked = yield* fs.link(tmp, target).pipe(Effect.either)
            yield* fs.remove(tmp).pipe(Effect.ignore)
            if (
              Either.isLeft(linked) &&
              (linked.left._tag !== "SystemError" || linked.left.reason !== "AlreadyExists")
            ) {
              return yield* io(target, "cannot create")(linked.left)
            }
          }
          yield* syncDirectory(dir)
        })
      const createAtomic = (target: string, text: string) => writeAtomic(target, text, false)

      /**
       * Puts a file that cannot be trusted in quarantine (never deleted), leaving a marker in its place.
       * The quarantined name ends in why (`.corrupt`, `.other-bucket`).
       */
      const tombstone = (target: string) => `${target}.quarantined`
      const quarantineSuffix = { Corrupt: "corrupt", OtherBucket: "other-bucket" } as const
      const quarantine = (target: string, reason: keyof typeof quarantineSuffix, detail: string) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const moved = path.join(quarantineDir, `${path.basename(target)}.${now}.${quarantineSuffix[reason]}`)
          yield* writeAtomic(tombstone(target), moved)
          yield* fs.rename(target, moved).pipe(Effect.mapError(io(target, "cannot quarantine")))
          yield* syncDirectory(path.dirname(target))
          return yield* new JournalError({ reason, path: target, detail, quarantinedTo: Option.some(moved) })
        })

      /**
       * Reads a file; a damaged one, or one that `belongs` says is not what this name should hold (its
       * mismatch, described), is moved to quarantine and reported, never taken as empty.
       */
      const readFile = <A, I>(
        schema: Schema.Schema<A, I>,
        target: string,
        belongs: (value: A) => Option.Option<string> = () => Option.none()
      ) =>
        Effect.gen(function*() {
          // A file set aside earlier stays unreadable (never "empty") until someone looks at it.
          const marker = tombstone(target)
          if (yield* fs.exists(marker).pipe(Effect.mapError(io(marker, "cannot check")))) {
            const moved = yield* fs.readFileString(marker).pipe(Effect.orElseSucceed(() => "quarantine/"))
            return yield* new JournalError({
              reason: moved.endsWith(`.${quarantineSuffix.OtherBucket}`) ? "OtherBucket" : "Corrupt",
              path: target,
              detail: `this file was set aside; inspect it, then delete ${marker} to start afresh`,
              quarantinedTo: Option.some(moved)
            })
          }
          const exists = yield* fs.exists(target).pipe(Effect.mapError(io(target, "cannot check")))
          if (!exists) return Option.none<A>()
          const text = yield* fs.readFileString(target).pipe(Effect.mapError(io(target, "cannot read")))
          const decoded = decodeFile(schema, text)
          if (Either.isLeft(decoded)) {
            const problem = decoded.left
            if (problem.reason === "FutureVersion") {
              return yield* new JournalError({ ...problem, path: target, quarantinedTo: Option.none() })
            }
            return yield* quarantine(target, problem.reason, problem.detail)
          }
          const mismatch = belongs(decoded.right)
          if (Option.isSome(mismatch)) return yield* quarantine(target, "OtherBucket", mismatch.value)
          return Option.some(decoded.right)
        })

      const bucketFile = (bucketId: BucketId) => path.join(bucketsDir, `${bucketId}.json`)
      const stateFile = path.join(root, "state.json")
      // The checksum proves a file intact, not that it is this bucket's: a file copied or restored under
      // another bucket's name must not have recovery act on that bucket's decisions.
      const read = (bucketId: BucketId) =>
        readFile(BucketJournal, bucketFile(bucketId), (journal) =>
          journal.bucketId === bucketId
            ? Option.none()
            : Option.some(
              `this file holds the journal of bucket ${journal.bucketId}, not of bucket ${bucketId} (copied or ` +
                `restored under another bucket's name?)`
            ))

      // The chain this journal belongs to. Adopting is an exclusive create, so that of two processes
      // opening a fresh directory against different chains, one records its chain and the other is refused.
      const chainFile = path.join(root, "chain.json")
      if (options.genesisHash !== undefined) {
        const connected = options.genesisHash.toLowerCase()
        const recorded = yield* readFile(ChainRecord, chainFile)
        const chain = Option.isSome(recorded) ? recorded.value : yield* Effect.gen(function*() {
          const mine = { genesisHash: connected, recordedAtMillis: yield* Clock.currentTimeMillis }
          yield* createAtomic(chainFile, encodeFile(ChainRecord, mine))
          return Option.getOrElse(yield* readFile(ChainRecord, chainFile), () => mine)
        })
        if (chain.genesisHash.toLowerCase() !== connected) {
          return yield* new JournalError({
            reason: "OtherChain",
            path: chainFile,
            detail: `this journal belongs to the chain with genesis ${chain.genesisHash}, but the connected ` +
              `chain's genesis is ${connected}; use a journal directory of the connected chain`,
            quarantinedTo: Option.none()
          })
        }
      }

      const lockFile = (bucketId: BucketId) => path.join(locksDir, `${bucketId}.lock`)
      const LOCK_GRACE_MILLIS = 10_000

      const readHolder = (target: string) =>
        fs.readFileString(target).pipe(
          Effect.map((text) => ({ text, holder: Either.getOrUndefined(Schema.decodeEither(LockBody)(text)) })),
          Effect.option
        )

      /**
       * Whether a lock's holder is gone: a dead process; or this process's pid with an instance this process
       * does not run (a previous incarnation that got the same pid, common in containers); or an unreadable
       * lock older than the grace period (a lock is written whole, so unreadable means damaged).
       */
      const isStale = (target: string, holder: typeof LockBody.Type | undefined) =>
        Effect.gen(function*() {
          if (holder !== undefined) {
            if (holder.pid === pid) return !liveInstances.has(holder.instance)
            return !isAlive(holder.pid)
          }
          const info = yield* fs.stat(target).pipe(Effect.option)
          const mtime = Option.flatMap(info, (i) => i.mtime)
          const now = yield* Clock.currentTimeMillis
          return Option.isSome(mtime) && now - mtime.value.getTime() > LOCK_GRACE_MILLIS
        })

      const tryLock = (bucketId: BucketId, token: string) =>
        Effect.gen(function*() {
          const target = lockFile(bucketId)
          const now = yield* Clock.currentTimeMillis
          // Written whole to a temp file, then linked into place: the lock never exists half-written, and
          // `link` fails if another process holds it.
          const tmp = `${target}.${token}.tmp`
          yield* fs.writeFileString(tmp, Schema.encodeSync(LockBody)({ pid, instance, token, atMillis: now }))
            .pipe(Effect.mapError(io(target, "cannot write the lock")))
          const linked = yield* fs.link(tmp, target).pipe(Effect.either)
          yield* fs.remove(tmp).pipe(Effect.ignore)
          if (Either.isRight(linked)) return true
          if (linked.left._tag !== "SystemError" || linked.left.reason !== "AlreadyExists") {
            return yield* io(target, "cannot lock")(linked.left)
          }
          const seen = yield* readHolder(target)
          if (Option.isNone(seen)) return false
          if (!(yield* isStale(target, seen.value.holder))) return false
          // Reap by renaming (atomic), then check that what was moved is the stale lock that was judged,
          // not a fresh one another process made in between; a fresh one is put back.
          const reaped = `${target}.${token}.reap`
          const moved = yield* fs.rename(target, reaped).pipe(Effect.either)
          if (Either.isLeft(moved)) return false
          const check = yield* readHolder(reaped)
          if (Option.isSome(check) && check.value.text !== seen.value.text) {
            yield* fs.link(reaped, target).pipe(Effect.ignore)
          }
          yield* fs.remove(reaped).pipe(Effect.ignore)
          return false
        })

      const release = (bucketId: BucketId, token: string) =>
        fs.readFileString(lockFile(bucketId)).pipe(
          Effect.flatMap((text) =>
            Either.getOrUndefined(Schema.decodeEither(LockBody)(text))?.token === token
              ? fs.remove(lockFile(bucketId))
              : Effect.void
          ),
          Effect.ignore
        )

      // Waiting for the lock is interruptible (and bounded); an interruption that lands just after the lock
      // was taken releases it by its token, and once held its release is registered before anything else
      // can interrupt, so this process never leaks a lock.
      const withLock = <A, E, R>(bucketId: BucketId, effect: Effect.Effect<A, E, R>) =>
        locks.withLock(
          bucketId,
          Effect.uninterruptibleMask((restore) =>
            Effect.gen(function*() {
              const token = Math.random().toString(36).slice(2)
              yield* restore(
                tryLock(bucketId, token).pipe(
                  Effect.repeat({
                    schedule: Schedule.spaced("50 millis"),
                    until: (ok) => ok
                  }),
                  Effect.timeoutFail({
                    duration: lockTimeout,
                    onTimeout: () =>
                      new JournalError({
                        reason: "Locked",
                        path: lockFile(bucketId),
                        detail: `another live process held the bucket's lock for ${Duration.format(lockTimeout)}`,
                        quarantinedTo: Option.none()
                      })
                  })
                )
              ).pipe(Effect.onInterrupt(() => release(bucketId, token)))
              return yield* restore(
                Effect.locally(
                  heldLocks,
                  new Set([...(yield* FiberRef.get(heldLocks)), `${root}:${bucketId}`])
                )(
                  effect
                )
              ).pipe(Effect.ensuring(release(bucketId, token)))
            })
          )
        )

      return ReceiptJournal.of({
        read,
        // Read-modify-write under the bucket's lock, shared with other processes, so that no process
        // overwrites what another one was told is recorded. Inside a held lock it is taken already.
        update: (bucketId, change) => {
          const write = Effect.gen(function*() {
            const current = Option.getOrElse(yield* read(bucketId), () => empty(bucketId))
            const next = compact(change(current), retention)
            yield* writeAtomic(bucketFile(bucketId), encodeFile(BucketJournal, next))
            return next
          })
          return Effect.flatMap(FiberRef.get(heldLocks), (held) =>
            held.has(`${root}:${bucketId}`)
              ? write
              : updates.withLock(bucketId, withLock(bucketId, write)))
        },
        buckets: fs.readDirectory(bucketsDir).pipe(
          Effect.mapError(io(bucketsDir, "cannot list")),
          Effect.map((names) =>
            names.flatMap((name) => {
              const match = /^(\d+)\.json$/.exec(name)
              return match === null ? [] : [BigInt(match[1]) as BucketId]
            })
          )
        ),
        readState: readFile(JournalState, stateFile),
        writeState: (next) => writeAtomic(stateFile, encodeFile(JournalState, next)),
        withLock
      })
    })
  )

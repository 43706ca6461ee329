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
 * This module holds the records and the pure operations on them, and the service; the file format
 * (envelope, checksum, atomic write, quarantine) is in `internal/journalFiles`, the cross-process lock in
 * `internal/journalLock`. Layers: `layerFileSystem(directory)` (on `@effect/platform`'s `FileSystem` and
 * `Path`, so any platform) and `layerMemory`; one test suite runs against both.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { CheckpointReceipt, PreparedCheckpoint } from "./ChainClient.js"
import { Decision } from "./Consensus.js"
import { BucketId } from "./Domain.js"
import * as Files from "./internal/journalFiles.js"
import * as JournalLock from "./internal/journalLock.js"
import * as KeyedLock from "./KeyedLock.js"

/**
 * The journal's file format version.
 *
 * @since 0.1.0
 * @category constants
 */
export const JOURNAL_VERSION = Files.JOURNAL_VERSION

/**
 * The journal could not be read or written. A `Corrupt` file, or an `OtherBucket` one (a valid journal of
 * another bucket under this bucket's name), has been moved to `quarantinedTo`. `OtherChain`: the journal
 * was recorded for another chain than the one connected, and is not opened.
 *
 * @since 0.1.0
 * @category errors
 */
export const JournalError = Files.JournalError

/**
 * @since 0.1.0
 * @category errors
 */
export type JournalError = Files.JournalError

/**
 * Decodes a journal file, or says why it cannot be trusted.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeFile = Files.decodeFile

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

/**
 * A journal in a directory, on `@effect/platform`'s `FileSystem`: `buckets/<id>.json`, `locks/`,
 * `quarantine/` and `chain.json`.
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
      const path = yield* Path.Path
      const retention = options.retention ?? defaultRetention
      const processId = options.processId ?? Files.currentPid()
      const isProcessAlive = options.isProcessAlive ?? Files.defaultIsAlive
      const files = yield* Files.make({
        directory: options.directory,
        processId,
        isProcessAlive,
        subdirectories: ["buckets"]
      })
      const bucketsDir = path.join(files.root, "buckets")
      yield* files.clearTemps(bucketsDir)
      yield* files.clearTemps(files.root, ".chain.json.")
      const lock = yield* JournalLock.make<BucketId>({
        files,
        processId,
        isProcessAlive,
        timeout: Duration.decode(options.lockTimeout ?? Duration.minutes(15))
      })
      // In this process, one writer per bucket file.
      const updates = KeyedLock.make<BucketId>()

      const bucketFile = (bucketId: BucketId) => path.join(bucketsDir, `${bucketId}.json`)
      // The checksum proves a file intact, not that it is this bucket's: a file copied or restored under
      // another bucket's name must not have recovery act on that bucket's decisions.
      const read = (bucketId: BucketId) =>
        files.read(BucketJournal, bucketFile(bucketId), (journal) =>
          journal.bucketId === bucketId
            ? Option.none()
            : Option.some(
              `this file holds the journal of bucket ${journal.bucketId}, not of bucket ${bucketId} (copied or ` +
                `restored under another bucket's name?)`
            ))

      // The chain this journal belongs to. Adopting is an exclusive create, so that of two processes
      // opening a fresh directory against different chains, one records its chain and the other is refused.
      const chainFile = path.join(files.root, "chain.json")
      if (options.genesisHash !== undefined) {
        const connected = options.genesisHash.toLowerCase()
        const recorded = yield* files.read(ChainRecord, chainFile)
        const chain = Option.isSome(recorded) ? recorded.value : yield* Effect.gen(function*() {
          const mine = { genesisHash: connected, recordedAtMillis: yield* Clock.currentTimeMillis }
          yield* files.create(chainFile, Files.encodeFile(ChainRecord, mine))
          return Option.getOrElse(yield* files.read(ChainRecord, chainFile), () => mine)
        })
        if (chain.genesisHash.toLowerCase() !== connected) {
          return yield* new Files.JournalError({
            reason: "OtherChain",
            path: chainFile,
            detail: `this journal belongs to the chain with genesis ${chain.genesisHash}, but the connected ` +
              `chain's genesis is ${connected}; use a journal directory of the connected chain`,
            quarantinedTo: Option.none()
          })
        }
      }

      return ReceiptJournal.of({
        read,
        // Read-modify-write under the bucket's lock, shared with other processes, so that no process
        // overwrites what another one was told is recorded. Inside a held lock it is taken already.
        update: (bucketId, change) => {
          const write = Effect.gen(function*() {
            const current = Option.getOrElse(yield* read(bucketId), () => empty(bucketId))
            const next = compact(change(current), retention)
            yield* files.write(bucketFile(bucketId), Files.encodeFile(BucketJournal, next))
            return next
          })
          return Effect.flatMap(lock.held(bucketId), (held) =>
            held ? write : updates.withLock(bucketId, lock.withLock(bucketId, write)))
        },
        withLock: lock.withLock
      })
    })
  )

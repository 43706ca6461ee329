/**
 * The journal's file format and how its files are written: every file is an envelope with a format
 * version and a blake2 checksum of its body; writes are atomic (temp file, write, fsync, rename, fsync of
 * the directory); a file that cannot be trusted is moved to `quarantine/` (never deleted) with a marker
 * left in its place, and reported as a typed error, never read as empty.
 *
 * Shared by the receipt journal (`buckets/`, `chain.json`) and the loop's store (`state.json`), which may
 * live in the same directory.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { blake2AsHex } from "@polkadot/util-crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** The journal's file format version. */
export const JOURNAL_VERSION = 1

/**
 * A journal file could not be read or written. A `Corrupt` file, or an `OtherBucket` one (a valid journal of
 * another bucket under this bucket's name), has been moved to `quarantinedTo`. `OtherChain`: the journal
 * was recorded for another chain than the one connected, and is not opened.
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

const Envelope = Schema.Struct({
  version: Schema.Number,
  checksum: Schema.String,
  body: Schema.Unknown
})

export const encodeFile = <A, I>(schema: Schema.Schema<A, I>, value: A): string => {
  const body = Schema.encodeSync(schema)(value)
  const bodyText = JSON.stringify(body)
  return JSON.stringify({ version: JOURNAL_VERSION, checksum: blake2AsHex(bodyText, 256), body }, null, 1)
}

/** Decodes a journal file, or says why it cannot be trusted. */
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

/** Whether a process id is alive: `process.kill(pid, 0)` where `process` exists. */
export const defaultIsAlive = (pid: number): boolean => {
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

/** This process's id, where there is one. */
export const currentPid = (): number => (globalThis as { process?: { pid?: number } }).process?.pid ?? 0

/** Why a file was set aside, as the quarantined name's suffix. */
const quarantineSuffix = { Corrupt: "corrupt", OtherBucket: "other-bucket" } as const

export interface JournalFiles {
  readonly root: string
  readonly io: (target: string, what: string) => (cause: unknown) => JournalError
  /** Writes a file whole: to a temp file, synced, then moved into place. */
  readonly write: (target: string, text: string) => Effect.Effect<void, JournalError>
  /** Creates a file whole only if it does not exist (linked into place, which fails if it does). */
  readonly create: (target: string, text: string) => Effect.Effect<void, JournalError>
  /**
   * Reads a file; a damaged one, or one that `belongs` says is not what this name should hold (its
   * mismatch, described), is moved to quarantine and reported, never taken as empty.
   */
  readonly read: <A, I>(
    schema: Schema.Schema<A, I>,
    target: string,
    belongs?: (value: A) => Option.Option<string>
  ) => Effect.Effect<Option.Option<A>, JournalError>
  /** Removes temp files in `dir` (names starting with `prefix`) left by a process that died mid-write. */
  readonly clearTemps: (dir: string, prefix?: string) => Effect.Effect<void, JournalError>
}

/** The files of a journal directory (created if missing, with `quarantine/` beside them). */
export const make = (options: {
  readonly directory: string
  readonly processId: number
  readonly isProcessAlive: (pid: number) => boolean
  readonly subdirectories?: ReadonlyArray<string> | undefined
}): Effect.Effect<JournalFiles, JournalError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const pid = options.processId
    const root = path.resolve(options.directory)
    const quarantineDir = path.join(root, "quarantine")

    const io = (target: string, what: string) => (cause: unknown) =>
      new JournalError({
        reason: "Io",
        path: target,
        detail: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
        quarantinedTo: Option.none()
      })

    const directories = [root, quarantineDir, ...(options.subdirectories ?? []).map((d) => path.join(root, d))]
    yield* Effect.forEach(directories, (dir) =>
      fs.makeDirectory(dir, { recursive: true }).pipe(
        Effect.mapError(io(dir, "cannot create the journal directory"))
      ))

    // A temp file is only renamed into place once complete and synced; one left behind by a process that
    // died was never acknowledged to anyone, so it is removed. Temp names carry the writer's pid: a live
    // process's temp file (another process sharing this journal) is left alone.
    const clearTemps = (dir: string, prefix = "") =>
      Effect.gen(function*() {
        const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(io(dir, "cannot list the journal")))
        for (const name of names) {
          if (!name.endsWith(".tmp") || !name.startsWith(prefix)) continue
          const writer = Number(/\.(\d+)\.\d+\.[a-z0-9]+\.tmp$/.exec(name)?.[1] ?? Number.NaN)
          if (Number.isInteger(writer) && writer !== pid && options.isProcessAlive(writer)) continue
          yield* fs.remove(path.join(dir, name)).pipe(Effect.mapError(io(path.join(dir, name), "cannot clear")))
        }
      })

    const syncDirectory = (dir: string) =>
      Effect.scoped(
        Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync)
      ).pipe(Effect.mapError(io(dir, "cannot sync the directory")))

    const writeAtomic = (target: string, text: string, replace: boolean) =>
      Effect.gen(function*() {
        const dir = path.dirname(target)
        const now = yield* Clock.currentTimeMillis
        const tmp = path.join(dir, `.${path.basename(target)}.${pid}.${now}.${Math.random().toString(36).slice(2)}.tmp`)
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* fs.open(tmp, { flag: "wx" })
          yield* handle.writeAll(new TextEncoder().encode(text))
          yield* handle.sync
        })).pipe(
          Effect.mapError(io(target, "cannot write")),
          Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore))
        )
        if (replace) {
          yield* fs.rename(tmp, target).pipe(
            Effect.mapError(io(target, "cannot replace")),
            Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore))
          )
        } else {
          const linked = yield* fs.link(tmp, target).pipe(Effect.either)
          yield* fs.remove(tmp).pipe(Effect.ignore)
          if (Either.isLeft(linked) && (linked.left._tag !== "SystemError" || linked.left.reason !== "AlreadyExists")) {
            return yield* io(target, "cannot create")(linked.left)
          }
        }
        yield* syncDirectory(dir)
      })

    /**
     * Puts a file that cannot be trusted in quarantine (never deleted), leaving a marker in its place.
     * The quarantined name ends in why (`.corrupt`, `.other-bucket`).
     */
    const tombstone = (target: string) => `${target}.quarantined`
    const quarantine = (target: string, reason: keyof typeof quarantineSuffix, detail: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const moved = path.join(quarantineDir, `${path.basename(target)}.${now}.${quarantineSuffix[reason]}`)
        yield* writeAtomic(tombstone(target), moved, true)
        yield* fs.rename(target, moved).pipe(Effect.mapError(io(target, "cannot quarantine")))
        yield* syncDirectory(path.dirname(target))
        return yield* new JournalError({ reason, path: target, detail, quarantinedTo: Option.some(moved) })
      })

    const read = <A, I>(
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

    return {
      root,
      io,
      write: (target, text) => writeAtomic(target, text, true),
      create: (target, text) => writeAtomic(target, text, false),
      read,
      clearTemps
    } satisfies JournalFiles
  })

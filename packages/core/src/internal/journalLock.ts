/**
 * The journal's cross-process lock, one per bucket: a lock file under `locks/`, created whole by linking
 * a complete temp file into place (so it never exists half-written, and creating it fails if another
 * process holds it). A lock left by a dead process, or by a previous life of this process's pid, is
 * reaped; one held by a live process is waited for, for a bounded time.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as KeyedLock from "../KeyedLock.js"
import type { JournalFiles } from "./journalFiles.js"
import { JournalError } from "./journalFiles.js"

const LockBody = Schema.parseJson(Schema.Struct({
  pid: Schema.Number,
  instance: Schema.String,
  token: Schema.String,
  atMillis: Schema.Number
}))

/** An unreadable lock older than this is damaged (a lock is written whole), and is reaped. */
const LOCK_GRACE_MILLIS = 10_000

/** Journal instances alive in this process: a lock with our pid but another instance is a previous life's. */
const liveInstances = new Set<string>()

/** The bucket locks the current fiber holds (so journal updates inside a held lock do not wait for it). */
const heldLocks = FiberRef.unsafeMake<ReadonlySet<string>>(new Set())

export interface JournalLock<K> {
  /** Runs `effect` holding the key's lock, in this process and across processes. */
  readonly withLock: <A, E, R>(key: K, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | JournalError, R>
  /** Whether the current fiber holds the key's lock (taken by an enclosing `withLock`). */
  readonly held: (key: K) => Effect.Effect<boolean>
}

/** The locks of a journal directory; the instance lives as long as the scope. */
export const make = <K extends { toString(): string }>(options: {
  readonly files: JournalFiles
  readonly processId: number
  readonly isProcessAlive: (pid: number) => boolean
  readonly timeout: Duration.Duration
}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { files, isProcessAlive, processId: pid, timeout } = options
    const instance = `${pid}-${Math.random().toString(36).slice(2)}`
    yield* Effect.acquireRelease(
      Effect.sync(() => liveInstances.add(instance)),
      () => Effect.sync(() => liveInstances.delete(instance))
    )
    const locksDir = path.join(files.root, "locks")
    yield* fs.makeDirectory(locksDir, { recursive: true }).pipe(
      Effect.mapError(files.io(locksDir, "cannot create the journal directory"))
    )
    // In this process, one holder per key (the lock file is for other processes).
    const local = KeyedLock.make<K>()
    const lockFile = (key: K) => path.join(locksDir, `${key}.lock`)

    const readHolder = (target: string) =>
      fs.readFileString(target).pipe(
        Effect.map((text) => ({ text, holder: Either.getOrUndefined(Schema.decodeEither(LockBody)(text)) })),
        Effect.option
      )

    /**
     * Whether a lock's holder is gone: a dead process; or this process's pid with an instance this process
     * does not run (a previous incarnation that got the same pid, common in containers); or an unreadable
     * lock older than the grace period.
     */
    const isStale = (target: string, holder: typeof LockBody.Type | undefined) =>
      Effect.gen(function*() {
        if (holder !== undefined) {
          if (holder.pid === pid) return !liveInstances.has(holder.instance)
          return !isProcessAlive(holder.pid)
        }
        const info = yield* fs.stat(target).pipe(Effect.option)
        const mtime = Option.flatMap(info, (i) => i.mtime)
        const now = yield* Clock.currentTimeMillis
        return Option.isSome(mtime) && now - mtime.value.getTime() > LOCK_GRACE_MILLIS
      })

    const tryLock = (key: K, token: string) =>
      Effect.gen(function*() {
        const target = lockFile(key)
        const now = yield* Clock.currentTimeMillis
        const tmp = `${target}.${token}.tmp`
        yield* fs.writeFileString(tmp, Schema.encodeSync(LockBody)({ pid, instance, token, atMillis: now }))
          .pipe(Effect.mapError(files.io(target, "cannot write the lock")))
        const linked = yield* fs.link(tmp, target).pipe(Effect.either)
        yield* fs.remove(tmp).pipe(Effect.ignore)
        if (Either.isRight(linked)) return true
        if (linked.left._tag !== "SystemError" || linked.left.reason !== "AlreadyExists") {
          return yield* files.io(target, "cannot lock")(linked.left)
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

    const release = (key: K, token: string) =>
      fs.readFileString(lockFile(key)).pipe(
        Effect.flatMap((text) =>
          Either.getOrUndefined(Schema.decodeEither(LockBody)(text))?.token === token
            ? fs.remove(lockFile(key))
            : Effect.void
        ),
        Effect.ignore
      )

    const heldName = (key: K) => `${files.root}:${key}`

    // Waiting for the lock is interruptible (and bounded); an interruption that lands just after the lock
    // was taken releases it by its token, and once held its release is registered before anything else
    // can interrupt, so this process never leaks a lock.
    const withLock = <A, E, R>(key: K, effect: Effect.Effect<A, E, R>) =>
      local.withLock(
        key,
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const token = Math.random().toString(36).slice(2)
            yield* restore(
              tryLock(key, token).pipe(
                Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }),
                Effect.timeoutFail({
                  duration: timeout,
                  onTimeout: () =>
                    new JournalError({
                      reason: "Locked",
                      path: lockFile(key),
                      detail: `another live process held the bucket's lock for ${Duration.format(timeout)}`,
                      quarantinedTo: Option.none()
                    })
                })
              )
            ).pipe(Effect.onInterrupt(() => release(key, token)))
            const held = new Set([...(yield* FiberRef.get(heldLocks)), heldName(key)])
            return yield* restore(Effect.locally(heldLocks, held)(effect)).pipe(
              Effect.ensuring(release(key, token))
            )
          })
        )
      )

    return {
      withLock,
      held: (key) => Effect.map(FiberRef.get(heldLocks), (held) => held.has(heldName(key)))
    } satisfies JournalLock<K>
  })

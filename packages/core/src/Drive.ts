/**
 * Commit strategies for a file-system layer on buckets: a drive is a bucket, and its writes decide when
 * a checkpoint follows.
 *
 * - `Immediate`: every write triggers a checkpoint now; writes made while one is in flight are coalesced
 *   into one more.
 * - `Batched { interval }`: writes mark the bucket dirty; the loop checkpoints it at the next due point.
 * - `Manual`: writes only accumulate; `commitChanges` checkpoints (available under every strategy).
 *
 * Several drives, with different strategies, can be open at once.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import type { Interval, LoopSettings } from "./CheckpointLoop.js"
import * as CheckpointLoop from "./CheckpointLoop.js"
import { CheckpointManager } from "./CheckpointManager.js"
import type { CheckpointResult } from "./CheckpointResult.js"
import type { BucketId } from "./Domain.js"

/**
 * @since 0.1.0
 * @category models
 */
export type CommitStrategy =
  | { readonly _tag: "Immediate" }
  | { readonly _tag: "Batched"; readonly interval: Interval }
  | { readonly _tag: "Manual" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const Immediate: CommitStrategy = { _tag: "Immediate" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const Batched = (interval: Interval): CommitStrategy => ({ _tag: "Batched", interval })

/**
 * @since 0.1.0
 * @category constructors
 */
export const Manual: CommitStrategy = { _tag: "Manual" }

/**
 * An open drive.
 *
 * @since 0.1.0
 * @category models
 */
export interface Drive {
  readonly bucketId: BucketId
  readonly strategy: CommitStrategy
  /** Call after data was written to the providers (a file uploaded, a directory created, a delete). */
  readonly recordWrite: Effect.Effect<void>
  /** Checkpoints now and waits for the result. */
  readonly commitChanges: Effect.Effect<CheckpointResult>
  /** Whether writes were made that no checkpoint covers yet. */
  readonly hasPendingChanges: Effect.Effect<boolean>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DrivesService {
  readonly open: (bucketId: BucketId, strategy: CommitStrategy) => Effect.Effect<Drive>
}

/**
 * Drives.
 *
 * @since 0.1.0
 * @category tags
 */
export class Drives extends Context.Tag("@checkpointer/core/Drives")<Drives, DrivesService>() {
  static readonly layer = (
    loopSettings: Partial<LoopSettings> = {}
  ): Layer.Layer<Drives, never, CheckpointLoop.Requirements> => Layer.scoped(Drives, make(loopSettings))
}

const intervalKey = (interval: Interval) =>
  interval._tag === "Blocks" ? `blocks:${interval.blocks}` : `millis:${interval.duration.toJSON()}`

/**
 * Builds the drives service; its loops run for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  loopSettings: Partial<LoopSettings> = {}
): Effect.Effect<DrivesService, never, Scope.Scope | CheckpointLoop.Requirements> =>
  Effect.gen(function*() {
    const manager = yield* CheckpointManager
    const scope = yield* Effect.scope
    const context = yield* Effect.context<CheckpointLoop.Requirements>()
    // Immediate drives share one loop that never fires on its own: every write asks it directly.
    const immediate = yield* CheckpointLoop.make([], {
      ...loopSettings,
      interval: CheckpointLoop.Every("3650 days"),
      overdueAfter: loopSettings.overdueAfter ?? CheckpointLoop.defaultSettings.overdueAfter
    })
    const batched = yield* Ref.make(new Map<string, CheckpointLoop.CheckpointLoopService>())
    const loopFor = (interval: Interval) =>
      Effect.gen(function*() {
        const existing = (yield* Ref.get(batched)).get(intervalKey(interval))
        if (existing !== undefined) return existing
        const loop = yield* CheckpointLoop.make([], { ...loopSettings, interval }).pipe(
          Effect.provideService(Scope.Scope, scope),
          Effect.provide(context)
        )
        yield* Ref.update(batched, (m) => new Map(m).set(intervalKey(interval), loop))
        return loop
      })
    const pendingManual = yield* Ref.make(new Set<BucketId>())

    const statusDirty = (loop: CheckpointLoop.CheckpointLoopService, bucketId: BucketId) =>
      Effect.map(loop.status, (all) => all.some((s) => s.bucketId === bucketId && s.dirty))

    return {
      open: (bucketId, strategy) =>
        Effect.gen(function*() {
          switch (strategy._tag) {
            case "Immediate":
              return {
                bucketId,
                strategy,
                recordWrite: Effect.zipRight(immediate.markDirty(bucketId), immediate.submitNow(bucketId)),
                commitChanges: immediate.submitNowAndWait(bucketId),
                hasPendingChanges: statusDirty(immediate, bucketId)
              } satisfies Drive
            case "Batched": {
              const loop = yield* loopFor(strategy.interval)
              return {
                bucketId,
                strategy,
                recordWrite: loop.markDirty(bucketId),
                commitChanges: loop.submitNowAndWait(bucketId),
                hasPendingChanges: statusDirty(loop, bucketId)
              } satisfies Drive
            }
            case "Manual":
              return {
                bucketId,
                strategy,
                recordWrite: Ref.update(pendingManual, (s) => new Set(s).add(bucketId)),
                commitChanges: Effect.gen(function*() {
                  yield* Ref.update(pendingManual, (s) => {
                    const next = new Set(s)
                    next.delete(bucketId)
                    return next
                  })
                  const result = yield* Effect.merge(manager.submitCheckpoint(bucketId)) as Effect.Effect<
                    CheckpointResult
                  >
                  if (result._tag !== "Submitted" && result._tag !== "AlreadyCheckpointed") {
                    yield* Ref.update(pendingManual, (s) => new Set(s).add(bucketId))
                  }
                  return result
                }),
                hasPendingChanges: Effect.map(Ref.get(pendingManual), (s) => s.has(bucketId))
              } satisfies Drive
          }
        })
    }
  })

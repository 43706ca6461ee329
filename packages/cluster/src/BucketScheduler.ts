/**
 * What makes each bucket due at its interval in a cluster: a cluster singleton (one in the whole
 * cluster, on whichever runner holds its shard) that follows the chain's finalized heads and the clock
 * and sends each bucket entity `Due` when its interval has come.
 *
 * Why a singleton and not a timer inside each entity: an entity exists on a runner only once a message
 * has reached it, and its timers die with it. When a runner dies, its buckets' entities are gone; the
 * engine reassigns their shards, but nothing would start them again until someone addressed them. The
 * scheduler addresses every bucket at every due point, so a bucket moves with its shard and no more is
 * needed: a bucket of a dead runner is checkpointed again within the shard lock's expiry, the
 * assignment refresh and one interval (plus the journal lease, if the dead runner held it mid-round).
 * The scheduler itself is a singleton on a shard too, and moves the same way. It holds nothing but the
 * due points: a new one starts with every bucket due, which costs one round each and no fee (a round
 * pays only for a commitment newer than the chain's).
 *
 * Paused buckets (the cluster's database, `BucketRegistry`) are read with the registry's buckets and are
 * sent no `Due`. Their entities are told `Pause` at every read, which costs one message per paused bucket
 * every few seconds and makes an entity that moved, or whose runner restarted, paused within one read
 * even if it could not read the table itself; a bucket that leaves the set is told `Resume` once. A new
 * scheduler tells no bucket `Resume` at its first read: it does not know which were paused before (an
 * auto-paused bucket stays so).
 *
 * @since 0.1.0
 */
import { ChainClient, type CheckpointLoop, type Domain } from "@checkpointer/core"
import type { Sharding } from "@effect/cluster/Sharding"
import * as Singleton from "@effect/cluster/Singleton"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BucketEntity from "./BucketEntity.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly buckets: ReadonlyArray<Domain.BucketId>
  /** When buckets are due (the loop's `Interval`: finalized blocks or time). */
  readonly interval: CheckpointLoop.Interval
  /** Buckets due at an interval of their own. */
  readonly bucketIntervals?: ReadonlyMap<Domain.BucketId, CheckpointLoop.Interval> | undefined
  /** How long one `Due` may take to reach its bucket before it is dropped (the next one follows). */
  readonly sendTimeout?: Duration.DurationInput | undefined
  /**
   * Buckets added at run time (the cluster's `BucketRegistry`), scheduled besides `buckets`, and the
   * paused buckets (any of them), not scheduled: read when the scheduler starts and every `every`
   * (default 5 s); a failed read keeps the last list.
   */
  readonly registry?: {
    readonly buckets?: Effect.Effect<ReadonlyArray<Domain.BucketId>, { readonly message: string }> | undefined
    readonly paused?: Effect.Effect<ReadonlyArray<Domain.BucketId>, { readonly message: string }> | undefined
    readonly every?: Duration.DurationInput | undefined
  } | undefined
}

/**
 * The buckets whose interval has come at a pass (a finalized head, or a tick of the clock), each one's
 * next due point recorded in `due`: pure but for that map, for the scheduler and its tests.
 *
 * @since 0.1.0
 * @category scheduling
 */
export const duePass = (
  due: Map<Domain.BucketId, { readonly block?: number; readonly millis?: number }>,
  intervalOf: (bucketId: Domain.BucketId) => CheckpointLoop.Interval,
  buckets: ReadonlyArray<Domain.BucketId>,
  at: { readonly head?: number | undefined; readonly now: number }
): Array<Domain.BucketId> => {
  const found: Array<Domain.BucketId> = []
  for (const bucketId of buckets) {
    const interval = intervalOf(bucketId)
    const next = due.get(bucketId)
    if (interval._tag === "Blocks") {
      if (at.head === undefined) continue
      if (next?.block !== undefined && at.head < next.block) continue
      due.set(bucketId, { block: at.head + interval.blocks })
    } else {
      if (next?.millis !== undefined && at.now < next.millis) continue
      due.set(bucketId, { millis: at.now + Duration.toMillis(interval.duration) })
    }
    found.push(bucketId)
  }
  return found
}

/**
 * The scheduler's name among the cluster's singletons.
 *
 * @since 0.1.0
 * @category constants
 */
export const singletonName = "checkpointer/BucketScheduler"

/**
 * Registers the scheduler singleton (it runs on one runner of the cluster at a time).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never, never, Sharding | ChainClient.ChainClient> =>
  Singleton.make(
    singletonName,
    Effect.gen(function*() {
      const chain = yield* ChainClient.ChainClient
      const client = yield* BucketEntity.Bucket.client
      const intervalOf = (bucketId: Domain.BucketId) => options.bucketIntervals?.get(bucketId) ?? options.interval
      const intervals = [options.interval, ...(options.bucketIntervals?.values() ?? [])]
      const byBlocks = intervals.some((i) => i._tag === "Blocks")
      const shortestTime = intervals.reduce<Duration.Duration | undefined>(
        (shortest, i) =>
          i._tag === "Blocks" ? shortest : shortest === undefined ? i.duration : Duration.min(shortest, i.duration),
        undefined
      )
      const sendTimeout = Duration.decode(options.sendTimeout ?? Duration.seconds(30))
      const due = new Map<Domain.BucketId, { readonly block?: number; readonly millis?: number }>()
      // One `Due` on its way per bucket: to a runner that has just died the engine retries until the
      // shard is reassigned; the next pass does not pile more up behind it.
      const sends = yield* FiberMap.make<Domain.BucketId>()
      // The last `Pause` or `Resume` on its way per bucket: a newer one replaces it.
      const controls = yield* FiberMap.make<Domain.BucketId>()
      // The configured buckets, and those of the registry as last read.
      let buckets: ReadonlyArray<Domain.BucketId> = options.buckets
      const configured = new Set(options.buckets)
      let registered = new Set<Domain.BucketId>()
      // The paused buckets as last read (of any bucket, in the cluster or not).
      let paused = new Set<Domain.BucketId>()
      // Resumed buckets whose entity has not yet answered `Resume`: not due until it has (or it timed
      // out), so that their first `Due` does not overtake it and get dropped as paused.
      // (Each `Resume` its own token: one replaced by a newer one does not clear the newer one's mark.)
      const resuming = new Map<Domain.BucketId, symbol>()
      const control = (bucketId: Domain.BucketId, message: "Pause" | "Resume") => {
        const token = Symbol(message)
        if (message === "Resume") resuming.set(bucketId, token)
        else resuming.delete(bucketId)
        return FiberMap.run(
          controls,
          bucketId,
          (message === "Pause"
            ? client(BucketEntity.entityId(bucketId)).Pause({ recorded: true })
            : client(BucketEntity.entityId(bucketId)).Resume({ recorded: true })).pipe(
              Effect.timeout(sendTimeout),
              Effect.catchAllCause((cause) => Effect.logDebug(`${message} to bucket ${bucketId} not delivered`, cause)),
              Effect.ensuring(Effect.sync(() => {
                if (resuming.get(bucketId) === token) resuming.delete(bucketId)
              }))
            )
        )
      }
      const readBuckets = (read: NonNullable<NonNullable<Options["registry"]>["buckets"]>) =>
        read.pipe(
          Effect.flatMap((found) =>
            Effect.gen(function*() {
              const next = new Set(found.filter((bucketId) => !configured.has(bucketId)))
              for (const bucketId of next) {
                if (!registered.has(bucketId)) yield* Effect.logInfo(`bucket ${bucketId} added to the cluster`)
              }
              for (const bucketId of registered) {
                if (next.has(bucketId)) continue
                yield* Effect.logInfo(`bucket ${bucketId} removed from the cluster`)
                due.delete(bucketId)
              }
              registered = next
              buckets = [...options.buckets, ...next]
            })
          ),
          Effect.catchAll((error) =>
            Effect.logWarning(`the cluster's buckets in the database not read (the last list kept): ${error.message}`)
          )
        )
      const readPaused = (read: NonNullable<NonNullable<Options["registry"]>["paused"]>) =>
        read.pipe(
          Effect.flatMap((found) =>
            Effect.gen(function*() {
              const next = new Set(found)
              const inCluster = new Set(buckets)
              for (const bucketId of next) {
                if (!paused.has(bucketId)) yield* Effect.logInfo(`bucket ${bucketId} paused in the cluster`)
                // Every read, not only the first: an entity that moved, or whose runner restarted,
                // converges to paused (idempotent; its round in flight, if any, is interrupted).
                if (inCluster.has(bucketId)) yield* control(bucketId, "Pause")
              }
              for (const bucketId of paused) {
                if (next.has(bucketId)) continue
                yield* Effect.logInfo(`bucket ${bucketId} resumed in the cluster`)
                if (inCluster.has(bucketId)) yield* control(bucketId, "Resume")
              }
              paused = next
            })
          ),
          Effect.catchAll((error) =>
            Effect.logWarning(
              `the cluster's paused buckets in the database not read (the last set kept): ${error.message}`
            )
          )
        )
      // Both at once: a database that does not answer holds the scheduler's start for one connect timeout.
      const readRegistry = (registry: NonNullable<Options["registry"]>) =>
        Effect.zipRight(
          registry.buckets === undefined ? Effect.void : readBuckets(registry.buckets),
          registry.paused === undefined ? Effect.void : readPaused(registry.paused),
          { concurrent: true }
        )
      if (options.registry !== undefined) {
        const registry = options.registry
        yield* readRegistry(registry)
        yield* readRegistry(registry).pipe(
          Effect.repeat(Schedule.spaced(registry.every ?? Duration.seconds(5))),
          Effect.forkScoped
        )
      }
      yield* Effect.logInfo(`bucket scheduler started for ${buckets.length} bucket(s)`)

      const pass = (head: number | undefined) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const running = paused.size === 0 && resuming.size === 0
            ? buckets
            : buckets.filter((bucketId) => !paused.has(bucketId) && !resuming.has(bucketId))
          for (const bucketId of duePass(due, intervalOf, running, { head, now })) {
            yield* FiberMap.run(
              sends,
              bucketId,
              client(BucketEntity.entityId(bucketId)).Due(undefined, { discard: true }).pipe(
                Effect.timeout(sendTimeout),
                Effect.catchAllCause((cause) => Effect.logDebug(`Due to bucket ${bucketId} not delivered`, cause))
              ),
              { onlyIfMissing: true }
            )
          }
        })

      // Finalized heads are followed again if the subscription fails or ends.
      const byHeads = chain.finalizedHeads.pipe(
        Stream.runForEach((head) => pass(head.number)),
        Effect.catchAll((error) => Effect.logError(`the scheduler lost the chain's finalized heads: ${error.message}`)),
        Effect.zipRight(Effect.sleep("5 seconds")),
        Effect.forever
      )
      const byTime = pass(undefined).pipe(
        Effect.repeat(Schedule.spaced(Duration.min(shortestTime ?? Duration.seconds(1), Duration.seconds(1))))
      )
      yield* Effect.all(
        [byBlocks ? byHeads : Effect.void, shortestTime === undefined ? Effect.void : byTime],
        { concurrency: "unbounded", discard: true }
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
  )

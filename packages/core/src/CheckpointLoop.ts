/**
 * Batched background checkpoints for many buckets in one loop.
 *
 * The loop is driven by the chain's finalized heads (`Blocks(n)`: a bucket is due every n real blocks)
 * or by time (`Duration`). At each due point a bucket is checkpointed if it is dirty (or always, with
 * `submitOnEmpty`); a bucket that becomes dirty after its due point waits for the next one — that is
 * the batching (use `submitNow` for an immediate checkpoint).
 *
 * With `submitOnEmpty` the loop is a watcher, for a process that is not told when data is written (the
 * `checkpointer run` daemon): every bucket is due at every interval, a round asks its providers, and the
 * submitter pays only when they agree on a commitment newer than the chain's (the same one: nothing
 * sent; an older one: refused, since the pallet would accept the regression). A bucket whose providers
 * have not moved costs one round and no fee. Without it, `markDirty` (or a `Drive`) says when to.
 *
 * A failed round is retried on the failure schedule (exponential from `failureRetryDelay`, capped) by a
 * timer of its own, without waiting for another write or due point; `CheckpointFailed.willRetry` is true
 * exactly when that retry is scheduled. After `maxConsecutiveFailures` the bucket pauses itself and a
 * `LoopPaused` event says so.
 *
 * The spend guardrails' refusals (nothing paid): `FeeAboveCap` and `BudgetExhausted` are failures like any
 * other — retried on the failure schedule (a retry costs a round of provider requests and a fee estimate,
 * never a fee), and after `maxConsecutiveFailures` the bucket waits for `resume`: a guardrail that keeps
 * tripping wants an operator. `BalanceBelowMinimum` pauses every bucket of that signer at once (each would be
 * refused alike): the whole loop when it signs for all of them (one `LoopPaused` whose `bucketId` is
 * undefined), else each of its buckets (a `LoopPaused` each); rounds in flight finish, and `resume` lifts it.
 *
 * Commands act at once, even while rounds are in flight: `pause` and `stop` interrupt them (a journaled
 * submission resumes safely later; without a journal an interrupted broadcast is held as in doubt),
 * `resume` clears every failure streak (the anchor's resume did not, so an auto-paused loop paused again
 * at once), `submitNow` runs a round right away — also while paused: it is an explicit request, and it
 * does not unpause — and coalesces with a round already in flight for that bucket.
 *
 * While it runs (paused or not), the loop probes every provider of its buckets on `GET /health` every
 * `probeInterval` (`ProviderProbe`), so provider health, and the breakers the rounds consult, follow the
 * providers between rounds too.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ChainClient } from "./ChainClient.js"
import type { CheckpointConfig } from "./CheckpointConfig.js"
import { CheckpointEvent, CheckpointEvents } from "./CheckpointEvents.js"
import { CheckpointManager, failureReason, refusalOf } from "./CheckpointManager.js"
import type { CheckpointResult } from "./CheckpointResult.js"
import type { BucketId } from "./Domain.js"
import { LoopState, LoopStore } from "./LoopStore.js"
import * as Metrics from "./Metrics.js"
import type { ProviderApi } from "./ProviderApi.js"
import type { ProviderDiscovery } from "./ProviderDiscovery.js"
import { ProviderHealth } from "./ProviderHealth.js"
import * as ProviderProbe from "./ProviderProbe.js"
import { backoff } from "./RetryPolicy.js"

const sameAccount = Option.getEquivalence<string>((a, b) => a === b)

/**
 * When buckets are due.
 *
 * @since 0.1.0
 * @category models
 */
export type Interval =
  | { readonly _tag: "Blocks"; readonly blocks: number }
  | { readonly _tag: "Duration"; readonly duration: Duration.Duration }

/**
 * @since 0.1.0
 * @category constructors
 */
export const Blocks = (blocks: number): Interval => ({ _tag: "Blocks", blocks })

/**
 * @since 0.1.0
 * @category constructors
 */
export const Every = (duration: Duration.DurationInput): Interval => ({
  _tag: "Duration",
  duration: Duration.decode(duration)
})

/**
 * The loop's settings; the defaults are the seed's `BatchedCheckpointConfig`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoopSettings {
  readonly interval: Interval
  /**
   * Buckets due at another interval than `interval` (blocks or time, whichever the default is). The loop
   * follows finalized heads if any bucket is due by blocks, and wakes for the next bucket due by time.
   */
  readonly bucketIntervals: ReadonlyMap<BucketId, Interval>
  /** Every bucket is due at every interval, dirty or not: the loop watches its providers for new data. */
  readonly submitOnEmpty: boolean
  readonly maxConsecutiveFailures: number
  /** The first backoff after a failure; each further failure doubles it. */
  readonly failureRetryDelay: Duration.Duration
  readonly failureRetryMaxDelay: Duration.Duration
  /** Rounds in flight at once across buckets. */
  readonly concurrency: number
  /** Emit `CheckpointOverdue` once a bucket has had no successful checkpoint for this long. */
  readonly overdueAfter: Option.Option<Duration.Duration>
  /**
   * Probe every provider of the loop's buckets on `GET /health` this often (jittered 0.8–1.2×); none or
   * zero: no probes.
   */
  readonly probeInterval: Option.Option<Duration.Duration>
  /** Health probes in flight at once. */
  readonly probeConcurrency: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultSettings: LoopSettings = {
  interval: Blocks(100),
  bucketIntervals: new Map(),
  submitOnEmpty: false,
  maxConsecutiveFailures: 5,
  failureRetryDelay: Duration.seconds(30),
  failureRetryMaxDelay: Duration.minutes(30),
  concurrency: 4,
  overdueAfter: Option.some(Duration.hours(1)),
  probeInterval: Option.some(Duration.minutes(1)),
  probeConcurrency: 8
}

/**
 * A bucket as the loop sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketLoopStatus {
  readonly bucketId: BucketId
  readonly dirty: boolean
  readonly paused: boolean
  readonly inFlight: boolean
  readonly failureStreak: number
  readonly lastAttemptMillis: Option.Option<number>
  readonly lastSuccessMillis: Option.Option<number>
  readonly lastResult: Option.Option<CheckpointResult["_tag"]>
  readonly nextDueBlock: Option.Option<number>
  readonly nextDueMillis: Option.Option<number>
  readonly retryNotBeforeMillis: Option.Option<number>
  /**
   * Its last successful checkpoint, or when the loop took it up if it has had none: what
   * `secondsSinceLastCheckpoint` and `overdue` count from.
   */
  readonly sinceMillis: number
  /** No successful checkpoint for `overdueAfter` or longer (what `CheckpointOverdue` reports). */
  readonly overdue: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CheckpointLoopService {
  /** Marks a bucket as having unrecorded changes (adding it to the loop if new). */
  readonly markDirty: (bucketId: BucketId) => Effect.Effect<void>
  /** Runs a round now for one bucket, or all; coalesces with one in flight. */
  readonly submitNow: (bucketId?: BucketId) => Effect.Effect<void>
  /** Runs a round now for one bucket and waits for its result. */
  readonly submitNowAndWait: (bucketId: BucketId) => Effect.Effect<CheckpointResult>
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  readonly stop: Effect.Effect<void>
  readonly isRunning: Effect.Effect<boolean>
  /** Why the whole loop is paused (`pause`, or the signer's balance below the minimum); none while it is not. */
  readonly pausedBecause: Effect.Effect<Option.Option<string>>
  readonly status: Effect.Effect<ReadonlyArray<BucketLoopStatus>>
}

interface BucketState {
  readonly bucketId: BucketId
  readonly dirty: boolean
  /** Bumped by every `markDirty`: a round clears `dirty` only if nothing was written meanwhile. */
  readonly generation: number
  readonly paused: boolean
  readonly inFlight: boolean
  readonly rerun: boolean
  readonly failureStreak: number
  readonly lastAttemptMillis: number | undefined
  readonly lastSuccessMillis: number | undefined
  readonly lastResult: CheckpointResult["_tag"] | undefined
  readonly nextDueBlock: number | undefined
  readonly nextDueMillis: number | undefined
  readonly retryNotBeforeMillis: number | undefined
  readonly overdueReported: boolean
  readonly sinceMillis: number
}

/**
 * The n-th backoff delay (n ≥ 1) of the failure schedule.
 *
 * @since 0.1.0
 * @category functions
 */
export const failureBackoff = (settings: LoopSettings, failures: number): Effect.Effect<Duration.Duration> =>
  Schedule.run(
    Schedule.delays(backoff({
      base: settings.failureRetryDelay,
      cap: settings.failureRetryMaxDelay,
      times: Math.max(1, failures),
      jitter: false
    })),
    0,
    Array.from({ length: Math.max(1, failures) }, (_, i) => i)
  ).pipe(Effect.map((delays) => Chunk.unsafeGet(delays, Math.max(1, failures) - 1)))

/**
 * What a loop needs: the manager and the chain, the services it reports to and keeps its state in
 * (required, so that leaving out the store is a type error, not a loop that forgets on restart), and what
 * its health probes use (the rounds' provider API, discovery and settings).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements =
  | CheckpointManager
  | ChainClient
  | LoopStore
  | ProviderHealth
  | CheckpointEvents
  | ProviderApi
  | ProviderDiscovery
  | CheckpointConfig

/**
 * The loop.
 *
 * @since 0.1.0
 * @category tags
 */
export class CheckpointLoop extends Context.Tag("@checkpointer/core/CheckpointLoop")<
  CheckpointLoop,
  CheckpointLoopService
>() {
  /** A loop over these buckets that runs for the layer's lifetime. */
  static readonly layer = (
    buckets: ReadonlyArray<BucketId>,
    settings: Partial<LoopSettings> = {}
  ): Layer.Layer<CheckpointLoop, never, Requirements> => Layer.scoped(CheckpointLoop, make(buckets, settings))
}

/**
 * Starts a loop over these buckets; it runs until `stop` or until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  initialBuckets: ReadonlyArray<BucketId>,
  overrides: Partial<LoopSettings> = {}
): Effect.Effect<CheckpointLoopService, never, Scope.Scope | Requirements> =>
  Effect.gen(function*() {
    const settings: LoopSettings = { ...defaultSettings, ...overrides }
    const manager = yield* CheckpointManager
    const chain = yield* ChainClient
    const store = yield* LoopStore
    const health = yield* ProviderHealth
    const { publish } = yield* CheckpointEvents
    const startedAt = yield* Clock.currentTimeMillis
    const fresh = (bucketId: BucketId, now: number): BucketState => ({
      bucketId,
      dirty: false,
      generation: 0,
      paused: false,
      inFlight: false,
      rerun: false,
      failureStreak: 0,
      lastAttemptMillis: undefined,
      lastSuccessMillis: undefined,
      lastResult: undefined,
      nextDueBlock: undefined,
      nextDueMillis: undefined,
      retryNotBeforeMillis: undefined,
      overdueReported: false,
      sinceMillis: now
    })
    const intervalOf = (bucketId: BucketId): Interval => settings.bucketIntervals.get(bucketId) ?? settings.interval
    /**
     * What a scheduling pass looks at, so that a finalized head costs the buckets due, not every bucket:
     * buckets due by blocks filed under their next due block (`dueAt`), those to look at on the next head
     * (`nextHead`: new ones, and those held back at their due point — in flight, paused, failing — which
     * are looked at again on every head until they are taken, as a scan of all buckets did), and the
     * buckets due by time (looked at on every pass).
     */
    const dueAt = new Map<number, Array<BucketId>>()
    let nextHead = new Set<BucketId>()
    let scannedUpTo: number | undefined = undefined
    const byTimeBuckets = new Set<BucketId>()
    const track = (bucketId: BucketId) => {
      if (intervalOf(bucketId)._tag === "Blocks") nextHead.add(bucketId)
      else byTimeBuckets.add(bucketId)
    }
    /** A bucket the loop has not seen yet, taken up now. */
    const takeUp = (bucketId: BucketId, now: number): BucketState => {
      track(bucketId)
      return fresh(bucketId, now)
    }
    // Mutated in place inside Ref.update/modify (synchronous, so atomic between fibers): copying the map
    // on every change made each round cost O(buckets), and a pass over many buckets quadratic.
    const states = yield* Ref.make(new Map(initialBuckets.map((b) => [b, takeUp(b, startedAt)] as const)))
    const running = yield* Ref.make(true)
    const paused = yield* Ref.make(false)
    const pauseReason = yield* Ref.make(Option.none<string>())
    const lastHead = yield* Ref.make<number | undefined>(undefined)
    const rounds = yield* FiberMap.make<BucketId>()
    // One pending retry timer per failing bucket.
    const retries = yield* FiberMap.make<BucketId>()
    const slots = yield* Effect.makeSemaphore(settings.concurrency)
    const persistLock = yield* Effect.makeSemaphore(1)

    const modify = (bucketId: BucketId, change: (state: BucketState) => BucketState) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Ref.update(states, (m) => m.set(bucketId, change(m.get(bucketId) ?? takeUp(bucketId, now))))
      )

    // Loop state and provider health survive restarts through the loop's store, with their real times. A state
    // file that cannot be read (damaged, or from a newer version) is never overwritten: persistence is off.
    let persistable = true
    const saved = yield* Effect.either(store.read)
    if (saved._tag === "Left") {
      persistable = false
      yield* Effect.logError(`loop state not restored, and will not be saved: ${saved.left.message}`)
    } else if (Option.isSome(saved.right)) {
      for (const bucketId of saved.right.value.dirtyBuckets) {
        yield* modify(bucketId, (s) => ({ ...s, dirty: true, generation: s.generation + 1 }))
      }
      yield* health.restore(saved.right.value.health)
    }
    const persist = Effect.gen(function*() {
      if (!persistable) return
      const mine = yield* Ref.get(states)
      // Other loops (other drives) share the file: keep their buckets, set ours.
      const stored = Option.getOrUndefined(yield* store.read)
      const others = (stored?.dirtyBuckets ?? []).filter((b) => !mine.has(b))
      const dirtyBuckets = [...others, ...Array.from(mine.values()).filter((s) => s.dirty).map((s) => s.bucketId)]
      yield* store.write(
        new LoopState({
          dirtyBuckets,
          health: yield* health.records,
          updatedAtMillis: yield* Clock.currentTimeMillis
        }, true)
      )
    }).pipe(
      persistLock.withPermits(1),
      Effect.catchAll((error) => Effect.logWarning(`could not persist loop state: ${error.message}`))
    )
    // Stopped (a signal, the scope closing) between two rounds' saves: what it knows now is saved too.
    yield* Effect.addFinalizer(() => persist)

    const intervals = [settings.interval, ...settings.bucketIntervals.values()]
    const byBlocks = intervals.some((i) => i._tag === "Blocks")
    const shortestTime = intervals.reduce<Duration.Duration | undefined>(
      (shortest, i) =>
        i._tag === "Blocks" ? shortest : shortest === undefined ? i.duration : Duration.min(shortest, i.duration),
      undefined
    )

    const advanceDue = (state: BucketState, head: number | undefined, now: number): BucketState => {
      const interval = intervalOf(state.bucketId)
      if (interval._tag === "Blocks" && head !== undefined) {
        const due = head + interval.blocks
        const filed = dueAt.get(due)
        if (filed === undefined) dueAt.set(due, [state.bucketId])
        else filed.push(state.bucketId)
      }
      return interval._tag === "Blocks"
        ? { ...state, nextDueBlock: head === undefined ? state.nextDueBlock : head + interval.blocks }
        : { ...state, nextDueMillis: now + Duration.toMillis(interval.duration) }
    }

    /**
     * The buckets a pass looks at: every bucket due by time; on a finalized head also those due by blocks
     * filed at or before it and those left for the next head (taken out here: the pass files each again).
     */
    const candidates = (head: number | undefined): Array<BucketId> => {
      const found = Array.from(byTimeBuckets)
      if (head === undefined) return found
      for (const bucketId of nextHead) found.push(bucketId)
      nextHead = new Set()
      const take = (block: number) => {
        const filed = dueAt.get(block)
        if (filed === undefined) return
        dueAt.delete(block)
        for (const bucketId of filed) found.push(bucketId)
      }
      const from = scannedUpTo === undefined ? head : scannedUpTo + 1
      if (head - from + 1 <= dueAt.size) {
        for (let block = from; block <= head; block++) take(block)
      } else {
        // A long gap between heads (or the first one): fewer due blocks filed than blocks passed.
        for (const block of Array.from(dueAt.keys())) if (block <= head) take(block)
      }
      scannedUpTo = scannedUpTo === undefined ? head : Math.max(scannedUpTo, head)
      return found
    }

    /** One round for a bucket; records the outcome; runs again if a request came in meanwhile. */
    const runRound = (bucketId: BucketId): Effect.Effect<CheckpointResult> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const before = yield* Ref.modify(states, (m): [BucketState, Map<BucketId, BucketState>] => {
          const state = m.get(bucketId) ?? takeUp(bucketId, now)
          return [state, m.set(bucketId, { ...state, inFlight: true, rerun: false, lastAttemptMillis: now })]
        })
        const result = yield* slots.withPermits(1)(
          Effect.merge(manager.attemptCheckpoint(bucketId))
        ) as Effect.Effect<CheckpointResult>
        const done = yield* Clock.currentTimeMillis
        const success = result._tag === "Submitted" || result._tag === "AlreadyCheckpointed"
        // The signer cannot pay: every bucket of this loop is held, not only this one.
        const lowBalance = result._tag === "SubmissionRefused" && result.reason === "BalanceBelowMinimum"
        const delay = success ? Duration.zero : yield* failureBackoff(settings, before.failureStreak + 1)
        const after = yield* Ref.modify(states, (m): [BucketState, Map<BucketId, BucketState>] => {
          const state = m.get(bucketId) ?? before
          const streak = success ? 0 : state.failureStreak + 1
          const next: BucketState = {
            ...state,
            inFlight: false,
            lastResult: result._tag,
            failureStreak: streak,
            // Clean only if nothing was written during the round, and the round was a fresh one: a
            // journaled round's signatures (reused after a restart) may predate the latest writes.
            dirty: success && state.generation === before.generation &&
                !(result._tag === "Submitted" && result.reused)
              ? false
              : state.dirty,
            lastSuccessMillis: success ? done : state.lastSuccessMillis,
            overdueReported: success ? false : state.overdueReported,
            retryNotBeforeMillis: success ? undefined : done + Duration.toMillis(delay),
            // A bucket pauses itself after too many failures; a success (an explicit `submitNow`, a drive's
            // write) shows the cause is gone, and unpauses it.
            paused: success ? false : state.paused || lowBalance || streak >= settings.maxConsecutiveFailures
          }
          return [next, m.set(bucketId, next)]
        })
        if (success) {
          yield* FiberMap.remove(retries, bucketId)
        } else {
          const willRetry = !after.paused && (yield* Ref.get(running)) && !(yield* Ref.get(paused))
          yield* publish(CheckpointEvent.CheckpointFailed({
            bucketId,
            reason: failureReason(result),
            willRetry,
            refusal: refusalOf(result)
          }))
          if (lowBalance) yield* holdForBalance(bucketId, result.detail)
          if (willRetry) yield* FiberMap.run(retries, bucketId, Effect.zipRight(Effect.sleep(delay), retry(bucketId)))
          if (after.paused && !before.paused && after.failureStreak >= settings.maxConsecutiveFailures) {
            yield* publish(CheckpointEvent.LoopPaused({
              bucketId,
              reason: `${after.failureStreak} consecutive failures (last: ${result._tag})`
            }))
          }
        }
        yield* persist
        if (success && before.paused) yield* publish(CheckpointEvent.LoopResumed({ bucketId }))
        // A request that came in meanwhile, or a journaled round reused after a restart (its signatures may
        // predate the latest writes, so the bucket is still dirty): one more round, in this same fiber.
        if (after.rerun || (after.dirty && result._tag === "Submitted" && result.reused)) {
          return yield* runRound(bucketId)
        }
        return result
      }).pipe(
        // However it ends (interrupted by pause or stop, or a defect), the bucket is not left in flight.
        Effect.onExit((exit) =>
          exit._tag === "Success" ? Effect.void : modify(bucketId, (s) => ({ ...s, inFlight: false }))
        )
      )

    /**
     * The signer's balance is below the minimum: every bucket it signs for pauses (their retry timers
     * cancelled), without interrupting the rounds in flight — this one among them; `resume` lifts it.
     * When it signs for every bucket of the loop (one signer, the usual case) the whole loop pauses,
     * announced once per pause with one `LoopPaused` whose `bucketId` is undefined; otherwise each of its
     * buckets is paused with its own `LoopPaused`.
     */
    const holdForBalance = (bucketId: BucketId, detail: string) =>
      Effect.gen(function*() {
        const reason = `BalanceBelowMinimum: ${detail}`
        const signer = chain.signerFor(bucketId)
        const sameSigner = (other: BucketId) => sameAccount(chain.signerFor(other), signer)
        const all = Array.from((yield* Ref.get(states)).keys())
        if (all.every(sameSigner)) {
          const already = yield* Ref.getAndSet(paused, true)
          yield* FiberMap.clear(retries)
          yield* Ref.update(states, (m) => {
            for (const [id, s] of m) m.set(id, { ...s, paused: true })
            return m
          })
          if (!already) {
            yield* Ref.set(pauseReason, Option.some(reason))
            yield* publish(CheckpointEvent.LoopPaused({ bucketId: undefined, reason }))
          }
          return
        }
        const newlyPaused = yield* Ref.modify(states, (m): [Array<BucketId>, Map<BucketId, BucketState>] => {
          const held: Array<BucketId> = []
          for (const [id, s] of m) {
            if (!sameSigner(id)) continue
            // This bucket's own state was set paused by its round already; it is announced here too.
            if (!s.paused || id === bucketId) held.push(id)
            m.set(id, { ...s, paused: true })
          }
          return [held, m]
        })
        for (const id of newlyPaused) {
          yield* FiberMap.remove(retries, id)
          yield* publish(CheckpointEvent.LoopPaused({ bucketId: id, reason }))
        }
      })

    /** Starts a round in the loop's fiber map (never replacing one running), or asks it to run once more. */
    const start = (bucketId: BucketId) =>
      Effect.gen(function*() {
        if (!(yield* Ref.get(running))) return
        const running_ = yield* FiberMap.get(rounds, bucketId).pipe(Effect.option)
        if (Option.isSome(running_)) return yield* modify(bucketId, (s) => ({ ...s, rerun: true }))
        yield* FiberMap.run(rounds, bucketId, runRound(bucketId), { onlyIfMissing: true })
      })

    /** A failed bucket's retry, when its backoff has passed: unless paused (`resume` tries it again then). */
    const retry = (bucketId: BucketId) =>
      Effect.gen(function*() {
        if (yield* Ref.get(paused)) return
        const state = (yield* Ref.get(states)).get(bucketId)
        if (state === undefined || state.paused) return
        yield* start(bucketId)
      })

    const watchInterval = Option.match(settings.overdueAfter, {
      onNone: () => Duration.minutes(1),
      onSome: (d) => Duration.min(Duration.minutes(1), Duration.max(Duration.seconds(1), Duration.times(d, 0.1)))
    })

    /** Whether a bucket has had no successful checkpoint for `overdueAfter` or longer. */
    const isOverdue = (state: BucketState, now: number): boolean =>
      Option.isSome(settings.overdueAfter) &&
      now - (state.lastSuccessMillis ?? state.sinceMillis) >= Duration.toMillis(settings.overdueAfter.value)

    // Each bucket's gauge tagged once: a tagged metric's key is built and hashed when it is made.
    const gauges = new Map<BucketId, Metric.Metric.Gauge<number>>()
    const gaugeOf = (bucketId: BucketId) => {
      let gauge = gauges.get(bucketId)
      if (gauge === undefined) {
        gauge = Metric.tagged(Metrics.secondsSinceLastCheckpoint, "bucket", bucketId.toString())
        gauges.set(bucketId, gauge)
      }
      return gauge
    }

    /**
     * The liveness watchdog: the per-bucket gauge, and `CheckpointOverdue` once per overdue spell. It looks
     * at every bucket, so it runs on its own time (`watchInterval`), not at every scheduling pass.
     */
    const watch = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const overdue = yield* Ref.modify(states, (m): [Array<BucketState>, Map<BucketId, BucketState>] => {
        const found: Array<BucketState> = []
        for (const state of m.values()) {
          if (!state.overdueReported && isOverdue(state, now)) {
            found.push(state)
            m.set(state.bucketId, { ...state, overdueReported: true })
          }
        }
        return [found, m]
      })
      for (const state of Array.from((yield* Ref.get(states)).values())) {
        const since = state.lastSuccessMillis ?? state.sinceMillis
        yield* Metric.set(gaugeOf(state.bucketId), Math.floor((now - since) / 1000))
      }
      for (const state of overdue) {
        yield* publish(CheckpointEvent.CheckpointOverdue({
          bucketId: state.bucketId,
          sinceMillis: state.lastSuccessMillis ?? state.sinceMillis
        }))
      }
    })

    /** A scheduling pass: start every due bucket that has work and is not held back. */
    const tick = (head: number | undefined) =>
      Effect.gen(function*() {
        if (!(yield* Ref.get(running)) || (yield* Ref.get(paused))) return
        const now = yield* Clock.currentTimeMillis
        if (head !== undefined) yield* Ref.set(lastHead, head)
        const due: Array<BucketId> = []
        yield* Ref.update(states, (m) => {
          for (const bucketId of candidates(head)) {
            const state = m.get(bucketId)
            if (state === undefined) continue
            const byBlocks = intervalOf(bucketId)._tag === "Blocks"
            // A bucket due by blocks is looked at on finalized heads only, one due by time on any pass.
            const isDue = byBlocks
              ? head !== undefined && (state.nextDueBlock === undefined || head >= state.nextDueBlock)
              : state.nextDueMillis === undefined || now >= state.nextDueMillis
            if (!isDue) {
              // Filed under a later block already: not due yet.
              continue
            }
            // A failing bucket is retried by its own timer, on the failure schedule; one in flight or
            // paused is looked at again on the next head.
            if (state.paused || state.inFlight || state.failureStreak > 0) {
              if (byBlocks) nextHead.add(bucketId)
              continue
            }
            m.set(bucketId, advanceDue(state, head, now))
            if (state.dirty || settings.submitOnEmpty) due.push(bucketId)
          }
          return m
        })
        for (const bucketId of due) yield* start(bucketId)
      })

    // Time-driven: the first pass runs now (before this returns, so the first due point is
    // deterministic), then one whenever the next bucket due by time is (at least once per shortest
    // interval). Block-driven: one pass per finalized head.
    if (shortestTime !== undefined) yield* tick(undefined)
    /** How long until the next bucket due by time that a pass would start. */
    const untilNextDue = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let next = now + Duration.toMillis(shortestTime ?? Duration.zero)
      for (const state of (yield* Ref.get(states)).values()) {
        if (intervalOf(state.bucketId)._tag !== "Duration" || state.nextDueMillis === undefined) continue
        if (state.nextDueMillis > now && state.nextDueMillis < next) next = state.nextDueMillis
      }
      return Duration.millis(next - now)
    })
    // Finalized heads are followed again if the subscription fails or ends.
    const byHeads = chain.finalizedHeads.pipe(
      Stream.runForEach((head) => tick(head.number)),
      Effect.catchAll((error) => Effect.logError(`the loop lost the chain's finalized heads: ${error.message}`)),
      Effect.zipRight(Effect.sleep("5 seconds")),
      Effect.forever
    )
    const byTime = Effect.flatMap(untilNextDue, Effect.sleep).pipe(Effect.zipRight(tick(undefined)), Effect.forever)
    const ticks = Effect.all(
      [byBlocks ? byHeads : Effect.void, shortestTime === undefined ? Effect.void : byTime],
      { concurrency: "unbounded", discard: true }
    )
    const scheduler = yield* Effect.forkScoped(ticks)
    // The watchdog keeps its own time: it also watches while paused, or while the chain is silent.
    const watchdog = yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(Effect.sleep(watchInterval), watch))
    )
    // Health probes of the buckets' providers: also while paused (health is watched, nothing is paid).
    const probes = yield* Effect.forkScoped(
      ProviderProbe.run(Effect.map(Ref.get(states), (m) => Array.from(m.keys())), {
        interval: settings.probeInterval,
        concurrency: settings.probeConcurrency
      })
    )

    const targets = (bucketId?: BucketId) =>
      bucketId === undefined ? Effect.map(Ref.get(states), (m) => Array.from(m.keys())) : Effect.succeed([bucketId])

    const service: CheckpointLoopService = {
      markDirty: (bucketId) =>
        Effect.zipRight(modify(bucketId, (s) => ({ ...s, dirty: true, generation: s.generation + 1 })), persist),
      submitNow: (bucketId) =>
        Effect.flatMap(
          targets(bucketId),
          (buckets) => Effect.forEach(buckets, (b) => Effect.zipRight(modify(b, (s) => s), start(b)), { discard: true })
        ),
      submitNowAndWait: (bucketId) =>
        Effect.gen(function*() {
          // Joins the round in flight for the bucket, or starts one, in the loop's fiber map: pause and stop
          // reach it like any other round.
          yield* start(bucketId)
          const fiber = yield* FiberMap.get(rounds, bucketId).pipe(Effect.option)
          if (Option.isNone(fiber)) {
            return yield* Effect.interrupt
          }
          const exit = yield* fiber.value.await
          return exit._tag === "Success" ? exit.value : yield* Effect.failCause(exit.cause)
        }) as Effect.Effect<CheckpointResult>,
      pause: Effect.gen(function*() {
        yield* Ref.set(paused, true)
        yield* Ref.set(pauseReason, Option.some("paused by request"))
        yield* FiberMap.clear(retries)
        yield* FiberMap.clear(rounds)
        yield* publish(CheckpointEvent.LoopPaused({ bucketId: undefined, reason: "paused by request" }))
      }),
      resume: Effect.gen(function*() {
        yield* Ref.set(paused, false)
        yield* Ref.set(pauseReason, Option.none())
        // Buckets that were failing lost their retry timer to the pause (or paused themselves): they are
        // tried again now, not at their next due point.
        const failing = yield* Ref.modify(states, (m): [Array<BucketId>, Map<BucketId, BucketState>] => {
          const found: Array<BucketId> = []
          for (const [id, s] of m) {
            if (s.failureStreak > 0 && (s.dirty || settings.submitOnEmpty)) found.push(id)
            m.set(id, { ...s, paused: false, failureStreak: 0, retryNotBeforeMillis: undefined })
          }
          return [found, m]
        })
        yield* publish(CheckpointEvent.LoopResumed({ bucketId: undefined }))
        for (const bucketId of failing) yield* start(bucketId)
        yield* tick(yield* Ref.get(lastHead))
      }),
      stop: Effect.gen(function*() {
        yield* Ref.set(running, false)
        yield* FiberMap.clear(retries)
        yield* FiberMap.clear(rounds)
        yield* Fiber.interrupt(scheduler)
        yield* Fiber.interrupt(watchdog)
        yield* Fiber.interrupt(probes)
      }),
      isRunning: Ref.get(running),
      pausedBecause: Ref.get(pauseReason),
      status: Effect.zipWith(Clock.currentTimeMillis, Ref.get(states), (now, m) =>
        Array.from(m.values()).map((s): BucketLoopStatus => ({
          bucketId: s.bucketId,
          dirty: s.dirty,
          paused: s.paused,
          inFlight: s.inFlight,
          failureStreak: s.failureStreak,
          lastAttemptMillis: Option.fromNullable(s.lastAttemptMillis),
          lastSuccessMillis: Option.fromNullable(s.lastSuccessMillis),
          lastResult: Option.fromNullable(s.lastResult),
          nextDueBlock: Option.fromNullable(s.nextDueBlock),
          nextDueMillis: Option.fromNullable(s.nextDueMillis),
          retryNotBeforeMillis: Option.fromNullable(s.retryNotBeforeMillis),
          sinceMillis: s.lastSuccessMillis ?? s.sinceMillis,
          overdue: isOverdue(s, now)
        })))
    }
    return service
  })

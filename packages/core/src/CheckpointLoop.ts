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
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { ChainClient } from "./ChainClient.js"
import type { CheckpointConfig } from "./CheckpointConfig.js"
import { CheckpointEvent, CheckpointEvents } from "./CheckpointEvents.js"
import { CheckpointManager, failureReason, refusalOf, spendOf } from "./CheckpointManager.js"
import type { CheckpointResult } from "./CheckpointResult.js"
import type { BucketId } from "./Domain.js"
import * as LoopBucket from "./internal/loopBucket.js"
import * as LoopPause from "./internal/loopPause.js"
import * as LoopPersistence from "./internal/loopPersistence.js"
import * as LoopRetry from "./internal/loopRetry.js"
import * as LoopRounds from "./internal/loopRounds.js"
import * as LoopSchedule from "./internal/loopSchedule.js"
import * as LoopWatchdog from "./internal/loopWatchdog.js"
import * as MapRef from "./internal/mapRef.js"
import type { LoopStore } from "./LoopStore.js"
import type { ProviderApi } from "./ProviderApi.js"
import type { ProviderDiscovery } from "./ProviderDiscovery.js"
import type { ProviderHealth } from "./ProviderHealth.js"
import * as ProviderProbe from "./ProviderProbe.js"

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

/**
 * The n-th backoff delay (n ≥ 1) of the failure schedule.
 *
 * @since 0.1.0
 * @category functions
 */
export const failureBackoff: (settings: LoopSettings, failures: number) => Effect.Effect<Duration.Duration> =
  LoopRetry.failureBackoff

/**
 * Whether a round's outcome awaits the settlement of an earlier attempt still in doubt (refused, nothing
 * sent): no failure of the bucket — tried again at its next due point, with no backoff and no step towards
 * the auto-pause. Loops of their own (the cluster's bucket entities) apply the same rule.
 *
 * @since 0.1.0
 * @category functions
 */
export const awaitsSettlement: (result: CheckpointResult) => boolean = LoopRetry.awaitsSettlement

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
    const { publish } = yield* CheckpointEvents
    const startedAt = yield* Clock.currentTimeMillis
    const schedule = LoopSchedule.make(settings.interval, settings.bucketIntervals)
    const { ids, modify, states, takeUp } = yield* LoopBucket.makeTable(initialBuckets, startedAt, schedule.track)
    const running = yield* Ref.make(true)
    const lastHead = yield* Ref.make<number | undefined>(undefined)
    const rounds = yield* LoopRounds.make(settings.concurrency)
    // One pending retry timer per failing bucket.
    const retries = yield* FiberMap.make<BucketId>()

    const markDirty = (bucketId: BucketId) =>
      modify(bucketId, (s) => ({ ...s, dirty: true, generation: s.generation + 1 }))
    const persist = yield* LoopPersistence.make(states, markDirty)
    const watchdog = LoopWatchdog.make(settings.overdueAfter, states, publish)
    const pause = yield* LoopPause.make({
      signerFor: chain.signerFor,
      states,
      retries,
      publish,
      submitOnEmpty: settings.submitOnEmpty
    })

    /** One round for a bucket; records the outcome; runs again if a request came in meanwhile. */
    const runRound = (bucketId: BucketId): Effect.Effect<CheckpointResult> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const before = yield* MapRef.modify(states, (m) => {
          const state = m.get(bucketId) ?? takeUp(bucketId, now)
          m.set(bucketId, { ...state, inFlight: true, rerun: false, lastAttemptMillis: now })
          return state
        })
        const result: CheckpointResult = yield* rounds.slot(Effect.merge(manager.attemptCheckpoint(bucketId)))
        const done = yield* Clock.currentTimeMillis
        const success = LoopRetry.isSuccess(result)
        const delay = success
          ? Duration.zero
          : yield* LoopRetry.failureBackoff(settings, LoopRetry.streakAfter(before.failureStreak, result))
        const after = yield* MapRef.modify(states, (m) => {
          const next = LoopRetry.afterRound(m.get(bucketId) ?? before, before, result, done, delay, settings)
          m.set(bucketId, next)
          return next
        })
        if (success) {
          yield* FiberMap.remove(retries, bucketId)
        } else {
          // Tried again by a retry timer, or else by the bucket's next due point — which starts a round only
          // for a dirty bucket, or any with `submitOnEmpty`.
          const byTimer = LoopRetry.retriedByTimer(result, after)
          const willRetry = !after.paused && (yield* Ref.get(running)) && !(yield* pause.isPaused) &&
            (byTimer || after.dirty || settings.submitOnEmpty)
          yield* publish(CheckpointEvent.CheckpointFailed({
            bucketId,
            reason: failureReason(result),
            willRetry,
            refusal: refusalOf(result),
            spend: spendOf(result)
          }))
          if (LoopRetry.isLowBalance(result)) yield* pause.holdForBalance(bucketId, result.detail, result.spend)
          // Otherwise the bucket's next due point brings it back.
          if (willRetry && byTimer) {
            yield* FiberMap.run(retries, bucketId, Effect.zipRight(Effect.sleep(delay), retry(bucketId)))
          }
          if (LoopRetry.autoPaused(before, after, settings)) {
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
          exit._tag === "Success" ? Effect.void : modify(bucketId, (s) => ({ ...s, inFlight: false })).pipe(
            // A defect is said (the bucket is tried again at its next due point); an interruption is not.
            Effect.zipRight(
              Cause.isInterruptedOnly(exit.cause)
                ? Effect.void
                : Effect.logError(`bucket ${bucketId}: round ended without an outcome`, exit.cause)
            )
          )
        )
      )

    /** Starts a round in the loop's fiber map (never replacing one running), or asks it to run once more. */
    const start = (bucketId: BucketId) =>
      Effect.gen(function*() {
        if (!(yield* Ref.get(running))) return
        if (!(yield* rounds.start(bucketId, runRound(bucketId)))) {
          yield* modify(bucketId, (s) => ({ ...s, rerun: true }))
        }
      })

    /** A failed bucket's retry, when its backoff has passed: unless paused (`resume` tries it again then). */
    const retry = (bucketId: BucketId) =>
      Effect.gen(function*() {
        if (yield* pause.isPaused) return
        const state = (yield* Ref.get(states)).get(bucketId)
        if (state === undefined || state.paused) return
        yield* start(bucketId)
      })

    /** A scheduling pass: start every due bucket that has work and is not held back. */
    const tick = (head: number | undefined) =>
      Effect.gen(function*() {
        if (!(yield* Ref.get(running)) || (yield* pause.isPaused)) return
        const now = yield* Clock.currentTimeMillis
        if (head !== undefined) yield* Ref.set(lastHead, head)
        const due = yield* MapRef.modify(states, (m) => schedule.pass(m, head, now, settings.submitOnEmpty))
        for (const bucketId of due) yield* start(bucketId)
      })

    // Time-driven, the first pass runs now: before this returns, so the first due point is deterministic.
    if (schedule.shortestTime !== undefined) yield* tick(undefined)
    const scheduler = yield* Effect.forkScoped(LoopSchedule.passes(schedule, states, chain.finalizedHeads, tick))
    // The watchdog keeps its own time: it also watches while paused, or while the chain is silent.
    const watching = yield* Effect.forkScoped(watchdog.run)
    // Health probes of the buckets' providers: also while paused (health is watched, nothing is paid).
    const probes = yield* Effect.forkScoped(
      ProviderProbe.run(ids, {
        interval: settings.probeInterval,
        concurrency: settings.probeConcurrency
      })
    )

    const service: CheckpointLoopService = {
      markDirty: (bucketId) => Effect.zipRight(markDirty(bucketId), persist),
      submitNow: (bucketId) =>
        Effect.flatMap(
          bucketId === undefined ? ids : Effect.succeed([bucketId]),
          (buckets) => Effect.forEach(buckets, (b) => Effect.zipRight(modify(b, (s) => s), start(b)), { discard: true })
        ),
      // Joins the round in flight for the bucket, or starts one: pause and stop reach it like any other round.
      submitNowAndWait: (bucketId) => Effect.zipRight(start(bucketId), rounds.join(bucketId)),
      pause: pause.byRequest(Effect.zipRight(FiberMap.clear(retries), rounds.interruptAll)),
      resume: Effect.gen(function*() {
        for (const bucketId of yield* pause.resume) yield* start(bucketId)
        yield* tick(yield* Ref.get(lastHead))
      }),
      stop: Effect.gen(function*() {
        yield* Ref.set(running, false)
        yield* FiberMap.clear(retries)
        yield* rounds.interruptAll
        yield* Fiber.interrupt(scheduler)
        yield* Fiber.interrupt(watching)
        yield* Fiber.interrupt(probes)
      }),
      isRunning: Ref.get(running),
      pausedBecause: pause.reason,
      status: Effect.zipWith(
        Clock.currentTimeMillis,
        Ref.get(states),
        (now, m) => Array.from(m.values(), (s) => LoopBucket.toStatus(s, watchdog.isOverdue(s, now)))
      )
    }
    return service
  })

/**
 * A bucket as an `@effect/cluster` entity: `Sharding` places each bucket (entity id: the bucket id in
 * decimal) on one runner, and its loop state — paused, dirty, the round in flight, the failure streak —
 * lives in the entity on that runner.
 *
 * Messages: `Due` (the bucket's interval has come: run a round unless paused, in flight or backing off;
 * sent by `BucketScheduler`), `CheckpointNow` (run a round now and answer with its outcome, also while
 * paused), `MarkDirty`, `Pause`, `Resume`, `Status`. All are volatile: a message to a runner that has
 * just died is retried by the engine until the bucket's shard is reassigned, and the scheduler sends the
 * next `Due` anyway.
 *
 * A pause is the cluster's, kept in its database (`BucketRegistry`'s `checkpointer_paused`), not only in
 * the entity's memory, which is lost when the bucket's shard moves or its runner restarts: `Pause` and
 * `Resume` from a library user write it there (as `checkpointer bucket pause|resume` does), an entity
 * reads it as it starts, and the scheduler, which reads the paused buckets every few seconds, sends them
 * no `Due` and tells each one `Pause` at every read (and `Resume` once it has left the set), so an entity
 * converges to the database's word within one read whichever runner it lives on. The scheduler's own
 * messages say `recorded` and write nothing: they come from the table. The auto-pause after too many
 * failed rounds stays in memory (a bucket moved to another runner gets a fresh streak there).
 *
 * A round is `CheckpointManager.attemptCheckpoint` on this runner's services, with the receipt journal in
 * PostgreSQL (`SqlJournal`): the engine is not trusted to run a bucket on one runner only
 * (Effect-TS/effect#6508). If it ever ran one on two, the journal's lease and fencing token let one of
 * them record and broadcast, the chain's snapshot is read before paying, and only the same signed bytes
 * are ever sent again.
 *
 * @since 0.1.0
 */
import { CheckpointLoop, CheckpointManager, type CheckpointResult, Domain } from "@checkpointer/core"
import * as Entity from "@effect/cluster/Entity"
import type { Sharding } from "@effect/cluster/Sharding"
import * as Rpc from "@effect/rpc/Rpc"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { BucketRegistry, RegistryError } from "./BucketRegistry.js"

/**
 * A bucket's state as its entity holds it, with the runner holding it.
 *
 * @since 0.1.0
 * @category models
 */
export class BucketStatus extends Schema.Class<BucketStatus>("@checkpointer/cluster/BucketStatus")({
  bucketId: Domain.BucketId,
  /** The runner the entity lives on (`host:port`). */
  runner: Schema.String,
  paused: Schema.Boolean,
  dirty: Schema.Boolean,
  inFlight: Schema.Boolean,
  failureStreak: Schema.Number,
  /** The last round's result tag (`Submitted`, `AlreadyCheckpointed`, `InsufficientConsensus`, …). */
  lastResult: Schema.NullOr(Schema.String),
  lastAttemptMillis: Schema.NullOr(Schema.Number),
  lastSuccessMillis: Schema.NullOr(Schema.Number),
  retryNotBeforeMillis: Schema.NullOr(Schema.Number),
  /** Rounds run by this entity since it started on its runner. */
  rounds: Schema.Number
}) {}

/**
 * What one round did.
 *
 * @since 0.1.0
 * @category models
 */
export class RoundOutcome extends Schema.Class<RoundOutcome>("@checkpointer/cluster/RoundOutcome")({
  bucketId: Domain.BucketId,
  runner: Schema.String,
  /** The result's tag. */
  result: Schema.String,
  /** A new extrinsic was paid for in this round (not settled from an earlier one). */
  paid: Schema.Boolean,
  /** The leaf count of the commitment on chain after the round, when it succeeded. */
  leafCount: Schema.NullOr(Domain.U64)
}) {}

/**
 * The round `CheckpointNow` waited for was interrupted (the bucket was paused, or its entity is stopping
 * as its shard moves): ask again.
 *
 * @since 0.1.0
 * @category errors
 */
export class RoundInterrupted extends Schema.TaggedError<RoundInterrupted>()("RoundInterrupted", {
  bucketId: Domain.BucketId
}) {
  override get message(): string {
    return `bucket ${this.bucketId}: the round was interrupted before it ended`
  }
}

/**
 * The bucket's interval has come.
 *
 * @since 0.1.0
 * @category messages
 */
export const Due = Rpc.make("Due")

/**
 * Run a round now (joining one in flight) and answer with its outcome; also while paused.
 *
 * @since 0.1.0
 * @category messages
 */
export const CheckpointNow = Rpc.make("CheckpointNow", { success: RoundOutcome, error: RoundInterrupted })

/**
 * The bucket has data not yet checkpointed: it is checkpointed at its next due point (watchers check
 * at every due point anyway).
 *
 * @since 0.1.0
 * @category messages
 */
export const MarkDirty = Rpc.make("MarkDirty", { success: BucketStatus })

/**
 * No more rounds until `Resume` (the round in flight is interrupted; a journaled submission is settled
 * by the next round). The pause is recorded in the cluster's database, with `reason`, unless `recorded`
 * says it is there already (the scheduler's, read from it). Paused first, then recorded: a failure to
 * record (`RegistryError`) leaves the bucket paused on this runner only, until its shard moves.
 *
 * @since 0.1.0
 * @category messages
 */
export const Pause = Rpc.make("Pause", {
  payload: {
    reason: Schema.optional(Schema.String),
    /** The pause is in the cluster's database already: nothing to write. */
    recorded: Schema.optional(Schema.Boolean)
  },
  success: BucketStatus,
  error: RegistryError
})

/**
 * Rounds again, the failure streak cleared. The pause is removed from the cluster's database first
 * (unless `recorded`: the scheduler's, which found it gone): if that fails (`RegistryError`) the bucket
 * stays paused, as the scheduler would pause it again at its next read.
 *
 * @since 0.1.0
 * @category messages
 */
export const Resume = Rpc.make("Resume", {
  payload: {
    /** The bucket is no longer paused in the cluster's database: nothing to write. */
    recorded: Schema.optional(Schema.Boolean)
  },
  success: BucketStatus,
  error: RegistryError
})

/**
 * @since 0.1.0
 * @category messages
 */
export const Status = Rpc.make("Status", { success: BucketStatus })

/**
 * The entity type: one entity per bucket, its id the bucket id in decimal.
 *
 * @since 0.1.0
 * @category entities
 */
export const Bucket = Entity.make("CheckpointerBucket", [Due, CheckpointNow, MarkDirty, Pause, Resume, Status])

/**
 * The entity id of a bucket.
 *
 * @since 0.1.0
 * @category entities
 */
export const entityId = (bucketId: Domain.BucketId): string => bucketId.toString()

/**
 * How a bucket entity behaves (the loop's own settings, as `CheckpointLoop` reads them).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Every due point runs a round, dirty or not: the providers are watched for new data (`run`). */
  readonly submitOnEmpty?: boolean | undefined
  readonly maxConsecutiveFailures?: number | undefined
  readonly failureRetryDelay?: Duration.DurationInput | undefined
  readonly failureRetryMaxDelay?: Duration.DurationInput | undefined
}

interface State {
  readonly paused: boolean
  readonly dirty: boolean
  /** Bumped by every `MarkDirty`: a round clears `dirty` only if nothing was written meanwhile. */
  readonly generation: number
  readonly inFlight: boolean
  readonly failureStreak: number
  readonly lastResult: string | undefined
  readonly lastAttemptMillis: number | undefined
  readonly lastSuccessMillis: number | undefined
  readonly retryNotBeforeMillis: number | undefined
  readonly rounds: number
}

const initial: State = {
  paused: false,
  dirty: false,
  generation: 0,
  inFlight: false,
  failureStreak: 0,
  lastResult: undefined,
  lastAttemptMillis: undefined,
  lastSuccessMillis: undefined,
  retryNotBeforeMillis: undefined,
  rounds: 0
}

/** How long an entity starting waits to read whether its bucket is paused before it starts unpaused. */
const pauseReadTimeout = Duration.seconds(5)

/**
 * Registers the bucket entity on this runner: its rounds run on the `CheckpointManager` in context, its
 * pause is kept in the `BucketRegistry` (the cluster's database; `BucketRegistry.layerMemory` in one
 * process).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<
  never,
  never,
  Sharding | CheckpointManager.CheckpointManager | BucketRegistry
> => {
  // The loop's failure schedule and auto-pause, with the loop's defaults.
  const settings: CheckpointLoop.LoopSettings = {
    ...CheckpointLoop.defaultSettings,
    submitOnEmpty: options.submitOnEmpty ?? true,
    ...(options.maxConsecutiveFailures === undefined ? {} : { maxConsecutiveFailures: options.maxConsecutiveFailures }),
    ...(options.failureRetryDelay === undefined
      ? {}
      : { failureRetryDelay: Duration.decode(options.failureRetryDelay) }),
    ...(options.failureRetryMaxDelay === undefined
      ? {}
      : { failureRetryMaxDelay: Duration.decode(options.failureRetryMaxDelay) })
  }
  return Bucket.toLayer(
    Effect.gen(function*() {
      const address = yield* Entity.CurrentAddress
      const runner = yield* Entity.CurrentRunnerAddress
      const runnerName = `${runner.host}:${runner.port}`
      // The entity id comes off the wire: decoded like any bucket id.
      const bucketId = yield* Schema.decodeUnknown(Domain.BucketId)(address.entityId).pipe(Effect.orDie)
      const manager = yield* CheckpointManager.CheckpointManager
      const registry = yield* BucketRegistry
      // Paused in the cluster's database (by an operator, or on the runner that held it before): paused
      // here from the start. Unread (the database away), it starts running, and the scheduler's next read
      // pauses it; meanwhile its rounds could not prove their journal lease either.
      const pausedAlready = yield* registry.pausedOne(bucketId).pipe(
        Effect.timeoutFail({
          duration: pauseReadTimeout,
          onTimeout: () => new RegistryError({ reason: "Unavailable", detail: "timed out" })
        }),
        Effect.map(Option.isSome),
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning(`bucket ${bucketId}: whether it is paused not read: ${error.message}`), false)
        )
      )
      const state = yield* Ref.make<State>({ ...initial, paused: pausedAlready })
      // The round in flight; interrupted by `Pause`, and with the entity (its shard moved, the runner stopping).
      const round = yield* FiberHandle.make<CheckpointResult.CheckpointResult>()
      // A shard move, seen from each side: the operator's log says which runner holds a bucket from when.
      yield* Effect.logInfo(
        `bucket ${bucketId} taken up by runner ${runnerName}${pausedAlready ? " (paused in the cluster)" : ""}`
      )
      yield* Effect.addFinalizer(() => Effect.logInfo(`bucket ${bucketId} released by runner ${runnerName}`))

      const status = Effect.map(Ref.get(state), (s) =>
        new BucketStatus({
          bucketId,
          runner: runnerName,
          paused: s.paused,
          dirty: s.dirty,
          inFlight: s.inFlight,
          failureStreak: s.failureStreak,
          lastResult: s.lastResult ?? null,
          lastAttemptMillis: s.lastAttemptMillis ?? null,
          lastSuccessMillis: s.lastSuccessMillis ?? null,
          retryNotBeforeMillis: s.retryNotBeforeMillis ?? null,
          rounds: s.rounds
        }))

      const runRound = Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const before = yield* Ref.updateAndGet(
          state,
          (s) => ({ ...s, inFlight: true, lastAttemptMillis: started, rounds: s.rounds + 1 })
        )
        const result: CheckpointResult.CheckpointResult = yield* Effect.merge(manager.attemptCheckpoint(bucketId))
        const done = yield* Clock.currentTimeMillis
        const success = result._tag === "Submitted" || result._tag === "AlreadyCheckpointed"
        // The journal is the cluster's database: while it is unreachable this runner cannot prove its
        // lease of the bucket, pays nothing, and tries again at the next due point. That is no failure of
        // the bucket: no backoff (the bucket would wait it out long after the database is back) and no
        // step towards the auto-pause (an outage would pause every bucket of the cluster).
        // Likewise an earlier attempt still in doubt: the next round's recovery settles it from the chain,
        // so it is tried again at the next due point, without backoff or a step towards the auto-pause.
        const journalDown = result._tag === "JournalFailed" || CheckpointLoop.awaitsSettlement(result)
        const delay = success || journalDown
          ? undefined
          : Duration.toMillis(yield* CheckpointLoop.failureBackoff(settings, before.failureStreak + 1))
        yield* Ref.update(state, (s) => {
          const streak = success ? 0 : journalDown ? s.failureStreak : s.failureStreak + 1
          return {
            ...s,
            inFlight: false,
            lastResult: result._tag,
            failureStreak: streak,
            dirty: success && s.generation === before.generation ? false : s.dirty,
            lastSuccessMillis: success ? done : s.lastSuccessMillis,
            retryNotBeforeMillis: delay === undefined ? undefined : done + delay,
            paused: success ? s.paused : s.paused || streak >= settings.maxConsecutiveFailures
          }
        })
        if (!success) yield* Effect.logWarning(`bucket ${bucketId}: round failed (${result._tag})`)
        return result
      }).pipe(
        // However it ends (interrupted by `Pause` or a shard move, or a defect), it is not left in flight.
        Effect.onExit((exit) =>
          exit._tag === "Success" ? Effect.void : Ref.update(state, (s) => ({ ...s, inFlight: false })).pipe(
            // A defect is said; an interruption (a pause, the shard moving) is the log's other lines.
            Effect.zipRight(
              Cause.isInterruptedOnly(exit.cause)
                ? Effect.void
                : Effect.logError(`bucket ${bucketId}: round ended without an outcome`, exit.cause)
            )
          )
        ),
        Effect.annotateLogs({ bucket: bucketId.toString(), runner: runnerName })
      )

      /** The round in flight, or a new one. */
      const roundNow = Effect.gen(function*() {
        const inFlight = yield* Effect.option(FiberHandle.get(round))
        const fiber = Option.isSome(inFlight)
          ? inFlight.value
          : yield* FiberHandle.run(round, runRound, { onlyIfMissing: true })
        return yield* fiber.await
      })

      const outcome = (result: CheckpointResult.CheckpointResult) =>
        new RoundOutcome({
          bucketId,
          runner: runnerName,
          result: result._tag,
          paid: result._tag === "Submitted" && !result.settled,
          leafCount: result._tag === "Submitted"
            ? result.receipt.commitment.leafCount
            : result._tag === "AlreadyCheckpointed"
            ? result.snapshot.commitment.leafCount
            : null
        })

      return Bucket.of({
        Due: () =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const s = yield* Ref.get(state)
            if (s.paused || s.inFlight) return
            if (s.retryNotBeforeMillis !== undefined && now < s.retryNotBeforeMillis) return
            if (!s.dirty && !settings.submitOnEmpty) return
            yield* FiberHandle.run(round, runRound, { onlyIfMissing: true })
          }),
        CheckpointNow: () =>
          Effect.flatMap(roundNow, (exit) =>
            exit._tag === "Success"
              ? Effect.succeed(outcome(exit.value))
              : Effect.fail(new RoundInterrupted({ bucketId }))),
        MarkDirty: () =>
          Effect.zipRight(Ref.update(state, (s) => ({ ...s, dirty: true, generation: s.generation + 1 })), status),
        Pause: ({ payload }) =>
          Effect.gen(function*() {
            // Stopped here first: the round in flight is interrupted whether or not the database answers.
            // Only when the bucket was running: the scheduler repeats `Pause` for a paused bucket at every
            // read, and must not interrupt a `CheckpointNow` an operator asked of it meanwhile.
            const wasPaused = yield* Ref.getAndUpdate(state, (s) => ({ ...s, paused: true }))
            if (!wasPaused.paused) yield* FiberHandle.clear(round)
            if (payload.recorded !== true) yield* registry.pause(bucketId, payload.reason)
            return yield* status
          }),
        Resume: ({ payload }) =>
          Effect.gen(function*() {
            if (payload.recorded !== true) yield* registry.resume(bucketId)
            yield* Ref.update(
              state,
              (s) => ({ ...s, paused: false, failureStreak: 0, retryNotBeforeMillis: undefined })
            )
            return yield* status
          }),
        Status: () => status
      })
    }),
    {
      // Rounds run beside the messages: `Status` and `Pause` are answered while a round is in flight.
      concurrency: "unbounded",
      // The state lives in the entity: it must outlive the gaps between due points (hours, for some).
      maxIdleTime: "7 days"
    }
  )
}

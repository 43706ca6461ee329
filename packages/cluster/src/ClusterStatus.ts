/**
 * Which runner holds which bucket, and each bucket's state, asked of the buckets' entities wherever they
 * live (`BucketEntity`'s `Status` message, from any runner); and the same as a `CheckpointLoop` for the
 * operator's endpoints (`@checkpointer/operator`'s readiness, gauges and status page read a loop's
 * `status`), so a runner serves them as a single process does.
 *
 * @since 0.1.0
 */
import { CheckpointLoop, type CheckpointResult, Domain } from "@checkpointer/core"
import type { Sharding } from "@effect/cluster/Sharding"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as BucketEntity from "./BucketEntity.js"

/**
 * The buckets one runner holds.
 *
 * @since 0.1.0
 * @category models
 */
export class RunnerBuckets extends Schema.Class<RunnerBuckets>("@checkpointer/cluster/RunnerBuckets")({
  /** `host:port` */
  runner: Schema.String,
  buckets: Schema.Array(Domain.BucketId)
}) {}

/**
 * The cluster as one runner sees it: who holds which bucket, each bucket's state, and the buckets whose
 * entity did not answer in time (its shard moving, its runner just dead).
 *
 * @since 0.1.0
 * @category models
 */
export class Snapshot extends Schema.Class<Snapshot>("@checkpointer/cluster/Snapshot")({
  /** The runner that answered this (`host:port`). */
  runner: Schema.String,
  atMillis: Schema.Number,
  runners: Schema.Array(RunnerBuckets),
  buckets: Schema.Array(BucketEntity.BucketStatus),
  unanswered: Schema.Array(Domain.BucketId)
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long a bucket's entity may take to answer `Status` (default 5 s). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Asks every bucket's entity for its status (all at once, each bounded).
 *
 * @since 0.1.0
 * @category accessors
 */
export const snapshot = (
  runner: string,
  buckets: ReadonlyArray<Domain.BucketId>,
  options: Options = {}
): Effect.Effect<Snapshot, never, Sharding> =>
  Effect.gen(function*() {
    const client = yield* BucketEntity.Bucket.client
    const timeout = options.timeout ?? Duration.seconds(5)
    const answers = yield* Effect.forEach(
      buckets,
      (bucketId) =>
        client(BucketEntity.entityId(bucketId)).Status().pipe(
          Effect.timeout(timeout),
          Effect.option
        ),
      { concurrency: "unbounded" }
    )
    const statuses = answers.flatMap((answer) => Option.toArray(answer))
    const byRunner = new Map<string, Array<Domain.BucketId>>()
    for (const status of statuses) {
      byRunner.set(status.runner, [...(byRunner.get(status.runner) ?? []), status.bucketId])
    }
    return new Snapshot({
      runner,
      atMillis: yield* Clock.currentTimeMillis,
      runners: [...byRunner.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([runner, buckets]) =>
        new RunnerBuckets({ runner, buckets })
      ),
      buckets: statuses,
      unanswered: buckets.filter((_, i) => Option.isNone(answers[i]!))
    })
  })

/**
 * A bucket's entity status as the loop's.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toLoopStatus = (
  status: BucketEntity.BucketStatus,
  nowMillis: number
): CheckpointLoop.BucketLoopStatus => ({
  bucketId: status.bucketId,
  dirty: status.dirty,
  paused: status.paused,
  inFlight: status.inFlight,
  failureStreak: status.failureStreak,
  lastAttemptMillis: Option.fromNullable(status.lastAttemptMillis),
  lastSuccessMillis: Option.fromNullable(status.lastSuccessMillis),
  lastResult: Option.fromNullable(status.lastResult as CheckpointResult.CheckpointResult["_tag"] | null),
  nextDueBlock: Option.none(),
  nextDueMillis: Option.none(),
  retryNotBeforeMillis: Option.fromNullable(status.retryNotBeforeMillis),
  sinceMillis: status.lastSuccessMillis ?? status.lastAttemptMillis ?? nowMillis,
  // The entity keeps no due points (the scheduler does): overdue is not told from here.
  overdue: false
})

/**
 * The cluster's buckets as a `CheckpointLoop`, for the operator's endpoints on a runner: `status` asks
 * every bucket's entity (`snapshot`), `markDirty`, `submitNow`, `pause` and `resume` are the entities'
 * messages (a pause recorded in the cluster's database, as the entity records it). A bucket whose entity does not answer in time is left out of `status`. `submitNowAndWait`
 * is not served (a round's full result stays on the runner that ran it): it dies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loop = (
  buckets: Effect.Effect<ReadonlyArray<Domain.BucketId>>,
  options: Options = {}
): Effect.Effect<CheckpointLoop.CheckpointLoopService, never, Sharding> =>
  Effect.gen(function*() {
    const client = yield* BucketEntity.Bucket.client
    const context = yield* Effect.context<Sharding>()
    const each = (f: (bucketId: Domain.BucketId) => Effect.Effect<unknown, unknown>) =>
      Effect.flatMap(buckets, (all) =>
        Effect.forEach(all, (bucketId) =>
          Effect.ignore(f(bucketId)), { concurrency: "unbounded", discard: true }))
    return CheckpointLoop.CheckpointLoop.of({
      markDirty: (bucketId) =>
        Effect.ignore(client(BucketEntity.entityId(bucketId)).MarkDirty()),
      submitNow: (bucketId) =>
        bucketId === undefined
          ? each((b) => client(BucketEntity.entityId(b)).CheckpointNow(undefined, { discard: true }))
          : Effect.ignore(client(BucketEntity.entityId(bucketId)).CheckpointNow(undefined, { discard: true })),
      submitNowAndWait: () => Effect.dieMessage("submitNowAndWait is not served by a cluster's status"),
      pause: each((b) => client(BucketEntity.entityId(b)).Pause({})),
      resume: each((b) => client(BucketEntity.entityId(b)).Resume({})),
      stop: Effect.void,
      isRunning: Effect.succeed(true),
      pausedBecause: Effect.succeed(Option.none()),
      status: Effect.gen(function*() {
        const found = yield* snapshot("", yield* buckets, options)
        const now = yield* Clock.currentTimeMillis
        return found.buckets.map((status) => toLoopStatus(status, now))
      }).pipe(Effect.provide(context))
    })
  })

/**
 * The bucket entity and its scheduler in one process: `@effect/cluster`'s in-memory test runner
 * (`TestRunner`: real `Sharding`, storage in memory) over the test world's chain and providers (simulators
 * on loopback, the real round services), on the real clock. What the entity promises whichever runner it
 * lives on; the child-process tests of `checkpointer run --cluster` show it across runners.
 */
import { BucketEntity, BucketRegistry, BucketScheduler, CheckpointCluster } from "@checkpointer/cluster"
import { ChainClient, CheckpointLoop, CheckpointManager, CheckpointResult, type Domain } from "@checkpointer/core"
import * as FakeChain from "@checkpointer/testing/FakeChain"
import * as TestNetwork from "@checkpointer/testing/TestNetwork"
import * as Entity from "@effect/cluster/Entity"
import * as TestRunner from "@effect/cluster/TestRunner"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"

const PROVIDERS = ["Alice", "Bob", "Charlie"]

const world = TestNetwork.layer({
  transport: "http",
  providers: PROVIDERS.map((name) => ({ name })),
  buckets: [1, 2].map((id) => ({ id, primaries: PROVIDERS, minProviders: 2 }))
})

/**
 * The cluster on one in-memory runner: the buckets due every 300 ms, its registry (run-time buckets and
 * pauses) in memory and read every 200 ms.
 */
const cluster = (buckets: ReadonlyArray<number>) =>
  Layer.unwrapEffect(Effect.map(TestNetwork.TestNetwork, (network) =>
    CheckpointCluster.layer({
      buckets: buckets.map((b) => network.bucketId(b)),
      interval: CheckpointLoop.Every("300 millis"),
      registry: { every: "200 millis" }
    }))).pipe(
      Layer.provideMerge(TestRunner.layer),
      Layer.provideMerge(BucketRegistry.layerMemory),
      Layer.provideMerge(world)
    )

/** The buckets checkpointed on chain, in order. */
const landed = Effect.map(
  Effect.flatMap(FakeChain.FakeChain, (chain) => chain.submissions),
  (submissions) =>
    submissions.flatMap((s) =>
      Either.isRight(s.outcome)
        ? [{ bucket: Number(s.outcome.right.bucketId), leafCount: Number(s.outcome.right.commitment.leafCount) }]
        : []
    )
)

/** Waits (polling, at most 20 s) until the condition holds. */
const until = <R>(check: Effect.Effect<boolean, never, R>, what: string) =>
  Effect.filterOrFail(check, (ok) => ok, () => `timed out waiting for ${what}`).pipe(
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
  )

const appendTo = (bucket: number, leaves: number) =>
  Effect.gen(function*() {
    const network = yield* TestNetwork.TestNetwork
    return Number((yield* network.network.append(network.bucketId(bucket), leaves)).leafCount)
  })

describe("BucketEntity", () => {
  it.live(
    "CheckpointNow runs a round on the bucket's entity and answers with its outcome; a second one pays nothing; Status names the runner and the last result",
    () =>
      Effect.gen(function*() {
        const bucket = yield* TestNetwork.bucket(1)
        const leafCount = yield* appendTo(1, 3)
        const client = yield* BucketEntity.Bucket.client
        const first = yield* client(BucketEntity.entityId(bucket)).CheckpointNow()
        expect(first.result).toBe("Submitted")
        expect(first.paid).toBe(true)
        expect(first.leafCount).toBe(BigInt(leafCount))
        const second = yield* client(BucketEntity.entityId(bucket)).CheckpointNow()
        expect([second.result, second.paid]).toEqual(["AlreadyCheckpointed", false])
        const status = yield* client(BucketEntity.entityId(bucket)).Status()
        expect(status.runner).toBe("localhost:34431")
        expect(status.lastResult).toBe("AlreadyCheckpointed")
        expect(status.inFlight).toBe(false)
      }).pipe(Effect.provide(cluster([]))),
    60_000
  )

  it.live(
    "the scheduler makes every bucket due: new data in both buckets is checkpointed with no other message, each commitment once",
    () =>
      Effect.gen(function*() {
        const one = yield* appendTo(1, 2)
        const two = yield* appendTo(2, 5)
        yield* until(
          Effect.map(landed, (l) =>
            l.some((c) =>
              c.bucket === 1 && c.leafCount === one
            ) && l.some((c) => c.bucket === 2 && c.leafCount === two)),
          "both buckets' checkpoints"
        )
        const all = yield* landed
        expect(new Set(all.map((c) => `${c.bucket}:${c.leafCount}`)).size).toBe(all.length)
      }).pipe(Effect.provide(cluster([1, 2]))),
    60_000
  )

  it.live(
    "a paused bucket runs no round at its due points while the other is checkpointed; CheckpointNow still does; Resume lets the due points in again",
    () =>
      Effect.gen(function*() {
        const paused = yield* TestNetwork.bucket(1)
        const client = yield* BucketEntity.Bucket.client
        const entity = client(BucketEntity.entityId(paused))
        expect((yield* entity.Pause({})).paused).toBe(true)
        const roundsBefore = (yield* entity.Status()).rounds
        const one = yield* appendTo(1, 2)
        const two = yield* appendTo(2, 2)
        yield* until(Effect.map(landed, (l) => l.some((c) => c.bucket === 2 && c.leafCount === two)), "bucket 2")
        expect((yield* entity.Status()).rounds).toBe(roundsBefore)
        // (What the first due point paid for before the pause may have landed; the new data has not.)
        expect((yield* landed).some((c) => c.bucket === 1 && c.leafCount === one)).toBe(false)

        const now = yield* entity.CheckpointNow()
        expect([now.result, now.leafCount]).toEqual(["Submitted", BigInt(one)])
        expect((yield* entity.Status()).paused).toBe(true)

        const more = yield* appendTo(1, 1)
        expect((yield* entity.Resume({})).paused).toBe(false)
        yield* until(
          Effect.map(landed, (l) => l.some((c) => c.bucket === 1 && c.leafCount === more)),
          "bucket 1 resumed"
        )
      }).pipe(Effect.provide(cluster([1, 2]))),
    60_000
  )

  it.live(
    "a bucket paused in the cluster's registry (not through its entity) is sent no Due and its entity is told so; its entity's Pause is recorded there; resumed there, it is checkpointed",
    () =>
      Effect.gen(function*() {
        const registry = yield* BucketRegistry.BucketRegistry
        const [bucket1, bucket2] = [yield* TestNetwork.bucket(1), yield* TestNetwork.bucket(2)]
        const client = yield* BucketEntity.Bucket.client
        const entity = client(BucketEntity.entityId(bucket1))
        const statusOf = (bucket: Domain.BucketId) => Effect.orDie(client(BucketEntity.entityId(bucket)).Status())
        // Both entities running (started by the scheduler's `Due`) before the pause.
        const first = yield* appendTo(1, 1)
        yield* until(Effect.map(landed, (l) => l.some((c) => c.bucket === 1 && c.leafCount === first)), "bucket 1")

        // As `checkpointer bucket pause` does it: in the registry only.
        expect(yield* registry.pause(bucket1, "maintenance")).toBe(true)
        yield* until(Effect.map(statusOf(bucket1), (s) => s.paused), "the scheduler's Pause to reach the entity")
        yield* until(Effect.map(statusOf(bucket1), (s) => !s.inFlight), "no round in flight")
        const roundsBefore = (yield* entity.Status()).rounds
        const one = yield* appendTo(1, 2)
        const two = yield* appendTo(2, 2)
        yield* until(Effect.map(landed, (l) => l.some((c) => c.bucket === 2 && c.leafCount === two)), "bucket 2")
        // Several more due points of 300 ms go by for bucket 2's runs.
        const rounds2 = (yield* statusOf(bucket2)).rounds
        yield* until(
          Effect.map(statusOf(bucket2), (s) => s.rounds >= rounds2 + 3),
          "three more due points"
        )
        expect((yield* entity.Status()).rounds).toBe(roundsBefore)
        expect((yield* landed).some((c) => c.bucket === 1 && c.leafCount === one)).toBe(false)

        // Resumed in the registry: the scheduler tells the entity and makes it due again.
        expect(yield* registry.resume(bucket1)).toBe(true)
        yield* until(
          Effect.map(landed, (l) => l.some((c) => c.bucket === 1 && c.leafCount === one)),
          "bucket 1 resumed"
        )
        expect((yield* entity.Status()).paused).toBe(false)

        // The entity's own `Pause` and `Resume` write the registry, so the scheduler agrees with them.
        yield* entity.Pause({ reason: "by a library user" })
        expect((yield* registry.paused).map((p) => [p.bucketId, p.reason])).toEqual([[bucket1, "by a library user"]])
        yield* entity.Resume({})
        expect(yield* registry.paused).toEqual([])
      }).pipe(Effect.provide(cluster([1, 2]))),
    60_000
  )
})

describe("BucketEntity: a round that fails on the journal", () => {
  /** A manager whose every round fails with the error `failure` holds. */
  const failing = (failure: Ref.Ref<CheckpointResult.CheckpointError>) =>
    Layer.succeed(
      CheckpointManager.CheckpointManager,
      CheckpointManager.CheckpointManager.of({
        collectCommitments: () => Effect.die("not used"),
        collectWithConflicts: () => Effect.die("not used"),
        submitCheckpoint: () => Effect.flatMap(Ref.get(failure), Effect.fail),
        attemptCheckpoint: () => Effect.flatMap(Ref.get(failure), Effect.fail),
        checkpointStatus: () => Effect.die("not used")
      })
    )

  it.live(
    "is no failure of the bucket (the database is away, its lease unprovable): no backoff, no step towards the auto-pause; any other failure does both",
    () =>
      Effect.gen(function*() {
        const bucket = 1n as Domain.BucketId
        const failure = yield* Ref.make<CheckpointResult.CheckpointError>(
          new CheckpointResult.JournalFailed({
            bucketId: bucket,
            reason: "Unavailable",
            detail: "connect ECONNREFUSED"
          })
        )
        const status = yield* Effect.gen(function*() {
          const entity = (yield* BucketEntity.Bucket.client)(BucketEntity.entityId(bucket))
          for (let i = 0; i < 3; i++) expect((yield* entity.CheckpointNow()).result).toBe("JournalFailed")
          const afterJournal = yield* entity.Status()
          yield* Ref.set(failure, new ChainClient.ChainUnavailable({ operation: "read", detail: "gone" }))
          for (let i = 0; i < 2; i++) expect((yield* entity.CheckpointNow()).result).toBe("ChainUnavailable")
          return [afterJournal, yield* entity.Status()] as const
        }).pipe(
          Effect.provide(
            BucketEntity.layer({ maxConsecutiveFailures: 2, failureRetryDelay: "1 minute" }).pipe(
              Layer.provideMerge(TestRunner.layer),
              Layer.provide(BucketRegistry.layerMemory),
              Layer.provide(failing(failure))
            )
          )
        )
        const [afterJournal, afterChain] = status
        expect([afterJournal.failureStreak, afterJournal.paused, afterJournal.retryNotBeforeMillis]).toEqual([
          0,
          false,
          null
        ])
        expect([afterChain.failureStreak, afterChain.paused, afterChain.retryNotBeforeMillis === null]).toEqual([
          2,
          true,
          false
        ])
      }),
    60_000
  )
})

describe("BucketScheduler: paused buckets", () => {
  /** Bucket entities that only record the messages they receive, in order (`Tag:bucket`). */
  const recording = (log: Ref.Ref<ReadonlyArray<string>>) =>
    BucketEntity.Bucket.toLayer(Effect.gen(function*() {
      const address = yield* Entity.CurrentAddress
      const record = (tag: string) => Ref.update(log, (l) => [...l, `${tag}:${address.entityId}`])
      const status = new BucketEntity.BucketStatus({
        bucketId: BigInt(address.entityId) as Domain.BucketId,
        runner: "test",
        paused: false,
        dirty: false,
        inFlight: false,
        failureStreak: 0,
        lastResult: null,
        lastAttemptMillis: null,
        lastSuccessMillis: null,
        retryNotBeforeMillis: null,
        rounds: 0
      })
      return BucketEntity.Bucket.of({
        Due: () => record("Due"),
        CheckpointNow: () => Effect.die("not used"),
        MarkDirty: () => Effect.as(record("MarkDirty"), status),
        Pause: ({ payload }) => Effect.as(record(payload.recorded === true ? "Pause" : "Pause!"), status),
        Resume: ({ payload }) => Effect.as(record(payload.recorded === true ? "Resume" : "Resume!"), status),
        Status: () => Effect.succeed(status)
      })
    }))

  it.live(
    "a bucket in the paused set is sent no Due and is told Pause (recorded) at every read; once it leaves the set it is told Resume once, before its next Due",
    () =>
      Effect.gen(function*() {
        const [one, two] = [1n as Domain.BucketId, 2n as Domain.BucketId]
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const paused = yield* Ref.make<ReadonlyArray<Domain.BucketId>>([])
        const count = (entry: string) => Effect.map(Ref.get(log), (l) => l.filter((e) => e === entry).length)
        yield* Effect.gen(function*() {
          yield* until(Effect.map(count("Due:1"), (n) => n >= 2), "bucket 1's Due")
          yield* Ref.set(paused, [one])
          yield* until(Effect.map(count("Pause:1"), (n) => n >= 3), "three reads' Pause to bucket 1")
          const dueBefore = yield* count("Due:1")
          const dueOfTwo = yield* count("Due:2")
          yield* until(Effect.map(count("Due:2"), (n) => n >= dueOfTwo + 5), "five more due points")
          expect(yield* count("Due:1")).toBe(dueBefore)

          yield* Ref.set(paused, [])
          yield* until(Effect.map(count("Due:1"), (n) => n > dueBefore), "bucket 1 due again")
          // No Due reached it while paused, nor before its Resume.
          const ofOne = (yield* Ref.get(log)).filter((e) => e.endsWith(":1"))
          const resumedAt = ofOne.indexOf("Resume:1")
          expect(resumedAt).toBeGreaterThan(0)
          expect(ofOne.slice(0, resumedAt).filter((e) => e === "Due:1")).toHaveLength(dueBefore)
          // Several reads later: still one Resume, and no more Pause.
          const pauses = yield* count("Pause:1")
          yield* until(Effect.map(count("Due:1"), (n) => n >= dueBefore + 5), "five due points of bucket 1")
          expect([yield* count("Resume:1"), yield* count("Pause:1")]).toEqual([1, pauses])
          // The scheduler's messages are marked recorded: they write nothing back.
          expect((yield* Ref.get(log)).filter((e) => e.includes("!"))).toEqual([])
          expect((yield* Ref.get(log)).some((e) => e.endsWith(":2") && !e.startsWith("Due"))).toBe(false)
        }).pipe(
          Effect.provide(
            BucketScheduler.layer({
              buckets: [one, two],
              interval: CheckpointLoop.Every("100 millis"),
              registry: { paused: Ref.get(paused), every: "100 millis" }
            }).pipe(
              Layer.provideMerge(recording(log)),
              Layer.provideMerge(TestRunner.layer),
              Layer.provide(world)
            )
          )
        )
      }),
    60_000
  )
})

describe("BucketScheduler.duePass", () => {
  const b = (n: number) => BigInt(n) as Domain.BucketId
  it("a bucket due by blocks is due on the first head and again interval blocks later; one due by time at its period", () => {
    const due = new Map()
    const intervalOf = (bucket: Domain.BucketId) =>
      bucket === b(1) ? CheckpointLoop.Blocks(3) : CheckpointLoop.Every("10 seconds")
    const pass = (head: number | undefined, now: number) =>
      BucketScheduler.duePass(due, intervalOf, [b(1), b(2)], { head, now })
    expect(pass(undefined, 0)).toEqual([b(2)])
    expect(pass(100, 1_000)).toEqual([b(1)])
    expect(pass(102, 2_000)).toEqual([])
    expect(pass(103, 9_999)).toEqual([b(1)])
    expect(pass(undefined, 10_000)).toEqual([b(2)])
  })
})

import {
  ChainClient,
  CheckpointEvents,
  CheckpointManager,
  type CheckpointResult,
  type Domain
} from "@checkpointer/core"
import { assert } from "@effect/vitest"
import { Duration, Effect, Option, Ref, Stream, Supervisor } from "effect"
import type { ConfigError, Layer, Scope } from "effect"
import { TestNetwork } from "../src/index.js"

/** Test defaults: no jitter, so retry delays are exact. */
export const exact = { retryJitter: false } as const

/** The services a test world provides. */
export type World = Layer.Layer.Success<ReturnType<typeof TestNetwork.layer>>

/** Runs an effect in a fresh test world. */
export const inWorld = <A, E, R extends World | Scope.Scope = World>(
  setup: TestNetwork.NetworkSetup,
  body: Effect.Effect<A, E, R>
): Effect.Effect<A, E | ConfigError.ConfigError, Exclude<R, World>> =>
  body.pipe(Effect.provide(TestNetwork.layer({ ...setup, config: { ...exact, ...setup.config } })))

/**
 * Runs an effect under a supervisor that tracks every fiber forked within it (daemons and the
 * fibers of layers built inside included), and fails the test if any is still alive once the
 * effect (and the scopes it closes) has finished. Interrupted fibers get a few turns of the
 * scheduler to finish before they are counted.
 */
export const leavingNoFibers = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const supervisor = yield* Supervisor.track
    const result = yield* Effect.supervised(effect, supervisor)
    let alive = yield* supervisor.value
    for (let turn = 0; turn < 100 && alive.length > 0; turn++) {
      yield* Effect.yieldNow()
      alive = yield* supervisor.value
    }
    assert.deepStrictEqual(
      alive.map((fiber) => `#${fiber.id().id}`),
      [],
      "no fiber left running after the world closed"
    )
    return result
  })

/** Runs an effect while time advances by `duration` (see `TestNetwork.advancing`). */
export const after = TestNetwork.advancing

/** What the honest providers hold for a test bucket (its MMR root over HTTP). */
export const truth = (id: number | bigint) =>
  Effect.flatMap(
    TestNetwork.TestNetwork,
    (world) =>
      Effect.map(world.network.bucketData(world.bucketId(id)), (data) => {
        if (data === undefined) throw new Error(`no data for bucket ${id}`)
        return data
      })
  )

/** One checkpoint attempt for a test bucket, as a single result value (never fails). */
export const submit = (id: number | bigint) =>
  Effect.gen(function*() {
    const manager = yield* CheckpointManager.CheckpointManager
    const bucket = yield* TestNetwork.bucket(id)
    return yield* Effect.merge(manager.submitCheckpoint(bucket)) as Effect.Effect<
      CheckpointResult.CheckpointResult
    >
  })

/** One collection round for a test bucket. */
export const collect = (id: number | bigint, withConflicts = false) =>
  Effect.gen(function*() {
    const manager = yield* CheckpointManager.CheckpointManager
    const bucket = yield* TestNetwork.bucket(id)
    return yield* (withConflicts ? manager.collectWithConflicts(bucket) : manager.collectCommitments(bucket))
  })

/** The dev account of a name. */
export const account = (name: string): Effect.Effect<Domain.AccountId, never, TestNetwork.TestNetwork> =>
  Effect.map(TestNetwork.TestNetwork, (world) => world.account(name))

/** The number of checkpoint extrinsics that reached the fake chain. */
export const submissions = Effect.flatMap(TestNetwork.TestNetwork, (world) => world.chain.submissions)

export const seconds = (n: number) => Duration.toMillis(Duration.seconds(n))

/** Records every event published from now on; the effect returned reads them, oldest first. */
export const recordEvents = Effect.gen(function*() {
  const bus = yield* CheckpointEvents.CheckpointEvents
  const seen = yield* Ref.make<ReadonlyArray<CheckpointEvents.CheckpointEvent>>([])
  const stream = yield* bus.subscribe
  yield* stream.pipe(Stream.runForEach((e) => Ref.update(seen, (all) => [...all, e])), Effect.forkScoped)
  return Ref.get(seen)
})

/** Asserts that a round's result is a refusal (nothing signed, nothing paid) for this reason. */
export const expectRefused = TestNetwork.expectRefused

/**
 * Another checkpointer (another process, none of our journal, the same signing account) puts what the
 * providers of a bucket hold now on chain.
 */
export const someoneElseCheckpoints = (id: number) =>
  Effect.gen(function*() {
    const chain = yield* ChainClient.ChainClient
    const report = yield* after("5 seconds", collect(id))
    const { commitment, signatures } = Option.getOrThrow(report.decision.majority)
    yield* after(
      "5 seconds",
      ChainClient.submitCheckpoint(
        chain,
        new ChainClient.CheckpointSubmission({ bucketId: report.decision.bucketId, commitment, signatures }, true)
      )
    )
  })

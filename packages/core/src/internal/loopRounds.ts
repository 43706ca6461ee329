/**
 * The loop's rounds in flight: at most one per bucket, each in its own fiber of one `FiberMap` (so `pause`
 * and `stop` interrupt them all at once, and a request joins the round in flight rather than starting
 * another), and at most `concurrency` of them asking providers and paying at once.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { CheckpointResult } from "../CheckpointResult.js"
import type { BucketId } from "../Domain.js"

/** A loop's rounds in flight: see the module's comment. */
export interface Rounds {
  /** Runs `round` in the bucket's fiber unless one is in flight already; whether it started it. */
  readonly start: (bucketId: BucketId, round: Effect.Effect<CheckpointResult>) => Effect.Effect<boolean>
  /** Waits for the bucket's round in flight and gives its result; interrupted if there is none. */
  readonly join: (bucketId: BucketId) => Effect.Effect<CheckpointResult>
  /** Runs a round's work in one of the `concurrency` slots. */
  readonly slot: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Interrupts every round in flight. */
  readonly interruptAll: Effect.Effect<void>
}

export const make = (concurrency: number): Effect.Effect<Rounds, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<BucketId, CheckpointResult>()
    const slots = yield* Effect.makeSemaphore(concurrency)
    const inFlight = (bucketId: BucketId) => FiberMap.get(fibers, bucketId).pipe(Effect.option)
    return {
      start: (bucketId, round) =>
        Effect.flatMap(inFlight(bucketId), (fiber) =>
          Option.isSome(fiber)
            ? Effect.succeed(false)
            : Effect.as(FiberMap.run(fibers, bucketId, round, { onlyIfMissing: true }), true)),
      join: (bucketId) =>
        Effect.flatMap(inFlight(bucketId), (fiber) =>
          Option.isNone(fiber)
            ? Effect.interrupt
            : Effect.flatMap(
              fiber.value.await,
              (exit) => exit._tag === "Success" ? Effect.succeed(exit.value) : Effect.failCause(exit.cause)
            )) as Effect.Effect<CheckpointResult>,
      slot: slots.withPermits(1),
      interruptAll: FiberMap.clear(fibers)
    }
  })

/**
 * A test world (`TestNetwork`, in memory, on `TestClock`) with a checkpoint loop and the operator router
 * served on loopback.
 */
import { CheckpointLoop } from "@checkpointer/core"
import { OperatorRouter } from "@checkpointer/operator"
import { TestNetwork } from "@checkpointer/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { serve } from "./serve.js"

/** The services of a world with the operator's. */
export const layer = (setup: TestNetwork.NetworkSetup) =>
  OperatorRouter.layer().pipe(
    Layer.provideMerge(TestNetwork.layer({ ...setup, config: { retryJitter: false, ...setup.config } }))
  )

type World = Layer.Layer.Success<ReturnType<typeof layer>>

/** Runs the body in a fresh world. */
export const inWorld = <A, E, R extends World | Scope.Scope>(
  setup: TestNetwork.NetworkSetup,
  body: Effect.Effect<A, E, R>
) => body.pipe(Effect.provide(layer(setup)))

/** Starts a loop over these test buckets and serves the router on loopback; the loop and the base URL. */
export const startServing = (ids: ReadonlyArray<number>, settings: Partial<CheckpointLoop.LoopSettings>) =>
  Effect.gen(function*() {
    const world = yield* TestNetwork.TestNetwork
    const loop = yield* CheckpointLoop.make(ids.map(world.bucketId), settings)
    // Let the scheduler subscribe to the chain's heads before anything else happens.
    yield* TestClock.adjust("1 millis")
    const url = yield* serve.pipe(Effect.provideService(CheckpointLoop.CheckpointLoop, loop))
    return { loop, url, world }
  })

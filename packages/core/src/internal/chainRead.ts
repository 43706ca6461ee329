/**
 * Bounds a chain read: past the timeout it is a `ChainUnavailable` for that operation.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { ChainUnavailable } from "../ChainClient.js"

/** @internal */
export const bounded =
  (operation: string, timeout: Duration.Duration) =>
  <A, E, R>(read: Effect.Effect<A, E, R>): Effect.Effect<A, E | ChainUnavailable, R> =>
    Effect.timeoutFail(read, {
      duration: timeout,
      onTimeout: () => new ChainUnavailable({ operation, detail: "the chain did not answer in time" })
    })

/**
 * Whether the chain is reachable right now, as readiness and the state gauges see it. The chain port
 * (`ChainClient`) has no notion of a connection, so this is its own small service: `layerProbe` asks the
 * chain for its finalized head (bounded), which works over any `ChainClient`; an application that knows
 * its connection's state (the command's `@polkadot/api` socket) gives it with `layer`.
 *
 * @since 0.1.0
 */
import { ChainClient } from "@checkpointer/core"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The chain's state: connected, or not and why.
 *
 * @since 0.1.0
 * @category models
 */
export type ChainStatus = Data.TaggedEnum<{
  Connected: {}
  Disconnected: { readonly detail: string }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const ChainStatus = Data.taggedEnum<ChainStatus>()

/**
 * @since 0.1.0
 * @category models
 */
export interface ChainConnectionService {
  readonly status: Effect.Effect<ChainStatus>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ChainConnection extends Context.Tag("@checkpointer/operator/ChainConnection")<
  ChainConnection,
  ChainConnectionService
>() {
  /** The chain's state as the application knows it. */
  static readonly layer = (status: Effect.Effect<ChainStatus>): Layer.Layer<ChainConnection> =>
    Layer.succeed(ChainConnection, { status })

  /** Connected when the chain answers a finalized-head read within `timeout` (default 2 seconds). */
  static readonly layerProbe = (
    options: { readonly timeout?: Duration.DurationInput | undefined } = {}
  ): Layer.Layer<ChainConnection, never, ChainClient.ChainClient> =>
    Layer.effect(ChainConnection, Effect.map(ChainClient.ChainClient, (chain) => probe(chain, options.timeout)))
}

/**
 * A probe of this chain client: a finalized-head read, bounded by `timeout` (default 2 seconds).
 *
 * @since 0.1.0
 * @category constructors
 */
export const probe = (
  chain: ChainClient.ChainClientService,
  timeout: Duration.DurationInput = Duration.seconds(2)
): ChainConnectionService => ({
  status: chain.finalizedBlock.pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => ({ message: `no finalized head within ${Duration.format(timeout)}` })
    }),
    Effect.match({
      onFailure: (error) => ChainStatus.Disconnected({ detail: error.message }),
      onSuccess: () => ChainStatus.Connected()
    })
  )
})

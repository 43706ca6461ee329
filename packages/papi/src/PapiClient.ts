/**
 * A polkadot-api client as an Effect service: either one the host app already holds (`layerFromClient`:
 * the app and Checkpointer share one connection and one `chainHead_v1_follow` subscription) or one made
 * here from endpoints (`layer`: connected with a bounded wait for the first finalized block, destroyed
 * when the scope closes; polkadot-api's WebSocket provider reconnects and fails over by itself).
 *
 * ```ts
 * const client = createClient(getWsProvider("wss://rpc.example")) // the app's own
 * const Chain = PapiChainClient.layer({ signer }).pipe(Layer.provide(PapiClient.layerFromClient(client)))
 * ```
 *
 * @since 0.1.0
 */
import { ChainAdapter } from "@checkpointer/core"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { createClient, type PolkadotClient } from "polkadot-api"
import { getWsProvider, WsEvent } from "polkadot-api/ws"
import { WebSocket } from "ws"

/**
 * The connection could not be established in time (bad endpoint, no node, no finalized block).
 * Core's `ChainAdapter.ConnectionFailed`, shared by both chain layers.
 *
 * @since 0.1.0
 * @category errors
 */
export const ConnectionFailed = ChainAdapter.ConnectionFailed
/**
 * @since 0.1.0
 * @category errors
 */
export type ConnectionFailed = ChainAdapter.ConnectionFailed

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** WebSocket endpoints; on a drop the provider moves to the next one. */
  readonly endpoints: ReadonlyArray<string>
  /** Bound on connecting and seeing the first finalized block (default 30 s). */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PapiClientService {
  readonly client: PolkadotClient
  /** The endpoints of a client of our own (none for the host app's client). */
  readonly endpoints: ReadonlyArray<string>
  /**
   * Whether the socket of a client of our own is open, as its provider reports it (a drop sets `false`,
   * the reconnect `true`); none for the host app's client, whose connection is the app's to watch.
   */
  readonly connected: Option.Option<SubscriptionRef.SubscriptionRef<boolean>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PapiClient extends Context.Tag("@checkpointer/papi/PapiClient")<PapiClient, PapiClientService>() {}

/**
 * A client of our own on `endpoints`, destroyed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ConnectOptions): Effect.Effect<PapiClientService, ConnectionFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const endpoints = options.endpoints
    if (endpoints.length === 0) return yield* new ConnectionFailed({ endpoints, detail: "no endpoint configured" })
    const connected = yield* SubscriptionRef.make(false)
    const onStatusChanged = (status: { readonly type: WsEvent }) => {
      if (status.type === WsEvent.CONNECTED) Effect.runSync(SubscriptionRef.set(connected, true))
      if (status.type === WsEvent.CLOSE || status.type === WsEvent.ERROR) {
        Effect.runSync(SubscriptionRef.set(connected, false))
      }
    }
    const client = yield* Effect.acquireRelease(
      // Node 20 has no global WebSocket: `ws` stands in (the same class @polkadot/api's provider uses).
      Effect.sync(() =>
        createClient(getWsProvider([...endpoints], { websocketClass: WebSocket as never, onStatusChanged }))
      ),
      (client) => Effect.sync(() => client.destroy())
    )
    yield* Effect.tryPromise({
      try: (signal) => Promise.race([client.getFinalizedBlock(), abortable(signal)]),
      catch: (error) => new ConnectionFailed({ endpoints, detail: String(error) })
    }).pipe(
      Effect.timeoutFail({
        duration: options.connectTimeout ?? Duration.seconds(30),
        onTimeout: () => new ConnectionFailed({ endpoints, detail: "no finalized block in time" })
      })
    )
    return { client, endpoints, connected: Option.some(connected) }
  })

const abortable = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))))

/**
 * A client of our own, for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ConnectOptions): Layer.Layer<PapiClient, ConnectionFailed> =>
  Layer.scoped(PapiClient, make(options))

/**
 * A client of its own from configuration: `CHECKPOINTER_CHAIN_ENDPOINTS` (comma-separated) and
 * `CHECKPOINTER_CHAIN_CONNECT_TIMEOUT`, the names `@checkpointer/polkadot` reads.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<PapiClient, ConnectionFailed | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(ChainAdapter.connectionConfig, layer)
)

/**
 * The host app's client: Checkpointer reads and submits through it and never destroys it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromClient = (client: PolkadotClient): Layer.Layer<PapiClient> =>
  Layer.succeed(PapiClient, { client, endpoints: [], connected: Option.none() })

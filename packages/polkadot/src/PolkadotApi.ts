/**
 * `@polkadot/api` as a scoped resource, in the manner of `@effect/sql-pg`'s client: connected with a
 * bounded wait (`isReadyOrError`), disconnected (bounded) when the scope closes, reconnected by the
 * provider after a drop, with failover across an endpoint list.
 *
 * @since 0.1.0
 */
import { ChainAdapter } from "@checkpointer/core"
import { ApiPromise, WsProvider } from "@polkadot/api"
import type { ProviderInterface } from "@polkadot/rpc-provider/types"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { config as rxjsConfig } from "rxjs"

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
  /** Bound on connecting and loading metadata (default 30 s). */
  readonly connectTimeout?: Duration.DurationInput
  /** Delay before reconnecting after a drop (default 1 s). */
  readonly reconnectDelay?: Duration.DurationInput
  /** Bound on any single RPC request (default 30 s). */
  readonly requestTimeout?: Duration.DurationInput
}

/**
 * A connected api, and whether its socket is connected right now (the provider reconnects by itself).
 *
 * @since 0.1.0
 * @category models
 */
export interface PolkadotApiService {
  readonly api: ApiPromise
  /** The provider under the api, for calls that must not go through rpc-core's memoisation. */
  readonly provider: ProviderInterface
  readonly endpoints: ReadonlyArray<string>
  /** `true` while the socket is up; changes as the provider disconnects and reconnects. */
  readonly connected: SubscriptionRef.SubscriptionRef<boolean>
  /** Bumped at every (re)connection: a subscription made on an older connection is gone. */
  readonly connection: SubscriptionRef.SubscriptionRef<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PolkadotApi extends Context.Tag("@checkpointer/polkadot/PolkadotApi")<PolkadotApi, PolkadotApiService>() {}

const describeError = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null) {
    const inner = (error as { error?: unknown; message?: unknown }).error ?? (error as { message?: unknown }).message
    if (inner instanceof Error) return inner.message
    if (typeof inner === "string") return inner
  }
  return String(error)
}

/**
 * `@polkadot/api` runs subscriptions of its own on rxjs (runtime version, block registries); when one of
 * them fails with nobody subscribed to its error — a request to a node slower than the request timeout —
 * rxjs rethrows the error on a timer, which ends a Node process with an uncaught exception. Those errors
 * are the api's own, already seen by the caller that asked (as a failed read): they are dropped (printed
 * on stderr with polkadot's `DEBUG` switch). Set once per process, and only if nobody else set a handler.
 */
const keepInternalErrorsFromCrashing = () => {
  if (rxjsConfig.onUnhandledError === null) {
    rxjsConfig.onUnhandledError = (error: unknown) => {
      // Shown only with polkadot's own debug switch (`DEBUG=*`): stdout may be a program's JSON.
      const debug = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.DEBUG
      if (debug !== undefined && debug !== "") {
        // eslint-disable-next-line no-console
        console.error(`@polkadot/api internal error (not fatal): ${describeError(error)}`)
      }
    }
  }
}

/**
 * Connects, waits until the api is ready (bounded), and disconnects when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ConnectOptions): Effect.Effect<PolkadotApiService, ConnectionFailed, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.endpoints.length === 0) {
      return yield* new ConnectionFailed({ endpoints: [], detail: "no endpoint configured" })
    }
    yield* Effect.promise(() => cryptoWaitReady())
    keepInternalErrorsFromCrashing()
    const connected = yield* SubscriptionRef.make(false)
    const connection = yield* SubscriptionRef.make(0)
    const provider = new WsProvider(
      [...options.endpoints],
      Duration.toMillis(options.reconnectDelay ?? Duration.seconds(1)),
      {},
      Duration.toMillis(options.requestTimeout ?? Duration.seconds(30))
    )
    const onConnected = () => {
      Effect.runSync(SubscriptionRef.set(connected, true))
      Effect.runSync(SubscriptionRef.update(connection, (n) => n + 1))
    }
    const onDisconnected = () => Effect.runSync(SubscriptionRef.set(connected, false))
    let lastError: string | undefined
    const offConnected = provider.on("connected", onConnected)
    const offDisconnected = provider.on("disconnected", onDisconnected)
    if (provider.isConnected) onConnected()

    // Constructing the api only starts it; waiting for it is separate and interruptible, so the connect
    // timeout can end a connection that never comes.
    const api = yield* Effect.acquireRelease(
      // WsProvider's optional members clash with `exactOptionalPropertyTypes`; it is the api's own provider type.
      Effect.sync(() => {
        const api = new ApiPromise({ provider: provider as unknown as ProviderInterface, noInitWarn: true })
        // Refused endpoints reject this promise; waiting is done through `isReady` below, so its
        // rejections are only remembered for the error message, never left unhandled.
        api.isReadyOrError.catch(() => {})
        api.on("error", (error: unknown) => (lastError = describeError(error)))
        return api
      }),
      (api) =>
        Effect.promise(() => api.disconnect()).pipe(
          Effect.timeoutOption(Duration.seconds(2)),
          Effect.ensuring(Effect.sync(() => {
            offConnected()
            offDisconnected()
          }))
        )
    )
    const timeout = options.connectTimeout ?? Duration.seconds(30)
    // `isReady`, not `isReadyOrError`: a refusing endpoint is an error event after which the provider
    // moves on to the next endpoint; the timeout bounds the whole attempt.
    yield* Effect.promise(() => api.isReady).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new ConnectionFailed({
            endpoints: options.endpoints,
            detail: `no node ready within ${Duration.format(timeout)}${
              lastError === undefined ? "" : ` (${lastError})`
            }`
          })
      })
    )
    return {
      api,
      provider: provider as unknown as ProviderInterface,
      endpoints: options.endpoints,
      connected,
      connection
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ConnectOptions): Layer.Layer<PolkadotApi, ConnectionFailed> =>
  Layer.scoped(PolkadotApi, make(options))

/**
 * From configuration: `CHECKPOINTER_CHAIN_ENDPOINTS` (comma-separated WebSocket URLs) and optional
 * `CHECKPOINTER_CHAIN_CONNECT_TIMEOUT` (a duration such as `30 seconds`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<PolkadotApi, ConnectionFailed | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(ChainAdapter.connectionConfig, layer)
)

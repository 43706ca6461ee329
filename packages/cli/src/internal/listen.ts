/**
 * `--listen [HOST:]PORT`: the operator's endpoints (`@checkpointer/operator`: the status page at `/`,
 * `/metrics`, `/healthz`, `/readyz`) on an HTTP server of the command's own. Off unless asked. A port
 * alone listens on loopback (127.0.0.1); any other address is the operator's explicit choice. Port 0 takes
 * any free port, and the address printed is the one bound.
 *
 * @internal
 */
import { type CheckpointEvents, CheckpointLoop, type ProviderHealth, type ReceiptJournal } from "@checkpointer/core"
import { Options } from "@effect/cli"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { createServer } from "node:http"
import { ChainFacts } from "./chainFacts.js"
import { BadConfig, chainUnits } from "./live.js"

/** Where to listen. */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** The host a port alone listens on. */
export const DEFAULT_HOST = "127.0.0.1"

/** `--listen [HOST:]PORT`, described for the command it belongs to. */
export const listenOption = (description: string) =>
  Options.text("listen").pipe(Options.withDescription(description), Options.optional)

const PORT = /^\d{1,5}$/

/** `9615`, `127.0.0.1:9615`, `0.0.0.0:9615`, `[::1]:9615`, `localhost:9615`. */
export const parseListen = (value: string): Effect.Effect<ListenAddress, BadConfig> => {
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(value)
  const plain = /^([a-zA-Z0-9.-]+):(\d+)$/.exec(value)
  const [host, port] = PORT.test(value)
    ? [DEFAULT_HOST, value]
    : bracketed !== null
    ? [bracketed[1]!, bracketed[2]!]
    : plain !== null
    ? [plain[1]!, plain[2]!]
    : [undefined, undefined]
  if (host === undefined || !PORT.test(port) || Number(port) > 65_535) {
    return Effect.fail(
      new BadConfig({
        message: `listen: expected PORT or HOST:PORT (a port from 0 to 65535; IPv6 as [::1]:PORT), got "${value}"`
      })
    )
  }
  return Effect.succeed({ host, port: Number(port) })
}

/** `http://127.0.0.1:9615`, `http://[::1]:9615`. */
export const urlOf = (address: ListenAddress) =>
  `http://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`

/**
 * The modules the operator's endpoints need, loaded when one is asked for (`--listen`), not at every start
 * of the command. A command that serves them while its loop starts (the devnet) loads them first: loading
 * takes a moment, and its first data must not wait for it.
 */
export const operatorModules = Effect.promise(() =>
  Promise.all([
    import("@effect/platform-node/NodeHttpServer"),
    import("@checkpointer/operator/OperatorRouter"),
    import("@checkpointer/operator/PrometheusMetrics"),
    import("@checkpointer/operator/StatusFeed"),
    import("@checkpointer/operator/ChainConnection")
  ])
)

/** The chain as the round's socket sees it: no request needed to tell. */
const chainConnection = Layer.unwrapEffect(Effect.gen(function*() {
  const [, , , , ChainConnection] = yield* operatorModules
  const { connected, endpoints } = yield* ChainFacts
  return ChainConnection.ChainConnection.layer(
    Effect.map(SubscriptionRef.get(connected), (up) =>
      up
        ? ChainConnection.ChainStatus.Connected()
        : ChainConnection.ChainStatus.Disconnected({ detail: `no connection to ${endpoints.join(", ")}` }))
  )
}))

/**
 * Serves the operator's endpoints for this loop until the scope closes; the address bound (its port is
 * the one the system chose for port 0).
 */
export const serveOperator = (
  address: ListenAddress,
  loop: CheckpointLoop.CheckpointLoopService,
  /** Routes served besides the operator's (a cluster runner's `/cluster.json`). */
  routes: HttpRouter.HttpRouter<never, never> = HttpRouter.empty
): Effect.Effect<
  ListenAddress,
  BadConfig,
  | Scope.Scope
  | ProviderHealth.ProviderHealth
  | ChainFacts
  | CheckpointEvents.CheckpointEvents
  | ReceiptJournal.ReceiptJournal
> =>
  Effect.gen(function*() {
    const [NodeHttpServer, OperatorRouter, PrometheusMetrics, StatusFeed] = yield* operatorModules
    const server = createServer()
    const http = yield* NodeHttpServer.make(() => server, address).pipe(
      Effect.mapError((error) =>
        new BadConfig({
          message: `listen: cannot listen on ${urlOf(address)}: ${
            error.cause instanceof Error ? error.cause.message : String(error.cause)
          }`
        })
      )
    )
    const units = yield* chainUnits
    // Closing waits for open connections: a scraper's keep-alive connection must not hold the command up.
    yield* Effect.addFinalizer(() => Effect.sync(() => server.closeAllConnections()))
    const services = yield* Layer.build(
      Layer.mergeAll(
        PrometheusMetrics.PrometheusMetrics.layer(),
        chainConnection,
        // Fees on the page in the chain's token, as the command prints them.
        StatusFeed.StatusFeed.layer({
          units: units.symbol === "planck" ? undefined : { decimals: units.decimals, symbol: units.symbol }
        })
      )
    )
    yield* HttpServer.serveEffect(HttpRouter.concat(OperatorRouter.router, routes)).pipe(
      Effect.provideService(HttpServer.HttpServer, http),
      Effect.provide(services)
    )
    const bound = http.address
    return bound._tag === "TcpAddress" ? { host: bound.hostname, port: bound.port } : address
  }).pipe(Effect.provideService(CheckpointLoop.CheckpointLoop, loop))

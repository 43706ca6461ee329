/**
 * A TCP relay on loopback in front of a server, for fault tests against servers that cannot cut their own
 * connections (a node under Chopsticks, a PostgreSQL server): `cut` closes every relayed connection at
 * once, as a network drop would, while the relay keeps accepting new ones (clients reconnect through it).
 *
 * ```ts
 * const relay = yield* TcpProxy.start({ port: node.port })
 * // connect the client under test to `ws://127.0.0.1:${relay.port}` … then
 * yield* relay.cut
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createConnection, createServer, type Socket } from "node:net"

/**
 * @since 0.1.0
 * @category models
 */
export interface TcpProxy {
  /** The relay's port on 127.0.0.1. */
  readonly port: number
  /** Connections relayed now. */
  readonly connections: () => number
  /** Closes every relayed connection (both sides); new connections are relayed as before. */
  readonly cut: Effect.Effect<void>
}

/**
 * Relays connections on a free loopback port to `host:port` (default host 127.0.0.1) until the scope
 * closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (
  target: { readonly port: number; readonly host?: string }
): Effect.Effect<TcpProxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pairs = new Set<readonly [Socket, Socket]>()
    const server = createServer((client) => {
      const upstream = createConnection({ port: target.port, host: target.host ?? "127.0.0.1" })
      const pair = [client, upstream] as const
      pairs.add(pair)
      const close = () => {
        pairs.delete(pair)
        client.destroy()
        upstream.destroy()
      }
      client.on("error", close).on("close", close)
      upstream.on("error", close).on("close", close)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const [client, upstream] of pairs) {
            client.destroy()
            upstream.destroy()
          }
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      port,
      connections: () => pairs.size,
      cut: Effect.sync(() => {
        for (const [client, upstream] of [...pairs]) {
          // A reset, not a polite end: what a dropped network looks like to both sides.
          client.resetAndDestroy()
          upstream.resetAndDestroy()
        }
        pairs.clear()
      })
    }
  })

/**
 * Loopback helpers for tests that start real servers.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { createConnection } from "node:net"

/**
 * Whether something accepts TCP connections on `127.0.0.1:port` now (a refused or failed connection
 * is `false`; the probe connection is closed at once).
 *
 * @since 0.1.0
 * @category probes
 */
export const isListening = (port: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const socket = createConnection({ port, host: "127.0.0.1" })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

/**
 * The operator router on a real HTTP server on loopback (an ephemeral port), and bounded requests to it.
 */
import { OperatorRouter } from "@checkpointer/operator"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import { createServer } from "node:http"

/** Serves the router for the scope's lifetime; its base URL. */
export const serve = Effect.gen(function*() {
  const server = yield* NodeHttpServer.make(() => createServer(), { host: "127.0.0.1", port: 0 })
  yield* HttpServer.serveEffect(OperatorRouter.router).pipe(Effect.provideService(HttpServer.HttpServer, server))
  if (server.address._tag !== "TcpAddress") return yield* Effect.dieMessage("not a TCP address")
  return `http://127.0.0.1:${server.address.port}`
})

export interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly body: string
}

/** A GET, on the real clock (the world's may be TestClock): at most 10 seconds. */
export const get = (url: string): Effect.Effect<Answer> =>
  Effect.promise(() =>
    fetch(url, { signal: AbortSignal.timeout(10_000) }).then(async (response) => ({
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: await response.text()
    }))
  )

/**
 * The router mounted under a prefix in another application's router, as the README shows it
 * (`HttpRouter.mount("/ops", OperatorRouter.router)`), served on a real loopback server: the page at
 * `/ops/`, and every URL it loads (its style sheet, its script, and the `status.json` the script polls,
 * all relative to the page's address) answering under the prefix, as `/ops/metrics` does.
 */
import { CheckpointLoop } from "@checkpointer/core"
import { OperatorRouter, StatusPage } from "@checkpointer/operator"
import { Exposition, TestNetwork } from "@checkpointer/testing"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { createServer } from "node:http"
import { get } from "./serve.js"
import { inWorld } from "./world.js"

/** The application's own router, with the operator's mounted under `/ops`. */
const application = HttpRouter.empty.pipe(
  HttpRouter.get("/", Effect.succeed(HttpServerResponse.text("the application's own page"))),
  HttpRouter.mount("/ops", OperatorRouter.router)
)

/** The URLs a page loads, resolved against the page's address as a browser resolves them. */
const assetsOf = (html: string, pageUrl: string) =>
  Array.from(html.matchAll(/(?:src|href)="([^"]+)"/g), (m) => m[1]!)
    .filter((ref) => !ref.startsWith("data:"))
    .map((ref) => new URL(ref, pageUrl).href)

describe("OperatorRouter mounted under /ops", () => {
  it.scoped("serves the page at /ops/ with its style sheet, script and status.json, and /ops/metrics", () =>
    inWorld(
      { providers: [{ name: "Alice" }], buckets: [{ id: 1, primaries: ["Alice"], minProviders: 1 }] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const loop = yield* CheckpointLoop.make([world.bucketId(1)], {
          interval: { _tag: "Duration", duration: Duration.minutes(1) }
        })
        yield* TestClock.adjust("1 millis")
        const server = yield* NodeHttpServer.make(() => createServer(), { host: "127.0.0.1", port: 0 })
        yield* HttpServer.serveEffect(application).pipe(
          Effect.provideService(HttpServer.HttpServer, server),
          Effect.provideService(CheckpointLoop.CheckpointLoop, loop)
        )
        if (server.address._tag !== "TcpAddress") return yield* Effect.dieMessage("not a TCP address")
        const base = `http://127.0.0.1:${server.address.port}`

        // The application keeps its own root.
        expect((yield* get(`${base}/`)).body).toBe("the application's own page")

        const pageUrl = `${base}/ops/`
        const page = yield* get(pageUrl)
        expect(page.status).toBe(200)
        expect(page.contentType).toBe("text/html; charset=utf-8")
        const assets = assetsOf(page.body, pageUrl)
        expect(assets).toEqual(
          expect.arrayContaining([`${base}/ops/status.css`, `${base}/ops/status.js`, `${base}/ops/status.json`])
        )
        for (const asset of assets) {
          const answer = yield* get(asset)
          expect(answer.status, asset).toBe(200)
        }
        const script = yield* get(`${base}/ops/status.js`)
        expect(script.contentType).toBe("text/javascript; charset=utf-8")
        // The script finds status.json next to itself: under the prefix.
        expect(script.body).toContain("new URL(\"status.json\", script && script.src")

        const status = yield* get(`${base}/ops/status.json`)
        expect(status.status).toBe(200)
        const document = Schema.decodeUnknownSync(StatusPage.Status)(JSON.parse(status.body))
        expect(document.buckets.map((b) => b.bucket)).toEqual([1n])

        const metrics = yield* get(`${base}/ops/metrics`)
        expect(metrics.status).toBe(200)
        expect(metrics.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
        const families = Either.getOrThrow(Exposition.parse(metrics.body))
        expect(Exposition.samples(families, "checkpointer_loop_running")[0]?.value).toBe(1)

        expect((yield* get(`${base}/ops/healthz`)).status).toBe(200)
      })
    ))
})

/**
 * The operator's endpoints as an `@effect/platform` `HttpRouter`, for any server to serve or mount
 * (`HttpRouter.mount("/ops", OperatorRouter.router)`); the `checkpointer` command serves it with
 * `--listen`:
 *
 * - `GET /metrics`: the metric registry in the Prometheus text format (the state gauges sampled first);
 * - `GET /healthz`: 200 while the process serves requests (liveness);
 * - `GET /readyz`: 200 when ready, else 503, with a JSON `Readiness.Report` saying why;
 * - `GET /`: the live status page (with `/status.css` and `/status.js`, served from this package), which
 *   polls `GET /status.json`: the `StatusPage.Status` document.
 *
 * @since 0.1.0
 */
import type { ChainClient, CheckpointEvents, CheckpointLoop, ProviderHealth, ReceiptJournal } from "@checkpointer/core"
import * as Headers from "@effect/platform/Headers"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ChainConnection } from "./ChainConnection.js"
import * as Assets from "./internal/statusAssets.js"
import { CONTENT_TYPE, type Options as ExporterOptions, PrometheusMetrics } from "./PrometheusMetrics.js"
import * as Readiness from "./Readiness.js"
import * as StateGauges from "./StateGauges.js"
import { StatusFeed } from "./StatusFeed.js"
import type { Options as FeedOptions } from "./StatusFeed.js"
import * as StatusPage from "./StatusPage.js"

/**
 * What the endpoints read.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements =
  | CheckpointLoop.CheckpointLoop
  | ProviderHealth.ProviderHealth
  | ChainConnection
  | PrometheusMetrics
  | StatusFeed

// A probe's answer is about now: no cache may keep it.
const noStore = Headers.fromInput({ "cache-control": "no-store" })

const metrics = Effect.gen(function*() {
  yield* StateGauges.sample
  const text = yield* Effect.flatMap(PrometheusMetrics, (exporter) => exporter.scrape)
  return HttpServerResponse.text(text, { contentType: CONTENT_TYPE, headers: noStore })
}).pipe(
  Effect.catchTag(
    "ScrapeFailed",
    (error) => Effect.succeed(HttpServerResponse.text(error.message, { status: 500, headers: noStore }))
  )
)

const healthz = Effect.succeed(HttpServerResponse.unsafeJson({ alive: true }, { headers: noStore }))

const readyz = Effect.gen(function*() {
  const report = yield* Readiness.check
  return yield* HttpServerResponse.schemaJson(Readiness.Report)(report, {
    status: report.ready ? 200 : 503,
    headers: noStore
  })
}).pipe(Effect.orDie)

const status = Effect.flatMap(
  StatusPage.status,
  (document) => HttpServerResponse.schemaJson(StatusPage.Status)(document, { headers: noStore })
).pipe(Effect.orDie)

// The page runs only its own files: no inline script, no other origin, no framing.
const pageHeaders = Headers.fromInput({
  "cache-control": "no-cache",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
})

const asset = (body: string, contentType: string) =>
  Effect.succeed(HttpServerResponse.text(body, { contentType, headers: pageHeaders }))

/**
 * `/metrics`, `/healthz`, `/readyz`, and the status page (`/`, `/status.css`, `/status.js`, `/status.json`).
 *
 * @since 0.1.0
 * @category routers
 */
export const router: HttpRouter.HttpRouter<never, Requirements> = HttpRouter.empty.pipe(
  HttpRouter.get("/metrics", metrics),
  HttpRouter.get("/healthz", healthz),
  HttpRouter.get("/readyz", readyz),
  HttpRouter.get("/", asset(Assets.html, "text/html; charset=utf-8")),
  HttpRouter.get("/status.css", asset(Assets.css, "text/css; charset=utf-8")),
  HttpRouter.get("/status.js", asset(Assets.js, "text/javascript; charset=utf-8")),
  HttpRouter.get("/status.json", status)
)

/**
 * The services the router needs besides the loop and provider health (which the application has): the
 * exporter, the chain connection probed through the chain client, and the status page's feed (subscribed
 * to the event bus from the moment the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: ExporterOptions & { readonly feed?: FeedOptions | undefined } = {}
): Layer.Layer<
  PrometheusMetrics | ChainConnection | StatusFeed,
  never,
  ChainClient.ChainClient | CheckpointEvents.CheckpointEvents | ReceiptJournal.ReceiptJournal
> => Layer.mergeAll(PrometheusMetrics.layer(options), ChainConnection.layerProbe(), StatusFeed.layer(options.feed))

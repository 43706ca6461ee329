/**
 * The operator's endpoints as an `@effect/platform` `HttpRouter`, for any server to serve or mount
 * (`HttpRouter.mount("/ops", OperatorRouter.router)`); the `checkpointer` command serves it with
 * `--listen`:
 *
 * - `GET /metrics`: the metric registry in the Prometheus text format (the state gauges sampled first);
 * - `GET /healthz`: 200 while the process serves requests (liveness);
 * - `GET /readyz`: 200 when ready, else 503, with a JSON `Readiness.Report` saying why.
 *
 * @since 0.1.0
 */
import type { CheckpointLoop, ProviderHealth } from "@checkpointer/core"
import type { ChainClient } from "@checkpointer/core"
import * as Headers from "@effect/platform/Headers"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ChainConnection } from "./ChainConnection.js"
import { CONTENT_TYPE, type Options as ExporterOptions, PrometheusMetrics } from "./PrometheusMetrics.js"
import * as Readiness from "./Readiness.js"
import * as StateGauges from "./StateGauges.js"

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

/**
 * `/metrics`, `/healthz` and `/readyz`.
 *
 * @since 0.1.0
 * @category routers
 */
export const router: HttpRouter.HttpRouter<never, Requirements> = HttpRouter.empty.pipe(
  HttpRouter.get("/metrics", metrics),
  HttpRouter.get("/healthz", healthz),
  HttpRouter.get("/readyz", readyz)
)

/**
 * The services the router needs besides the loop and provider health (which the application has): the
 * exporter, and the chain connection probed through the chain client.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: ExporterOptions = {}
): Layer.Layer<PrometheusMetrics | ChainConnection, never, ChainClient.ChainClient> =>
  Layer.merge(PrometheusMetrics.layer(options), ChainConnection.layerProbe())

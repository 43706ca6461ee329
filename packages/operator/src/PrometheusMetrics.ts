/**
 * The process's `effect/Metric` registry in the Prometheus text exposition format (version 0.0.4),
 * through maintained exporters: `@effect/opentelemetry`'s metric producer reads the registry as
 * OpenTelemetry metric data, and `@opentelemetry/exporter-prometheus` (as a reader that starts no server
 * of its own) collects and serializes it. Counters keep their `_total` names, histograms get
 * `_bucket{le}`, `_sum` and `_count`, and `target_info` carries the service name.
 *
 * The registry is global to the process: everything any code in it records with `effect/Metric` is
 * served, not only Checkpointer's own (`@checkpointer/core`'s `Metrics`, `StateGauges`).
 *
 * @since 0.1.0
 */
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The media type of the exposition.
 *
 * @since 0.1.0
 * @category constants
 */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/**
 * Collecting the metrics failed (or did not finish in time).
 *
 * @since 0.1.0
 * @category errors
 */
export class ScrapeFailed extends Data.TaggedError("ScrapeFailed")<{ readonly detail: string }> {
  override get message(): string {
    return `metrics could not be collected: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PrometheusMetricsService {
  /** The registry now, as exposition text. */
  readonly scrape: Effect.Effect<string, ScrapeFailed>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `service.name` in `target_info` (default "checkpointer"). */
  readonly serviceName?: string | undefined
  /** `service.version` in `target_info`. */
  readonly serviceVersion?: string | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PrometheusMetrics extends Context.Tag("@checkpointer/operator/PrometheusMetrics")<
  PrometheusMetrics,
  PrometheusMetricsService
>() {
  /** The exporter, for the layer's lifetime (its reader is shut down with it). */
  static readonly layer = (options: Options = {}): Layer.Layer<PrometheusMetrics> =>
    Layer.scoped(PrometheusMetrics, make).pipe(
      Layer.provide(Resource.layer({
        serviceName: options.serviceName ?? "checkpointer",
        ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
      }))
    )
}

// Labels carry what the metric was tagged with, and nothing else: no `otel_scope_name` on every series.
const exporterOptions = { preventServerStart: true, withoutScopeInfo: true } as const

/**
 * Registers the registry's producer with a Prometheus reader for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const reader = new PrometheusExporter(exporterOptions)
  const producer = yield* OtelMetrics.makeProducer
  yield* OtelMetrics.registerProducer(producer, () => reader)
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, exporterOptions.withoutScopeInfo)
  return PrometheusMetrics.of({
    scrape: Effect.tryPromise({
      try: () => reader.collect({ timeoutMillis: 5_000 }),
      catch: (error) => new ScrapeFailed({ detail: error instanceof Error ? error.message : String(error) })
    }).pipe(
      Effect.flatMap(({ errors, resourceMetrics }) =>
        errors.length === 0
          ? Effect.succeed(serializer.serialize(resourceMetrics))
          : Effect.fail(new ScrapeFailed({ detail: errors.map(String).join("; ") }))
      )
    )
  })
})

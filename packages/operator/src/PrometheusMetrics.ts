/**
 * The process's `effect/Metric` registry in the Prometheus text exposition format (version 0.0.4): the
 * registry read as OpenTelemetry metric data (as `@effect/opentelemetry`'s metric producer reads it, but
 * keeping what does not change between scrapes: `internal/registryProducer.ts`), serialized by
 * `@opentelemetry/exporter-prometheus`'s serializer. Counters keep their `_total` names, histograms get
 * `_bucket{le}`, `_sum` and `_count`, and `target_info` carries the service name. No `# UNIT` lines (an
 * OpenMetrics directive, not 0.0.4's): units are in the names.
 *
 * The registry is global to the process: everything any code in it records with `effect/Metric` is
 * served, not only Checkpointer's own (`@checkpointer/core`'s `Metrics`, `StateGauges`), except the
 * Effect runtime's `effect_fiber_*` counters (see `EXCLUDED_PREFIX`).
 *
 * @since 0.1.0
 */
import * as Resource from "@effect/opentelemetry/Resource"
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RegistryProducer } from "./internal/registryProducer.js"

/**
 * The media type of the exposition.
 *
 * @since 0.1.0
 * @category constants
 */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/**
 * Collecting or serializing the metrics failed.
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
  /** The exporter. */
  static readonly layer = (options: Options = {}): Layer.Layer<PrometheusMetrics> =>
    Layer.effect(PrometheusMetrics, make).pipe(
      Layer.provide(Resource.layer({
        serviceName: options.serviceName ?? "checkpointer",
        ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
      }))
    )
}

/**
 * Series left out of the exposition: the Effect runtime's fiber counters (`effect_fiber_started`,
 * `_active`, `_successes`, `_failures`, `_lifetimes`), which Effect records in every process with
 * runtime metrics on (its default). They describe the runtime, not the service, carry no description,
 * and cost a 1,000-bucket scrape about a sixth of its collect and serialize time.
 *
 * @since 0.1.0
 * @category constants
 */
export const EXCLUDED_PREFIX = "effect_fiber_"

/**
 * Reads the registry at each scrape, for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.map(Resource.Resource, (resource) => {
  const producer = new RegistryProducer(resource, (name) => name.startsWith(EXCLUDED_PREFIX))
  // Labels carry what the metric was tagged with, and nothing else: no `otel_scope_name` on every series.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true)
  return PrometheusMetrics.of({
    scrape: Effect.try({
      try: () => serializer.serialize(producer.collect()),
      catch: (error) => new ScrapeFailed({ detail: error instanceof Error ? error.message : String(error) })
    })
  })
})

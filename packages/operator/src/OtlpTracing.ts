/**
 * Traces exported over OTLP/HTTP when the standard OpenTelemetry environment asks for it, through
 * `@effect/opentelemetry`'s `OtlpTracer` (Effect's own tracer, no OpenTelemetry SDK): every span of the
 * process (`checkpointer.round` and the steps under it, see `@checkpointer/core`'s `RoundTrace`) goes to
 * the collector. Nothing is set up, and nothing costs anything, when no endpoint is configured.
 *
 * ```ts
 * const traced = program.pipe(Effect.provide(OtlpTracing.layerConfig({ serviceVersion: "0.1.0" })), Effect.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * The variables read (the OpenTelemetry SDK's, so a deployment's usual settings apply unchanged; an empty
 * value counts as unset):
 *
 * | variable | meaning |
 * |---|---|
 * | `OTEL_EXPORTER_OTLP_ENDPOINT` | the collector's base URL; traces go to `<base>/v1/traces` |
 * | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the traces URL itself (wins over the base) |
 * | `OTEL_EXPORTER_OTLP_PROTOCOL`, `…_TRACES_PROTOCOL` | `http/protobuf` (default) or `http/json` |
 * | `OTEL_EXPORTER_OTLP_HEADERS`, `…_TRACES_HEADERS` | `key=value,…` (values URL-encoded) sent with each export, kept `Redacted` |
 * | `OTEL_EXPORTER_OTLP_TIMEOUT`, `…_TRACES_TIMEOUT` | milliseconds one export may take (default 10000) |
 * | `OTEL_SERVICE_NAME` | `service.name` (default `checkpointer`) |
 * | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes, `key=value,…` |
 * | `OTEL_BSP_SCHEDULE_DELAY` | milliseconds between exports (default 5000) |
 * | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans that trigger an export before the delay (default 512) |
 * | `OTEL_TRACES_EXPORTER` | `otlp` (default) or `none` |
 * | `OTEL_SDK_DISABLED` | `true`: no export |
 *
 * Spans still buffered when the layer's scope closes are sent then (bounded: 3 s).
 *
 * @since 0.1.0
 */
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * A variable of the OpenTelemetry environment that cannot be used, named with what was expected (never
 * with a header's value).
 *
 * @since 0.1.0
 * @category errors
 */
export class OtlpConfigError extends Schema.TaggedError<OtlpConfigError>()("OtlpConfigError", {
  variable: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.variable}: ${this.detail}`
  }
}

/**
 * Where and how traces are exported.
 *
 * @since 0.1.0
 * @category models
 */
export interface OtlpTracingSettings {
  /** The URL the spans are POSTed to. */
  readonly url: string
  readonly protocol: "http/protobuf" | "http/json"
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly timeout: Duration.Duration
  /** `undefined`: from `OTEL_RESOURCE_ATTRIBUTES`'s `service.name`. */
  readonly serviceName: string | undefined
  readonly exportInterval: Duration.Duration
  readonly maxBatchSize: number
}

const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    if (!/^https?:\/\/\S+$/.test(s)) return "expected an http:// or https:// URL"
    try {
      new URL(s)
      return true
    } catch {
      return "expected an http:// or https:// URL"
    }
  })
)
/** One of a few words, with a message of our own (a literal union would report each member). */
const oneOf = <const W extends ReadonlyArray<string>>(words: W, message: string) =>
  Schema.String.pipe(
    Schema.filter((s): s is W[number] => words.includes(s), { message: () => message })
  )
const Protocol = oneOf(
  ["http/protobuf", "http/json"],
  "expected http/protobuf or http/json (gRPC is not supported: use the collector's HTTP port, 4318)"
)
const Millis = Schema.NumberFromString.pipe(
  Schema.int(),
  Schema.positive(),
  Schema.annotations({ message: () => "expected a positive whole number of milliseconds" })
)
const BatchSize = Schema.NumberFromString.pipe(
  Schema.int(),
  Schema.positive(),
  Schema.annotations({ message: () => "expected a positive whole number" })
)
const Exporter = oneOf(["otlp", "none"], "expected otlp or none (the only exporters this process has)")
const Flag = Schema.transform(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s) => s.trim().toLowerCase() === "true",
  encode: String
})

/**
 * `key=value,…` with URL-encoded values (the OTLP exporter's header syntax); each value `Redacted`.
 * A malformed entry is reported by position only: the text may hold a token.
 */
const Headers = Schema.transformOrFail(
  Schema.String,
  Schema.Record({ key: Schema.String, value: Schema.RedactedFromSelf(Schema.String) }),
  {
    strict: true,
    decode: (text, _, ast) => {
      const headers: Record<string, Redacted.Redacted<string>> = {}
      const entries = text.split(",").map((e) => e.trim()).filter((e) => e !== "")
      for (const [i, entry] of entries.entries()) {
        const at = entry.indexOf("=")
        const key = at > 0 ? entry.slice(0, at).trim() : ""
        let value: string | undefined
        try {
          value = at > 0 ? decodeURIComponent(entry.slice(at + 1).trim()) : undefined
        } catch {
          value = undefined
        }
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || value === undefined) {
          return ParseResult.fail(
            new ParseResult.Type(ast, undefined, `entry ${i + 1}: expected key=value (value URL-encoded)`)
          )
        }
        headers[key.toLowerCase()] = Redacted.make(value)
      }
      return ParseResult.succeed(headers)
    },
    encode: (headers) =>
      ParseResult.succeed(
        Object.entries(headers).map(([k, v]) => `${k}=${encodeURIComponent(Redacted.value(v))}`).join(",")
      )
  }
)

type Env = Readonly<Record<string, string | undefined>>

/** A variable's value, decoded; none when unset or empty. */
const read = <A, I>(env: Env, variable: string, schema: Schema.Schema<A, I>) => {
  const raw = env[variable]
  if (raw === undefined || raw.trim() === "") return Effect.succeed(Option.none<A>())
  return Schema.decodeUnknown(schema)(raw.trim()).pipe(
    Effect.map(Option.some),
    Effect.mapError((error) =>
      new OtlpConfigError({
        variable,
        detail: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.message).join("; ")
      })
    )
  )
}

/** The signal-specific variable, else the general one. */
const readEither = <A, I>(env: Env, specific: string, general: string, schema: Schema.Schema<A, I>) =>
  Effect.flatMap(
    read(env, specific, schema),
    (value) => Option.isSome(value) ? Effect.succeed(value) : read(env, general, schema)
  )

/**
 * The export settings of an environment (`process.env` by default): none when no endpoint is set, or
 * when `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const settingsFrom = (
  env: Env = process.env
): Effect.Effect<Option.Option<OtlpTracingSettings>, OtlpConfigError> =>
  Effect.gen(function*() {
    const disabled = Option.getOrElse(yield* read(env, "OTEL_SDK_DISABLED", Flag), () => false)
    const exporter = Option.getOrElse(yield* read(env, "OTEL_TRACES_EXPORTER", Exporter), () => "otlp" as const)
    const tracesUrl = yield* read(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", HttpUrl)
    const baseUrl = yield* read(env, "OTEL_EXPORTER_OTLP_ENDPOINT", HttpUrl)
    const url = Option.orElse(tracesUrl, () => Option.map(baseUrl, (base) => `${base.replace(/\/+$/, "")}/v1/traces`))
    if (disabled || exporter === "none" || Option.isNone(url)) return Option.none()
    const protocol = yield* readEither(
      env,
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
      "OTEL_EXPORTER_OTLP_PROTOCOL",
      Protocol
    )
    const headers = yield* readEither(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", Headers)
    const timeout = yield* readEither(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", Millis)
    const serviceName = yield* read(env, "OTEL_SERVICE_NAME", Schema.String)
    const delay = yield* read(env, "OTEL_BSP_SCHEDULE_DELAY", Millis)
    const batch = yield* read(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", BatchSize)
    const namedInResource = /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? "")
    return Option.some({
      url: url.value,
      protocol: Option.getOrElse(protocol, () => "http/protobuf" as const),
      headers: Option.getOrElse(headers, () => ({})),
      timeout: Duration.millis(Option.getOrElse(timeout, () => 10_000)),
      serviceName: Option.getOrElse(serviceName, () => namedInResource ? undefined : "checkpointer"),
      exportInterval: Duration.millis(Option.getOrElse(delay, () => 5_000)),
      maxBatchSize: Option.getOrElse(batch, () => 512)
    })
  })

/**
 * Exports every span of the effects it is provided to, with these settings, over the `HttpClient`
 * given (each export bounded by `timeout`; the exporter's own requests are not traced).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  settings: OtlpTracingSettings,
  resource: { readonly serviceVersion?: string | undefined } = {}
): Layer.Layer<never, never, HttpClient.HttpClient> =>
  OtlpTracer.layer({
    url: settings.url,
    resource: { serviceName: settings.serviceName, serviceVersion: resource.serviceVersion },
    headers: Object.fromEntries(Object.entries(settings.headers).map(([k, v]) => [k, Redacted.value(v)])),
    exportInterval: settings.exportInterval,
    maxBatchSize: settings.maxBatchSize,
    shutdownTimeout: Duration.seconds(3)
  }).pipe(
    Layer.provide(
      settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf
    ),
    Layer.provide(Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (client) =>
        HttpClient.transform(client, (response, request) =>
          Effect.timeoutFail(response, {
            duration: settings.timeout,
            onTimeout: () =>
              new HttpClientError.RequestError({
                request,
                reason: "Transport",
                description: `no answer within ${Duration.format(settings.timeout)}`
              })
          })))
    ))
  )

/**
 * `layer` with the settings of the environment (`settingsFrom`): nothing at all when no endpoint is
 * set; a bad variable fails the layer with `OtlpConfigError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  resource: { readonly serviceVersion?: string | undefined; readonly env?: Env | undefined } = {}
): Layer.Layer<never, OtlpConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(
    Effect.map(settingsFrom(resource.env), (settings) =>
      Option.match(settings, {
        onNone: () => Layer.empty,
        onSome: (s) => layer(s, { serviceVersion: resource.serviceVersion })
      }))
  )

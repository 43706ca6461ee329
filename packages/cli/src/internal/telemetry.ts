/**
 * What a long-running command tells an operator's tooling besides its output: traces over OTLP when the
 * OpenTelemetry environment names a collector (`@checkpointer/operator`'s `OtlpTracing`; nothing at
 * all otherwise), and its log lines as JSON for log shippers with `--log-format json`.
 *
 * @internal
 */
import { Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { BadConfig } from "./live.js"

export type LogFormat = "pretty" | "json"

export const logFormat = Options.choice("log-format", ["pretty", "json"]).pipe(
  Options.withDescription(
    "log lines as today's text (pretty, the default), or json: one JSON object per line on stderr (timestamp, level, message, annotations) for log shippers; --log-level sets which"
  ),
  Options.withDefault("pretty" as LogFormat)
)

/** JSON that never throws: bigints as decimal strings, byte arrays as hex, cycles cut. */
export const safeJson = (value: unknown): string => {
  const seen = new WeakSet<object>()
  return JSON.stringify(value, (_, v: unknown) => {
    if (typeof v === "bigint") return v.toString()
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[Circular]"
      seen.add(v)
    }
    return v
  })
}

/**
 * One log line as one JSON object: `timestamp` (ISO), `level` (`DEBUG`, `INFO`, `WARN`, `ERROR`, …),
 * `message`, `annotations` (a round's `bucket` and `round`, a request's `provider`, …), and, when
 * present, `cause` and the log `spans` (milliseconds since each began).
 */
export const jsonLogger = Logger.map(Logger.structuredLogger, (line) =>
  safeJson({
    timestamp: line.timestamp,
    level: line.logLevel,
    message: line.message,
    annotations: line.annotations,
    ...(line.cause === undefined ? {} : { cause: line.cause }),
    ...(Object.keys(line.spans).length === 0 ? {} : { spans: line.spans }),
    fiber: line.fiberId
  }))

/** The JSON logger in place of Effect's default one, writing to stderr. */
const jsonLogs = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(jsonLogger))

/**
 * Traces exported while the command runs when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces endpoint) is
 * set, flushed when it ends; a bad OpenTelemetry variable is a configuration error (exit 2). Unset, not
 * even the exporter's HTTP client is made.
 */
const tracing = Layer.unwrapEffect(
  // Loaded when a command that traces starts, not when the command line is parsed.
  Effect.promise(() =>
    Promise.all([import("@checkpointer/operator/OtlpTracing"), import("@effect/platform-node/NodeHttpClient")])
  ).pipe(
    Effect.flatMap(([OtlpTracing, NodeHttpClient]) =>
      OtlpTracing.settingsFrom().pipe(
        Effect.map(Option.match({
          onNone: () => Layer.empty,
          onSome: (settings) =>
            OtlpTracing.layer(settings, { serviceVersion: "0.1.0" }).pipe(Layer.provide(NodeHttpClient.layerUndici))
        }))
      )
    ),
    Effect.mapError((error) => new BadConfig({ message: error.message }))
  )
)

/** Runs a command's effect with its traces exported (if configured) and its logs in the format asked. */
export const withTelemetry = (format: LogFormat) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(tracing),
    (traced) => format === "json" ? Effect.provide(traced, jsonLogs) : traced
  )

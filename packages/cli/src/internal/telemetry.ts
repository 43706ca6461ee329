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
import * as Option from "effect/Option"
import { BadConfig } from "./live.js"
import { logsOnStderr } from "./logs.js"

export type LogFormat = "pretty" | "json"

export const logFormat = Options.choice("log-format", ["pretty", "json"]).pipe(
  Options.withDescription(
    "log lines as today's text (pretty, the default), or json: one JSON object per line on stderr (timestamp, level, message, annotations) for log shippers; --log-level sets which"
  ),
  Options.withDefault("pretty" as LogFormat)
)

/** The JSON logger in place of the pretty one, both on stderr (`logs.ts`: one writer, never two). */
const jsonLogs = logsOnStderr("json")

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

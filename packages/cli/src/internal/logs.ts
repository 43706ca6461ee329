/**
 * Where the command's log lines go: stderr, always, and through exactly one logger — Effect's pretty
 * text, or one JSON object per line with `--log-format json`. stdout is the command's output only (its
 * tables, or `--json` records), so a program reading it never meets a log line.
 *
 * Kept free of heavy imports: the executable installs it before any command is loaded.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

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

/** JSON log lines on stderr. */
const jsonOnStderr = Logger.withConsoleError(jsonLogger)

/** Effect's pretty log lines on stderr, in colour only on a terminal and without `NO_COLOR`. */
const prettyOnStderr = Logger.prettyLogger({
  stderr: true,
  colors: process.stderr.isTTY === true && process.env.NO_COLOR === undefined
})

/** Every logger that may write the command's log lines; exactly one of them is installed. */
const LOG_WRITERS: ReadonlyArray<Logger.Logger<unknown, unknown>> = [
  Logger.defaultLogger,
  Logger.prettyLoggerDefault,
  prettyOnStderr,
  jsonOnStderr
]

/**
 * The command's log lines in `format`, on stderr, in place of whichever writer was installed before
 * (Effect's default, the pretty logger `NodeRuntime.runMain` puts on stdout, or this layer's own):
 * installing it twice, or switching format, never writes a line twice. Other loggers (a tracer's) stay.
 */
export const logsOnStderr = (format: "pretty" | "json"): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      HashSet.add(
        LOG_WRITERS.reduce((kept, writer) => HashSet.remove(kept, writer), loggers),
        format === "json" ? jsonOnStderr : prettyOnStderr
      ))
  )

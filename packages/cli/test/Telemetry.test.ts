/**
 * What `checkpointer run` gives an operator's tooling: its rounds as traces over OTLP/HTTP to the
 * collector the standard OpenTelemetry variables name, and with `--log-format json` its log lines as
 * JSON on stderr, each line of a round carrying the bucket and the round, no secret in any of it. Child
 * processes against a devchain and simulated providers in this process; every wait bounded.
 */
import { describe, expect, it } from "@effect/vitest"
import { DEV_PHRASE } from "@polkadot/keyring"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type ReceivedSpan, receiver } from "./otlpReceiver.js"
import { type Env, eventually, jsonLines, run, start, strictJsonLines } from "./process.js"
import { NAMES, world } from "./world.js"

/** No OpenTelemetry setting of the test runner's reaches the child unless a test gives it. */
const NO_OTEL: Env = Object.fromEntries(
  Object.keys(process.env).filter((k) => k.startsWith("OTEL_")).map((k) => [k, undefined])
)

const LogLine = Schema.Struct({
  timestamp: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)),
  level: Schema.Literal("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
  message: Schema.Unknown,
  annotations: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

const runArgs = (chainUrl: string, suri: string, ...more: ReadonlyArray<string>) => [
  "run",
  "--chain",
  chainUrl,
  "--bucket",
  "0",
  "--suri",
  suri,
  "--interval-blocks",
  "2",
  "--json",
  ...more
]

describe("traces over OTLP", () => {
  it.scopedLive(
    "a bad OpenTelemetry variable is a configuration error, before anything starts",
    () =>
      Effect.gen(function*() {
        const bad = yield* run(["run", "--bucket", "0", "--suri", "//Alice"], {
          ...NO_OTEL,
          OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318"
        })
        expect(bad.exit).toBe(2)
        expect(bad.stderr.trim()).toBe(
          "checkpointer: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL"
        )
      }),
    60_000
  )

  it.scopedLive(
    "with OTEL_EXPORTER_OTLP_ENDPOINT set, the collector receives the round that landed a checkpoint, with its steps under it",
    () =>
      Effect.gen(function*() {
        const collector = yield* receiver
        const { chain, write } = yield* world("interval")
        yield* write(4)
        const daemon = yield* start(runArgs(chain.url, "//Alice"), {
          ...NO_OTEL,
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20otlp-t0ken",
          OTEL_BSP_SCHEDULE_DELAY: "200"
        })
        const landed = () =>
          collector.spans.find((s) => s.name === "checkpointer.round" && s.attributes.outcome === "Submitted")
        yield* eventually(() => landed() !== undefined, "a landed round at the collector", 90)
        const round = landed()!
        expect(round.attributes.bucket).toBe("0")
        expect(round.resource["service.name"]).toBe("checkpointer")
        expect(collector.rejected).toEqual([])
        expect(collector.requests[0]?.authorization).toBe("Bearer otlp-t0ken")

        // The round's steps arrive in the same export or a later one.
        const inRound = (s: ReceivedSpan) => s.traceId === round.traceId
        const stepsArrived = () =>
          ["checkpointer.discover", "checkpointer.decide", "checkpointer.submit"].every((name) =>
            collector.spans.some((s) => inRound(s) && s.name === name)
          )
        yield* eventually(stepsArrived, "the round's steps at the collector", 10)
        const submitted = collector.spans.find((s) => inRound(s) && s.name === "checkpointer.submit")!
        expect(submitted.attributes.outcome).toBe("Submitted")
        expect(submitted.attributes.extrinsic_hash).toMatch(/^0x[0-9a-f]{64}$/)
        expect(submitted.attributes.block).toEqual(expect.any(Number))
        const decided = collector.spans.find((s) => inRound(s) && s.name === "checkpointer.decide")!
        expect(decided.attributes.threshold_met).toBe(true)
        expect(decided.attributes.total).toBe(NAMES.length)
        const asked = new Set(
          collector.spans.filter((s) => inRound(s) && s.name === "checkpointer.provider.request").map((s) =>
            s.attributes.provider
          )
        )
        expect(asked.size).toBeGreaterThanOrEqual(2)

        // Every span of the round's trace hangs from the round.
        const byId = new Map(collector.spans.map((s) => [s.spanId, s]))
        for (const span of collector.spans.filter((s) => inRound(s) && s !== round)) {
          let at: ReceivedSpan | undefined = span
          while (at !== undefined && at !== round) {
            at = at.parentSpanId === undefined
              ? undefined
              : byId.get(at.parentSpanId)
          }
          expect(at, `${span.name} under the round`).toBe(round)
        }

        daemon.child.kill("SIGTERM")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop", 20)
        expect(daemon.output.exit).toBe(0)
      }),
    180_000
  )
})

describe("--log-format json", () => {
  it.scopedLive("run's help lists --log-format; a format it does not know is refused", () =>
    Effect.gen(function*() {
      const help = yield* run(["run", "--help"], NO_OTEL)
      expect(help.stdout).toContain("--log-format")
      const yaml = yield* run(["--log-format", "yaml", "run", "--bucket", "0", "--suri", "//Alice"], NO_OTEL)
      expect(yaml.exit).toBe(2)
    }), 60_000)

  it.scopedLive(
    "at debug level: one JSON object per stderr line, a round's lines with its bucket and round, and no secret anywhere",
    () =>
      Effect.gen(function*() {
        const collector = yield* receiver
        const { chain, write } = yield* world("interval")
        yield* write(4)
        // Alice's seed as a mnemonic with a derivation path, and a collector token: neither may appear.
        const suri = `${DEV_PHRASE}//Alice`
        const token = "otlp-t0ken-never-logged"
        const daemon = yield* start(
          runArgs(chain.url, suri, "--log-format", "json", "--log-level", "debug"),
          {
            ...NO_OTEL,
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
            OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
            OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${token}`,
            OTEL_BSP_SCHEDULE_DELAY: "200"
          }
        )
        yield* eventually(
          () => jsonLines(daemon.output.stdout).some((l) => l.type === "CheckpointSubmitted"),
          "run's checkpoint",
          90
        )
        yield* eventually(() => collector.requests.length > 0, "an export to the collector", 10)
        daemon.child.kill("SIGTERM")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop", 20)
        expect(daemon.output.exit).toBe(0)

        // stdout is run's records only, and no log line is written twice.
        expect(strictJsonLines(daemon.output.stdout, "stdout").every((r) => typeof r.type === "string")).toBe(true)
        const lines = daemon.output.stderr.split("\n").filter((l) => l.trim() !== "")
        expect(new Set(lines).size).toBe(lines.length)
        const logs = lines.map((line) => {
          const decoded = Schema.decodeUnknownEither(Schema.parseJson(LogLine))(line)
          expect(Either.isRight(decoded), `a JSON log line: ${line}`).toBe(true)
          return Either.getOrThrow(decoded)
        })
        const inRounds = logs.filter((l) => l.annotations.round !== undefined)
        expect(inRounds.some((l) => l.level === "DEBUG" && String(l.message).startsWith("decided "))).toBe(true)
        for (const line of inRounds) {
          expect(line.annotations.bucket).toBe("0")
          expect(line.annotations.round).toMatch(/^[0-9a-f]{16}$/)
        }
        // Each round's lines share its id: a round started, decided and ended under one.
        const started = inRounds.filter((l) => l.message === "round started").map((l) => l.annotations.round)
        expect(new Set(started).size).toBe(started.length)

        for (const secret of [suri, DEV_PHRASE, "//Alice", token, DEV_PHRASE.split(" ").slice(0, 3).join(" ")]) {
          expect(daemon.output.stdout).not.toContain(secret)
          expect(daemon.output.stderr).not.toContain(secret)
        }
      }),
    180_000
  )
})

describe("the devnet's telemetry", () => {
  it.scopedLive(
    "devnet traces its rounds to the collector the OpenTelemetry variables name, and --log-format json makes every stderr line JSON",
    () =>
      Effect.gen(function*() {
        const collector = yield* receiver
        const devnet = yield* start([
          "devnet",
          "--port",
          "0",
          "--json",
          "--providers",
          "3",
          "--lagging",
          "0",
          "--flaky",
          "0",
          "--block-time",
          "300",
          "--interval-blocks",
          "2",
          "--write-every",
          "1500",
          "--log-format",
          "json",
          "--log-level",
          "debug"
        ], {
          ...NO_OTEL,
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BSP_SCHEDULE_DELAY: "200"
        })
        const printed = () =>
          jsonLines(devnet.output.stdout).filter((l) => l.type === "CheckpointSubmitted").map((l) =>
            (l.receipt as { extrinsicHash: string }).extrinsicHash
          )
        // A round the devnet printed as landed reaches the collector, with the same extrinsic.
        const traced = () =>
          collector.spans.filter((s) => s.name === "checkpointer.submit" && s.attributes.outcome === "Submitted")
            .map((s) => s.attributes.extrinsic_hash)
        yield* eventually(
          () => traced().some((hash) => printed().includes(hash as string)),
          "a printed checkpoint's round at the collector",
          90
        )
        devnet.child.kill("SIGTERM")
        yield* eventually(() => devnet.output.exit !== undefined, "the devnet to stop", 30)
        const lines = devnet.output.stderr.split("\n").filter((l) => l.trim() !== "")
        expect(lines.length).toBeGreaterThan(0)
        for (const line of lines) {
          expect(Either.isRight(Schema.decodeUnknownEither(Schema.parseJson(LogLine))(line)), line).toBe(true)
        }
      }),
    180_000
  )
})

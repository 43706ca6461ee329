/**
 * Which OpenTelemetry variables turn OTLP trace export on, and how they are read.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { OtlpTracing } from "../src/index.js"

const settings = (env: Record<string, string>) => Effect.map(OtlpTracing.settingsFrom(env), Option.getOrUndefined)

describe("OTLP trace export settings", () => {
  it.effect("off without an endpoint (an empty one counts as unset), or when disabled", () =>
    Effect.gen(function*() {
      expect(yield* settings({})).toBeUndefined()
      expect(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "" })).toBeUndefined()
      expect(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }))
        .toBeUndefined()
      expect(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }))
        .toBeUndefined()
    }))

  it.effect("the base endpoint gets /v1/traces; the traces endpoint is used as it is; the defaults", () =>
    Effect.gen(function*() {
      const base = yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })
      expect(base).toMatchObject({
        url: "http://collector:4318/v1/traces",
        protocol: "http/protobuf",
        serviceName: "checkpointer",
        maxBatchSize: 512
      })
      expect(Duration.toMillis(base!.exportInterval)).toBe(5_000)
      expect(Duration.toMillis(base!.timeout)).toBe(10_000)
      expect(
        yield* settings({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/otlp",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "checkpointer-eu",
          OTEL_BSP_SCHEDULE_DELAY: "200"
        })
      ).toMatchObject({
        url: "https://traces.example/otlp",
        protocol: "http/json",
        serviceName: "checkpointer-eu",
        exportInterval: Duration.millis(200)
      })
    }))

  it.effect("headers are key=value pairs with URL-encoded values, kept redacted", () =>
    Effect.gen(function*() {
      const found = yield* settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20tok3n, x-tenant = eu"
      })
      expect(Object.keys(found!.headers)).toEqual(["authorization", "x-tenant"])
      expect(Redacted.value(found!.headers.authorization!)).toBe("Bearer tok3n")
      expect(String(found!.headers.authorization)).not.toContain("tok3n")
    }))

  it.effect("a bad variable is an error naming it, never quoting a header's value", () =>
    Effect.gen(function*() {
      const grpc = yield* Effect.flip(
        OtlpTracing.settingsFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
      )
      expect(grpc.message).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf or http\/json/)
      const url = yield* Effect.flip(OtlpTracing.settingsFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }))
      expect(url.message).toBe("OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL")
      const header = yield* Effect.flip(
        OtlpTracing.settingsFrom({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
          OTEL_EXPORTER_OTLP_HEADERS: "authorization=ok,s3cr3t-without-a-key"
        })
      )
      expect(header.message).toBe("OTEL_EXPORTER_OTLP_HEADERS: entry 2: expected key=value (value URL-encoded)")
      expect(header.message).not.toContain("s3cr3t")
    }))
})

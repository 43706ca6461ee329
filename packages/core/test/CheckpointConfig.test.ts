import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Layer } from "effect"
import { CheckpointConfig, defaults, make } from "../src/CheckpointConfig.js"

const fromEnv = (entries: Record<string, string>) =>
  Effect.gen(function*() {
    return yield* CheckpointConfig
  }).pipe(
    Effect.provide(CheckpointConfig.layerConfig.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries)))))
    )),
    Effect.either
  )

describe("CheckpointConfig", () => {
  it("has the anchor's defaults", () => {
    assert.strictEqual(Duration.toMillis(defaults.providerTimeout), 30_000)
    assert.strictEqual(defaults.maxRetries, 3)
    assert.strictEqual(Duration.toMillis(defaults.retryDelay), 2_000)
    assert.strictEqual(defaults.consensusThreshold, 51)
    assert.strictEqual(Duration.toMillis(defaults.providerCacheTtl), 300_000)
  })

  it.effect("reads settings from configuration, with defaults for the rest", () =>
    Effect.gen(function*() {
      const settings = Either.getOrThrow(
        yield* fromEnv({
          "CHECKPOINTER.CONSENSUS_THRESHOLD": "67",
          "CHECKPOINTER.PROVIDER_TIMEOUT": "5 seconds",
          "CHECKPOINTER.MAX_CONCURRENCY": "4",
          "CHECKPOINTER.PROVIDER_ENDPOINTS": "http://127.0.0.1:3333, http://127.0.0.1:3334"
        })
      )
      assert.strictEqual(settings.consensusThreshold, 67)
      assert.strictEqual(Duration.toMillis(settings.providerTimeout), 5_000)
      assert.strictEqual(settings.maxConcurrency, 4)
      assert.deepStrictEqual(settings.manualEndpoints.map(String), ["http://127.0.0.1:3333", "http://127.0.0.1:3334"])
      assert.strictEqual(settings.maxRetries, 3)
    }))

  it.effect("a threshold over 100% is a configuration error, not a round that can never succeed", () =>
    Effect.gen(function*() {
      const result = yield* fromEnv({ "CHECKPOINTER.CONSENSUS_THRESHOLD": "150" })
      assert.isTrue(Either.isLeft(result))
      assert.include(String(Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : "")), "consensusThreshold")
    }))

  it.effect("a threshold of 0% is refused too", () =>
    Effect.map(fromEnv({ "CHECKPOINTER.CONSENSUS_THRESHOLD": "0" }), (r) => assert.isTrue(Either.isLeft(r))))

  it.effect("a malformed manual endpoint is refused", () =>
    Effect.map(fromEnv({ "CHECKPOINTER.PROVIDER_ENDPOINTS": "ftp://x" }), (r) => assert.isTrue(Either.isLeft(r))))

  it("programmatic overrides are validated and accept duration text", () => {
    const ok = make({ graceWindow: "250 millis", maxRetries: 0 })
    assert.isTrue(Either.isRight(ok))
    assert.strictEqual(Duration.toMillis(Either.getOrThrow(ok).graceWindow), 250)
    assert.isTrue(Either.isLeft(make({ maxRetries: -1 })))
    assert.isTrue(Either.isLeft(make({ roundDeadline: "0 seconds" })))
    assert.isTrue(Either.isLeft(make({ maxConcurrency: 0 })))
  })

  it("refuses a grace window as long as the round deadline, and a retry cap below the first delay", () => {
    assert.isTrue(Either.isLeft(make({ graceWindow: "1 minute", roundDeadline: "1 minute" })))
    assert.isTrue(Either.isLeft(make({ retryDelay: "10 seconds", retryMaxDelay: "5 seconds" })))
  })
})

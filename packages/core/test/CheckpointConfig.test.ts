import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Duration, Effect, Either, Layer, Option, Random, Schedule } from "effect"
import { CheckpointConfig, defaults, make, problems, worstCaseRequest } from "../src/CheckpointConfig.js"
import type { CheckpointSettingsInput } from "../src/CheckpointConfig.js"
import { backoff } from "../src/RetryPolicy.js"

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
  it("has the anchor's defaults, except a provider timeout short enough for every retry to fit in a round", () => {
    assert.strictEqual(Duration.toMillis(defaults.providerTimeout), 10_000)
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

/** The message of a refused configuration, or "" when it is accepted. */
const refusal = (input: CheckpointSettingsInput) =>
  Either.match(make(input), { onLeft: (error) => String(error), onRight: () => "" })

describe("the retries fit in the round deadline", () => {
  it("the defaults are valid: 4 attempts × 10 s + at most (2 + 4 + 8) s × 1.2 of backoff = 56.8 s ≤ 60 s", () => {
    assert.deepStrictEqual(problems(defaults), [])
    assert.isTrue(Either.isRight(make()))
    const worst = worstCaseRequest(defaults)
    assert.strictEqual(worst.attempts, 4)
    assert.strictEqual(Duration.toMillis(worst.backoff), 16_800)
    assert.strictEqual(Duration.toMillis(worst.total), 56_800)
  })

  it("retries that cannot all happen before the round deadline are refused, in one line naming the numbers", () => {
    assert.include(
      refusal({ providerTimeout: "30 seconds" }),
      "the retries do not fit in the round deadline: 4 attempts × 30s + 16.8s of backoff = 136.8s > " +
        "roundDeadline 60s (lower providerTimeout or maxRetries, or raise roundDeadline)"
    )
    assert.include(
      refusal({ providerTimeout: "30 seconds", retryJitter: false }),
      "4 attempts × 30s + 14s of backoff = 134s > roundDeadline 60s"
    )
    const found = problems({ ...defaults, providerTimeout: Duration.seconds(30) })
    assert.strictEqual(found.length, 1)
  })

  it("fewer retries, a shorter timeout or a longer deadline make the same settings fit", () => {
    assert.strictEqual(refusal({ providerTimeout: "25 seconds", maxRetries: 1 }), "") // 2 × 25 s + 2.4 s
    assert.strictEqual(refusal({ providerTimeout: "30 seconds", roundDeadline: "140 seconds" }), "") // 136.8 s
    // The jitter counts: 4 × 11 s + 14 s fits, + 16.8 s does not.
    assert.strictEqual(refusal({ providerTimeout: "11 seconds", retryJitter: false }), "")
    assert.include(refusal({ providerTimeout: "11 seconds" }), "= 60.8s > roundDeadline 60s")
  })

  it("the backoff counted is capped as the schedule caps it: after the jitter", () => {
    // 5 s, 10 s, 20 s, 40 s: × 1.2 is 6, 12, 24 and 48 s, each capped at 20 s.
    const worst = worstCaseRequest({
      ...defaults,
      maxRetries: 4,
      retryDelay: Duration.seconds(5),
      retryMaxDelay: Duration.seconds(20)
    })
    assert.strictEqual(Duration.toMillis(worst.backoff), 6_000 + 12_000 + 20_000 + 20_000)
  })

  it.effect("the worst case counted is the retry schedule's own longest delays", () =>
    Effect.forEach([
      { retries: 3, base: 2_000, cap: 30_000, jitter: true },
      { retries: 3, base: 2_000, cap: 30_000, jitter: false },
      { retries: 5, base: 1_500, cap: 7_000, jitter: true },
      { retries: 0, base: 2_000, cap: 2_000, jitter: true }
    ], ({ base, cap, jitter, retries }) =>
      Effect.gen(function*() {
        const schedule = backoff({ base, cap, times: retries, jitter })
        // Random.fixed([1]) draws the top of the jitter range every time: the longest delays.
        const delays = yield* Schedule.run(Schedule.delays(schedule), 0, Array.from({ length: retries + 1 }, () => 0))
          .pipe(Effect.withRandom(Random.fixed([1])))
        const longest = Chunk.toReadonlyArray(delays).slice(0, retries).reduce(
          (sum, delay) => sum + Duration.toMillis(delay),
          0
        )
        const worst = worstCaseRequest({
          ...defaults,
          maxRetries: retries,
          retryDelay: Duration.millis(base),
          retryMaxDelay: Duration.millis(cap),
          retryJitter: jitter
        })
        assert.strictEqual(Duration.toMillis(worst.backoff), longest)
      })))

  it.effect("the check holds however the settings arrive: configuration, layer, make", () =>
    Effect.gen(function*() {
      const fromConfig = yield* fromEnv({ "CHECKPOINTER.PROVIDER_TIMEOUT": "30 seconds" })
      assert.include(String(Either.getLeft(fromConfig).pipe((o) => o._tag === "Some" ? o.value : "")), "do not fit")
      const fromLayer = yield* CheckpointConfig.pipe(
        Effect.provide(CheckpointConfig.layer({ providerTimeout: "30 seconds" })),
        Effect.either
      )
      assert.isTrue(Either.isLeft(fromLayer))
      assert.include(refusal({ providerTimeout: "30 seconds" }), "do not fit")
    }))
})

describe("the spend guardrails' settings", () => {
  it("are off by default: no cap, no budget, no minimum balance", () => {
    assert.isTrue(Option.isNone(defaults.maxFeePerCheckpoint))
    assert.isTrue(Option.isNone(defaults.bucketBudget))
    assert.isTrue(Option.isNone(defaults.signerBudget))
    assert.isTrue(Option.isNone(defaults.minimumBalance))
    assert.strictEqual(Duration.toMillis(defaults.budgetPeriod), Duration.toMillis(Duration.days(1)))
  })

  it("take amounts in planck as bigints, decimal strings or options, beyond 2^53 exactly", () => {
    const settings = Either.getOrThrow(make({
      maxFeePerCheckpoint: 1_500_000_000n,
      bucketBudget: "123456789012345678901234567890",
      signerBudget: Option.some(7n),
      minimumBalance: "0",
      budgetPeriod: "1 hour"
    }))
    assert.deepStrictEqual(settings.maxFeePerCheckpoint, Option.some(1_500_000_000n))
    assert.deepStrictEqual(settings.bucketBudget, Option.some(123456789012345678901234567890n))
    assert.deepStrictEqual(settings.signerBudget, Option.some(7n))
    assert.deepStrictEqual(settings.minimumBalance, Option.some(0n))
    assert.strictEqual(Duration.toMillis(settings.budgetPeriod), 3_600_000)
    assert.deepStrictEqual(Either.getOrThrow(make({ bucketBudget: Option.none() })).bucketBudget, Option.none())
  })

  it("refuse what is not a whole number of planck, a cap or budget of zero, and a zero period", () => {
    assert.include(refusal({ maxFeePerCheckpoint: "1.5" }), "maxFeePerCheckpoint")
    assert.include(refusal({ bucketBudget: "-3" }), "bucketBudget")
    assert.include(refusal({ signerBudget: "ten" }), "signerBudget")
    assert.include(refusal({ maxFeePerCheckpoint: 0n }), "maxFeePerCheckpoint")
    assert.include(refusal({ bucketBudget: "0" }), "bucketBudget")
    assert.include(refusal({ minimumBalance: -1n }), "minimumBalance")
    assert.include(refusal({ minimumBalance: (1n << 128n).toString() }), "minimumBalance")
    assert.include(refusal({ budgetPeriod: "0 seconds" }), "budgetPeriod")
  })

  it.effect("are read from configuration, and absent is no limit", () =>
    Effect.gen(function*() {
      const settings = Either.getOrThrow(
        yield* fromEnv({
          "CHECKPOINTER.MAX_FEE_PER_CHECKPOINT": "2000000000",
          "CHECKPOINTER.BUCKET_BUDGET": "10000000000",
          "CHECKPOINTER.BUDGET_PERIOD": "6 hours",
          "CHECKPOINTER.MINIMUM_BALANCE": "1000000000000"
        })
      )
      assert.deepStrictEqual(settings.maxFeePerCheckpoint, Option.some(2_000_000_000n))
      assert.deepStrictEqual(settings.bucketBudget, Option.some(10_000_000_000n))
      assert.deepStrictEqual(settings.signerBudget, Option.none())
      assert.strictEqual(Duration.toMillis(settings.budgetPeriod), 6 * 3_600_000)
      assert.deepStrictEqual(settings.minimumBalance, Option.some(1_000_000_000_000n))
      const bad = yield* fromEnv({ "CHECKPOINTER.SIGNER_BUDGET": "lots" })
      assert.isTrue(Either.isLeft(bad))
    }))
})

import { CheckpointEvents, type Domain, ProviderHealth } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"

describe("ProviderHealth breaker", () => {
  it.effect("opens after the failure limit, lets one probe through after the cooldown, and a lost probe expires", () =>
    Effect.gen(function*() {
      const health = yield* ProviderHealth.make({
        ...ProviderHealth.defaultSettings,
        unreachableAfter: 2,
        breakerCooldown: Duration.seconds(30)
      })
      const p = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" as Domain.AccountId
      yield* health.recordFailure(p, "x")
      yield* health.recordFailure(p, "x")
      assert.isFalse(yield* health.allowRequest(p))
      yield* TestClock.adjust("31 seconds")
      assert.isTrue(yield* health.allowRequest(p), "one probe")
      assert.isFalse(yield* health.allowRequest(p), "only one")
      // The probe never reports (its round ended first): it expires, and another probe is allowed.
      yield* TestClock.adjust("31 seconds")
      assert.isTrue(yield* health.allowRequest(p))
      yield* health.recordSuccess(p, 5)
      assert.strictEqual((yield* health.snapshot(p)).breaker, "Closed")
      assert.isTrue(yield* health.allowRequest(p))
    }).pipe(Effect.provide(CheckpointEvents.CheckpointEvents.layer)))
})

describe("ProviderHealth rules", () => {
  it("one boundary: 80 % success with no failure streak is Healthy, below is Degraded", () => {
    assert.strictEqual(ProviderHealth.statusOf({ requests: 0, successes: 0, consecutiveFailures: 0 }), "Unknown")
    assert.strictEqual(ProviderHealth.statusOf({ requests: 5, successes: 4, consecutiveFailures: 0 }), "Healthy")
    assert.strictEqual(ProviderHealth.statusOf({ requests: 10, successes: 7, consecutiveFailures: 0 }), "Degraded")
    assert.strictEqual(ProviderHealth.statusOf({ requests: 10, successes: 9, consecutiveFailures: 1 }), "Degraded")
    assert.strictEqual(ProviderHealth.statusOf({ requests: 10, successes: 5, consecutiveFailures: 5 }), "Unreachable")
  })

  it.effect("latency average and percentiles, real times, ordering by health", () =>
    Effect.gen(function*() {
      const health = yield* ProviderHealth.make()
      const [a, b, c] = [
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
        "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
      ] as Array<Domain.AccountId>
      yield* TestClock.setTime(1_700_000_000_000)
      for (const latency of [10, 20, 30, 40, 100]) yield* health.recordSuccess(a, latency)
      yield* health.recordSuccess(b, 5)
      yield* health.recordFailure(b, "timeout")
      const snap = yield* health.snapshot(a)
      assert.deepStrictEqual(snap.latencyP50Millis, Option.some(30))
      assert.deepStrictEqual(snap.latencyP95Millis, Option.some(100))
      assert.deepStrictEqual(snap.lastSuccessMillis, Option.some(1_700_000_000_000))
      assert.deepStrictEqual(yield* health.ordered([c, b, a]), [a, c, b])
      assert.isTrue(yield* health.hasEnoughHealthyProviders([a, b, c], 1))
      assert.isFalse(yield* health.hasEnoughHealthyProviders([a, b, c], 2))
    }).pipe(Effect.provide(CheckpointEvents.CheckpointEvents.layer)))
})

describe("ProviderHealth and health probes", () => {
  const p = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" as Domain.AccountId

  it.effect("a probe counts as a request and is kept as lastProbe; its latency stays out of the request latencies", () =>
    Effect.gen(function*() {
      const health = yield* ProviderHealth.make()
      yield* TestClock.setTime(1_700_000_000_000)
      assert.isUndefined((yield* health.snapshot(p)).lastProbe)
      yield* health.recordSuccess(p, 40)
      yield* health.recordProbe(p, { ok: true, latencyMillis: 3 })
      const passed = yield* health.snapshot(p)
      assert.strictEqual(passed.requests, 2)
      assert.strictEqual(passed.successes, 2)
      assert.deepStrictEqual(passed.lastProbe, { at: 1_700_000_000_000, ok: true, latencyMillis: 3 })
      assert.deepStrictEqual(passed.latencyP50Millis, Option.some(40))
      assert.deepStrictEqual(passed.latencyEwmaMillis, Option.some(40))

      yield* TestClock.adjust("1 minute")
      yield* health.recordProbe(p, { ok: false, error: "Transport: connection refused" })
      const failed = yield* health.snapshot(p)
      assert.strictEqual(failed.consecutiveFailures, 1)
      assert.strictEqual(failed.status, "Degraded")
      assert.deepStrictEqual(failed.lastProbe, {
        at: 1_700_000_060_000,
        ok: false,
        error: "Transport: connection refused"
      })
      assert.deepStrictEqual(failed.lastError, Option.some("health probe: Transport: connection refused"))
    }).pipe(Effect.provide(CheckpointEvents.CheckpointEvents.layer)))

  it.effect("failing probes open the breaker as failing requests do; a passing probe closes it", () =>
    Effect.gen(function*() {
      const health = yield* ProviderHealth.make({ ...ProviderHealth.defaultSettings, unreachableAfter: 3 })
      for (let i = 0; i < 3; i++) yield* health.recordProbe(p, { ok: false, error: "Timeout: no answer" })
      assert.strictEqual((yield* health.snapshot(p)).status, "Unreachable")
      assert.strictEqual((yield* health.snapshot(p)).breaker, "Open")
      assert.isFalse(yield* health.allowRequest(p))
      yield* health.recordProbe(p, { ok: true, latencyMillis: 1 })
      assert.strictEqual((yield* health.snapshot(p)).breaker, "Closed")
      assert.strictEqual((yield* health.snapshot(p)).status, "Degraded")
      assert.isTrue(yield* health.allowRequest(p))
    }).pipe(Effect.provide(CheckpointEvents.CheckpointEvents.layer)))
})

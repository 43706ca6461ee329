/**
 * Health probes: the loop asks every provider of its buckets `GET /health` at a jittered interval, with
 * bounded concurrency, and feeds `ProviderHealth`, so breakers open (and close again) between rounds.
 * In memory under `TestClock`, then over real loopback HTTP against the provider simulator.
 */
import {
  CheckpointLoop,
  type Domain,
  Metrics,
  ProviderDiscovery,
  ProviderHealth,
  ProviderProbe
} from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import type { MetricState } from "effect"
import { Clock, Duration, Effect, Metric, Option, Schedule, TestClock } from "effect"
import { FakeProviders, type SimulatedNetwork, TestNetwork } from "../src/index.js"
import { inWorld, recordEvents, seconds } from "./helpers.js"

const { Behaviour } = FakeProviders
const names = ["Alice", "Bob", "Charlie"]
const world = (behaviours: Record<string, FakeProviders.Behaviour> = {}): TestNetwork.NetworkSetup => ({
  providers: names.map((name) => ({ name, behaviour: behaviours[name] })),
  buckets: [{ id: 1, primaries: names, minProviders: 2 }],
  config: { maxRetries: 0, graceWindow: "10 millis" }
})

/**
 * A loop over bucket 1 that runs no round by itself (nothing dirty, due once an hour): whatever reaches
 * the providers is a probe, unless the test asks for a round.
 */
const startLoop = (settings: Partial<CheckpointLoop.LoopSettings> = {}) =>
  Effect.gen(function*() {
    const network = yield* TestNetwork.TestNetwork
    return yield* CheckpointLoop.make([network.bucketId(1)], {
      interval: CheckpointLoop.Every("1 hour"),
      probeInterval: Option.some(Duration.minutes(1)),
      ...settings
    })
  })

const probeTimes = (name: string) => Effect.flatMap(TestNetwork.TestNetwork, (w) => w.network.probeTimes(name))
const signingTimes = (name: string) => Effect.flatMap(TestNetwork.TestNetwork, (w) => w.network.requestTimes(name))
const healthOf = (name: string) =>
  Effect.gen(function*() {
    const network = yield* TestNetwork.TestNetwork
    const health = yield* ProviderHealth.ProviderHealth
    return yield* health.snapshot(network.account(name))
  })
const probeCount = (name: string, outcome: ProviderProbe.ProbeOutcome) =>
  Effect.gen(function*() {
    const network = yield* TestNetwork.TestNetwork
    const counter = Metric.tagged(
      Metric.tagged(Metrics.providerProbes, "provider", network.account(name)),
      "outcome",
      outcome
    )
    return yield* Effect.map(Metric.value(counter), (state: MetricState.MetricState.Counter<number>) => state.count)
  })

describe("health probes, in memory under TestClock", () => {
  it.scoped("every provider of the loop's buckets is probed at the interval, jittered within 0.8-1.2x", () =>
    inWorld(
      world(),
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        yield* startLoop()
        yield* TestClock.adjust("20 minutes")
        const times = yield* probeTimes("Alice")
        // Each pass asks every provider once, at the same moment.
        assert.deepStrictEqual(yield* probeTimes("Bob"), times)
        assert.deepStrictEqual(yield* probeTimes("Charlie"), times)
        const gaps = times.map((at, i) => at - (i === 0 ? started : times[i - 1]))
        assert.isAtLeast(times.length, Math.floor(20 / 1.2))
        assert.isAtMost(times.length, Math.ceil(20 / 0.8))
        for (const gap of gaps) {
          assert.isAtLeast(gap, seconds(48))
          assert.isAtMost(gap, seconds(72))
        }
        // Jittered, not a fixed beat.
        assert.isAbove(new Set(gaps).size, 1)
        // Nothing else was asked: no round ran.
        assert.deepStrictEqual(yield* signingTimes("Alice"), [])
      })
    ))

  it.scoped("a provider failing its probes goes Unreachable and its breaker opens, without any round", () =>
    inWorld(
      world({ Charlie: Behaviour.unreachable() }),
      Effect.gen(function*() {
        const events = yield* recordEvents
        yield* startLoop()
        // Five failures (unreachableAfter) take at most five passes of at most 72 s.
        yield* TestClock.adjust("6 minutes")
        const charlie = yield* healthOf("Charlie")
        assert.strictEqual(charlie.status, "Unreachable")
        assert.strictEqual(charlie.breaker, "Open")
        assert.isAtLeast(charlie.consecutiveFailures, 5)
        assert.isFalse(charlie.lastProbe?.ok)
        assert.include(charlie.lastProbe?.error, "Transport")
        assert.isUndefined(charlie.lastProbe?.latencyMillis)
        const alice = yield* healthOf("Alice")
        assert.strictEqual(alice.status, "Healthy")
        assert.isTrue(alice.lastProbe?.ok)
        assert.strictEqual(alice.lastProbe?.latencyMillis, 0)
        // No round asked anyone anything, and none was needed to learn it.
        for (const name of names) assert.deepStrictEqual(yield* signingTimes(name), [])
        const changes = (yield* events).filter((e) => e._tag === "ProviderStatusChanged")
        assert.includeDeepMembers(
          changes.map((e) => e._tag === "ProviderStatusChanged" ? e.to : undefined),
          ["Healthy", "Degraded", "Unreachable"]
        )
      })
    ))

  it.scoped("a round after failed probes does not ask the provider whose breaker they opened", () =>
    inWorld(
      world({ Charlie: Behaviour.unreachable() }),
      Effect.gen(function*() {
        const network = yield* TestNetwork.TestNetwork
        const loop = yield* startLoop()
        yield* TestClock.adjust("6 minutes")
        const round = yield* TestNetwork.advancing("1 minute", loop.submitNowAndWait(network.bucketId(1)))
        assert.strictEqual(round._tag, "Submitted")
        assert.deepStrictEqual(yield* signingTimes("Charlie"), [])
        assert.lengthOf(yield* signingTimes("Alice"), 1)
      })
    ))

  it.scoped("a provider that answers its probes again recovers: breaker closed at once, Healthy in time", () =>
    inWorld(
      world({ Charlie: Behaviour.unreachable() }),
      Effect.gen(function*() {
        const network = yield* TestNetwork.TestNetwork
        yield* startLoop()
        yield* TestClock.adjust("6 minutes")
        assert.strictEqual((yield* healthOf("Charlie")).breaker, "Open")
        yield* network.network.setBehaviour("Charlie", Behaviour.honest())
        yield* TestClock.adjust("72 seconds")
        const recovered = yield* healthOf("Charlie")
        assert.strictEqual(recovered.breaker, "Closed")
        assert.strictEqual(recovered.status, "Degraded") // its success rate still counts the failures
        assert.isTrue(recovered.lastProbe?.ok)
        // Healthy once its successes reach 80 % (five failures, twenty successes), by the probes alone.
        yield* TestClock.adjust("30 minutes")
        assert.strictEqual((yield* healthOf("Charlie")).status, "Healthy")
        assert.deepStrictEqual(yield* signingTimes("Charlie"), [])
      })
    ))

  it.scoped("probes are bounded in concurrency", () =>
    inWorld(
      {
        providers: ["A", "B", "C", "D", "E", "F"].map((name) => ({ name, behaviour: Behaviour.slow("2 seconds") })),
        buckets: [{ id: 1, primaries: ["A", "B", "C", "D", "E", "F"], minProviders: 1 }]
      },
      Effect.gen(function*() {
        yield* startLoop({ probeConcurrency: 2 })
        // One pass: the first starts within 72 s, and the next cannot start before 48 s after it ends.
        yield* TestClock.adjust("80 seconds")
        const firsts: Array<number> = []
        for (const name of ["A", "B", "C", "D", "E", "F"]) {
          const times = yield* probeTimes(name)
          assert.lengthOf(times, 1)
          firsts.push(times[0])
        }
        const start = Math.min(...firsts)
        // Two at a time, each taking 2 s: three waves.
        assert.deepStrictEqual(
          firsts.map((at) => at - start).sort((a, b) => a - b),
          [0, 0, 2000, 2000, 4000, 4000]
        )
      })
    ))

  it.scoped("an interval of zero, or none, turns probes off", () =>
    inWorld(
      world(),
      Effect.gen(function*() {
        yield* startLoop({ probeInterval: Option.some(Duration.zero) })
        yield* startLoop({ probeInterval: Option.none() })
        yield* TestClock.adjust("30 minutes")
        for (const name of names) assert.deepStrictEqual(yield* probeTimes(name), [])
        assert.strictEqual((yield* healthOf("Alice")).status, "Unknown")
        assert.isUndefined((yield* healthOf("Alice")).lastProbe)
      })
    ))

  it.scoped("a /health body that does not decode is a failure that says what was wrong", () =>
    inWorld(
      world({ Charlie: Behaviour.malformed() }),
      Effect.gen(function*() {
        const before = yield* probeCount("Charlie", "Decode")
        yield* startLoop()
        yield* TestClock.adjust("72 seconds")
        const charlie = yield* healthOf("Charlie")
        assert.isFalse(charlie.lastProbe?.ok)
        assert.match(charlie.lastProbe?.error ?? "", /^Decode: /)
        assert.include(charlie.lastProbe?.error, "status")
        assert.include(charlie.lastProbe?.error, "is missing")
        assert.strictEqual(charlie.consecutiveFailures, 1)
        assert.strictEqual((yield* probeCount("Charlie", "Decode")) - before, 1)
      })
    ))

  it.scoped("a provider reporting another status than healthy fails its probe as NotHealthy", () =>
    inWorld(
      world({ Charlie: Behaviour.unhealthy("syncing") }),
      Effect.gen(function*() {
        const before = yield* probeCount("Charlie", "NotHealthy")
        const okBefore = yield* probeCount("Alice", "Ok")
        yield* startLoop()
        yield* TestClock.adjust("72 seconds")
        const charlie = yield* healthOf("Charlie")
        assert.isFalse(charlie.lastProbe?.ok)
        assert.strictEqual(
          charlie.lastProbe?.error,
          "NotHealthy: the provider reports status \"syncing\", not \"healthy\""
        )
        // It answered: its latency is kept.
        assert.strictEqual(charlie.lastProbe?.latencyMillis, 0)
        assert.strictEqual((yield* probeCount("Charlie", "NotHealthy")) - before, 1)
        assert.strictEqual((yield* probeCount("Alice", "Ok")) - okBefore, 1)
      })
    ))

  it.scoped("a hanging provider's probe ends at the providers' timeout", () =>
    inWorld(
      { ...world({ Charlie: Behaviour.hang() }), config: { providerTimeout: "3 seconds", maxRetries: 0 } },
      Effect.gen(function*() {
        yield* startLoop()
        yield* TestClock.adjust("80 seconds")
        const charlie = yield* healthOf("Charlie")
        assert.isFalse(charlie.lastProbe?.ok)
        assert.match(charlie.lastProbe?.error ?? "", /^Timeout: /)
        const [asked] = yield* probeTimes("Charlie")
        assert.strictEqual(charlie.lastProbe?.at, asked + seconds(3))
      })
    ))

  it.scoped("probes read no chain state: a bucket is discovered once, then its providers are known", () =>
    inWorld(
      world(),
      Effect.gen(function*() {
        const network = yield* TestNetwork.TestNetwork
        const discovery = yield* ProviderDiscovery.ProviderDiscovery
        yield* startLoop()
        assert.strictEqual(yield* network.chain.reads, 0)
        yield* TestClock.adjust("72 seconds")
        // The first pass found bucket 1 undiscovered, and discovered it.
        const afterFirst = yield* network.chain.reads
        assert.isAbove(afterFirst, 0)
        assert.lengthOf(Option.getOrThrow(yield* discovery.known(network.bucketId(1))), 3)
        // A failed round drops the cache (the next round reads again); the probes still know the providers.
        yield* discovery.invalidate(network.bucketId(1))
        yield* TestClock.adjust("20 minutes")
        assert.isAtLeast((yield* probeTimes("Alice")).length, 17)
        assert.strictEqual(yield* network.chain.reads, afterFirst)
      })
    ))

  it.scoped("each provider is probed once per pass, however many buckets it serves", () =>
    inWorld(
      {
        ...world(),
        buckets: [1, 2, 3].map((id) => ({ id, primaries: names, minProviders: 2 }))
      },
      Effect.gen(function*() {
        const network = yield* TestNetwork.TestNetwork
        yield* CheckpointLoop.make([1, 2, 3].map(network.bucketId), {
          interval: CheckpointLoop.Every("1 hour"),
          probeInterval: Option.some(Duration.minutes(1))
        })
        yield* TestClock.adjust("72 seconds")
        for (const name of names) assert.lengthOf(yield* probeTimes(name), 1)
      })
    ))

  it.scoped("stop ends the probes", () =>
    inWorld(
      world(),
      Effect.gen(function*() {
        const loop = yield* startLoop()
        yield* TestClock.adjust("72 seconds")
        yield* loop.stop
        const asked = (yield* probeTimes("Alice")).length
        yield* TestClock.adjust("10 minutes")
        assert.lengthOf(yield* probeTimes("Alice"), asked)
      })
    ))
})

/** The simulator behind a provider of an HTTP test world. */
const simulator = (name: string) =>
  Effect.map(TestNetwork.TestNetwork, (w) => {
    const network = w.network as SimulatedNetwork.SimulatedNetwork
    return network.simulators[network.providers.findIndex((p) => p.name === name)]
  })

const discovered = Effect.gen(function*() {
  const network = yield* TestNetwork.TestNetwork
  const discovery = yield* ProviderDiscovery.ProviderDiscovery
  return (yield* discovery.discover(network.bucketId(1))).providers
})

describe("health probes over real loopback HTTP (the provider simulator)", () => {
  const httpWorld: TestNetwork.NetworkSetup = { ...world(), transport: "http" }

  it.live("the simulators answer /health, and each fault set on them is a failure with its reason", () =>
    inWorld(
      httpWorld,
      Effect.gen(function*() {
        const providers = yield* discovered
        const healthy = yield* ProviderProbe.probeAll(providers, 3)
        assert.deepStrictEqual(healthy.map((r) => r.outcome), ["Ok", "Ok", "Ok"])
        for (const result of healthy) assert.isNumber(result.latencyMillis)

        const charlie = yield* simulator("Charlie")
        const probeCharlie = Effect.map(ProviderProbe.probeAll(providers.slice(2), 1), ([result]) => result)
        const cases: ReadonlyArray<readonly [string, Parameters<typeof charlie.setFaults>[0], string, RegExp]> = [
          ["another status", { healthStatus: "syncing" }, "NotHealthy", /reports status "syncing"/],
          ["a body that is not JSON", { malformedJson: true }, "Decode", /not JSON/],
          ["an HTTP error", { status: { code: 503, errorCode: "chain_state_not_ready" } }, "Status", /503/],
          ["a reset connection", { reset: true }, "Transport", /^Transport: /],
          // Scaled settings: the 10 s provider timeout is 200 ms here.
          ["a hang", { hang: true }, "Timeout", /^Timeout: /]
        ]
        for (const [label, faults, outcome, detail] of cases) {
          yield* charlie.setFaults(faults)
          const result = yield* probeCharlie
          assert.strictEqual(result.outcome, outcome, label)
          assert.match(result.detail, detail, label)
        }
        const snapshot = yield* healthOf("Charlie")
        assert.strictEqual(snapshot.consecutiveFailures, cases.length)
        assert.strictEqual(snapshot.status, "Unreachable")
        assert.strictEqual(snapshot.breaker, "Open")
        yield* charlie.setFaults({})
        assert.strictEqual((yield* probeCharlie).outcome, "Ok")
        assert.strictEqual((yield* healthOf("Charlie")).breaker, "Closed")
        assert.isAtLeast((yield* charlie.healthRequestTimes).length, cases.length + 2)
      })
    ))

  it.live("a provider whose address the endpoint policy refuses is not contacted: Refused", () =>
    inWorld(
      httpWorld,
      Effect.gen(function*() {
        const [alice] = yield* discovered
        const [result] = yield* ProviderProbe.probeAll([
          { ...alice, endpoint: "http://169.254.169.254:3333" as Domain.Endpoint } as typeof alice
        ], 1)
        assert.strictEqual(result.outcome, "Refused")
        assert.isUndefined(result.latencyMillis)
      })
    ))

  it.scopedLive("the loop probes the simulators over HTTP and sees a fault set at run time", () =>
    inWorld(
      httpWorld,
      Effect.gen(function*() {
        const charlie = yield* simulator("Charlie")
        yield* startLoop({ probeInterval: Option.some(Duration.millis(50)) })
        const lastProbe = Effect.map(healthOf("Charlie"), (s) => s.lastProbe)
        // Polls until the probe's outcome is seen (bounded), and returns it.
        const until = <A, R>(check: Effect.Effect<A, never, R>, done: (a: A) => boolean) =>
          check.pipe(
            Effect.filterOrFail(done, () => "not yet"),
            Effect.retry(Schedule.spaced("10 millis")),
            Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("not seen in time") })
          )
        yield* until(lastProbe, (probe) => probe?.ok === true)
        yield* charlie.setFaults({ reset: true })
        const failed = yield* until(lastProbe, (probe) => probe?.ok === false)
        assert.include(failed?.error, "Transport")
        yield* charlie.setFaults({})
        yield* until(lastProbe, (probe) => probe?.ok === true)
        assert.isAtLeast((yield* charlie.healthRequestTimes).length, 3)
      })
    ))
})

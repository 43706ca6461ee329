/**
 * `/metrics`, scraped from a real loopback server after a scripted scenario and parsed strictly: the
 * values are what the test made happen. The metric registry is the process's, so this file holds one
 * scenario (Vitest runs each file in its own worker).
 */
import { Exposition, FakeProviders, TestNetwork } from "@checkpointer/testing"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { get } from "./serve.js"
import { inWorld, startServing } from "./world.js"

const { Behaviour } = FakeProviders
const FEE = 1_234_567n

const parse = (text: string) => Either.getOrThrow(Exposition.parse(text))
/** The one sample of this name with these labels. */
const sampleValue = (families: ReadonlyArray<Exposition.Family>, name: string, labels: Record<string, string> = {}) => {
  const found = Exposition.samples(families, name, labels)
  expect(found, `${name}${JSON.stringify(labels)}`).toHaveLength(1)
  return found[0]!.value
}
const family = (families: ReadonlyArray<Exposition.Family>, name: string) => {
  const found = families.find((f) => f.name === name)
  expect(found, name).toBeDefined()
  return found!
}

describe("/metrics", () => {
  it.scoped("rounds by outcome, provider latency in seconds, signatures, broadcasts, fees, breakers and the loop's state", () =>
    inWorld(
      {
        providers: [
          { name: "Alice" },
          { name: "Bob" },
          { name: "Charlie", behaviour: Behaviour.slow("1500 millis") },
          { name: "Dave", behaviour: Behaviour.unreachable() }
        ],
        buckets: [
          // Every primary must sign: each round waits for Charlie's 1.5 s.
          { id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 3 },
          // Dave alone, and unreachable.
          { id: 2, primaries: ["Dave"], minProviders: 1 }
        ],
        config: { maxRetries: 0, graceWindow: "10 millis" },
        // One failure makes a provider Unreachable and opens its breaker.
        health: { unreachableAfter: 1 }
      },
      Effect.gen(function*() {
        const { loop, url, world } = yield* startServing([1, 2], {
          interval: { _tag: "Duration", duration: Duration.minutes(1) },
          // No retry of bucket 2 during the test: each bucket has exactly the rounds the test runs.
          failureRetryDelay: Duration.hours(1),
          failureRetryMaxDelay: Duration.hours(1)
        })
        yield* world.chain.setFee(FEE)
        yield* loop.markDirty(world.bucketId(1))
        yield* loop.markDirty(world.bucketId(2))
        yield* TestClock.adjust("65 seconds") // the first due point, at 60 s
        const again = yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        assert.strictEqual(again._tag, "AlreadyCheckpointed")
        const status = yield* loop.status
        const failedAs = Option.getOrThrow(status.find((s) => s.bucketId === world.bucketId(2))!.lastResult)

        const scraped = yield* get(`${url}/metrics`)
        expect(scraped.status).toBe(200)
        expect(scraped.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
        const metrics = parse(scraped.body)
        const value = (name: string, labels: Record<string, string> = {}) => sampleValue(metrics, name, labels)

        // Rounds: bucket 1 submitted, then found the chain already holding it; bucket 2 failed once.
        expect(family(metrics, "checkpointer_rounds_total").type).toBe("counter")
        expect(value("checkpointer_rounds_total", { bucket: "1", outcome: "Submitted" })).toBe(1)
        expect(value("checkpointer_rounds_total", { bucket: "1", outcome: "AlreadyCheckpointed" })).toBe(1)
        expect(failedAs).not.toMatch(/Submitted|AlreadyCheckpointed/)
        expect(value("checkpointer_rounds_total", { bucket: "2", outcome: failedAs })).toBe(1)
        expect(family(metrics, "checkpointer_rounds_total").samples).toHaveLength(3)
        expect(value("checkpointer_rounds_run_total")).toBe(3)
        // Three signatures in each of bucket 1's rounds.
        expect(value("checkpointer_signatures_collected_total")).toBe(6)
        // One checkpoint broadcast, included, paying the chain's fee.
        expect(value("checkpointer_broadcasts_total")).toBe(1)
        expect(value("checkpointer_transactions_paid_total")).toBe(1)
        expect(value("checkpointer_fees_paid_planck_total")).toBe(Number(FEE))
        expect((yield* world.chain.submissions).length).toBe(1)

        // Latency in seconds, per provider: Charlie's 1.5 s answers fall between 1.28 and 2.56.
        expect(family(metrics, "checkpointer_provider_request_seconds").type).toBe("histogram")
        const charlie = { provider: world.account("Charlie") }
        const asked = (yield* world.network.requestTimes("Charlie")).length
        expect(asked).toBe(2)
        expect(value("checkpointer_provider_request_seconds_count", charlie)).toBe(asked)
        expect(value("checkpointer_provider_request_seconds_sum", charlie)).toBeCloseTo(1.5 * asked, 9)
        expect(value("checkpointer_provider_request_seconds_bucket", { ...charlie, le: "1.28" })).toBe(0)
        expect(value("checkpointer_provider_request_seconds_bucket", { ...charlie, le: "2.56" })).toBe(asked)
        const alice = { provider: world.account("Alice") }
        expect(value("checkpointer_provider_request_seconds_bucket", { ...alice, le: "0.005" })).toBe(
          (yield* world.network.requestTimes("Alice")).length
        )

        // Breakers and health: Dave's open, the others closed.
        const dave = world.account("Dave")
        expect(value("checkpointer_provider_breaker_state", { provider: dave, state: "Open" })).toBe(1)
        expect(value("checkpointer_provider_breaker_state", { provider: dave, state: "Closed" })).toBe(0)
        expect(value("checkpointer_provider_breaker_state", { ...alice, state: "Closed" })).toBe(1)
        expect(value("checkpointer_provider_status", { provider: dave, status: "Unreachable" })).toBe(1)
        expect(value("checkpointer_provider_status", { ...alice, status: "Healthy" })).toBe(1)

        // Time since the last checkpoint, as of the scrape: bucket 2 has had none since the loop started
        // (at 0 s; now is 70 s), bucket 1's last round succeeded when Charlie answered, at 66.5 s.
        expect(family(metrics, "checkpointer_seconds_since_last_checkpoint").type).toBe("gauge")
        expect(value("checkpointer_seconds_since_last_checkpoint", { bucket: "2" })).toBe(70)
        expect(value("checkpointer_seconds_since_last_checkpoint", { bucket: "1" })).toBe(3)

        // The loop's state, sampled at the scrape.
        expect(value("checkpointer_chain_connected")).toBe(1)
        expect(value("checkpointer_loop_running")).toBe(1)
        expect(value("checkpointer_loop_paused")).toBe(0)
        expect(value("checkpointer_buckets_overdue")).toBe(0)
        yield* loop.pause
        const paused = parse((yield* get(`${url}/metrics`)).body)
        expect(sampleValue(paused, "checkpointer_loop_paused")).toBe(1)
        // The service is named in target_info; no series carries the exporter's scope.
        expect(family(metrics, "target_info").samples[0]!.labels.service_name).toBe("checkpointer")
        expect(scraped.body).not.toContain("otel_scope_name")
        // The 0.0.4 text format has HELP and TYPE only: no OpenMetrics `# UNIT` (the units are in the names).
        expect(scraped.body.split("\n").filter((line) => line.startsWith("# UNIT"))).toEqual([])
        expect(scraped.body).toContain("# HELP checkpointer_provider_request_seconds latency of provider requests")
        // The Effect runtime's fiber counters are not the service's.
        expect(metrics.filter((f) => f.name.startsWith("effect_fiber_")).map((f) => f.name)).toEqual([])
      })
    ))
})

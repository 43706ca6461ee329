/**
 * `/readyz` and `/healthz`, served on a real loopback server over a test world: ready exactly when the
 * chain answers, the loop runs and is not paused, and no bucket is overdue; otherwise 503 with each
 * reason as data.
 */
import { Readiness } from "@checkpointer/operator"
import { FakeProviders, TestNetwork } from "@checkpointer/testing"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { get } from "./serve.js"
import { inWorld, startServing } from "./world.js"

const { Behaviour } = FakeProviders
const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const setup: TestNetwork.NetworkSetup = {
  providers,
  buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }],
  config: { maxRetries: 0, graceWindow: "10 millis" }
}
const every = { interval: { _tag: "Duration", duration: Duration.minutes(1) } } as const

/** `/readyz`'s status and its report, decoded with the report's own schema. */
const readyz = (url: string) =>
  Effect.gen(function*() {
    const answer = yield* get(`${url}/readyz`)
    expect(answer.contentType).toMatch(/^application\/json/)
    return {
      status: answer.status,
      report: Schema.decodeUnknownSync(Readiness.Report)(JSON.parse(answer.body)),
      json: JSON.parse(answer.body) as unknown
    }
  })

describe("/healthz", () => {
  it.scoped("answers 200 while the process serves, whatever the loop's state", () =>
    inWorld(
      setup,
      Effect.gen(function*() {
        const { loop, url } = yield* startServing([1], every)
        const alive = yield* get(`${url}/healthz`)
        expect(alive).toMatchObject({ status: 200, body: "{\"alive\":true}" })
        yield* loop.pause
        expect((yield* get(`${url}/healthz`)).status).toBe(200)
      })
    ))
})

describe("/readyz", () => {
  it.scoped("a paused loop is not ready and says why; resumed, it is ready again", () =>
    inWorld(
      setup,
      Effect.gen(function*() {
        const { loop, url } = yield* startServing([1], every)
        const ready = yield* readyz(url)
        expect(ready.status).toBe(200)
        expect(ready.json).toEqual({ ready: true, reasons: [] })

        yield* loop.pause
        const paused = yield* readyz(url)
        expect(paused.status).toBe(503)
        expect(paused.json).toEqual({
          ready: false,
          reasons: [{ _tag: "LoopPaused", reason: "paused by request" }]
        })

        yield* loop.resume
        expect((yield* readyz(url)).status).toBe(200)
      })
    ))

  it.scoped("a chain that does not answer is not ready (ChainDisconnected); answering again, ready", () =>
    inWorld(
      setup,
      Effect.gen(function*() {
        const { url, world } = yield* startServing([1], every)
        yield* world.chain.setUnavailable(true)
        const down = yield* readyz(url)
        expect(down.status).toBe(503)
        assert.strictEqual(down.report.reasons.length, 1)
        const [reason] = down.report.reasons
        assert.strictEqual(reason!._tag, "ChainDisconnected")
        expect(reason!._tag === "ChainDisconnected" && reason!.detail).toContain("not answering")

        yield* world.chain.setUnavailable(false)
        expect((yield* readyz(url)).report).toEqual(new Readiness.Report({ ready: true, reasons: [] }))
      })
    ))

  it.scoped("a stopped loop is not ready (LoopStopped)", () =>
    inWorld(
      setup,
      Effect.gen(function*() {
        const { loop, url } = yield* startServing([1], every)
        yield* loop.stop
        const stopped = yield* readyz(url)
        expect(stopped.status).toBe(503)
        expect(stopped.json).toEqual({ ready: false, reasons: [{ _tag: "LoopStopped" }] })
      })
    ))

  it.scoped("a bucket without a checkpoint for longer than overdueAfter is not ready (BucketsOverdue); a checkpoint clears it", () =>
    inWorld(
      {
        ...setup,
        providers: providers.map((p) => ({ ...p, behaviour: Behaviour.unreachable() })),
        buckets: [...setup.buckets, { id: 2, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }]
      },
      Effect.gen(function*() {
        const { loop, url, world } = yield* startServing([1, 2], {
          ...every,
          overdueAfter: Option.some(Duration.minutes(10))
        })
        const startedAt = new Date(0).toISOString() // the loop started at TestClock's zero (plus 1 ms)
        yield* loop.markDirty(world.bucketId(1))
        yield* TestClock.adjust("9 minutes")
        // Failing, but not yet overdue.
        expect((yield* readyz(url)).status).toBe(200)

        yield* TestClock.adjust("2 minutes")
        const overdue = yield* readyz(url)
        expect(overdue.status).toBe(503)
        expect(overdue.json).toEqual({
          ready: false,
          reasons: [{
            _tag: "BucketsOverdue",
            count: 2,
            buckets: [{ bucket: "1", since: startedAt }, { bucket: "2", since: startedAt }]
          }]
        })

        for (const { name } of providers) yield* world.network.setBehaviour(name, Behaviour.honest())
        const result = yield* TestNetwork.advancing("1 minute", loop.submitNowAndWait(world.bucketId(1)))
        assert.strictEqual(result._tag, "Submitted")
        const one = yield* readyz(url)
        expect(one.json).toMatchObject({ reasons: [{ _tag: "BucketsOverdue", count: 1, buckets: [{ bucket: "2" }] }] })
        yield* TestNetwork.advancing("1 minute", loop.submitNowAndWait(world.bucketId(2)))
        expect((yield* readyz(url)).status).toBe(200)
      })
    ))
})

describe("Readiness.assess", () => {
  it("lists every reason at once, and at most MAX_LISTED overdue buckets, the longest overdue first", () => {
    const buckets = Array.from({ length: 30 }, (_, i) => ({
      bucketId: BigInt(i) as never,
      dirty: false,
      paused: false,
      inFlight: false,
      failureStreak: 0,
      lastAttemptMillis: Option.none(),
      lastSuccessMillis: Option.none(),
      lastResult: Option.none(),
      nextDueBlock: Option.none(),
      nextDueMillis: Option.none(),
      retryNotBeforeMillis: Option.none(),
      sinceMillis: 1_000_000 - i,
      overdue: i % 3 !== 0
    }))
    const report = Readiness.assess({
      chain: { _tag: "Disconnected", detail: "gone" },
      running: true,
      pausedBecause: Option.some("paused by request"),
      buckets
    })
    assert.isFalse(report.ready)
    expect(report.reasons.map((r) => r._tag)).toEqual(["ChainDisconnected", "LoopPaused", "BucketsOverdue"])
    const overdue = report.reasons[2]
    assert(overdue?._tag === "BucketsOverdue")
    assert.strictEqual(overdue.count, 20)
    expect(overdue.buckets.map((b) => Number(b.bucket))).toEqual([29, 28, 26, 25, 23, 22, 20, 19, 17, 16])
  })
})

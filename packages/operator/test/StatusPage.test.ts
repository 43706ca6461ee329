/**
 * The live status page, served on a real loopback server over a test world under TestClock: the page and
 * its own files (nothing from elsewhere, no inline script, no markup built from text), and `/status.json`
 * — decoded with its own schema — saying what the test made happen: each bucket's last checkpoint as the
 * chain holds it, next due, the last round's decision record and why it paid or not, provider health, and
 * the recent events in a bounded ring.
 */
import { CheckpointEvents, ReceiptJournal } from "@checkpointer/core"
import { StatusFeed, StatusPage } from "@checkpointer/operator"
import { FakeProviders, TestNetwork } from "@checkpointer/testing"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { get } from "./serve.js"
import { inWorld, startServing } from "./world.js"

const { Behaviour } = FakeProviders
const FEE = 7_654_321n
const every = { interval: { _tag: "Duration", duration: Duration.minutes(1) } } as const

/** `/status.json`, decoded with the document's own schema. */
const statusAt = (url: string) =>
  Effect.gen(function*() {
    const answer = yield* get(`${url}/status.json`)
    expect(answer.status).toBe(200)
    expect(answer.contentType).toMatch(/^application\/json/)
    return Schema.decodeUnknownSync(StatusPage.Status)(JSON.parse(answer.body))
  })

const bucketIn = (status: StatusPage.Status, id: number) => {
  const found = status.buckets.find((b) => b.bucket === BigInt(id))
  assert(found !== undefined, `bucket ${id} on the page`)
  return found
}

describe("the status page", () => {
  it.scoped("is the package's own HTML, style sheet and script, under a policy that runs nothing else", () =>
    inWorld(
      { providers: [{ name: "Alice" }], buckets: [{ id: 1, primaries: ["Alice"], minProviders: 1 }] },
      Effect.gen(function*() {
        const { url } = yield* startServing([1], every)
        const page = yield* Effect.promise(() => fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) }))
        expect(page.status).toBe(200)
        expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
        const policy = page.headers.get("content-security-policy") ?? ""
        expect(policy).toContain("default-src 'none'")
        expect(policy).toContain("script-src 'self'")
        expect(policy).not.toContain("unsafe-inline")
        expect(page.headers.get("x-content-type-options")).toBe("nosniff")
        const html = yield* Effect.promise(() => page.text())
        expect(html).toContain("<script src=\"status.js\" defer></script>")
        expect(html).toContain("<link rel=\"stylesheet\" href=\"status.css\">")
        // Every script and style is a file of the page's own origin: no inline code, no other host.
        expect(html.match(/<script/g)).toHaveLength(1)
        expect(html).not.toMatch(/<style|\son\w+=|https?:\/\//)
        expect(html).toContain("<link rel=\"icon\" href=\"data:,\">")

        const script = yield* get(`${url}/status.js`)
        expect(script.status).toBe(200)
        expect(script.contentType).toBe("text/javascript; charset=utf-8")
        expect(script.body).toContain("status.json")
        // Provider text reaches the page through textContent only.
        expect(script.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/)
        const style = yield* get(`${url}/status.css`)
        expect(style.status).toBe(200)
        expect(style.contentType).toBe("text/css; charset=utf-8")
        expect(style.body).not.toMatch(/@import|url\(/)
      })
    ))

  it.scoped("status.json: each bucket's last checkpoint, its last round's decision and why it paid or not; provider health; the events", () =>
    inWorld(
      {
        providers: [
          { name: "Alice" },
          { name: "Bob" },
          { name: "Charlie", behaviour: Behaviour.lagging(2) },
          { name: "Dave", behaviour: Behaviour.unreachable() }
        ],
        buckets: [
          // 2 of 3 required (51 %): Alice and Bob agree, Charlie is behind.
          { id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 },
          // Dave alone, and unreachable.
          { id: 2, primaries: ["Dave"], minProviders: 1 }
        ],
        config: { maxRetries: 0, graceWindow: "10 millis", syncRequeries: 0 },
        health: { unreachableAfter: 1 }
      },
      Effect.gen(function*() {
        const { loop, url, world } = yield* startServing([1, 2], {
          ...every,
          failureRetryDelay: Duration.hours(1),
          failureRetryMaxDelay: Duration.hours(1)
        })
        yield* world.chain.setFee(FEE)
        const before = yield* statusAt(url)
        expect(bucketIn(before, 1)).toMatchObject({ lastCheckpoint: null, lastRound: null })
        expect(bucketIn(before, 1).verdict).toMatchObject({ result: null, paid: false, text: "no round yet" })

        const paid = yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        assert(paid._tag === "Submitted")
        const failed = yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(2)))
        const status = yield* statusAt(url)

        // Bucket 1: the checkpoint as the chain recorded it.
        const one = bucketIn(status, 1)
        const { receipt } = paid
        assert(one.lastCheckpoint !== null)
        expect(one.lastCheckpoint.blockNumber).toBe(receipt.blockNumber)
        expect(one.lastCheckpoint.commitment).toEqual(receipt.commitment)
        expect(one.lastCheckpoint.signers).toEqual(receipt.signers)
        expect(one.lastCheckpoint.fee).toBe(FEE)
        expect([...one.lastCheckpoint.signers].sort()).toEqual([world.account("Alice"), world.account("Bob")].sort())
        const onChain = Option.getOrThrow(yield* world.chain.bucket(world.bucketId(1)))
        const snapshot = Option.getOrThrow(onChain.snapshot)
        expect(one.lastCheckpoint.commitment.leafCount).toBe(snapshot.commitment.leafCount)
        // Its round: two agree of two required, Charlie behind, and the checkpoint paid.
        assert(one.lastRound !== null)
        expect(one.lastRound).toMatchObject({
          action: "Submit",
          agreeing: 2,
          required: 2,
          totalProviders: 3,
          resolution: "ProceedWithMajority"
        })
        expect(one.lastRound.outcomes.map((o) => [o.provider, o.outcome])).toEqual(
          expect.arrayContaining([
            [world.account("Alice"), "Answered"],
            [world.account("Bob"), "Answered"],
            [world.account("Charlie"), "Answered"]
          ])
        )
        expect(one.lastRound.conflicts).toEqual([
          expect.objectContaining({ provider: world.account("Charlie"), conflict: "SyncDelay" })
        ])
        expect(one.lastRound.conflicts[0]!.detail).toMatch(/^behind by 2 leaves/)
        expect(one.verdict).toEqual(
          new StatusPage.Verdict({
            result: "Submitted",
            paid: true,
            text: `paid 7,654,321 planck for block #${receipt.blockNumber}`
          })
        )
        // Next due: one interval after the loop's first pass, which ran as it started (at 0; every minute).
        expect(one.nextDueMillis).toBe(60_000)

        // Bucket 2: nothing paid, and why.
        const two = bucketIn(status, 2)
        expect(two.lastCheckpoint).toBeNull()
        expect(two.verdict.paid).toBe(false)
        expect(two.verdict.result).toBe(failed._tag)
        expect(two.verdict.text).toMatch(/^nothing paid: /)
        expect(two.failureStreak).toBe(1)
        expect(two.lastRound?.outcomes).toEqual([
          expect.objectContaining({ provider: world.account("Dave"), outcome: "Unreachable" })
        ])

        // Providers: Dave first (unreachable, breaker open), the others healthy with latencies.
        const dave = status.providers[0]!
        expect(dave).toMatchObject({ provider: world.account("Dave"), status: "Unreachable", breaker: "Open" })
        expect(dave.lastError).not.toBeNull()
        const alice = status.providers.find((p) => p.provider === world.account("Alice"))!
        expect(alice).toMatchObject({ status: "Healthy", breaker: "Closed", failures: 0, lastError: null })
        expect(alice.latencyP50Millis).not.toBeNull()
        expect(alice.latencyP95Millis).not.toBeNull()
        expect(alice.lastProbe).toBeNull()
        // Where a provider is asked shows once the probes have asked it (none ran here).
        expect(alice.endpoint).toBeNull()

        // The events, oldest first, numbered.
        const types = status.events.map((e) => e.type)
        expect(types).toEqual(
          expect.arrayContaining(["CheckpointSubmitted", "CheckpointFailed", "ProviderStatusChanged"])
        )
        expect(status.events.map((e) => e.seq)).toEqual(status.events.map((_, i) => i + 1))
        const landed = status.events.find((e) => e.type === "CheckpointSubmitted")!
        expect(landed.bucket).toBe(BigInt(1))
        expect(landed.text).toContain(`block #${receipt.blockNumber}`)
        const turned = status.events.find((e) =>
          e.type === "ProviderStatusChanged" && e.provider === world.account("Dave")
        )
        expect(turned?.text).toMatch(/→ Unreachable$/)
        // Charlie behind the majority: a conflict of one provider names it.
        const conflict = status.events.find((e) => e.type === "ProviderConflict")
        expect(conflict).toMatchObject({ bucket: BigInt(1), provider: world.account("Charlie") })

        expect(status.readiness.ready).toBe(true)
        expect(status.running).toBe(true)
      })
    ))

  it.scoped("a new checkpoint replaces the last one on the next read: block, leaves and root move on; a round with nothing new pays nothing", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }],
        buckets: [{ id: 1, primaries: ["Alice", "Bob"], minProviders: 2 }],
        config: { maxRetries: 0, graceWindow: "10 millis" }
      },
      Effect.gen(function*() {
        const { loop, url, world } = yield* startServing([1], every)
        const first = yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        assert(first._tag === "Submitted")
        const shown = bucketIn(yield* statusAt(url), 1).lastCheckpoint!
        expect(shown.blockNumber).toBe(first.receipt.blockNumber)

        yield* world.network.append(world.bucketId(1), 5)
        yield* TestClock.adjust("30 seconds")
        const second = yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        assert(second._tag === "Submitted")
        const now = yield* statusAt(url)
        const next = bucketIn(now, 1).lastCheckpoint!
        expect(next.blockNumber).toBe(second.receipt.blockNumber)
        expect(next.blockNumber).toBeGreaterThan(shown.blockNumber)
        expect(next.commitment.leafCount).toBe(shown.commitment.leafCount + 5n)
        expect(next.commitment.mmrRoot).not.toBe(shown.commitment.mmrRoot)
        expect(now.events.filter((e) => e.type === "CheckpointSubmitted")).toHaveLength(2)
        // The document's clock is the server's (TestClock here): the page counts ages from it.
        expect(now.generatedAtMillis).toBe(yield* TestClock.currentTimeMillis)

        // No new data: the next round finds the chain holding it, and says nothing was paid.
        const again = yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        assert.strictEqual(again._tag, "AlreadyCheckpointed")
        const after = bucketIn(yield* statusAt(url), 1)
        expect(after.verdict).toEqual(
          new StatusPage.Verdict({
            result: "AlreadyCheckpointed",
            paid: false,
            text: "nothing paid: the chain already holds this commitment"
          })
        )
        expect(after.lastCheckpoint!.blockNumber).toBe(second.receipt.blockNumber)
      })
    ))

  it.scoped("a provider's own words are carried as data, exactly, for the page to show as text", () =>
    inWorld(
      {
        providers: [{
          name: "Alice",
          behaviour: Behaviour.httpStatus(400, { errorCode: "<img src=x onerror=alert(1)>" })
        }, { name: "Bob" }],
        buckets: [{ id: 1, primaries: ["Alice", "Bob"], minProviders: 1 }],
        config: { maxRetries: 0, graceWindow: "10 millis" }
      },
      Effect.gen(function*() {
        const { loop, url, world } = yield* startServing([1], every)
        yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        const raw = (yield* get(`${url}/status.json`)).body
        const status = Schema.decodeUnknownSync(StatusPage.Status)(JSON.parse(raw))
        const alice = status.providers.find((p) => p.provider === world.account("Alice"))!
        expect(alice.lastError).toContain("<img src=x onerror=alert(1)>")
        const outcome = bucketIn(status, 1).lastRound!.outcomes.find((o) => o.provider === world.account("Alice"))!
        expect(outcome.outcome).toBe("InvalidResponse")
      })
    ))
})

describe("the status page's providers", () => {
  it.scoped("each provider's last health probe: when, passed or failed and why, how long it took", () =>
    inWorld(
      {
        providers: [{ name: "Alice" }, { name: "Bob" }],
        buckets: [{ id: 1, primaries: ["Alice", "Bob"], minProviders: 1 }],
        config: { maxRetries: 0, graceWindow: "10 millis" }
      },
      Effect.gen(function*() {
        const { loop, url, world } = yield* startServing([1], {
          ...every,
          probeInterval: Option.some(Duration.minutes(1))
        })
        // A round discovers the bucket's providers: the probes ask those.
        yield* TestNetwork.advancing("5 seconds", loop.submitNowAndWait(world.bucketId(1)))
        const unprobed = yield* statusAt(url)
        expect(unprobed.providers.map((p) => p.lastProbe)).toEqual([null, null])

        yield* world.network.setBehaviour("Bob", Behaviour.unhealthy("<b>degraded</b>"))
        // Past the first probe pass (one interval, jittered by at most a fifth).
        yield* TestClock.adjust("75 seconds")
        const probed = yield* statusAt(url)
        const alice = probed.providers.find((p) => p.provider === world.account("Alice"))!
        const bob = probed.providers.find((p) => p.provider === world.account("Bob"))!
        assert(alice.lastProbe !== null && bob.lastProbe !== null)
        expect(alice.lastProbe).toMatchObject({ ok: true, detail: null })
        expect(alice.lastProbe.latencyMillis).not.toBeNull()
        expect(bob.lastProbe.ok).toBe(false)
        // The provider's own words, as data.
        expect(bob.lastProbe.detail).toContain("<b>degraded</b>")
        expect(bob.status).toBe("Degraded")
        for (const probe of [alice.lastProbe, bob.lastProbe]) {
          expect(probe.atMillis).toBeGreaterThan(5_000)
          expect(probe.atMillis).toBeLessThanOrEqual(probed.generatedAtMillis)
        }
      })
    ))
})

describe("StatusFeed", () => {
  const feedLayer = (capacity: number) =>
    StatusFeed.StatusFeed.layer({ capacity }).pipe(
      Layer.provideMerge(Layer.merge(CheckpointEvents.CheckpointEvents.layer, ReceiptJournal.layerMemory()))
    )

  /** Waits (on the fiber scheduler, not the clock) until the feed has seen `count` events in all. */
  const seen = (count: number) =>
    Effect.flatMap(StatusFeed.StatusFeed, (feed) =>
      Effect.yieldNow().pipe(
        Effect.zipRight(feed.recent),
        Effect.flatMap((events) =>
          (events.at(-1)?.seq ?? 0) >= count ? Effect.succeed(events) : Effect.fail("not yet" as const)
        ),
        Effect.retry({ times: 1_000 }),
        Effect.orDie
      ))

  it("shows an amount in the chain's token, exactly, and in planck when it has none", () => {
    const units = { decimals: 12, symbol: "UNIT" }
    expect(StatusFeed.formatAmount(1_456_000_000n, units)).toBe("0.001456 UNIT")
    expect(StatusFeed.formatAmount(3n * 10n ** 12n, units)).toBe("3 UNIT")
    expect(StatusFeed.formatAmount(10n ** 30n + 1n, units)).toBe("1000000000000000000.000000000001 UNIT")
    expect(StatusFeed.formatAmount(0n, units)).toBe("0 UNIT")
    expect(StatusFeed.formatAmount(1_456_000_000n)).toBe("1,456,000,000 planck")
  })

  it.scoped("keeps the newest events, at most its capacity, numbered from 1 in the order they came", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) {
        yield* CheckpointEvents.publish(CheckpointEvents.CheckpointEvent.LoopPaused({
          bucketId: undefined,
          reason: `pause ${i + 1}`
        }))
        yield* TestClock.adjust("1 second")
      }
      const events = yield* seen(5)
      expect(events.map((e) => [e.seq, e.text])).toEqual([
        [3, "loop paused: pause 3"],
        [4, "loop paused: pause 4"],
        [5, "loop paused: pause 5"]
      ])
      expect(events.every((e) => e.bucket === null && e.type === "LoopPaused")).toBe(true)
    }).pipe(Effect.provide(feedLayer(3))))
})

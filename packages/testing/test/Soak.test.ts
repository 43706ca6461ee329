/**
 * Soak: the loop over many buckets × 5 providers with 20 % of the providers faulty (mixed modes),
 * data written and checkpointed hour after hour of simulated time (TestClock). Afterwards: every
 * bucket checkpointed at its latest data, nothing in flight, no growth of the heap between the
 * first and the last hours beyond a bound, the journal agreeing with the chain, provider health
 * agreeing with the faults (only the faulty provider failed; counts add up), and no fiber of
 * the world left running once it has closed (the real-time soak also checks sockets).
 *
 * `npm test` runs a short soak (30 buckets, 4 hours); `npm run soak` runs the long one
 * (SOAK_BUCKETS=1000 SOAK_HOURS=12 there).
 */
import { CheckpointLoop, CommitmentRelation, ProviderHealth, ReceiptJournal } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Option, Schedule, TestClock } from "effect"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { inWorld, leavingNoFibers, submissions } from "./helpers.js"

const { Behaviour } = FakeProviders
const BUCKETS = Number(process.env.SOAK_BUCKETS ?? 30)
const HOURS = Number(process.env.SOAK_HOURS ?? 4)
const names = ["Alice", "Bob", "Charlie", "Dave", "Eve"]

// A full collection before each reading, so that the heap figures compare live data, not garbage.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
const heapMB = () => {
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

// The soaks one after the other: the simulated-time one keeps the event loop busy for seconds at a time,
// which the real-time one would take for slow providers.
describe.sequential("soak", () => {
  it.effect(
    `the loop over ${BUCKETS} buckets × 5 providers, 20 % faulty, for ${HOURS} simulated hours`,
    () =>
      leavingNoFibers(inWorld(
        {
          // One provider in five misbehaves, in turn flaky, lagging, divergent, unreachable.
          providers: names.map((name, i) => ({
            name,
            behaviour: i === 4 ? Behaviour.flaky(0.5, 7) : Behaviour.honest()
          })),
          buckets: Array.from({ length: BUCKETS }, (_, id) => ({ id, primaries: names, minProviders: 3 })),
          // The journal keeps 2 rounds and receipts per bucket (default 50 and 100) and the fake chain its
          // last 100 submissions (default all), so both reach their bounds in the first hour and any
          // later growth of the heap is the client's.
          journal: { memory: { rounds: 2, receipts: 2, attempts: 2 } },
          chainHistory: 100,
          health: {},
          config: { maxRetries: 1, graceWindow: "50 millis", syncWait: "1 second" }
        },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          const ids = Array.from({ length: BUCKETS }, (_, id) => world.bucketId(id))
          const loop = yield* CheckpointLoop.make(ids, {
            interval: CheckpointLoop.Every("10 minutes"),
            concurrency: 16
          })
          const faults = [
            Behaviour.flaky(0.5, 7),
            Behaviour.lagging(2, "5 minutes"),
            Behaviour.divergent(),
            Behaviour.unreachable()
          ]
          const heap: Array<number> = []
          for (let hour = 0; hour < HOURS; hour++) {
            yield* world.network.setBehaviour("Eve", faults[hour % faults.length]!)
            for (const id of ids) {
              yield* world.network.append(id, 2)
              yield* loop.markDirty(id)
            }
            for (let step = 0; step < 6; step++) yield* TestClock.adjust("10 minutes")
            heap.push(heapMB())
          }
          yield* world.network.setBehaviour("Eve", Behaviour.honest())
          yield* TestClock.adjust("30 minutes")
          console.info(`soak (${BUCKETS} buckets): heap by hour (MB): ${heap.map((h) => h.toFixed(1)).join(", ")}`)

          const status = yield* loop.status
          assert.isTrue(status.every((s) => !s.inFlight), "nothing in flight")
          assert.isTrue(status.every((s) => !s.dirty), "every bucket checkpointed at its latest data")
          // Every bucket's snapshot is at its latest data, and its journal's last receipt is that checkpoint.
          const journal = yield* ReceiptJournal.ReceiptJournal
          for (const id of ids) {
            const data = (yield* world.network.bucketData(id))!
            const snapshot = Option.getOrThrow(Option.getOrThrow(yield* world.chain.bucket(id)).snapshot)
            assert.strictEqual(snapshot.commitment.leafCount, BigInt(data.leafCount))
            const last = Option.getOrThrow(yield* journal.read(id)).receipts.at(-1)!
            assert.strictEqual(CommitmentRelation.key(last.commitment), CommitmentRelation.key(snapshot.commitment))
            assert.strictEqual(last.blockNumber, snapshot.checkpointBlock)
          }
          // At least one checkpoint per bucket and hour landed, and none was paid for twice.
          const counts = yield* world.chain.counts
          assert.isAtLeast(counts.landed, BUCKETS * HOURS)
          assert.strictEqual(counts.repeated, 0)
          // Health agrees with what happened: the four honest providers never failed; the faulty one
          // answered less often (its slow failures end up not awaited, which health does not count);
          // every request counted once; the status history stays bounded.
          const health = yield* ProviderHealth.ProviderHealth
          const snapshots = yield* Effect.forEach(names, (name) => health.snapshot(world.account(name)))
          for (const [i, snapshot] of snapshots.entries()) {
            assert.strictEqual(snapshot.requests, snapshot.successes + snapshot.failures, names[i])
            assert.isAtMost(snapshot.recentStatuses.length, 10, names[i])
          }
          const [eve, ...honest] = [snapshots[4]!, ...snapshots.slice(0, 4)]
          for (const snapshot of honest) {
            assert.strictEqual(snapshot.failures, 0)
            assert.strictEqual(snapshot.status, "Healthy")
            assert.strictEqual(snapshot.breaker, "Closed")
            assert.isAbove(snapshot.successes, eve.successes)
          }
          // Memory: no growth from the second hour to the last beyond a bound (the first hour warms up).
          if (heap.length >= 3) {
            assert.isBelow(
              heap.at(-1)! - heap[1]!,
              64,
              `heap by hour (MB): ${heap.map((h) => h.toFixed(0)).join(", ")}`
            )
          }
          yield* loop.stop
        }).pipe(Effect.scoped)
      )),
    Math.max(300_000, BUCKETS * HOURS * 150)
  )
})

describe("the fiber-leak check", () => {
  it.effect("fails when a fiber forked inside outlives the effect, daemons included", () =>
    Effect.gen(function*() {
      let leaked: Fiber.RuntimeFiber<void> | undefined
      const exit = yield* Effect.exit(leavingNoFibers(
        Effect.scoped(Effect.gen(function*() {
          yield* Effect.forkScoped(Effect.never) // interrupted with the scope: not a leak
          leaked = yield* Effect.forkDaemon(Effect.never)
        }))
      ))
      assert.isTrue(Exit.isFailure(exit) && String(Cause.squash(exit.cause)).includes("no fiber left running"))
      yield* Fiber.interrupt(leaked!)
      yield* leavingNoFibers(Effect.scoped(Effect.forkScoped(Effect.never)))
    }))
})

describe.sequential("soak in real time over loopback HTTP", () => {
  const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP")).length

  it.live(
    "20 buckets × 5 simulated providers, one faulty, for a few seconds: then nothing is left open",
    () =>
      Effect.gen(function*() {
        const before = sockets()
        yield* leavingNoFibers(inWorld(
          {
            transport: "http",
            timeScale: 0.02,
            providers: names.map((name, i) => ({
              name,
              behaviour: i === 4 ? Behaviour.flaky(0.5, 3) : Behaviour.honest()
            })),
            buckets: Array.from({ length: 20 }, (_, id) => ({ id, primaries: names, minProviders: 3 })),
            journal: "memory",
            health: {},
            // 25 s scales to 500 ms per request: a busy 2-core machine serving 40 requests at once needs more
            // than the default's 200 ms.
            config: { maxRetries: 1, providerTimeout: "25 seconds" }
          },
          Effect.gen(function*() {
            const world = yield* TestNetwork.TestNetwork
            const ids = Array.from({ length: 20 }, (_, id) => world.bucketId(id))
            const loop = yield* CheckpointLoop.make(ids, {
              interval: CheckpointLoop.Every("300 millis"),
              concurrency: 8,
              // A round that fails on a busy machine is retried within the test's time, not in 30 s.
              failureRetryDelay: Duration.millis(200),
              failureRetryMaxDelay: Duration.seconds(1)
            })
            for (let round = 0; round < 6; round++) {
              for (const id of ids) {
                yield* world.network.append(id, 1)
                yield* loop.markDirty(id)
              }
              yield* Effect.sleep("500 millis")
            }
            // Every bucket checkpointed, nothing in flight: waited for, within a bound.
            const settled = yield* loop.status.pipe(
              Effect.filterOrFail((status) => status.every((s) => !s.dirty && !s.inFlight)),
              Effect.as(true),
              Effect.retry(Schedule.spaced("100 millis")),
              Effect.timeoutOption("20 seconds")
            )
            assert.isTrue(Option.getOrElse(settled, () => false), "every bucket checkpointed, nothing in flight")
            assert.isAtLeast((yield* submissions).length, 20)
            yield* loop.stop
          }).pipe(Effect.scoped)
        ))
        // Servers, client connections and timers of the world are gone with its scope (sockets close
        // asynchronously: waited for, within a bound).
        const closed = yield* Effect.sync(sockets).pipe(
          Effect.filterOrFail((open) => open <= before),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds"))),
          Effect.either
        )
        assert.isTrue(closed._tag === "Right", `no socket left open (${sockets()} open, ${before} before)`)
      }),
    60_000
  )
})

import {
  ChainClient,
  type CheckpointEvents,
  CheckpointLoop,
  CheckpointManager,
  type CheckpointResult,
  ReceiptJournal,
  RoundJournal,
  SpendGuard,
  Submitter
} from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, TestClock } from "effect"
import { FakeChain, TestNetwork } from "../src/index.js"
import { after, collect, expectRefused, inWorld, recordEvents, submissions, submit } from "./helpers.js"

const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const bucket = (id: number): TestNetwork.BucketSetup => ({
  id,
  primaries: ["Alice", "Bob", "Charlie"],
  minProviders: 2
})
const fee = FakeChain.DEFAULT_FEE

/** The world's chain and its signer. */
const chain = Effect.map(TestNetwork.TestNetwork, (world) => ({
  fake: world.chain,
  signer: Option.getOrThrow(world.submitter)
}))

/** The providers of a bucket hold new leaves: the next round has something new to pay for. */
const newData = (id: number) =>
  Effect.flatMap(TestNetwork.TestNetwork, (world) => world.network.append(world.bucketId(id), 1))

/** Nothing was signed or sent since the world began, and the signer's balance is untouched. */
const nothingPaid = Effect.gen(function*() {
  const { fake, signer } = yield* chain
  assert.strictEqual(yield* fake.prepared, 0, "nothing signed")
  assert.strictEqual((yield* fake.submissions).length, 0, "nothing sent")
  assert.strictEqual(yield* fake.balance(signer), FakeChain.DEFAULT_BALANCE, "nothing paid")
})

const failedEvents = (events: ReadonlyArray<CheckpointEvents.CheckpointEvent>) =>
  events.flatMap((e) => (e._tag === "CheckpointFailed" ? [e] : []))

describe("spend guardrails: refused before signing, nothing paid", () => {
  it.effect("with no limit set (the default) no fee is even quoted, and a checkpoint pays as before, whatever it costs", () =>
    inWorld(
      { providers, buckets: [bucket(1)] },
      Effect.gen(function*() {
        const { fake, signer } = yield* chain
        yield* fake.setFee(10n ** 17n)
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag, "Submitted")
        assert.strictEqual(result._tag === "Submitted" && result.receipt.fee, 10n ** 17n)
        assert.strictEqual(yield* fake.estimates, 0)
        assert.strictEqual(yield* fake.balance(signer), FakeChain.DEFAULT_BALANCE - 10n ** 17n)
      })
    ))

  it.scoped("a fee estimated above maxFeePerCheckpoint is refused (FeeAboveCap), and the event says so", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { maxFeePerCheckpoint: fee - 1n } },
      Effect.gen(function*() {
        const events = yield* recordEvents
        const result = yield* after("5 seconds", submit(1))
        expectRefused(result, "FeeAboveCap")
        assert.include(result._tag === "SubmissionRefused" ? result.detail : "", `${fee}`)
        yield* nothingPaid
        const [failed] = failedEvents(yield* events)
        assert.strictEqual(failed?.refusal, "FeeAboveCap")
        assert.strictEqual(failed?.reason, "SubmissionRefused: FeeAboveCap")

        // At the cap it pays.
        const { fake } = yield* chain
        yield* fake.setFee(fee - 1n)
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
      })
    ))

  it.effect("a bucket's fees within the period plus this one may not exceed bucketBudget; other buckets go on", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2)], config: { bucketBudget: 2n * fee + fee / 2n } },
      Effect.gen(function*() {
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
        yield* newData(1)
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
        yield* newData(1)
        const third = yield* after("5 seconds", submit(1))
        expectRefused(third, "BudgetExhausted")
        assert.include(third._tag === "SubmissionRefused" ? third.detail : "", `bucket 1 paid ${2n * fee}`)
        assert.strictEqual(yield* chain.pipe(Effect.flatMap(({ fake }) => fake.prepared)), 2, "the third not signed")
        assert.strictEqual((yield* after("5 seconds", submit(2)))._tag, "Submitted")
        assert.strictEqual((yield* submissions).length, 3)
      })
    ))

  it.effect("the budget slides with the period: a fee older than budgetPeriod no longer counts", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { bucketBudget: 2n * fee, budgetPeriod: "1 hour" } },
      Effect.gen(function*() {
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted") // ~0 min
        yield* TestClock.adjust("40 minutes")
        yield* newData(1)
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted") // ~40 min
        yield* newData(1)
        expectRefused(yield* after("5 seconds", submit(1)), "BudgetExhausted")
        // An hour after the first payment, only the second counts: one more fits, and then no more.
        yield* TestClock.adjust("25 minutes")
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted") // ~65 min
        yield* newData(1)
        expectRefused(yield* after("5 seconds", submit(1)), "BudgetExhausted")
        assert.strictEqual((yield* submissions).length, 3)
      })
    ))

  it.effect("signerBudget counts the signer's fees across all its buckets", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2), bucket(3)], config: { signerBudget: 2n * fee + 1n } },
      Effect.gen(function*() {
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
        assert.strictEqual((yield* after("5 seconds", submit(2)))._tag, "Submitted")
        const third = yield* after("5 seconds", submit(3))
        expectRefused(third, "BudgetExhausted")
        assert.include(third._tag === "SubmissionRefused" ? third.detail : "", "across its buckets")
        assert.strictEqual((yield* submissions).length, 2)
      })
    ))

  it.effect("two buckets paying at once cannot both slip under the signer's budget", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2)], config: { signerBudget: fee + fee / 2n } },
      Effect.gen(function*() {
        const results = yield* after("5 seconds", Effect.all([submit(1), submit(2)], { concurrency: 2 }))
        assert.deepStrictEqual(results.map((r) => r._tag).sort(), ["SubmissionRefused", "Submitted"])
        expectRefused(results.find((r) => r._tag === "SubmissionRefused")!, "BudgetExhausted")
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("an extrinsic rejected at dispatch was paid and counts against the budget", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { bucketBudget: fee + fee / 2n } },
      Effect.gen(function*() {
        const { fake } = yield* chain
        yield* fake.injectFailure(
          new ChainClient.DispatchFailed({
            module: "StorageProvider",
            error: "X",
            detail: "",
            blockHash: Option.none()
          })
        )
        const rejected = yield* after("5 seconds", submit(1))
        assert.strictEqual(rejected._tag === "TransactionFailed" && rejected.paid, true)
        expectRefused(yield* after("5 seconds", submit(1)), "BudgetExhausted")
      })
    ))

  it.effect("an extrinsic the pool refused was never paid and does not count", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { bucketBudget: fee + fee / 2n } },
      Effect.gen(function*() {
        const { fake } = yield* chain
        yield* fake.injectFailure(
          new ChainClient.SubmissionFailed({ stage: "Pool", detail: "1012: temporarily banned", maybeIncluded: false })
        )
        const refusedByPool = yield* after("5 seconds", submit(1))
        assert.strictEqual(refusedByPool._tag === "TransactionFailed" && refusedByPool.paid, false)
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
      })
    ))

  it.effect("after a restart, the fees of the bucket's journaled receipts still count", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { bucketBudget: fee + fee / 2n } },
      Effect.gen(function*() {
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
        yield* newData(1)
        const report = yield* after("5 seconds", collect(1))
        // A new process: a submitter of its own (nothing in memory), on the same journal and chain.
        const restarted = yield* Effect.provide(
          Submitter.Submitter,
          Submitter.Submitter.layer.pipe(Layer.provide(RoundJournal.RoundJournal.layer))
        )
        const result = yield* Effect.either(restarted.submit(report.decision))
        expectRefused(result._tag === "Left" ? result.left : result.right, "BudgetExhausted")
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("paying may not leave the signer's free balance below minimumBalance (BalanceBelowMinimum)", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { minimumBalance: 5n * fee, bucketBudget: fee + fee / 2n } },
      Effect.gen(function*() {
        const { fake, signer } = yield* chain
        yield* fake.setBalance(signer, 6n * fee - 1n)
        const result = yield* after("5 seconds", submit(1))
        expectRefused(result, "BalanceBelowMinimum")
        assert.strictEqual(yield* fake.prepared, 0)
        assert.strictEqual(yield* fake.balance(signer), 6n * fee - 1n)
        // Down to the minimum exactly it pays; the refused attempt reserved nothing against the budget.
        yield* fake.setBalance(signer, 6n * fee)
        assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
        assert.strictEqual(yield* fake.balance(signer), 5n * fee)
      })
    ))
})

describe("a journaled round after a restart and the spend guardrails", () => {
  it.scoped("a spend refusal of the journaled round's signatures ends the round: no provider is asked again for it", () =>
    inWorld(
      {
        providers,
        buckets: [bucket(1)],
        config: { maxRetries: 0, graceWindow: "10 millis", maxFeePerCheckpoint: fee - 1n },
        journal: "memory"
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        // The first process: its round met the threshold, was journaled, and was refused by the cap.
        expectRefused(yield* after("5 seconds", submit(1)), "FeeAboveCap")
        const journal = yield* ReceiptJournal.ReceiptJournal
        const left = Option.getOrThrow(yield* journal.read(world.bucketId(1)))
        assert.strictEqual(left.rounds.at(-1)?.action, "Submit")
        assert.strictEqual(left.attempts.length, 0)

        // The next process reuses those signatures at its first attempt; the cap refuses them, and the
        // refusal (the same for any signatures) is the round's answer: nobody asks the providers again.
        const restarted = yield* Layer.build(CheckpointManager.CheckpointManager.layerRound)
        const asked = (yield* world.network.requestTimes("Alice")).length
        const again = yield* after("5 seconds", submit(1).pipe(Effect.provide(restarted)))
        expectRefused(again, "FeeAboveCap")
        assert.deepStrictEqual(
          again._tag === "SubmissionRefused" ? again.spend : undefined,
          new SpendGuard.FeeAboveCap({ estimate: fee, cap: fee - 1n })
        )
        assert.strictEqual((yield* world.network.requestTimes("Alice")).length, asked, "no provider asked again")
        yield* nothingPaid
      })
    ))
})

describe("the loop and the spend guardrails", () => {
  const startLoop = (ids: ReadonlyArray<number>, settings: Partial<CheckpointLoop.LoopSettings>) =>
    Effect.gen(function*() {
      const world = yield* TestNetwork.TestNetwork
      const loop = yield* CheckpointLoop.make(ids.map(world.bucketId), settings)
      for (const id of ids) yield* loop.markDirty(world.bucketId(id))
      return loop
    })

  it.scoped("a balance below the minimum pauses every bucket of the loop, with one LoopPaused, until resume", () =>
    inWorld(
      { providers, buckets: [bucket(1), bucket(2)], config: { minimumBalance: 10n * fee } },
      Effect.gen(function*() {
        const { fake, signer } = yield* chain
        const events = yield* recordEvents
        yield* fake.setBalance(signer, 5n * fee)
        const loop = yield* startLoop([1, 2], {
          interval: CheckpointLoop.Every("10 seconds"),
          failureRetryDelay: Duration.seconds(5)
        })
        yield* TestClock.adjust("20 seconds")
        const paused = (yield* events).filter((e) => e._tag === "LoopPaused")
        assert.strictEqual(paused.length, 1)
        assert.strictEqual(paused[0]?._tag === "LoopPaused" && paused[0].bucketId, undefined)
        assert.include(paused[0]?._tag === "LoopPaused" ? paused[0].reason : "", "BalanceBelowMinimum")
        const failed = failedEvents(yield* events)
        assert.deepStrictEqual(failed.map((e) => [e.refusal, e.willRetry]), [
          ["BalanceBelowMinimum", false],
          ["BalanceBelowMinimum", false]
        ])
        assert.isTrue((yield* loop.status).every((s) => s.paused))

        // Held: time brings no more rounds, no fee quotes.
        const quoted = yield* fake.estimates
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual(yield* fake.estimates, quoted)
        assert.strictEqual(yield* fake.prepared, 0)
        assert.strictEqual(yield* fake.balance(signer), 5n * fee)

        yield* fake.setBalance(signer, FakeChain.DEFAULT_BALANCE)
        yield* loop.resume
        yield* TestClock.adjust("20 seconds")
        assert.deepStrictEqual((yield* submissions).map((r) => r.submission.bucketId).sort(), [1n, 2n])
        assert.isTrue((yield* loop.status).every((s) => !s.paused && !s.dirty))
      })
    ))

  it.scoped("a fee above the cap is a failure the loop retries; once the fee is under the cap again, it pays", () =>
    inWorld(
      { providers, buckets: [bucket(1)], config: { maxFeePerCheckpoint: fee } },
      Effect.gen(function*() {
        const { fake } = yield* chain
        const events = yield* recordEvents
        yield* fake.setFee(2n * fee)
        const loop = yield* startLoop([1], {
          interval: CheckpointLoop.Every("10 minutes"),
          failureRetryDelay: Duration.seconds(30)
        })
        yield* loop.submitNow()
        yield* TestClock.adjust("5 seconds")
        const [failed] = failedEvents(yield* events)
        assert.deepStrictEqual([failed?.refusal, failed?.willRetry], ["FeeAboveCap", true])
        yield* nothingPaid
        yield* fake.setFee(fee)
        yield* TestClock.adjust("40 seconds")
        const [status] = yield* loop.status
        assert.deepStrictEqual(status?.lastResult, Option.some<CheckpointResult.CheckpointResult["_tag"]>("Submitted"))
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))
})

describe("a bucket's own signer", () => {
  it.scoped(
    "signs its bucket's checkpoints and pays for them; its balance, the signer budget and a low-balance pause are its own",
    () =>
      inWorld(
        {
          providers,
          buckets: [bucket(1), bucket(2), { ...bucket(3), signer: "Eve" }],
          // The process's signer may spend one fee per period across its buckets: Eve's bucket is not counted.
          config: { minimumBalance: 10n * fee, signerBudget: fee + fee / 2n }
        },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          const { fake, signer } = yield* chain
          const eve = world.account("Eve")
          assert.isTrue(Option.contains(fake.client.signerFor(world.bucketId(3)), eve))
          assert.isTrue(Option.contains(fake.client.signerFor(world.bucketId(1)), signer))

          assert.strictEqual((yield* after("5 seconds", submit(3)))._tag, "Submitted")
          assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
          // Bucket 2 would take the process's signer over its budget; Eve's payment was not its.
          expectRefused(yield* after("5 seconds", submit(2)), "BudgetExhausted")
          const signedBy = (yield* submissions).map((r) => [r.submission.bucketId, r.signer])
          assert.deepStrictEqual(signedBy, [[3n, eve], [1n, signer]])
          assert.strictEqual(yield* fake.balance(eve), FakeChain.DEFAULT_BALANCE - fee)
          assert.strictEqual(yield* fake.balance(signer), FakeChain.DEFAULT_BALANCE - fee)

          // A day later (the budgets' window has passed) Eve runs low: the loop pauses her bucket only,
          // and the others go on.
          yield* TestClock.adjust("25 hours")
          yield* fake.setBalance(eve, 5n * fee)
          const events = yield* recordEvents
          const loop = yield* CheckpointLoop.make([1, 3].map(world.bucketId), {
            interval: CheckpointLoop.Every("10 seconds"),
            failureRetryDelay: Duration.seconds(5)
          })
          yield* world.network.append(world.bucketId(1), 1)
          yield* world.network.append(world.bucketId(3), 1)
          for (const id of [1, 3]) yield* loop.markDirty(world.bucketId(id))
          yield* TestClock.adjust("20 seconds")
          const paused = (yield* events).filter((e) => e._tag === "LoopPaused")
          assert.deepStrictEqual(paused.map((e) => e._tag === "LoopPaused" && e.bucketId), [world.bucketId(3)])
          assert.include(paused[0]?._tag === "LoopPaused" ? paused[0].reason : "", "BalanceBelowMinimum")
          assert.isTrue(Option.isNone(yield* loop.pausedBecause))
          const status = new Map((yield* loop.status).map((st) => [st.bucketId, st]))
          assert.isTrue(status.get(world.bucketId(3))!.paused)
          assert.isFalse(status.get(world.bucketId(1))!.paused)
          assert.deepStrictEqual(
            (yield* submissions).map((r) => r.submission.bucketId),
            [3n, 1n, 1n]
          )
        })
      )
  )
})

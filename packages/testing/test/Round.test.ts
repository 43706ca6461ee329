import {
  ChainClient,
  CheckpointManager,
  type Consensus,
  Domain,
  ProviderApi,
  ReceiptJournal,
  Submitter
} from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, TestClock } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { after, collect, expectRefused, inWorld, someoneElseCheckpoints, submissions, submit } from "./helpers.js"
import { roundScenarios } from "./scenarios.js"

const { Behaviour } = FakeProviders
const three = (behaviours: Partial<Record<"Alice" | "Bob" | "Charlie", FakeProviders.Behaviour>> = {}) =>
  (["Alice", "Bob", "Charlie"] as const).map((name) => ({ name, behaviour: behaviours[name] }))
const bucket1 = (options: Partial<TestNetwork.BucketSetup> = {}): TestNetwork.BucketSetup => ({
  id: 1,
  primaries: ["Alice", "Bob", "Charlie"],
  minProviders: 2,
  ...options
})

roundScenarios("memory")

describe("submitting at most once", () => {
  it.effect("the snapshot holds a later commitment by the time we would pay: nothing is submitted", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()] },
      Effect.gen(function*() {
        const report = yield* after("5 seconds", collect(1))
        const world = yield* TestNetwork.TestNetwork
        const current = Option.getOrThrow(yield* world.chain.bucket(world.bucketId(1)))
        const later = new Domain.Commitment({
          mmrRoot: TestNetwork.initialRoot(7),
          startSeq: 0n as Domain.U64,
          leafCount: 20n as Domain.U64
        }, true)
        yield* world.chain.putBucket({
          ...current,
          snapshot: Option.some(
            new ChainClient.BucketSnapshot(
              { commitment: later, checkpointBlock: 5 as Domain.BlockNumber, signers: [] },
              true
            )
          )
        })
        const submitter = yield* Submitter.Submitter
        const result = yield* submitter.submit(report.decision)
        assert.strictEqual(result._tag, "AlreadyCheckpointed")
        assert.strictEqual(result._tag === "AlreadyCheckpointed" && result.relation, "Later")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.effect("the threshold is recomputed for the bucket as it is when paying (primaries grew)", () =>
    inWorld(
      {
        providers: [...three({ Charlie: Behaviour.unreachable() }), { name: "Dave" }, { name: "Eve" }],
        buckets: [bucket1({ minProviders: 1 })]
      },
      Effect.gen(function*() {
        const report = yield* after("1 minute", collect(1))
        assert.isTrue(report.decision.thresholdMet)
        const world = yield* TestNetwork.TestNetwork
        const current = Option.getOrThrow(yield* world.chain.bucket(world.bucketId(1)))
        yield* world.chain.putBucket({
          ...current,
          primaryProviders: [...current.primaryProviders, world.account("Dave"), world.account("Eve")]
        })
        const submitter = yield* Submitter.Submitter
        const error = yield* Effect.flip(submitter.submit(report.decision))
        expectRefused(error, "InsufficientSignatures")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.effect("a snapshot with another root over the same range is not overwritten", () =>
    inWorld(
      { providers: three(), buckets: [bucket1({ snapshot: { leafCount: 10 } })] },
      Effect.gen(function*() {
        const result = yield* after("5 seconds", submit(1))
        expectRefused(result, "ConflictsWithSnapshot")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.effect("a signature whose provider changed keys since discovery is not submitted", () =>
    inWorld(
      { providers: [...three(), { name: "Dave" }], buckets: [bucket1()] },
      Effect.gen(function*() {
        const report = yield* after("5 seconds", collect(1))
        const world = yield* TestNetwork.TestNetwork
        // Bob registers Dave's key after the round: his signature no longer verifies on chain.
        yield* world.chain.registerProvider(
          new ChainClient.ProviderRecord({
            accountId: world.account("Bob"),
            multiaddr: world.network.provider("Bob").multiaddr,
            publicKey: Option.some(world.network.provider("Dave").publicKey)
          }, true)
        )
        const submitter = yield* Submitter.Submitter
        const result = yield* submitter.submit(report.decision)
        assert.strictEqual(result._tag, "Submitted")
        const [recorded] = yield* submissions
        assert.deepStrictEqual(recorded.submission.signatures.map((s) => s.signer), [
          world.account("Alice"),
          world.account("Charlie")
        ])
      })
    ))

  it.effect("a finality timeout may have been paid; the next round waits (bounded) for its finality and pays nothing", () =>
    inWorld(
      {
        providers: three(),
        buckets: [bucket1()],
        finalityDelay: "10 minutes",
        config: { submissionTimeout: "1 minute" }
      },
      Effect.gen(function*() {
        const result = yield* after("2 minutes", submit(1))
        assert.strictEqual(result._tag === "TransactionFailed" && result.error, "FinalityTimeout")
        assert.strictEqual(result._tag === "TransactionFailed" && result.paid, true)
        // The extrinsic is in a block, not final: the next round waits for its receipt up to the submission
        // timeout, then finds the chain holding this commitment.
        const next = yield* after("2 minutes", submit(1))
        assert.strictEqual(next._tag, "AlreadyCheckpointed")
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("after an outcome that is unknown, the next round sends the same signed bytes again, not a new extrinsic", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* world.chain.injectFailure(
          new ChainClient.SubmissionFailed({ stage: "Dropped", detail: "connection lost", maybeIncluded: true })
        )
        const first = yield* after("5 seconds", submit(1))
        assert.strictEqual(first._tag === "TransactionFailed" && first.paid, true)
        const next = yield* after("5 seconds", submit(1))
        assert.strictEqual(next._tag === "Submitted" && next.settled, true)
        const recorded = yield* submissions
        assert.strictEqual(recorded.length, 1)
        assert.strictEqual(next._tag === "Submitted" && next.receipt.extrinsicHash, recorded[0].extrinsicHash)
      })
    ))

  it.effect("an unknown outcome that may still land holds the bucket: nothing new is signed until its era ends", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* world.chain.injectFailure(
          new ChainClient.SubmissionFailed({ stage: "Dropped", detail: "connection lost", maybeIncluded: true })
        )
        const first = yield* after("5 seconds", submit(1))
        assert.strictEqual(first._tag === "TransactionFailed" && first.paid, true)
        const stored = Option.getOrThrow(yield* (yield* ReceiptJournal.ReceiptJournal).read(world.bucketId(1)))
        const lost = Option.getOrThrow(stored.unresolved).prepared
        // Someone else checkpoints newer data: the lost extrinsic must not be sent again (it would move the
        // snapshot back), yet it may still land by itself. New data arrives.
        yield* world.network.append(world.bucketId(1), 2)
        yield* someoneElseCheckpoints(1)
        yield* world.network.append(world.bucketId(1), 3)
        const held = yield* after("5 seconds", submit(1))
        expectRefused(held, "PreviousSubmissionInDoubt")
        assert.include(
          held._tag === "SubmissionRefused" ? held.detail : "",
          `until block #${ChainClient.validUntil(lost)}`
        )
        assert.strictEqual((yield* submissions).length, 1)
        // Past the end of its mortal era and not on chain: it is dead, and the bucket is free again.
        yield* world.chain.produceBlocks(ChainClient.validUntil(lost))
        const free = yield* after("5 seconds", submit(1))
        assert.strictEqual(free._tag, "Submitted")
        assert.strictEqual((yield* submissions).length, 2)
      })
    ))

  it.scoped("a failure to prepare the extrinsic that the port does not name is a refusal: nothing was sent", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()] },
      Effect.gen(function*() {
        const chain = yield* ChainClient.ChainClient
        const failing = Layer.succeed(ChainClient.ChainClient, {
          ...chain,
          prepareCheckpoint: () =>
            Effect.fail(
              new ChainClient.SubmissionFailed({ stage: "Pool", detail: "the pool is full", maybeIncluded: false })
            )
        })
        const manager = yield* Layer.build(CheckpointManager.CheckpointManager.layerRound.pipe(Layer.provide(failing)))
        const result = yield* after("5 seconds", submit(1).pipe(Effect.provide(manager)))
        expectRefused(result, "PrepareFailed")
        assert.include(result._tag === "SubmissionRefused" ? result.detail : "", "the pool is full")
        assert.strictEqual((yield* submissions).length, 0)
      })
    ))

  it.effect("two rounds racing for one bucket submit once", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()], finalityDelay: "12 seconds" },
      Effect.gen(function*() {
        const [a, b] = yield* after("1 minute", Effect.all([submit(1), submit(1)], { concurrency: 2 }))
        assert.deepStrictEqual([a._tag, b._tag].sort(), ["AlreadyCheckpointed", "Submitted"])
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("a rejected extrinsic is included and paid, and recorded", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* world.chain.injectFailure(
          new ChainClient.DispatchFailed({
            module: "StorageProvider",
            error: "InvalidSignature",
            detail: "",
            blockHash: Option.none()
          })
        )
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag === "TransactionFailed" && result.error, "InvalidSignature")
        const recorded = yield* submissions
        assert.strictEqual(recorded.length, 1)
        assert.isTrue(Either.isLeft(recorded[0].outcome))
      })
    ))
})

describe("bounded chain reads (anchor §5.18)", () => {
  it.effect("a node that stops answering ends the round with ChainUnavailable at the chain timeout", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()], config: { chainTimeout: "10 seconds" } },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* world.chain.setHanging(true)
        const result = yield* after("11 seconds", submit(1))
        assert.strictEqual(result._tag, "ChainUnavailable")
      })
    ))
})

describe("signature schemes through a whole round (anchor §5.15)", () => {
  it.effect("ed25519 and ecdsa providers are verified and submitted with their own variants", () =>
    inWorld(
      {
        providers: [{ name: "Alice", scheme: "ed25519" }, { name: "Bob", scheme: "ecdsa" }, { name: "Charlie" }],
        buckets: [bucket1({ minProviders: 3 })]
      },
      Effect.gen(function*() {
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag, "Submitted")
        const [recorded] = yield* submissions
        assert.deepStrictEqual(recorded.submission.signatures.map((s) => s.signature._tag), [
          "Ed25519",
          "Ecdsa",
          "Sr25519"
        ])
        assert.isTrue(Either.isRight(recorded.outcome))
      })
    ))
})

describe("the test world", () => {
  /** When a provider failing its first three requests is asked, with retry jitter on. */
  const retryTimes = (seed: number) =>
    inWorld(
      {
        providers: [{ name: "Alice", behaviour: FakeProviders.Behaviour.failTimes(3) }, { name: "Bob" }, {
          name: "Charlie"
        }],
        buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 3 }],
        seed,
        config: { retryJitter: true, maxRetries: 3 }
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* after("1 minute", collect(1))
        // Relative to the first request (the test's clock goes on from one world to the next).
        const times = yield* world.network.requestTimes("Alice")
        return times.map((t) => Math.round((t - times[0]) * 1000))
      })
    )

  const outcomeOf = (report: { readonly decision: Consensus.Decision }, account: Domain.AccountId) =>
    report.decision.outcomes.find((o) => o.provider === account)

  it.effect("combines behaviours: a provider both ahead and slow answers late, ahead", () =>
    inWorld(
      {
        providers: three({ Charlie: FakeProviders.Behaviour.all(Behaviour.ahead(2), Behaviour.slow("3 seconds")) }),
        buckets: [bucket1({ minProviders: 3 })]
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const report = yield* after("10 seconds", collect(1))
        const charlie = outcomeOf(report, world.account("Charlie"))
        assert.strictEqual(charlie?._tag, "Answered")
        assert.strictEqual(charlie?._tag === "Answered" ? charlie.commitment.leafCount : undefined, 12n)
        assert.isAtLeast(charlie !== undefined && "latencyMillis" in charlie ? charlie.latencyMillis : 0, 3000)
        assert.deepStrictEqual(report.decision.conflicts.map((c) => c._tag), ["Ahead"])
      })
    ))

  it.effect("a custom answer wraps the provider's: its first request fails, the retry gets the real answer", () =>
    inWorld(
      {
        providers: three({
          Charlie: Behaviour.custom(({ endpoint, honest, previous }) =>
            previous === 0
              ? Effect.fail(
                new ProviderApi.ProviderRequestError({ endpoint, reason: "Transport", detail: "first one lost" })
              )
              : honest
          )
        }),
        buckets: [bucket1({ minProviders: 3 })],
        config: { maxRetries: 1 }
      },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const report = yield* after("30 seconds", collect(1))
        const charlie = outcomeOf(report, world.account("Charlie"))
        assert.strictEqual(charlie?._tag, "Answered")
        assert.strictEqual(charlie?.attempts, 2)
        assert.strictEqual(report.decision.agreeing, 3)
      })
    ))

  it.effect("a lagging provider's catch-up time counts from when it starts to lag", () =>
    inWorld(
      { providers: three(), buckets: [bucket1({ minProviders: 3 })] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        yield* TestClock.adjust("1 minute")
        yield* world.network.setBehaviour("Charlie", Behaviour.lagging(2, "10 seconds"))
        const lagging = yield* after("5 seconds", collect(1))
        assert.deepStrictEqual(lagging.decision.conflicts.map((c) => c._tag), ["SyncDelay"])
        yield* TestClock.adjust("10 seconds")
        const caughtUp = yield* after("5 seconds", collect(1))
        assert.strictEqual(caughtUp.decision.agreeing, 3)
      })
    ))

  it.effect("is seeded: retry jitter repeats exactly with the same seed, and differs with another", () =>
    Effect.gen(function*() {
      const first = yield* retryTimes(7)
      assert.strictEqual(first.length, 4)
      assert.deepStrictEqual(yield* retryTimes(7), first)
      assert.notDeepEqual(yield* retryTimes(8), first)
    }))
})

describe("an idle bucket", () => {
  it.effect("a round whose providers still sign the chain's snapshot reads no chain state beyond the bucket it pinned", () =>
    inWorld(
      { providers: three(), buckets: [bucket1()] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const first = yield* after("5 seconds", submit(1))
        assert.strictEqual(first._tag, "Submitted")
        const before = yield* world.chain.reads
        const idle = yield* after("5 seconds", submit(1))
        assert.strictEqual(idle._tag, "AlreadyCheckpointed")
        assert.strictEqual(idle._tag === "AlreadyCheckpointed" && idle.relation, "Same")
        // The bucket at the finalized block its discovery pinned; the provider records come from the cache.
        assert.strictEqual((yield* world.chain.reads) - before, 1)
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))
})

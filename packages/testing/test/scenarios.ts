import {
  ChainClient,
  CheckpointManager,
  Domain,
  encodeCommitmentPayload,
  verifyMultiSignature
} from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import {
  account,
  after,
  collect,
  expectRefused,
  inWorld as inWorldWith,
  submissions,
  submit,
  truth
} from "./helpers.js"

const { Behaviour } = FakeProviders
const three = (behaviours: Partial<Record<"Alice" | "Bob" | "Charlie", FakeProviders.Behaviour>> = {}) =>
  (["Alice", "Bob", "Charlie"] as const).map((name) => ({ name, behaviour: behaviours[name] }))
const bucket1 = (options: Partial<TestNetwork.BucketSetup> = {}): TestNetwork.BucketSetup => ({
  id: 1,
  primaries: ["Alice", "Bob", "Charlie"],
  minProviders: 2,
  ...options
})

/**
 * The round's scenarios, run once per provider transport: in memory under `TestClock`, and over real
 * HTTP against provider simulators with the live client (durations scaled to the real clock).
 */
export const roundScenarios = (transport: "memory" | "http") => {
  const test = transport === "memory" ? it.effect : it.live
  const inWorld: typeof inWorldWith = (setup, body) => inWorldWith({ ...setup, transport }, body)

  describe("the seed's scenarios", () => {
    test("all agree: one checkpoint with a real receipt, block hash not the MMR root (anchor §5.1)", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "Submitted")
          if (result._tag !== "Submitted") return
          const { receipt } = result
          const recorded = yield* submissions
          assert.strictEqual(recorded.length, 1)
          const onChain = Either.getOrThrow(recorded[0].outcome)
          // Anchor bug §5.1: its block_hash held the MMR root. Ours is the including block's hash.
          assert.strictEqual(receipt.blockHash, onChain.blockHash)
          assert.notStrictEqual(receipt.blockHash, receipt.commitment.mmrRoot)
          assert.strictEqual(receipt.blockNumber, recorded[0].blockNumber)
          assert.strictEqual(receipt.extrinsicIndex, 1)
          assert.deepStrictEqual(receipt.signers, [
            yield* account("Alice"),
            yield* account("Bob"),
            yield* account("Charlie")
          ])
          assert.deepStrictEqual(receipt.event.providers, receipt.signers)
          assert.strictEqual(receipt.commitment.mmrRoot, (yield* truth(1)).mmrRoot)
        })
      ))

    test("below threshold: InsufficientConsensus, nothing submitted; bad answers drop only their provider (anchor §5.9)", () =>
      inWorld(
        { providers: three({ Bob: Behaviour.malformed(), Charlie: Behaviour.wrongBucket() }), buckets: [bucket1()] },
        Effect.gen(function*() {
          const result = yield* after("1 minute", submit(1))
          assert.strictEqual(result._tag, "InsufficientConsensus")
          if (result._tag !== "InsufficientConsensus") return
          assert.strictEqual(result.agreeing, 1)
          assert.strictEqual(result.required, 2)
          assert.deepStrictEqual(result.conflicts.map((c) => c._tag), ["InvalidResponse", "InvalidResponse"])
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))

    test("all unreachable: ProvidersUnreachable naming every provider", () =>
      inWorld(
        {
          providers: three({
            Alice: Behaviour.unreachable(),
            Bob: Behaviour.unreachable(),
            Charlie: Behaviour.unreachable()
          }),
          buckets: [bucket1()]
        },
        Effect.gen(function*() {
          const result = yield* after("2 minutes", submit(1))
          assert.strictEqual(result._tag, "ProvidersUnreachable")
          if (result._tag !== "ProvidersUnreachable") return
          // The round stops once it cannot succeed: those still in flight are listed as not awaited.
          assert.deepStrictEqual(
            [...result.providers, ...result.notAwaited].sort(),
            [
              yield* account("Alice"),
              yield* account("Bob"),
              yield* account("Charlie")
            ].sort()
          )
          assert.isAtLeast(result.providers.length, 2)
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))

    test("no providers: NoProviders, which the anchor could never return (anchor §5.8)", () =>
      inWorld(
        { providers: three(), buckets: [{ id: 1, primaries: [], minProviders: 0 }] },
        Effect.gen(function*() {
          const result = yield* submit(1)
          assert.strictEqual(result._tag, "NoProviders")
        })
      ))

    test("transaction failure: the chain's error name is kept", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          yield* world.chain.injectFailure(
            new ChainClient.DispatchFailed({
              module: "StorageProvider",
              error: "InsufficientSignatures",
              detail: "",
              blockHash: Option.none()
            })
          )
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "TransactionFailed")
          if (result._tag !== "TransactionFailed") return
          assert.strictEqual(result.error, "InsufficientSignatures")
          assert.deepStrictEqual(result.module, Option.some("StorageProvider"))
          assert.isTrue(result.paid)
        })
      ))
  })

  describe("submitting at most once", () => {
    test("the snapshot already holds this commitment: success with zero submissions", () =>
      inWorld(
        { providers: three(), buckets: [bucket1({ snapshot: "current" })] },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "AlreadyCheckpointed")
          assert.strictEqual(result._tag === "AlreadyCheckpointed" && result.relation, "Same")
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))

    test("a second round for unchanged data pays nothing", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "Submitted")
          assert.strictEqual((yield* after("5 seconds", submit(1)))._tag, "AlreadyCheckpointed")
          assert.strictEqual((yield* submissions).length, 1)
        })
      ))

    test("new data after a checkpoint is checkpointed again", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          yield* after("5 seconds", submit(1))
          const data = yield* world.network.append(world.bucketId(1), 5)
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "Submitted")
          assert.isTrue(result._tag === "Submitted" && result.receipt.commitment.leafCount === 15n)
          assert.strictEqual(result._tag === "Submitted" && result.receipt.commitment.mmrRoot, data.mmrRoot)
          assert.strictEqual((yield* submissions).length, 2)
        })
      ))

    test("a submitter that is only a Reader is refused before paying", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()], submitterRole: "Reader" },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          expectRefused(result, "NotBucketWriter")
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))

    test("without a signer nothing is sent", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()], submitter: null },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          expectRefused(result, "NoSigner")
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))
  })

  describe("signatures", () => {
    test("a bad signature is never submitted; the others are (anchor §5.14)", () =>
      inWorld(
        { providers: three({ Charlie: Behaviour.badSignature() }), buckets: [bucket1()] },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "Submitted")
          const [recorded] = yield* submissions
          assert.deepStrictEqual(recorded.submission.signatures.map((s) => s.signer), [
            yield* account("Alice"),
            yield* account("Bob")
          ])
          assert.isTrue(Either.isRight(recorded.outcome))
        })
      ))

    test("when bad signatures leave too few, nothing is paid", () =>
      inWorld(
        {
          providers: three({ Bob: Behaviour.badSignature(), Charlie: Behaviour.badSignature() }),
          buckets: [bucket1()]
        },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "InsufficientConsensus")
          if (result._tag !== "InsufficientConsensus") return
          assert.deepStrictEqual(result.conflicts.map((c) => c._tag), ["InvalidSignature", "InvalidSignature"])
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))

    test("providers answering with the raw 64-byte signature form are accepted", () =>
      inWorld(
        {
          providers: [{ name: "Alice", signatureForm: "raw" }, { name: "Bob", signatureForm: "raw" }, {
            name: "Charlie"
          }],
          buckets: [bucket1()]
        },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "Submitted")
          assert.strictEqual(result._tag === "Submitted" && result.receipt.signers.length, 3)
        })
      ))

    test("an oldest-era provider without a registered key is verified against its account", () =>
      inWorld(
        {
          providers: [{ name: "Alice", withoutPublicKey: true }, { name: "Bob", withoutPublicKey: true }, {
            name: "Charlie",
            withoutPublicKey: true
          }],
          buckets: [bucket1()]
        },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "Submitted")
        })
      ))
  })

  describe("conflicts and resolutions through the manager", () => {
    test("behind, ahead and divergent providers are classified from their real leaf counts (anchor §5.2)", () =>
      inWorld(
        {
          providers: [
            { name: "Alice" },
            { name: "Bob" },
            { name: "Charlie", behaviour: Behaviour.lagging(3) },
            { name: "Dave", behaviour: Behaviour.ahead(2) },
            { name: "Eve", behaviour: Behaviour.divergent() }
          ],
          buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie", "Dave", "Eve"], minProviders: 2 }]
        },
        Effect.gen(function*() {
          const report = yield* after("5 seconds", collect(1))
          const { decision } = report
          assert.deepStrictEqual(decision.conflicts.map((c) => c._tag), ["SyncDelay", "Ahead", "DataDivergence"])
          const behind = decision.conflicts[0]
          assert.strictEqual(behind._tag === "SyncDelay" ? behind.behindBy : -1n, 3n)
          assert.strictEqual(decision.agreeing, 2)
          assert.strictEqual(decision.required, 3)
          assert.strictEqual(decision.resolution._tag, "WaitForSync")
        })
      ))

    test("WaitForSync: a laggard that catches up within the wait completes the round", () =>
      inWorld(
        {
          providers: three({ Charlie: Behaviour.lagging(2, "10 seconds") }),
          buckets: [bucket1({ minProviders: 3 })],
          config: { syncWait: "12 seconds", syncRequeries: 1 }
        },
        Effect.gen(function*() {
          const report = yield* after("30 seconds", collect(1, true))
          assert.deepStrictEqual(report.earlier.map((d) => d.resolution._tag), ["WaitForSync"])
          assert.strictEqual(report.decision.resolution._tag, "ProceedWithMajority")
          assert.strictEqual(report.decision.agreeing, 3)
        })
      ))

    test("a checkpoint that waited for a laggard carries the decisions before it", () =>
      inWorld(
        {
          providers: three({ Charlie: Behaviour.lagging(2, "10 seconds") }),
          buckets: [bucket1({ minProviders: 3 })],
          config: { syncWait: "12 seconds", syncRequeries: 1 }
        },
        Effect.gen(function*() {
          const result = yield* after("1 minute", submit(1))
          assert.strictEqual(result._tag, "Submitted")
          if (result._tag !== "Submitted") return
          assert.deepStrictEqual(result.earlier.map((d) => d.resolution._tag), ["WaitForSync"])
          assert.strictEqual(result.decision.agreeing, 3)
        })
      ))

    test("WaitForSync that does not resolve ends as InsufficientConsensus after the bounded wait", () =>
      inWorld(
        {
          providers: three({ Charlie: Behaviour.lagging(2) }),
          buckets: [bucket1({ minProviders: 3 })],
          config: { syncWait: "12 seconds", syncRequeries: 2 }
        },
        Effect.gen(function*() {
          const result = yield* after("1 minute", submit(1))
          assert.strictEqual(result._tag, "InsufficientConsensus")
          assert.strictEqual(result._tag === "InsufficientConsensus" && result.resolution._tag, "WaitForSync")
          const world = yield* TestNetwork.TestNetwork
          // One round plus two bounded re-queries.
          assert.strictEqual((yield* world.network.requestTimes("Charlie")).length, 3)
        })
      ))

    test("ConsiderChallenge carries the divergent provider's own signed commitment", () =>
      inWorld(
        { providers: three({ Charlie: Behaviour.divergent() }), buckets: [bucket1({ minProviders: 3 })] },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag, "InsufficientConsensus")
          if (result._tag !== "InsufficientConsensus" || result.resolution._tag !== "ConsiderChallenge") {
            return assert.fail("expected ConsiderChallenge")
          }
          const { evidence, provider } = result.resolution
          const world = yield* TestNetwork.TestNetwork
          assert.strictEqual(provider, yield* account("Charlie"))
          const payload = encodeCommitmentPayload({ bucketId: evidence.bucketId, ...evidence.providerCommitment })
          const check = verifyMultiSignature({
            signature: evidence.providerSignature,
            message: payload,
            publicKey: world.network.provider("Charlie").publicKey
          })
          assert.isTrue(Either.isRight(check), "the evidence signature verifies against Charlie's key")
          assert.strictEqual(evidence.majorityCommitment.mmrRoot, (yield* truth(1)).mmrRoot)
        })
      ))

    test("ManualIntervention when two providers diverge", () =>
      inWorld(
        { providers: three({ Bob: Behaviour.divergent(), Charlie: Behaviour.divergent() }), buckets: [bucket1()] },
        Effect.gen(function*() {
          const result = yield* after("5 seconds", submit(1))
          assert.strictEqual(result._tag === "InsufficientConsensus" && result.resolution._tag, "ManualIntervention")
        })
      ))

    test("min_providers above the percentage decides the threshold (anchor §5.7)", () =>
      inWorld(
        { providers: three({ Charlie: Behaviour.unreachable() }), buckets: [bucket1({ minProviders: 3 })] },
        Effect.gen(function*() {
          const result = yield* after("1 minute", submit(1))
          assert.strictEqual(result._tag, "InsufficientConsensus")
          assert.strictEqual(result._tag === "InsufficientConsensus" && result.required, 3)
          assert.strictEqual((yield* submissions).length, 0)
        })
      ))
  })

  describe("errors keep their own names (anchor bug §5.8)", () => {
    test("a chain that cannot be read is ChainUnavailable, not a transaction failure", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          const world = yield* TestNetwork.TestNetwork
          yield* world.chain.setUnavailable(true)
          const result = yield* submit(1)
          assert.strictEqual(result._tag, "ChainUnavailable")
        })
      ))

    test("a bucket that does not exist is BucketNotFound", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          const result = yield* submit(99)
          assert.strictEqual(result._tag, "BucketNotFound")
        })
      ))
  })

  describe("status", () => {
    test("reports the on-chain snapshot and the last attempt and success", () =>
      inWorld(
        { providers: three(), buckets: [bucket1()] },
        Effect.gen(function*() {
          const manager = yield* CheckpointManager.CheckpointManager
          const bucketId = yield* TestNetwork.bucket(1)
          const before = yield* manager.checkpointStatus(bucketId)
          assert.isTrue(Option.isNone(before.snapshot))
          assert.isTrue(Option.isNone(before.lastAttempt))
          yield* after("5 seconds", submit(1))
          const status = yield* manager.checkpointStatus(bucketId)
          assert.strictEqual(
            Option.getOrThrow(status.snapshot).commitment.mmrRoot,
            (yield* truth(1)).mmrRoot
          )
          assert.strictEqual(Option.getOrThrow(status.lastSuccess).result._tag, "Submitted")
          assert.strictEqual(
            Schema.is(Domain.H256FromSelf)(Option.getOrThrow(status.snapshot).commitment.mmrRoot),
            true
          )
        })
      ))
  })
}

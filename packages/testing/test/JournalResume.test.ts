import { ChainClient, CheckpointManager, ReceiptJournal, Submitter } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Ref, TestClock } from "effect"
import { FakeProviders, TestNetwork } from "../src/index.js"
import { after, collect, expectRefused, inWorld, submissions, submit } from "./helpers.js"

const { Behaviour } = FakeProviders
const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const buckets = [{ id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }]

const journal = ReceiptJournal.ReceiptJournal
const journaled = (id: number) =>
  Effect.flatMap(journal, (j) => Effect.map(j.read(BigInt(id) as never), Option.getOrThrow))

/** Prepares the extrinsic a round would submit and journals it, as a process that died right after would. */
const prepareAndJournal = Effect.gen(function*() {
  const report = yield* after("5 seconds", collect(1))
  const chain = yield* ChainClient.ChainClient
  const majority = Option.getOrThrow(report.decision.majority)
  const prepared = yield* chain.prepareCheckpoint(
    new ChainClient.CheckpointSubmission({
      bucketId: report.decision.bucketId,
      commitment: majority.commitment,
      signatures: majority.signatures
    }, true)
  )
  const j = yield* journal
  yield* j.update(report.decision.bucketId, (x) => ReceiptJournal.addAttempt(x, prepared, 1))
  return prepared
})

describe("a journaled round", () => {
  it.effect("records the round, the prepared extrinsic and the receipt", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag, "Submitted")
        const stored = yield* journaled(1)
        assert.strictEqual(stored.rounds.length, 1)
        assert.strictEqual(stored.rounds[0].action, "Submit")
        assert.deepStrictEqual(stored.attempts.map((a) => a.status), ["Finalized"])
        assert.strictEqual(stored.receipts.length, 1)
        assert.strictEqual(
          result._tag === "Submitted" && result.receipt.extrinsicHash,
          stored.receipts[0].extrinsicHash
        )
      })
    ))
})

describe("resuming what an earlier process left", () => {
  it.effect("prepared and journaled, never broadcast: the same bytes are sent, once", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const prepared = yield* prepareAndJournal
        const result = yield* after("5 seconds", submit(1))
        assert.include(["Submitted", "AlreadyCheckpointed"], result._tag)
        const recorded = yield* submissions
        assert.strictEqual(recorded.length, 1)
        assert.strictEqual(recorded[0].extrinsicHash, prepared.extrinsicHash)
        const stored = yield* journaled(1)
        assert.deepStrictEqual(stored.receipts.map((r) => r.extrinsicHash), [prepared.extrinsicHash])
        assert.isTrue(Option.isNone(stored.unresolved))
      })
    ))

  it.effect("included and finalized, receipt never written: the receipt is found, nothing is paid again", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const prepared = yield* prepareAndJournal
        const chain = yield* ChainClient.ChainClient
        yield* after("5 seconds", chain.submitPrepared(prepared))
        assert.strictEqual((yield* submissions).length, 1)
        const result = yield* after("5 seconds", submit(1))
        // The result is the earlier submission's receipt, said to be settled (not a new payment).
        assert.strictEqual(result._tag === "Submitted" && result.settled, true)
        assert.strictEqual(result._tag === "Submitted" && result.receipt.extrinsicHash, prepared.extrinsicHash)
        assert.strictEqual((yield* submissions).length, 1)
        const stored = yield* journaled(1)
        assert.deepStrictEqual(stored.receipts.map((r) => r.extrinsicHash), [prepared.extrinsicHash])
      })
    ))

  it.effect("included but not yet final when resuming: waits for finality and records the receipt", () =>
    inWorld(
      { providers, buckets, journal: "memory", finalityDelay: "20 seconds" },
      Effect.gen(function*() {
        const prepared = yield* prepareAndJournal
        const chain = yield* ChainClient.ChainClient
        // The earlier process broadcast it; it is in a block, not final, when the next one starts.
        yield* Effect.fork(chain.submitPrepared(prepared))
        yield* TestClock.adjust("1 second")
        const result = yield* after("1 minute", submit(1))
        assert.strictEqual(result._tag === "Submitted" && result.settled, true)
        assert.strictEqual((yield* submissions).length, 1)
        const stored = yield* journaled(1)
        assert.deepStrictEqual(stored.receipts.map((r) => r.extrinsicHash), [prepared.extrinsicHash])
        assert.strictEqual(
          stored.attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)?.status,
          "Finalized"
        )
      })
    ))

  it.effect("several unresolved attempts are settled oldest first: a landed one's receipt is not lost", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const chain = yield* ChainClient.ChainClient
        // Attempt A: included and final, but its receipt was never written.
        const first = yield* prepareAndJournal
        yield* after("5 seconds", chain.submitPrepared(first))
        // Attempt B, for newer data: journaled, never sent.
        yield* world.network.append(world.bucketId(1), 2)
        const second = yield* prepareAndJournal
        const result = yield* after("10 seconds", submit(1))
        assert.include(["Submitted", "AlreadyCheckpointed"], result._tag)
        const stored = yield* journaled(1)
        assert.deepStrictEqual(
          stored.receipts.map((r) => r.extrinsicHash).sort(),
          [first.extrinsicHash, second.extrinsicHash].sort()
        )
        assert.isTrue(Option.isNone(stored.unresolved))
        assert.strictEqual((yield* submissions).length, 2)
      })
    ))

  it.effect("an extrinsic whose nonce another extrinsic used is dead at once: nothing holds the bucket", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const chain = yield* ChainClient.ChainClient
        const prepared = yield* prepareAndJournal
        // Another sender with the same key uses that very nonce (its own bytes, another hash).
        const other = new ChainClient.PreparedCheckpoint({
          ...prepared,
          extrinsicHash: `0x${"ab".repeat(32)}` as never,
          bytes: "0x00"
        }, true)
        yield* after("5 seconds", chain.submitPrepared(other))
        yield* world.network.append(world.bucketId(1), 2)
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag, "Submitted")
        const ours = (yield* journaled(1)).attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)
        assert.strictEqual(ours?.status, "Failed")
        assert.strictEqual(ours?.detail, `its nonce ${prepared.nonce} was used by another extrinsic`)
        assert.strictEqual((yield* submissions).length, 2)
      })
    ))

  it.effect("an extrinsic superseded on chain stays in doubt (it may still land) until its era ends, then is failed", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const prepared = yield* prepareAndJournal
        // Something else (another tool with the same key) uses the nonce first.
        const chain = yield* ChainClient.ChainClient
        const world = yield* TestNetwork.TestNetwork
        yield* world.network.append(world.bucketId(1), 1)
        const other = yield* after("5 seconds", collect(1))
        const majority = Option.getOrThrow(other.decision.majority)
        const competitor = yield* chain.prepareCheckpoint(
          new ChainClient.CheckpointSubmission({
            bucketId: world.bucketId(1),
            commitment: majority.commitment,
            signatures: majority.signatures
          }, true)
        )
        yield* after("5 seconds", chain.submitPrepared(competitor))
        const result = yield* after("5 seconds", submit(1))
        assert.strictEqual(result._tag, "AlreadyCheckpointed")
        const ours = (yield* journaled(1)).attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)
        assert.strictEqual(ours?.status, "InDoubt")
        assert.include(ours?.detail, `may still be included until block #${ChainClient.validUntil(prepared)}`)
        // Past the end of its mortal era, and not on chain: it can never land.
        yield* world.chain.produceBlocks(ChainClient.validUntil(prepared) + 1)
        yield* after("5 seconds", submit(1))
        const settled = (yield* journaled(1)).attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)
        assert.strictEqual(settled?.status, "Failed")
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("a recent round that met the threshold is submitted with its signatures, without asking again", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const report = yield* after("5 seconds", collect(1))
        const j = yield* journal
        yield* j.update(
          report.decision.bucketId,
          (x) =>
            ReceiptJournal.addRound(
              x,
              new ReceiptJournal.RoundRecord({
                atMillis: 5000,
                decision: report.decision,
                action: "Submit",
                reason: ""
              }, true)
            )
        )
        // Every provider is now down: only the journaled signatures can make this checkpoint.
        const world = yield* TestNetwork.TestNetwork
        for (const name of ["Alice", "Bob", "Charlie"]) yield* world.network.setBehaviour(name, Behaviour.unreachable())
        const result = yield* after("1 minute", submit(1))
        assert.strictEqual(result._tag, "Submitted")
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("journaled signatures that no longer verify are not sent", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const prepared = yield* prepareAndJournal
        const world = yield* TestNetwork.TestNetwork
        // Bob rotates his key: the journaled extrinsic would now be rejected on chain.
        yield* world.chain.registerProvider(
          new ChainClient.ProviderRecord({
            accountId: world.account("Bob"),
            multiaddr: world.network.provider("Bob").multiaddr,
            publicKey: Option.some(world.network.provider("Charlie").publicKey)
          }, true)
        )
        yield* after("5 seconds", submit(1))
        const recorded = yield* submissions
        assert.isFalse(recorded.some((r) => r.extrinsicHash === prepared.extrinsicHash))
        assert.isTrue(recorded.every((r) => Either.isRight(r.outcome)))
        const stored = yield* journaled(1)
        assert.strictEqual(
          stored.attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)?.status,
          "Failed"
        )
      })
    ))
})

describe("recovery runs once, before the round", () => {
  it.scoped("an attempt left in doubt is looked for on chain once per round: by recovery, not again by the submitter", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const chain = yield* ChainClient.ChainClient
        const prepared = yield* prepareAndJournal
        // Superseded on chain before it was ever sent: it stays in doubt (it may still land by itself).
        yield* world.network.append(world.bucketId(1), 1)
        const report = yield* after("5 seconds", collect(1))
        const { commitment, signatures } = Option.getOrThrow(report.decision.majority)
        yield* after(
          "5 seconds",
          ChainClient.submitCheckpoint(
            chain,
            new ChainClient.CheckpointSubmission({ bucketId: world.bucketId(1), commitment, signatures }, true)
          )
        )
        // The next process, over a chain that counts how often an extrinsic is looked for.
        const lookups = yield* Ref.make(0)
        const counting = Layer.succeed(ChainClient.ChainClient, {
          ...chain,
          findReceipt: (attempt) => Effect.zipRight(Ref.update(lookups, (n) => n + 1), chain.findReceipt(attempt))
        })
        const restarted = yield* Layer.build(
          CheckpointManager.CheckpointManager.layerRound.pipe(Layer.provide(counting))
        )
        const result = yield* after("5 seconds", submit(1).pipe(Effect.provide(restarted)))
        assert.strictEqual(result._tag, "AlreadyCheckpointed")
        assert.strictEqual(yield* Ref.get(lookups), 1)
        const ours = (yield* journaled(1)).attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)
        assert.strictEqual(ours?.status, "InDoubt")
        assert.strictEqual((yield* submissions).length, 1)
      })
    ))

  it.effect("the submitter refuses while an attempt is unresolved in the journal, and leaves settling it to recovery", () =>
    inWorld(
      { providers, buckets, journal: "memory" },
      Effect.gen(function*() {
        const prepared = yield* prepareAndJournal
        const report = yield* after("5 seconds", collect(1))
        const submitter = yield* Submitter.Submitter
        const refused = yield* Effect.flip(submitter.submit(report.decision))
        expectRefused(refused, "PreviousSubmissionInDoubt")
        assert.include(refused._tag === "SubmissionRefused" ? refused.detail : "", prepared.extrinsicHash)
        // Nothing signed, nothing sent, and the attempt left as it was: settling it is recovery's job.
        assert.strictEqual((yield* submissions).length, 0)
        const ours = (yield* journaled(1)).attempts.find((a) => a.prepared.extrinsicHash === prepared.extrinsicHash)
        assert.strictEqual(ours?.status, "Prepared")
        // The bucket's next round settles it first: the same signed bytes, sent once.
        const result = yield* after("5 seconds", submit(1))
        assert.include(["Submitted", "AlreadyCheckpointed"], result._tag)
        const recorded = yield* submissions
        assert.deepStrictEqual(recorded.map((r) => r.extrinsicHash), [prepared.extrinsicHash])
      })
    ))
})

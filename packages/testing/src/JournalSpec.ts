/**
 * The receipt journal's contract, as a suite any implementation runs: `JournalSpec.suite("mine", () =>
 * myLayer)` in a Vitest file registers the tests (memory, file system and PostgreSQL journals all run
 * it). Not exported from the package's index (it registers Vitest tests): import
 * `@checkpointer/testing/JournalSpec`.
 *
 * @since 0.1.0
 */
import { ChainClient, Consensus, Domain, ReceiptJournal } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The bucket the suite journals.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const bucket = 5n as Domain.BucketId
const alice = Domain.accountIdFromBytes(new Uint8Array(32).fill(1))!
const commitment = (leafCount: number, rootByte = 0xaa) =>
  Schema.decodeSync(Domain.Commitment)({ mmrRoot: "0x" + rootByte.toString(16).repeat(32), startSeq: 0, leafCount })

/**
 * A prepared checkpoint of this many leaves.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const prepared = (leafCount: number, nonce = 0) =>
  new ChainClient.PreparedCheckpoint({
    submission: new ChainClient.CheckpointSubmission({
      bucketId: bucket,
      commitment: commitment(leafCount),
      signatures: [
        new ChainClient.CheckpointSignature({
          signer: alice,
          signature: { _tag: "Sr25519", bytes: new Uint8Array(64).fill(7) }
        }, true)
      ]
    }, true),
    extrinsicHash: ("0x" + (leafCount + nonce).toString(16).padStart(64, "0")) as Domain.H256,
    bytes: "0x1234",
    signer: alice,
    nonce,
    preparedAtBlock: 3 as Domain.BlockNumber
  }, true)

/**
 * The receipt of a prepared checkpoint.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const receiptFor = (p: ChainClient.PreparedCheckpoint) =>
  new ChainClient.CheckpointReceipt({
    bucketId: bucket,
    commitment: p.submission.commitment,
    signers: [alice],
    extrinsicHash: p.extrinsicHash,
    blockHash: ("0x" + "bb".repeat(32)) as Domain.H256,
    blockNumber: 4 as Domain.BlockNumber,
    extrinsicIndex: 1,
    event: new ChainClient.BucketCheckpointed({
      bucketId: bucket,
      commitment: p.submission.commitment,
      providers: [alice]
    }, true),
    submittedAtMillis: 100,
    finalizedAtMillis: 200
  }, true)

const decision = Consensus.decide({
  bucketId: bucket,
  primaries: [alice],
  minProviders: 1,
  thresholdPercent: 51,
  outcomes: []
})
/**
 * A round record at this time.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const round = (atMillis: number) =>
  new ReceiptJournal.RoundRecord({ atMillis, decision, action: "NotSubmitted", reason: "test" }, true)

/**
 * Registers the contract's tests for one implementation; `make` gives a fresh, empty journal each time.
 *
 * @since 0.1.0
 * @category suites
 */
export const suite = <E>(
  name: string,
  make: () => Layer.Layer<ReceiptJournal.ReceiptJournal, E>
): void => {
  describe(`ReceiptJournal (${name})`, () => {
    const run = <A, E>(body: Effect.Effect<A, E, ReceiptJournal.ReceiptJournal>) => Effect.provide(body, make())

    it.effect("a bucket never journaled reads as None, not as an empty journal", () =>
      run(Effect.gen(function*() {
        const journal = yield* ReceiptJournal.ReceiptJournal
        assert.isTrue(Option.isNone(yield* journal.read(bucket)))
      })))

    it.effect("records rounds, attempts and receipts, and reads them back", () =>
      run(Effect.gen(function*() {
        const journal = yield* ReceiptJournal.ReceiptJournal
        const p = prepared(10)
        yield* journal.update(bucket, (j) => ReceiptJournal.addRound(j, round(1)))
        yield* journal.update(bucket, (j) => ReceiptJournal.addAttempt(j, p, 2))
        const pending = Option.getOrThrow(yield* journal.read(bucket))
        assert.strictEqual(Option.getOrThrow(pending.unresolved).prepared.extrinsicHash, p.extrinsicHash)
        yield* journal.update(bucket, (j) => ReceiptJournal.addReceipt(j, receiptFor(p), 3))
        const done = Option.getOrThrow(yield* journal.read(bucket))
        assert.isTrue(Option.isNone(done.unresolved))
        assert.strictEqual(done.attempts[0].status, "Finalized")
        assert.deepStrictEqual(done.receipts.map((r) => r.extrinsicHash), [p.extrinsicHash])
        assert.strictEqual(done.rounds.length, 1)
      })))

    it.effect("a receipt recorded twice is kept once", () =>
      run(Effect.gen(function*() {
        const journal = yield* ReceiptJournal.ReceiptJournal
        const p = prepared(10)
        yield* journal.update(bucket, (j) => ReceiptJournal.addReceipt(j, receiptFor(p), 1))
        const after = yield* journal.update(bucket, (j) => ReceiptJournal.addReceipt(j, receiptFor(p), 2))
        assert.strictEqual(after.receipts.length, 1)
      })))

    it.effect("keeps history bounded by the retention settings, never dropping an unresolved attempt", () =>
      run(Effect.gen(function*() {
        const journal = yield* ReceiptJournal.ReceiptJournal
        for (let i = 0; i < 60; i++) yield* journal.update(bucket, (j) => ReceiptJournal.addRound(j, round(i)))
        const pendingOne = prepared(1)
        yield* journal.update(bucket, (j) => ReceiptJournal.addAttempt(j, pendingOne, 1))
        for (let i = 2; i < 30; i++) {
          const p = prepared(i)
          yield* journal.update(
            bucket,
            (j) => ReceiptJournal.addReceipt(ReceiptJournal.addAttempt(j, p, i), receiptFor(p), i)
          )
        }
        const stored = Option.getOrThrow(yield* journal.read(bucket))
        assert.strictEqual(stored.rounds.length, ReceiptJournal.defaultRetention.rounds)
        assert.strictEqual(stored.rounds[0].atMillis, 10)
        assert.isTrue(stored.attempts.length <= ReceiptJournal.defaultRetention.attempts + 1)
        assert.strictEqual(Option.getOrThrow(stored.unresolved).prepared.extrinsicHash, pendingOne.extrinsicHash)
      })))

    it.live("the lock serialises work on a bucket", () =>
      run(Effect.gen(function*() {
        const journal = yield* ReceiptJournal.ReceiptJournal
        const order: Array<string> = []
        const job = (label: string) =>
          journal.withLock(
            bucket,
            Effect.gen(function*() {
              order.push(`${label}:in`)
              yield* Effect.sleep("20 millis")
              order.push(`${label}:out`)
            })
          )
        yield* Effect.all([job("a"), job("b")], { concurrency: 2 })
        assert.deepStrictEqual(order.map((s) => s.split(":")[1]), ["in", "out", "in", "out"])
      })))
  })
}

import { ChainClient } from "@checkpointer/core"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { DevSetup } from "../src/index.js"
import { account, clientLayer, dev, eventually, genesis, live, submission } from "./helpers.js"

const dispatchError = <A, R>(effect: Effect.Effect<A, ChainClient.ChainWriteError, R>) =>
  Effect.flip(effect).pipe(
    Effect.map((e) => (e._tag === "DispatchFailed" ? `${e.module}.${e.error}` : `${e._tag}: ${e.message}`))
  )

describe("live ChainClient submissions, against the devchain", () => {
  it.scoped(
    "a checkpoint's receipt: block, extrinsic index, hash, fee and the verified event, as the chain stored it",
    () =>
      Effect.gen(function*() {
        const { api, client } = yield* live(genesis())
        const prepared = yield* client.prepareCheckpoint(submission(0, 12, ["Bob", "Dave"]))
        expect(prepared.signer).toBe(account("Alice"))
        const receipt = yield* client.submitPrepared(prepared)
        expect(receipt.extrinsicHash).toBe(prepared.extrinsicHash)
        expect(receipt.event.providers).toEqual([account("Bob"), account("Dave")])
        expect(receipt.commitment.leafCount).toBe(12n)
        expect(receipt.fee).toBeGreaterThan(0n)
        // The receipt's block holds the extrinsic at its index, and the chain's storage holds the snapshot.
        const block = yield* Effect.promise(() => api.rpc.chain.getBlock(receipt.blockHash))
        expect(block.block.extrinsics[receipt.extrinsicIndex]!.hash.toHex()).toBe(receipt.extrinsicHash)
        expect(block.block.header.number.toNumber()).toBe(receipt.blockNumber)
        const bucket = yield* client.bucket(0n as never, receipt.blockHash)
        expect(Option.map(bucket.snapshot, (s) => [s.commitment.leafCount, s.checkpointBlock])).toEqual(
          Option.some([12n, receipt.blockNumber])
        )
        // Found again by searching the chain, as a restarted process would.
        const found = yield* client.findReceipt(prepared)
        expect(Option.map(found, (r) => [r.blockHash, r.extrinsicIndex])).toEqual(
          Option.some([receipt.blockHash, receipt.extrinsicIndex])
        )
      }),
    30_000
  )

  it.scoped(
    "the fee quoted before signing is the fee the checkpoint then pays, taken from the signer's free balance",
    () =>
      Effect.gen(function*() {
        const { api, client } = yield* live(genesis())
        const alice = account("Alice")
        const checkpoint = submission(0, 12, ["Bob", "Dave"])
        const before = yield* client.freeBalance(alice)
        const onChain = yield* Effect.promise(() => api.query.system.account(alice))
        expect(before).toBe(BigInt((onChain.toJSON() as { data: { free: number | string } }).data.free))
        const estimate = yield* client.estimateFee(checkpoint)
        expect(estimate).toBeGreaterThan(0n)
        // Quoting signs nothing and takes no nonce.
        expect((yield* Effect.promise(() => api.rpc.system.accountNextIndex(alice))).toNumber()).toBe(0)
        const receipt = yield* ChainClient.submitCheckpoint(client, checkpoint)
        expect(receipt.fee).toBe(estimate)
        expect(yield* client.freeBalance(alice)).toBe(before - estimate)
      }),
    30_000
  )

  for (const keyType of ["ed25519", "ecdsa"] as const) {
    it.scoped(`an ${keyType} signer's fee is quoted at the length of its own signature`, () =>
      Effect.gen(function*() {
        const { api, chain } = yield* live(genesis())
        const other = yield* Layer.build(clientLayer(chain.url, { signer: Redacted.make("//Alice"), keyType }))
        const client = Context.get(other, ChainClient.ChainClient)
        const signer = Option.getOrThrow(client.signer)
        yield* DevSetup.sendTx(api, api.tx.balances.transferKeepAlive(signer, 10n ** 15n), dev("Alice"))
        const checkpoint = submission(0, 12, ["Bob", "Dave"])
        const estimate = yield* client.estimateFee(checkpoint)
        const before = yield* client.freeBalance(signer)
        // Not a member of the bucket: refused at dispatch, and the fee paid all the same.
        expect(yield* dispatchError(ChainClient.submitCheckpoint(client, checkpoint))).toBe(
          "storageProvider.NotBucketWriter"
        )
        expect(before - (yield* client.freeBalance(signer))).toBe(estimate)
      }), 30_000)
  }

  it.scoped(
    "a prepared checkpoint says the last block that can include it: the end of the era it was signed with",
    () =>
      Effect.gen(function*() {
        const { api, client } = yield* live(genesis())
        const finalized = yield* client.finalizedBlock
        const prepared = yield* client.prepareCheckpoint(submission(0, 12, ["Bob", "Dave"]))
        const era = api.createType("Extrinsic", prepared.bytes).era
        expect(era.isMortalEra).toBe(true)
        expect(prepared.validUntilBlock).toBe(era.asMortalEra.death(finalized.number) - 1)
        expect(ChainClient.validUntil(prepared)).toBe(prepared.validUntilBlock)
        expect(prepared.validUntilBlock).toBeGreaterThanOrEqual(finalized.number)
        expect(prepared.validUntilBlock).toBeLessThanOrEqual(finalized.number + 256)
      }),
    30_000
  )

  it.scoped("each pallet error surfaces by name", () =>
    Effect.gen(function*() {
      const { api, client } = yield* live(genesis())
      const submit = (s: ChainClient.CheckpointSubmission) => ChainClient.submitCheckpoint(client, s)
      expect(yield* dispatchError(submit(submission(0, 10, ["Bob"])))).toBe("storageProvider.InsufficientSignatures")
      expect(yield* dispatchError(submit(submission(0, 10, ["Bob", "Charlie"], { signedLeafCount: 11 }))))
        .toBe("storageProvider.InvalidSignature")
      expect(yield* dispatchError(submit(submission(0, 10, ["Bob", "Eve"])))).toBe(
        "storageProvider.ProviderNotInSnapshot"
      )
      expect(yield* dispatchError(submit(submission(5, 10, [])))).toBe("storageProvider.BucketNotFound")
      const { client: ferdie } = yield* live(genesis(), { signer: Redacted.make("//Ferdie") })
      expect(yield* dispatchError(ChainClient.submitCheckpoint(ferdie, submission(0, 10, ["Bob", "Charlie"]))))
        .toBe("storageProvider.NotBucketWriter")

      yield* submit(submission(0, 10, ["Bob", "Charlie"], { startSeq: 5 }))
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          void api.tx.storageProvider.freezeBucket(0).signAndSend(dev("Alice"), (r) => {
            if (r.status.isFinalized) resolve()
          })
        })
      )
      expect(yield* dispatchError(submit(submission(0, 12, ["Bob", "Charlie"], { startSeq: 4 }))))
        .toBe("storageProvider.SnapshotViolatesFrozen")
    }), 60_000)

  it.scoped(
    "20 buckets checkpointed concurrently from one account all finalize, each with its own nonce",
    () =>
      Effect.gen(function*() {
        const { client } = yield* live(genesis({ buckets: 20 }))
        const receipts = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, bucket) => bucket),
          (bucket) => ChainClient.submitCheckpoint(client, submission(bucket, bucket + 1, ["Bob", "Charlie", "Dave"])),
          { concurrency: "unbounded" }
        )
        expect(receipts.map((r) => Number(r.bucketId)).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, i) => i)
        )
        expect(new Set(receipts.map((r) => r.extrinsicHash)).size).toBe(20)
        for (let bucket = 0; bucket < 20; bucket++) {
          const info = yield* client.bucket(BigInt(bucket) as never)
          expect(Option.map(info.snapshot, (s) => s.commitment.leafCount)).toEqual(Option.some(BigInt(bucket + 1)))
        }
      }),
    60_000
  )

  it.scopedLive(
    "the socket is cut mid-submission: the outcome comes from the chain, and exactly one checkpoint lands",
    () =>
      Effect.gen(function*() {
        const { chain, client } = yield* live({ ...genesis(), blockMode: "manual" })
        const prepared = yield* client.prepareCheckpoint(submission(0, 10, ["Bob", "Charlie"]))
        const fiber = yield* Effect.fork(client.submitPrepared(prepared))
        yield* eventually(() => chain.chain.pending().length === 1, "the extrinsic in the pool")
        yield* chain.disconnectAll()
        yield* chain.newBlock(1)
        // The client reconnects, finds its extrinsic on chain instead of sending anything new.
        const receipt = yield* Fiber.join(fiber)
        expect(receipt.extrinsicHash).toBe(prepared.extrinsicHash)
        yield* chain.newBlock(3)
        const bucket = yield* client.bucket(0n as never)
        expect(Option.map(bucket.snapshot, (s) => s.commitment.leafCount)).toEqual(Option.some(10n))
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed").length).toBe(1)
      }),
    30_000
  )

  it.scopedLive(
    "the socket is cut before the extrinsic reached the pool's block: the same bytes are sent again, once",
    () =>
      Effect.gen(function*() {
        const { chain, client } = yield* live({ ...genesis(), blockMode: "manual" })
        const prepared = yield* client.prepareCheckpoint(submission(0, 10, ["Bob", "Charlie"]))
        const fiber = yield* Effect.fork(client.submitPrepared(prepared))
        yield* eventually(() => chain.chain.pending().length === 1, "the extrinsic in the pool")
        // The socket drops, and the pool loses the extrinsic meanwhile (a node restart, say).
        yield* chain.disconnectAll()
        yield* chain.dropExtrinsic(prepared.extrinsicHash)
        yield* eventually(() => chain.chain.pending().length === 1, "the same extrinsic sent again")
        expect(chain.chain.pending().map((bytes) => bytes.length)).toEqual([(prepared.bytes.length - 2) / 2])
        yield* chain.newBlock(1)
        const receipt = yield* Fiber.join(fiber)
        expect(receipt.extrinsicHash).toBe(prepared.extrinsicHash)
      }),
    30_000
  )

  it.scopedLive(
    "a nonce taken by another sender of the same account is recovered by signing again",
    () =>
      Effect.gen(function*() {
        const { api, chain, client } = yield* live({ ...genesis(), blockMode: "manual" })
        const prepared = yield* client.prepareCheckpoint(submission(0, 10, ["Bob", "Charlie"]))
        // Another process signing as Alice takes the same nonce first.
        const other = api.tx.system.remark("0x01")
        yield* Effect.promise(() => other.signAsync(dev("Alice"), { nonce: prepared.nonce }))
        yield* Effect.promise(() => api.rpc.author.submitExtrinsic(other))
        const fiber = yield* Effect.fork(client.submitPrepared(prepared))
        yield* eventually(() => chain.chain.pending().length === 2, "both extrinsics in the pool")
        yield* chain.newBlock(1)
        const receipt = yield* Fiber.join(fiber)
        expect(receipt.extrinsicHash).not.toBe(prepared.extrinsicHash)
        expect(receipt.commitment.leafCount).toBe(10n)
      }),
    30_000
  )

  it.scoped(
    "a prepared extrinsic whose nonce another one used fails as Stale, never landing twice",
    () =>
      Effect.gen(function*() {
        const { client } = yield* live(genesis())
        const first = yield* client.prepareCheckpoint(submission(0, 10, ["Bob", "Charlie"]))
        yield* client.submitPrepared(first)
        // The same submission signed again by a restarted process would take a new nonce; here the old
        // bytes are sent again after they landed: the receipt of the one that landed comes back.
        const again = yield* client.submitPrepared(first)
        expect(again.extrinsicHash).toBe(first.extrinsicHash)
      }),
    30_000
  )

  it.scoped(
    "challenge_offchain with a provider's own signature returns the challenge id",
    () =>
      Effect.gen(function*() {
        const { client } = yield* live(genesis())
        const signed = submission(0, 10, ["Charlie"], { root: 0x33 })
        const receipt = yield* client.challengeOffchain(
          new ChainClient.OffchainChallenge({
            bucketId: signed.bucketId,
            provider: account("Charlie"),
            commitment: signed.commitment,
            target: new ChainClient.ChunkLocation({ leafIndex: 9n as never, chunkIndex: 0n as never }),
            signature: signed.signatures[0]!.signature
          })
        )
        expect(receipt.index).toBe(0)
        expect(receipt.deadline).toBeGreaterThan(28_800)
      }),
    30_000
  )

  it.scoped("without a signer, submissions fail as NoSigner and reads still work", () =>
    Effect.gen(function*() {
      const { client } = yield* live(genesis(), {})
      expect(client.signer).toEqual(Option.none())
      const error = yield* Effect.flip(client.prepareCheckpoint(submission(0, 10, ["Bob", "Charlie"])))
      expect(error._tag === "SubmissionFailed" && error.stage).toBe("NoSigner")
      expect((yield* client.bucket(0n as never)).minProviders).toBe(2)
    }), 30_000)
})

import { describe, expect, it } from "@effect/vitest"
import type { ApiPromise } from "@polkadot/api"
import type { KeyringPair } from "@polkadot/keyring/types"
import { u8aToHex } from "@polkadot/util"
import * as Effect from "effect/Effect"
import { commitmentPayload, dev, eventJson, send, signedTerms, world } from "./helpers.js"

const UNIT = 1_000_000_000_000n
const ROOT = new Uint8Array(32).fill(0xab)

/** Registers Bob, Charlie and Dave as providers, and has Alice create bucket 0 (min 2) with them as primaries. */
const setupBucket = (api: ApiPromise) =>
  Effect.gen(function*() {
    const alice = dev("Alice")
    const providers = [dev("Bob"), dev("Charlie"), dev("Dave")]
    for (const [i, p] of providers.entries()) {
      const out = yield* send(
        api,
        api.tx.storageProvider.registerProvider(`/ip4/127.0.0.1/tcp/${3333 + i}`, u8aToHex(p.publicKey), 1_000n * UNIT),
        p
      )
      expect(out.error).toBeUndefined()
    }
    const created = yield* send(api, api.tx.storageProvider.createBucket(2, "Public"), alice)
    expect(created.events).toContain("storageProvider.BucketCreated")
    const bucketId = Number(eventJson(created, "storageProvider.BucketCreated")[0])
    const best = (yield* Effect.promise(() => api.rpc.chain.getHeader())).number.toNumber()
    for (const [nonce, p] of providers.entries()) {
      const { sig, terms } = signedTerms(api, p, {
        owner: alice.address,
        bucket: bucketId,
        nonce,
        validUntil: best + 100
      })
      const out = yield* send(api, api.tx.storageProvider.addPrimaryProvider(bucketId, p.address, terms, sig), alice)
      expect(out.error).toBeUndefined()
      expect(out.events).toContain("storageProvider.ProviderAddedToBucket")
    }
    return { alice, providers, bucketId }
  })

const sign = (p: KeyringPair, bucket: number, leafCount: bigint, startSeq = 0n) =>
  [p.address, { Sr25519: u8aToHex(p.sign(commitmentPayload(BigInt(bucket), ROOT, startSeq, leafCount))) }] as const

const checkpointTx = (
  api: ApiPromise,
  bucket: number,
  leafCount: bigint,
  signatures: ReadonlyArray<unknown>,
  startSeq = 0n
) => api.tx.storageProvider.checkpoint(bucket, { mmrRoot: u8aToHex(ROOT), startSeq, leafCount }, signatures)

describe("devchain, era C, driven by @polkadot/api", () => {
  it.scoped(
    "checkpoints with the primaries' signatures: BucketCheckpointed and the stored snapshot",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world()
        const { alice, providers, bucketId } = yield* setupBucket(api)
        const bucket = yield* Effect.promise(() => api.query.storageProvider.buckets(bucketId))
        expect(bucket.toJSON()).toMatchObject({ primaryProviders: providers.map((p) => p.address), minProviders: 2 })

        const out = yield* send(
          api,
          checkpointTx(api, bucketId, 10n, [sign(providers[0]!, bucketId, 10n), sign(providers[2]!, bucketId, 10n)]),
          alice
        )
        expect(out.error).toBeUndefined()
        expect(out.events).toEqual([
          "balances.Withdraw",
          "storageProvider.BucketCheckpointed",
          "transactionPayment.TransactionFeePaid",
          "system.ExtrinsicSuccess"
        ])
        expect(eventJson(out, "storageProvider.BucketCheckpointed")).toEqual([
          bucketId,
          { mmrRoot: u8aToHex(ROOT), startSeq: 0, leafCount: 10 },
          [providers[0]!.address, providers[2]!.address]
        ])

        const stored = yield* Effect.promise(() => api.query.storageProvider.buckets(bucketId))
        // Bits 0 and 2 (LSB first): Bob and Dave signed.
        expect(stored.toJSON()).toMatchObject({
          snapshot: { commitment: { mmrRoot: u8aToHex(ROOT), startSeq: 0, leafCount: 10 }, primarySigners: "0x05" },
          totalSnapshots: 1
        })
      }),
    30_000
  )

  it.scoped("each broken rule fails with the pallet's error", () =>
    Effect.gen(function*() {
      const { api } = yield* world()
      const { alice, providers, bucketId } = yield* setupBucket(api)
      const [bob, charlie] = providers as [KeyringPair, KeyringPair, KeyringPair]
      const error = (tx: ReturnType<typeof checkpointTx>, signer = alice) =>
        send(api, tx, signer).pipe(Effect.map((o) => o.error))

      expect(yield* error(checkpointTx(api, bucketId, 10n, [sign(bob, bucketId, 10n)]))).toBe(
        "storageProvider.InsufficientSignatures"
      )
      // Charlie's signature over another leaf count.
      expect(yield* error(checkpointTx(api, bucketId, 10n, [sign(bob, bucketId, 10n), sign(charlie, bucketId, 11n)])))
        .toBe("storageProvider.InvalidSignature")
      expect(
        yield* error(checkpointTx(api, bucketId, 10n, [sign(bob, bucketId, 10n), sign(dev("Eve"), bucketId, 10n)]))
      )
        .toBe("storageProvider.ProviderNotInSnapshot")
      expect(
        yield* error(
          checkpointTx(api, bucketId, 10n, [sign(bob, bucketId, 10n), sign(charlie, bucketId, 10n)]),
          dev("Ferdie")
        )
      )
        .toBe("storageProvider.NotBucketWriter")
      expect(yield* error(checkpointTx(api, 99, 10n, []))).toBe("storageProvider.BucketNotFound")

      // Freeze at start_seq 5; a checkpoint below it violates the frozen bucket.
      expect(
        yield* error(
          checkpointTx(api, bucketId, 10n, [sign(bob, bucketId, 10n, 5n), sign(charlie, bucketId, 10n, 5n)], 5n)
        )
      ).toBeUndefined()
      expect((yield* send(api, api.tx.storageProvider.freezeBucket(bucketId), alice)).error).toBeUndefined()
      expect(
        yield* error(
          checkpointTx(api, bucketId, 12n, [sign(bob, bucketId, 12n, 4n), sign(charlie, bucketId, 12n, 4n)], 4n)
        )
      )
        .toBe("storageProvider.SnapshotViolatesFrozen")
      // A Writer member may checkpoint.
      expect(
        (yield* send(api, api.tx.storageProvider.setMember(bucketId, dev("Ferdie").address, "Writer"), alice)).error
      ).toBeUndefined()
      expect(
        yield* error(
          checkpointTx(api, bucketId, 12n, [sign(bob, bucketId, 12n, 5n), sign(charlie, bucketId, 12n, 5n)], 5n),
          dev("Ferdie")
        )
      )
        .toBeUndefined()
      // min_providers cannot exceed the primaries.
      expect(yield* error(api.tx.storageProvider.setMinProviders(bucketId, 4) as never)).toBe(
        "storageProvider.InvalidMinProviders"
      )
    }), 60_000)

  it.scoped(
    "the pool rejects a stale nonce and a bad extrinsic signature as a node does",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world()
        const alice = dev("Alice")
        const ok = yield* send(api, api.tx.system.remark("0x01"), alice)
        expect(ok.error).toBeUndefined()
        const stale = yield* Effect.flip(send(api, api.tx.system.remark("0x02"), alice, { nonce: 0 }))
        expect(stale).toContain("1010: Invalid Transaction: Transaction is outdated")

        const tx = api.tx.system.remark("0x03")
        yield* Effect.promise(() => tx.signAsync(alice))
        const bytes = tx.toU8a()
        // Flip a byte of the signature (after the length prefix, version byte, address and variant).
        const tampered = bytes.slice()
        tampered[2 + 1 + 33 + 1 + 5]! ^= 0xff
        const rejected = yield* Effect.flip(Effect.tryPromise({
          try: () => api.rpc.author.submitExtrinsic(u8aToHex(tampered)),
          catch: (e) => (e as Error).message
        }))
        expect(rejected).toContain("1010: Invalid Transaction: Transaction has a bad signature")
      }),
    30_000
  )

  it.scoped(
    "the checkpoint call data equals protocol-facts' era-C vector (pallet 50, call 30)",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world()
        const call = api.tx.storageProvider.checkpoint(
          7,
          { mmrRoot: `0x${"ab".repeat(32)}`, startSeq: 0, leafCount: 10 },
          [[dev("Alice").address, { Sr25519: `0x${"11".repeat(64)}` }]]
        )
        expect(call.method.toHex()).toBe(
          "0x321e" + "0700000000000000" + "ab".repeat(32) + "0000000000000000" + "0a00000000000000" + "04" +
            "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d" + "01" + "11".repeat(64)
        )
      }),
    30_000
  )
})

import { describe, expect, it } from "@effect/vitest"
import type { ApiPromise } from "@polkadot/api"
import type { KeyringPair } from "@polkadot/keyring/types"
import { u8aToHex } from "@polkadot/util"
import * as Effect from "effect/Effect"
import { commitmentPayload, dev, eventJson, send, world } from "./helpers.js"

const UNIT = 1_000_000_000_000n
const ROOT = new Uint8Array(32).fill(0xab)

const sign = (p: KeyringPair, bucket: number, leafCount: bigint) =>
  [p.address, { Sr25519: u8aToHex(p.sign(commitmentPayload(BigInt(bucket), ROOT, 0n, leafCount))) }] as const

/** Era A's setup: providers register without a key; the admin requests, each provider accepts. */
const setupBucket = (api: ApiPromise) =>
  Effect.gen(function*() {
    const alice = dev("Alice")
    const providers = [dev("Bob"), dev("Charlie"), dev("Dave")]
    for (const [i, p] of providers.entries()) {
      const out = yield* send(
        api,
        api.tx.storageProvider.registerProvider(`/ip4/127.0.0.1/tcp/${3333 + i}`, 1_000n * UNIT),
        p
      )
      expect(out.error).toBeUndefined()
    }
    const created = yield* send(api, api.tx.storageProvider.createBucket(2), alice)
    const bucketId = Number(eventJson(created, "storageProvider.BucketCreated")[0])
    for (const p of providers) {
      const requested = yield* send(
        api,
        api.tx.storageProvider.requestPrimaryAgreement(bucketId, p.address, 1_048_576, 1_000, 0),
        alice
      )
      expect(requested.events).toContain("storageProvider.AgreementRequested")
      const accepted = yield* send(api, api.tx.storageProvider.acceptAgreement(bucketId), p)
      expect(accepted.events).toEqual(
        expect.arrayContaining(["storageProvider.AgreementAccepted", "storageProvider.ProviderAddedToBucket"])
      )
    }
    return { alice, providers, bucketId }
  })

describe("devchain, era-A profile (the oldest pallet, as the real runtime in ../shared/fixtures)", () => {
  it.scoped(
    "exposes the flat checkpoint and the request/accept setup, with no public keys",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world({ era: "A" })
        const checkpoint = api.tx.storageProvider.checkpoint.meta
        expect(checkpoint.args.map((a) => a.name.toString())).toEqual([
          "bucketId",
          "mmrRoot",
          "startSeq",
          "leafCount",
          "signatures"
        ])
        expect(api.tx.storageProvider.registerProvider.meta.args.map((a) => a.name.toString())).toEqual([
          "multiaddr",
          "stake"
        ])
        expect(api.tx.storageProvider.challengeOffchain).toBeUndefined()
        expect(api.runtimeVersion.specVersion.toNumber()).toBe(1)
        // Eras A and C build byte-identical checkpoint call data (protocol-facts, test vectors).
        const call = api.tx.storageProvider.checkpoint(7, `0x${"ab".repeat(32)}`, 0, 10, [[dev("Alice").address, {
          Sr25519: `0x${"11".repeat(64)}`
        }]])
        expect(call.method.toHex()).toBe(
          "0x321e" + "0700000000000000" + "ab".repeat(32) + "0000000000000000" + "0a00000000000000" + "04" +
            "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d" + "01" + "11".repeat(64)
        )
      }),
    30_000
  )

  it.scoped(
    "checkpoints against the signers' account keys, with the flat event and snapshot",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world({ era: "A" })
        const { alice, providers, bucketId } = yield* setupBucket(api)
        const provider = (yield* Effect.promise(() => api.query.storageProvider.providers(providers[0]!.address)))
          .toJSON()
        expect(provider).toMatchObject({
          multiaddr: u8aToHex(new TextEncoder().encode("/ip4/127.0.0.1/tcp/3333")),
          stake: Number(1_000n * UNIT)
        })
        expect(provider).not.toHaveProperty("publicKey")

        const tx = api.tx.storageProvider.checkpoint(bucketId, u8aToHex(ROOT), 0, 10, [
          sign(providers[1]!, bucketId, 10n),
          sign(providers[2]!, bucketId, 10n)
        ])
        const out = yield* send(api, tx, alice)
        expect(out.error).toBeUndefined()
        expect(eventJson(out, "storageProvider.BucketCheckpointed")).toEqual([
          bucketId,
          u8aToHex(ROOT),
          0,
          10,
          [providers[1]!.address, providers[2]!.address]
        ])
        const stored = yield* Effect.promise(() => api.query.storageProvider.buckets(bucketId))
        expect(stored.toJSON()).toMatchObject({
          primaryProviders: providers.map((p) => p.address),
          snapshot: { mmrRoot: u8aToHex(ROOT), startSeq: 0, leafCount: 10, primarySigners: "0x06" }
        })
        const one = yield* send(
          api,
          api.tx.storageProvider.checkpoint(bucketId, u8aToHex(ROOT), 0, 11, [sign(providers[0]!, bucketId, 11n)]),
          alice
        )
        expect(one.error).toBe("storageProvider.InsufficientSignatures")
      }),
    60_000
  )
})

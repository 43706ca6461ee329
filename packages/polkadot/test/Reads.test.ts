import { ChainClient } from "@checkpointer/core"
import { describe, expect, it } from "@effect/vitest"
import { u8aToHex } from "@polkadot/util"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { account, dev, genesis, live, PROVIDERS, submission } from "./helpers.js"

describe("live ChainClient reads, against the devchain", () => {
  it.scoped(
    "reads a bucket (primaries in order, floor, members, snapshot) and provider records",
    () =>
      Effect.gen(function*() {
        const { client } = yield* live(genesis())
        const bucket = yield* client.bucket(0n as never)
        expect(bucket.primaryProviders).toEqual(PROVIDERS.map(account))
        expect(bucket.minProviders).toBe(2)
        expect(bucket.members.map((m) => [m.account, m.role])).toEqual([[account("Alice"), "Admin"]])
        expect(Option.isNone(bucket.snapshot)).toBe(true)
        expect(Option.isNone(bucket.frozenStartSeq)).toBe(true)
        const bob = yield* client.provider(account("Bob"))
        expect(Option.map(bob, (p) => [p.accountId, p.multiaddr, Option.getOrNull(p.publicKey)])).toEqual(
          Option.some([account("Bob"), "/ip4/127.0.0.1/tcp/4001", u8aToHex(dev("Bob").publicKey)])
        )
        expect(yield* client.provider(account("Eve"))).toEqual(Option.none())
        const missing = yield* Effect.flip(client.bucket(7n as never))
        expect(missing).toBeInstanceOf(ChainClient.BucketNotFound)
      }),
    30_000
  )

  it.scoped("reads pinned to a block see that block's state", () =>
    Effect.gen(function*() {
      const { client } = yield* live(genesis())
      const before = yield* client.finalizedBlock
      const receipt = yield* ChainClient.submitCheckpoint(client, submission(0, 10, ["Bob", "Charlie"]))
      const now = yield* client.bucket(0n as never)
      expect(Option.map(now.snapshot, (s) => [s.commitment.leafCount, s.signers])).toEqual(
        Option.some([10n, [account("Bob"), account("Charlie")]])
      )
      const then = yield* client.bucket(0n as never, before.hash)
      expect(Option.isNone(then.snapshot)).toBe(true)
      expect(receipt.blockNumber).toBeGreaterThan(before.number)
    }), 30_000)

  it.scopedLive("follows finalized heads", () =>
    Effect.gen(function*() {
      const { client } = yield* live({ ...genesis(), blockMode: "interval", blockTime: 50 })
      const heads = yield* client.finalizedHeads.pipe(Stream.take(3), Stream.runCollect)
      const numbers = Chunk.toReadonlyArray(heads).map((h) => h.number)
      expect(numbers[2]! - numbers[0]!).toBe(2)
    }), 30_000)
})

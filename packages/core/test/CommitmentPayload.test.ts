import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { encodeCommitmentPayload, encodeCommitmentPayloadV2 } from "../src/CommitmentPayload.js"
import * as Domain from "../src/Domain.js"

// Vectors from shared/research/protocol-facts.md, "Test vectors" (hex without 0x).
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const root = (byte: number) => Schema.decodeSync(Domain.H256)("0x" + byte.toString(16).padStart(2, "0").repeat(32))

describe("encodeCommitmentPayload (v1, eras A and C)", () => {
  // protocol-facts prints this vector with 116 hex digits (58 bytes) while saying "57 bytes": it has one
  // stray zero byte inside the root. The pallet's own test pins 57 bytes, and the v2 vector of the same
  // fields (below, 65 bytes) is this payload plus the nonce; both checks are made here.
  it("matches the vector (bucket 1, zero root, start 10, count 5) and is 57 bytes", () => {
    const payload = encodeCommitmentPayload({ bucketId: 1n, mmrRoot: root(0), startSeq: 10n, leafCount: 5n })
    assert.strictEqual(payload.length, 57)
    assert.strictEqual(
      hex(payload),
      "01" + "0100000000000000" + "00".repeat(32) + "0a00000000000000" + "0500000000000000"
    )
    const v2 =
      "02010000000000000000000000000000000000000000000000000000000000000000000000000000000a0000000000000005000000000000002a00000000000000"
    assert.strictEqual(hex(payload.subarray(1)), v2.slice(2, 2 + 56 * 2))
  })

  it("matches the vector (bucket 7, root 0xab×32, start 0, count 10)", () => {
    const payload = encodeCommitmentPayload({ bucketId: 7n, mmrRoot: root(0xab), startSeq: 0n, leafCount: 10n })
    assert.strictEqual(
      hex(payload),
      "010700000000000000abababababababababababababababababababababababababababababababab00000000000000000a00000000000000"
    )
  })

  it("matches the era-A leaf_count = 0 form of the same commitment", () => {
    const payload = encodeCommitmentPayload({ bucketId: 7n, mmrRoot: root(0xab), startSeq: 0n, leafCount: 0n })
    assert.strictEqual(
      hex(payload),
      "010700000000000000abababababababababababababababababababababababababababababababab00000000000000000000000000000000"
    )
  })

  it("gives the same bytes for numbers, bigints, and a root given as bytes", () => {
    const a = encodeCommitmentPayload({
      bucketId: 7,
      mmrRoot: new Uint8Array(32).fill(0xab),
      startSeq: 0,
      leafCount: 10
    })
    const b = encodeCommitmentPayload({ bucketId: 7n, mmrRoot: root(0xab), startSeq: 0n, leafCount: 10n })
    assert.deepStrictEqual(a, b)
  })

  it("writes u64 fields little-endian across their full range", () => {
    const max = 2n ** 64n - 1n
    const payload = encodeCommitmentPayload({ bucketId: max, mmrRoot: root(0), startSeq: 1n << 56n, leafCount: max })
    assert.strictEqual(hex(payload.subarray(1, 9)), "ff".repeat(8))
    assert.strictEqual(hex(payload.subarray(41, 49)), "0000000000000001")
    assert.strictEqual(hex(payload.subarray(49, 57)), "ff".repeat(8))
  })

  it.prop(
    "lays out version, bucket, root, start and count at fixed offsets",
    [Domain.BucketIdFromSelf, Domain.H256FromSelf, Domain.U64FromSelf, Domain.U64FromSelf],
    ([bucketId, mmrRoot, startSeq, leafCount]) => {
      const payload = encodeCommitmentPayload({ bucketId, mmrRoot, startSeq, leafCount })
      const view = new DataView(payload.buffer)
      assert.strictEqual(payload[0], 1)
      assert.strictEqual(view.getBigUint64(1, true), bucketId)
      assert.strictEqual("0x" + hex(payload.subarray(9, 41)), mmrRoot)
      assert.strictEqual(view.getBigUint64(41, true), startSeq)
      assert.strictEqual(view.getBigUint64(49, true), leafCount)
    }
  )
})

describe("encodeCommitmentPayloadV2 (era B, with nonce)", () => {
  it("matches the vector (1, zero root, 10, 5, nonce 42) and is 65 bytes", () => {
    const payload = encodeCommitmentPayloadV2({
      bucketId: 1n,
      mmrRoot: root(0),
      startSeq: 10n,
      leafCount: 5n,
      nonce: 42n
    })
    assert.strictEqual(payload.length, 65)
    assert.strictEqual(
      hex(payload),
      "02010000000000000000000000000000000000000000000000000000000000000000000000000000000a0000000000000005000000000000002a00000000000000"
    )
  })
})

describe("the other byte vectors of protocol-facts", () => {
  it("Alice's account bytes are the public key used in the checkpoint call-data vector", () => {
    const alice = Schema.decodeSync(Domain.AccountId)("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
    assert.strictEqual(
      hex(Domain.accountIdToBytes(alice)),
      "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    )
  })

  it("an Sr25519 signature of 0x11×64 is variant byte 01 then the bytes, as in the call-data vector", () => {
    const bytes = Domain.encodeMultiSignature({ _tag: "Sr25519", bytes: new Uint8Array(64).fill(0x11) })
    assert.strictEqual(hex(bytes), "01" + "11".repeat(64))
  })
})

import { describe, expect, it } from "@effect/vitest"
import { compactFromU8a, compactToU8a, stringToU8a, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a, cryptoWaitReady, xxhashAsU8a } from "@polkadot/util-crypto"
import { FastCheck as fc } from "effect"
import { Chain, RpcError } from "../src/internal/chain.js"
import { parseExtrinsic } from "../src/internal/extrinsic.js"
import { eraC } from "../src/internal/pallets/storageProvider/eraC.js"
import { Commitment } from "../src/internal/pallets/storageProvider/types.js"
import * as System from "../src/internal/pallets/system.js"
import { profile } from "../src/internal/runtime.js"
import * as S from "../src/internal/scale.js"

await cryptoWaitReady()

describe("SCALE codecs", () => {
  it.prop(
    "compact integers encode and decode as Substrate's do",
    [fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })],
    ([n]) => {
      const ours = S.encode(S.compact(S.u128), n)
      expect(u8aToHex(ours)).toBe(u8aToHex(compactToU8a(n)))
      expect(S.decode(S.compact(S.u128), ours)).toBe(n)
      expect(compactFromU8a(ours)[1].toString()).toBe(n.toString())
    },
    { fastCheck: { numRuns: 2_000 } }
  )

  it("compact boundaries between the 1-, 2-, 4-byte and big-integer modes", () => {
    for (const n of [0n, 63n, 64n, 16_383n, 16_384n, (1n << 30n) - 1n, 1n << 30n, (1n << 64n) - 1n]) {
      expect(S.decode(S.compact(S.u64), compactToU8a(n))).toBe(n)
    }
  })

  it("a bounded vector beyond its bound does not decode (as FRAME's BoundedVec)", () => {
    const six = S.encode(S.vec(S.u8), [1, 2, 3, 4, 5, 6])
    expect(() => S.decode(S.vec(S.u8, 5), six)).toThrow(S.ScaleError)
    expect(S.decode(S.vec(S.u8, 6), six)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("a struct with a missing field is an error, not a silent zero (devchain-notes §3.3)", () => {
    const value = { mmr_root: `0x${"00".repeat(32)}`, start_seq: 1n } as unknown as Commitment
    expect(() => S.encode(Commitment, value)).toThrow("missing field leaf_count")
  })

  it("storage keys are twox128(pallet) ++ twox128(item) ++ the real hashers", () => {
    const key = eraC.storage.Buckets.key(1n)
    const id = new Uint8Array(8)
    id[0] = 1
    expect(key).toBe(u8aToHex(u8aConcat(
      xxhashAsU8a(stringToU8a("StorageProvider"), 128),
      xxhashAsU8a(stringToU8a("Buckets"), 128),
      blake2AsU8a(id, 128),
      id
    )))
    const blockHash = System.storage.BlockHash.key(5)
    expect(
      blockHash.endsWith(u8aToHex(u8aConcat(xxhashAsU8a(new Uint8Array([5, 0, 0, 0]), 64), [5, 0, 0, 0])).slice(2))
    ).toBe(true)
  })
})

describe("hostile extrinsic bytes", () => {
  const chain = new Chain(
    { era: "C", endowments: [], sudo: undefined, providers: [], buckets: [], genesisTime: 0n },
    { finalityLag: 0, blockTimeMs: 1_000, stateRetention: 16, maxExtrinsicsPerBlock: 10 }
  )
  // A real signed extrinsic to mutate: remark from an arbitrary signer (bad proof, but well formed).
  const valid = u8aConcat(
    compactToU8a(1 + 33 + 65 + 1 + 1 + 1 + 1 + 2 + 2),
    [0x84, 0x00],
    new Uint8Array(32).fill(9),
    [0x01],
    new Uint8Array(64).fill(7),
    [0x00, 0x00, 0x00, 0x00],
    [0x00, 0x00, 0x04, 0xbe]
  )

  it("the seed extrinsic parses", () => {
    expect(parseExtrinsic(profile("C"), valid).call).toEqual({
      _tag: "System",
      value: { _tag: "remark", remark: new Uint8Array([0xbe]) }
    })
  })

  it.prop("random and mutated bytes end in a node's RPC error, never an exception of another kind", [
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const copy = valid.slice()
        copy[at] = byte
        return copy
      }),
      fc.nat(valid.length).map((n) => valid.slice(0, n))
    )
  ], ([bytes]) => {
    try {
      chain.submit(bytes)
    } catch (error) {
      expect(error).toBeInstanceOf(RpcError)
      expect([1002, 1010, 1011]).toContain((error as RpcError).code)
      return
    }
    throw new Error("a hostile extrinsic was accepted")
  }, { fastCheck: { numRuns: 10_000 } })
})

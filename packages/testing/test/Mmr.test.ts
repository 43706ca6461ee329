import { assert, describe, it } from "@effect/vitest"
import { blake2AsU8a } from "@polkadot/util-crypto"
import { FastCheck as fc } from "effect"
import { Mmr } from "../src/Mmr.js"

const leaf = (i: number) => blake2AsU8a(`leaf:${i}`, 256)
const h = (a: Uint8Array, b: Uint8Array) => blake2AsU8a(Uint8Array.from([...a, ...b]), 256)

describe("Mmr", () => {
  it("the empty range's root is 32 zero bytes; one leaf is its own root", () => {
    const mmr = new Mmr()
    assert.deepStrictEqual(mmr.root(), new Uint8Array(32))
    mmr.append(leaf(0))
    assert.deepStrictEqual(mmr.root(), leaf(0))
  })

  it("merges equal peaks and bags the rest right to left", () => {
    const mmr = new Mmr()
    mmr.append(leaf(0), leaf(1), leaf(2))
    // Peaks: h(l0, l1) of height 1, and l2. Bagged: h(h(l0,l1), l2).
    assert.deepStrictEqual(mmr.root(), h(h(leaf(0), leaf(1)), leaf(2)))
    mmr.append(leaf(3))
    assert.deepStrictEqual(mmr.root(), h(h(leaf(0), leaf(1)), h(leaf(2), leaf(3))))
  })

  it.prop("rootAt(n) equals the root of a fresh range of the first n leaves", [
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 })
  ], ([total, at]) => {
    const full = new Mmr()
    for (let i = 0; i < total; i++) full.append(leaf(i))
    const prefix = new Mmr()
    for (let i = 0; i < Math.min(at, total); i++) prefix.append(leaf(i))
    assert.deepStrictEqual(full.rootAt(at), prefix.root())
  })

  it("refuses a leaf that is not 32 bytes", () => {
    assert.throws(() => new Mmr().append(new Uint8Array(31)), RangeError)
  })
})

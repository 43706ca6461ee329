import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { requiredSignatures, ThresholdPercent } from "../src/Threshold.js"

/** The rule evaluated with bigints: an independent reference for the integer arithmetic. */
const reference = (total: number, pct: number, min: number): number => {
  const product = BigInt(total) * BigInt(pct)
  const ceil = product / 100n + (product % 100n === 0n ? 0n : 1n)
  return Math.max(Number(ceil), min)
}

const total = fc.integer({ min: 0, max: 1000 })
const percent = fc.integer({ min: 0, max: 100 })
const minProviders = fc.integer({ min: 0, max: 1000 })

describe("requiredSignatures", () => {
  it("67% of 3 needs all 3, 66% of 3 needs 2: integer arithmetic at the anchor's rounding edge (anchor §5.7)", () => {
    assert.strictEqual(requiredSignatures({ total: 3, thresholdPercent: 67, minProviders: 0 }), 3)
    assert.strictEqual(requiredSignatures({ total: 3, thresholdPercent: 66, minProviders: 0 }), 2)
  })

  it("rounds up exactly at the edges", () => {
    const cases: ReadonlyArray<readonly [number, number, number]> = [
      [2, 50, 1],
      [4, 50, 2],
      [1, 51, 1],
      [2, 51, 2],
      [3, 51, 2],
      [4, 51, 3],
      [5, 51, 3],
      [100, 51, 51],
      [3, 34, 2],
      [3, 33, 1],
      [3, 100, 3],
      [7, 1, 1],
      [0, 51, 0]
    ]
    for (const [n, pct, expected] of cases) {
      assert.strictEqual(
        requiredSignatures({ total: n, thresholdPercent: pct, minProviders: 0 }),
        expected,
        `${pct}% of ${n}`
      )
    }
  })

  it("never goes below the bucket's min_providers", () => {
    assert.strictEqual(requiredSignatures({ total: 5, thresholdPercent: 51, minProviders: 4 }), 4)
    assert.strictEqual(requiredSignatures({ total: 5, thresholdPercent: 51, minProviders: 2 }), 3)
  })

  it("refuses out-of-range inputs as a programming error", () => {
    assert.throws(() => requiredSignatures({ total: -1, thresholdPercent: 51, minProviders: 0 }), RangeError)
    assert.throws(() => requiredSignatures({ total: 3, thresholdPercent: 101, minProviders: 0 }), RangeError)
    assert.throws(() => requiredSignatures({ total: 3, thresholdPercent: 50.5, minProviders: 0 }), RangeError)
  })

  it.prop("equals max(ceil(total * pct / 100), minProviders)", [total, percent, minProviders], ([n, pct, min]) => {
    assert.strictEqual(
      requiredSignatures({ total: n, thresholdPercent: pct, minProviders: min }),
      reference(n, pct, min)
    )
  })

  it.prop("is monotonic in total", [total, percent, minProviders], ([n, pct, min]) => {
    assert.isAtMost(
      requiredSignatures({ total: n, thresholdPercent: pct, minProviders: min }),
      requiredSignatures({ total: n + 1, thresholdPercent: pct, minProviders: min })
    )
  })

  it.prop("is monotonic in the percentage", [total, fc.integer({ min: 0, max: 99 }), minProviders], ([n, pct, min]) => {
    assert.isAtMost(
      requiredSignatures({ total: n, thresholdPercent: pct, minProviders: min }),
      requiredSignatures({ total: n, thresholdPercent: pct + 1, minProviders: min })
    )
  })

  it.prop("never exceeds total unless minProviders forces it", [total, percent, minProviders], ([n, pct, min]) => {
    const required = requiredSignatures({ total: n, thresholdPercent: pct, minProviders: min })
    assert.isTrue(required <= n || required === min)
  })

  it.prop("is never below minProviders", [total, percent, minProviders], ([n, pct, min]) => {
    assert.isAtLeast(requiredSignatures({ total: n, thresholdPercent: pct, minProviders: min }), min)
  })

  it.prop("is a strict majority of total at any threshold above 50%", [
    fc.integer({ min: 1, max: 1000 }),
    fc.integer({ min: 51, max: 100 })
  ], ([n, pct]) => {
    assert.isAbove(2 * requiredSignatures({ total: n, thresholdPercent: pct, minProviders: 0 }), n)
  })
})

describe("ThresholdPercent", () => {
  it("accepts whole percentages from 1 to 100", () => {
    assert.strictEqual(Schema.decodeUnknownSync(ThresholdPercent)(51), 51)
    assert.strictEqual(Schema.decodeUnknownSync(ThresholdPercent)(100), 100)
  })

  it("rejects 0, over 100 and fractions with a typed error", () => {
    for (const bad of [0, 101, 150, 50.5, "51"]) {
      assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(ThresholdPercent)(bad)), String(bad))
    }
  })
})

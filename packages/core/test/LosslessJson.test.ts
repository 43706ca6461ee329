import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc } from "effect"
import { parseJsonLossless } from "../src/internal/losslessJson.js"
import { decodeSignedCommitment } from "../src/ProviderApi.js"

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

describe("JSON with u64 values beyond 2^53", () => {
  it("keeps every digit of a large integer", () => {
    const parsed = Either.getOrThrow(
      parseJsonLossless("{\"a\": 18446744073709551615, \"b\": 5, \"c\": -9007199254740993}")
    )
    assert.deepStrictEqual(parsed, { a: "18446744073709551615", b: 5, c: "-9007199254740993" })
  })

  it("leaves numbers inside strings, fractions and exponents alone", () => {
    const parsed = Either.getOrThrow(
      parseJsonLossless("{\"s\": \"12345678901234567890 \\\" 99999999999999999\", \"f\": 1.5, \"e\": 1e3}")
    )
    assert.deepStrictEqual(parsed, { s: "12345678901234567890 \" 99999999999999999", f: 1.5, e: 1000 })
  })

  it("reports invalid JSON as a Left", () => {
    assert.isTrue(Either.isLeft(parseJsonLossless("{\"a\": ")))
  })

  it.prop("keeps any integer exact, in an object and in an array", [fc.bigInt()], ([n]) => {
    const expected = Number.isSafeInteger(Number(n)) ? Number(n) : n.toString()
    assert.deepStrictEqual(Either.getOrThrow(parseJsonLossless(`{"n": ${n}, "m": [${n}, ${n}]}`)), {
      n: expected,
      m: [expected, expected]
    })
  })

  it.effect("a provider body with a bucket id and counts near 2^64 decodes exactly", () =>
    Effect.gen(function*() {
      const text =
        `{"bucket_id": 18446744073709551615, "mmr_root": "${"ab".repeat(32)}", "start_seq": 9007199254740993, ` +
        `"leaf_count": 18446744073709551614, "provider_signature": "0x01${"11".repeat(64)}"}`
      const signed = yield* decodeSignedCommitment("http://p", Either.getOrThrow(parseJsonLossless(text)))
      assert.strictEqual(signed.bucketId, 18446744073709551615n)
      assert.strictEqual(signed.commitment.startSeq, 9007199254740993n)
      assert.strictEqual(signed.commitment.leafCount, 18446744073709551614n)
      assert.strictEqual(signed.commitment.mmrRoot, "0x" + "ab".repeat(32))
    }))
})

describe("invalid JSON is refused whatever the size of its numbers (RFC 8259's number grammar)", () => {
  // Each rule with a small number (which JSON.parse alone refuses) and one beyond 2^53 (which the
  // pre-pass must not quote into a valid string).
  const refused: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["a leading zero", ["01", "0123456789012345678901"]],
    ["a leading zero after a minus", ["-01", "-0123456789012345678901"]],
    ["a run of zeros before the digits", ["00", "0000000000000000000000000001"]],
    ["a minus alone", ["-", "- 12345678901234567890"]],
    ["a plus sign", ["+1", "+12345678901234567890"]],
    ["a point with no digits after it", ["1.", "12345678901234567890."]],
    ["a point with no digits before it", [".5", ".12345678901234567890"]],
    ["an exponent with no digits", ["1e", "12345678901234567890e+"]],
    ["hexadecimal", ["0x10", "0x12345678901234567890"]],
    ["two minus signs", ["--1", "--12345678901234567890"]]
  ]
  for (const [rule, literals] of refused) {
    it(`${rule}: ${literals.join(", ")}`, () => {
      for (const literal of literals) {
        const text = `{"leaf_count": ${literal}}`
        assert.isTrue(Either.isLeft(parseJsonLossless(text)), text)
      }
    })
  }

  it("a big integer where an object key belongs", () => {
    assert.isTrue(Either.isLeft(parseJsonLossless("{12345678901234567890: 1}")))
  })

  /** A number-like literal: sign, digits, fraction, exponent, junk, each possibly malformed. */
  const literal = fc.tuple(
    fc.constantFrom("", "-", "+", "--"),
    fc.constantFrom("", "0", "00"),
    fc.option(fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String), { nil: "" }),
    fc.constantFrom("", ".", ".5", ".0123", "e", "e+", "E-3", "e07", "x1F", " 1")
  ).map(([sign, zeros, digits, tail]) => sign + zeros + digits + tail)

  it.prop("accepts exactly the texts JSON.parse accepts", [
    literal,
    fc.constantFrom(["[", "]"], ["{\"a\": ", "}"], ["{", ": 1}"], ["", ""], ["[1, ", " ,2]"])
  ], ([number, [before, after]]) => {
    const text = before + number + after
    assert.strictEqual(Either.isRight(parseJsonLossless(text)), isJson(text), text)
  }, { fastCheck: { numRuns: 2_000 } })
})

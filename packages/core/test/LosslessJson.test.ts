import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parseJsonLossless } from "../src/internal/losslessJson.js"
import { decodeSignedCommitment } from "../src/ProviderApi.js"

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

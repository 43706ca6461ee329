import { assert, describe, it } from "@effect/vitest"
import { encodeAddress } from "@polkadot/util-crypto"
import { Either, FastCheck as fc, ParseResult, Schema } from "effect"
import * as Domain from "../src/Domain.js"

const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
const ALICE_HEX = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
// Alice's account under the Polkadot relay chain's prefix 0: a valid SS58 address of another network.
const ALICE_POLKADOT = encodeAddress(ALICE_HEX, 0)

/** Decodes and returns the error message, failing the test if decoding succeeded or threw. */
const failureMessage = <A, I>(schema: Schema.Schema<A, I>, input: unknown): string => {
  const result = Schema.decodeUnknownEither(schema)(input)
  if (Either.isRight(result)) assert.fail(`expected ${JSON.stringify(String(input))} to be rejected`)
  assert.instanceOf(result.left, ParseResult.ParseError)
  return result.left.message
}

const decodeOk = <A, I>(schema: Schema.Schema<A, I>, input: unknown): A => {
  const result = Schema.decodeUnknownEither(schema)(input)
  if (Either.isLeft(result)) assert.fail(result.left.message)
  return result.right
}

describe("BucketId", () => {
  it("decodes decimal strings, safe-integer numbers and bigints to the same bigint", () => {
    assert.strictEqual(decodeOk(Domain.BucketId, "42"), 42n)
    assert.strictEqual(decodeOk(Domain.BucketId, 42), 42n)
    assert.strictEqual(decodeOk(Domain.BucketId, 42n), 42n)
  })

  it("accepts the full u64 range, 0 to 2^64 - 1", () => {
    assert.strictEqual(decodeOk(Domain.BucketId, "0"), 0n)
    assert.strictEqual(decodeOk(Domain.BucketId, "18446744073709551615"), 2n ** 64n - 1n)
  })

  it("rejects 2^64 with a typed error naming the bound", () => {
    assert.include(failureMessage(Domain.BucketId, "18446744073709551616"), "below 2^64")
    assert.include(failureMessage(Domain.BucketId, 2n ** 64n), "below 2^64")
  })

  it("rejects negatives", () => {
    assert.include(failureMessage(Domain.BucketId, -1n), "negative")
    failureMessage(Domain.BucketId, -1)
    failureMessage(Domain.BucketId, "-1")
  })

  it("rejects numbers that JSON cannot carry exactly, fractions and non-numeric text", () => {
    assert.include(failureMessage(Domain.BucketId, 2 ** 60), "precision")
    failureMessage(Domain.BucketId, 1.5)
    failureMessage(Domain.BucketId, "0x10")
    failureMessage(Domain.BucketId, "1e3")
    failureMessage(Domain.BucketId, "")
    failureMessage(Domain.BucketId, "9".repeat(10_000))
    failureMessage(Domain.BucketId, null)
  })

  it("encodes to a decimal string", () => {
    assert.strictEqual(Schema.encodeSync(Domain.BucketId)(decodeOk(Domain.BucketId, 7n)), "7")
  })

  it.prop("round-trips every u64 through its string form", [Domain.BucketIdFromSelf], ([bucket]) => {
    const text = Schema.encodeSync(Domain.BucketId)(bucket)
    assert.strictEqual(Schema.decodeSync(Domain.BucketId)(text), bucket)
  })
})

describe("BlockNumber", () => {
  it("is a u32", () => {
    assert.strictEqual(decodeOk(Domain.BlockNumber, 4_294_967_295), 4_294_967_295)
    failureMessage(Domain.BlockNumber, 4_294_967_296)
    failureMessage(Domain.BlockNumber, -1)
    failureMessage(Domain.BlockNumber, 1.5)
  })
})

describe("H256", () => {
  const upper = "0x" + "AB".repeat(32)

  it("accepts any case and holds lowercase", () => {
    assert.strictEqual(decodeOk(Domain.H256, upper), "0x" + "ab".repeat(32))
  })

  it("requires the 0x prefix", () => {
    assert.include(failureMessage(Domain.H256, "ab".repeat(32)), "0x")
  })

  it("rejects odd-length hex", () => {
    assert.include(failureMessage(Domain.H256, "0x" + "a".repeat(63)), "odd")
  })

  it("rejects 31 and 33 bytes", () => {
    assert.include(failureMessage(Domain.H256, "0x" + "00".repeat(31)), "31 bytes")
    assert.include(failureMessage(Domain.H256, "0x" + "00".repeat(33)), "33 bytes")
  })

  it("rejects non-hex characters", () => {
    assert.include(failureMessage(Domain.H256, "0x" + "zz".repeat(32)), "character")
  })

  it("has a lenient variant for provider bodies where 0x is optional", () => {
    assert.strictEqual(decodeOk(Domain.H256Lenient, "CD".repeat(32)), "0x" + "cd".repeat(32))
  })

  it.prop("round-trips through bytes", [Domain.H256FromSelf], ([hash]) => {
    assert.strictEqual(Domain.h256FromBytes(Domain.h256ToBytes(hash)), hash)
  })
})

describe("AccountId", () => {
  it("accepts SS58 with prefix 42 and holds it unchanged", () => {
    assert.strictEqual(decodeOk(Domain.AccountId, ALICE), ALICE)
  })

  it("accepts 0x hex of 32 bytes and prints SS58", () => {
    assert.strictEqual(decodeOk(Domain.AccountId, ALICE_HEX), ALICE)
    assert.strictEqual(decodeOk(Domain.AccountId, ALICE_HEX.toUpperCase().replace("0X", "0x")), ALICE)
    assert.strictEqual(Schema.encodeSync(Domain.AccountId)(decodeOk(Domain.AccountId, ALICE_HEX)), ALICE)
  })

  it("gives back the 32 raw bytes", () => {
    const bytes = Domain.accountIdToBytes(decodeOk(Domain.AccountId, ALICE))
    assert.strictEqual(Buffer.from(bytes).toString("hex"), ALICE_HEX.slice(2))
  })

  it("rejects a 31-byte key", () => {
    assert.include(failureMessage(Domain.AccountId, "0x" + "11".repeat(31)), "32 bytes")
  })

  it("rejects odd-length hex", () => {
    assert.include(failureMessage(Domain.AccountId, "0x" + "1".repeat(63)), "odd")
  })

  it("rejects an SS58 address with a bad checksum", () => {
    const tampered = ALICE.slice(0, -1) + (ALICE.endsWith("Y") ? "Z" : "Y")
    assert.include(failureMessage(Domain.AccountId, tampered), "malformed SS58")
  })

  it("rejects malformed base58 and empty text", () => {
    failureMessage(Domain.AccountId, "0OIl-not-base58")
    failureMessage(Domain.AccountId, "")
    failureMessage(Domain.AccountId, "x".repeat(500))
  })

  it("rejects an address of another network's prefix", () => {
    assert.include(failureMessage(Domain.AccountId, ALICE_POLKADOT), "42")
  })

  it.prop("round-trips any 32 bytes through SS58", [fc.uint8Array({ minLength: 32, maxLength: 32 })], ([bytes]) => {
    const account = Domain.accountIdFromBytes(bytes)
    assert.isDefined(account)
    assert.deepStrictEqual(Domain.accountIdToBytes(decodeOk(Domain.AccountId, account)), bytes)
  })
})

describe("PublicKey", () => {
  it("accepts 32 and 33 bytes, with or without 0x, and holds lowercase 0x hex", () => {
    assert.strictEqual(decodeOk(Domain.PublicKey, "AA".repeat(32)), "0x" + "aa".repeat(32))
    assert.strictEqual(decodeOk(Domain.PublicKey, "0x02" + "bb".repeat(32)), "0x02" + "bb".repeat(32))
  })

  it("rejects a 31-byte key", () => {
    assert.include(failureMessage(Domain.PublicKey, "0x" + "aa".repeat(31)), "31")
  })

  it("is the account's own bytes for an sr25519 account", () => {
    assert.strictEqual(Domain.publicKeyOfAccount(decodeOk(Domain.AccountId, ALICE)), ALICE_HEX)
  })
})

describe("MultiSignature", () => {
  const body64 = new Uint8Array(64).fill(0x11)
  const body65 = new Uint8Array(65).fill(0x22)
  const withVariant = (variant: number, body: Uint8Array) => Uint8Array.from([variant, ...body])

  it("reads 64 raw bytes as Sr25519 (older provider nodes)", () => {
    assert.deepStrictEqual(decodeOk(Domain.MultiSignatureFromBytes, body64), { _tag: "Sr25519", bytes: body64 })
  })

  it("reads the 65-byte SCALE form by its variant byte", () => {
    assert.strictEqual(decodeOk(Domain.MultiSignatureFromBytes, withVariant(0, body64))._tag, "Ed25519")
    assert.strictEqual(decodeOk(Domain.MultiSignatureFromBytes, withVariant(1, body64))._tag, "Sr25519")
  })

  it("reads the 66-byte SCALE form of Ecdsa and Eth", () => {
    assert.deepStrictEqual(decodeOk(Domain.MultiSignatureFromBytes, withVariant(2, body65)), {
      _tag: "Ecdsa",
      bytes: body65
    })
    assert.strictEqual(decodeOk(Domain.MultiSignatureFromBytes, withVariant(3, body65))._tag, "Eth")
  })

  it("rejects 63 bytes", () => {
    assert.include(failureMessage(Domain.MultiSignatureFromBytes, new Uint8Array(63)), "63 bytes")
  })

  it("rejects a body of the wrong length for its variant", () => {
    assert.include(failureMessage(Domain.MultiSignatureFromBytes, withVariant(2, body64)), "Ecdsa signature is 65")
    assert.include(failureMessage(Domain.MultiSignatureFromBytes, withVariant(1, body65)), "Sr25519 signature is 64")
  })

  it("rejects an unknown variant", () => {
    assert.include(failureMessage(Domain.MultiSignatureFromBytes, withVariant(7, body64)), "variant 7")
  })

  it("decodes hex with or without 0x and rejects odd-length hex", () => {
    const hex = Buffer.from(withVariant(1, body64)).toString("hex")
    assert.strictEqual(decodeOk(Domain.MultiSignatureFromHex, hex)._tag, "Sr25519")
    assert.strictEqual(decodeOk(Domain.MultiSignatureFromHex, "0x" + hex)._tag, "Sr25519")
    assert.include(failureMessage(Domain.MultiSignatureFromHex, "0x" + hex.slice(1)), "odd")
  })

  it("encodes to the SCALE form", () => {
    const sig = decodeOk(Domain.MultiSignatureFromBytes, body64)
    assert.deepStrictEqual(Domain.encodeMultiSignature(sig), withVariant(1, body64))
    assert.strictEqual(Schema.encodeSync(Domain.MultiSignatureFromHex)(sig), "0x01" + "11".repeat(64))
  })

  it.prop("round-trips every signature through its SCALE bytes", [Domain.MultiSignature], ([signature]) => {
    const bytes = Domain.encodeMultiSignature(signature)
    assert.deepStrictEqual(Either.getOrThrow(Domain.decodeMultiSignature(bytes)), signature)
  })

  it.prop(
    "never throws on arbitrary bytes: a value or a typed error",
    [fc.uint8Array({ minLength: 0, maxLength: 80 })],
    ([bytes]) => {
      const result = Domain.decodeMultiSignature(bytes)
      assert.isTrue(Either.isRight(result) || result.left instanceof ParseResult.ParseError)
    }
  )
})

describe("Commitment and ProviderInfo", () => {
  it("decode from provider-style values and encode to JSON-safe values", () => {
    const commitment = decodeOk(Domain.Commitment, { mmrRoot: "0x" + "AB".repeat(32), startSeq: 0, leafCount: "10" })
    assert.strictEqual(commitment.mmrRoot, "0x" + "ab".repeat(32))
    assert.strictEqual(commitment.leafCount, 10n)
    assert.deepStrictEqual(Schema.encodeSync(Domain.Commitment)(commitment), {
      mmrRoot: "0x" + "ab".repeat(32),
      startSeq: "0",
      leafCount: "10"
    })
  })

  it("rejects a provider whose endpoint is not http(s)", () => {
    const provider = { accountId: ALICE, endpoint: "ftp://x", publicKey: ALICE_HEX, multiaddr: "/ip4/1.2.3.4/tcp/1" }
    assert.include(failureMessage(Domain.ProviderInfo, provider), "http or https")
    const ok = decodeOk(Domain.ProviderInfo, { ...provider, endpoint: "http://1.2.3.4:1" })
    assert.strictEqual(ok.accountId, ALICE)
  })
})

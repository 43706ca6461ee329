import { assert, describe, it } from "@effect/vitest"
import { secp256k1Expand } from "@polkadot/util-crypto"
import { Effect, Either, Schema } from "effect"
import { encodeCommitmentPayload } from "../src/CommitmentPayload.js"
import * as Domain from "../src/Domain.js"
import * as VerifiedSignatures from "../src/internal/verifiedSignatures.js"
import { InvalidSignature, SignatureVerifier, verifyMultiSignature } from "../src/SignatureVerifier.js"
import type { Scheme } from "./keys.js"
import { devKey } from "./keys.js"

const TAG: Record<Scheme, Domain.MultiSignature["_tag"]> = {
  sr25519: "Sr25519",
  ed25519: "Ed25519",
  ecdsa: "Ecdsa",
  ethereum: "Eth"
}

const payload = encodeCommitmentPayload({
  bucketId: 7n,
  mmrRoot: Schema.decodeSync(Domain.H256)("0x" + "ab".repeat(32)),
  startSeq: 0n,
  leafCount: 10n
})
const otherPayload = encodeCommitmentPayload({
  bucketId: 7n,
  mmrRoot: Schema.decodeSync(Domain.H256)("0x" + "ab".repeat(32)),
  startSeq: 0n,
  leafCount: 11n
})

const keyOf = (bytes: Uint8Array) => {
  const key = Domain.publicKeyFromBytes(bytes)
  assert.isDefined(key)
  return key!
}

const signed = (scheme: Scheme, signer: "Alice" | "Bob" = "Alice", message = payload) => {
  const pair = devKey(signer, scheme)
  return {
    signature: { _tag: TAG[scheme], bytes: pair.sign(message) } as Domain.MultiSignature,
    publicKey: keyOf(pair.publicKey)
  }
}

const failure = (result: Either.Either<void, InvalidSignature>): InvalidSignature => {
  if (Either.isRight(result)) assert.fail("expected the signature to be refused")
  assert.instanceOf(result.left, InvalidSignature)
  return result.left
}

const schemes: ReadonlyArray<Scheme> = ["sr25519", "ed25519", "ecdsa", "ethereum"]

describe("verifyMultiSignature", () => {
  for (const scheme of schemes) {
    describe(scheme, () => {
      it("accepts a good signature over the commitment payload", () => {
        const { publicKey, signature } = signed(scheme)
        assert.isTrue(Either.isRight(verifyMultiSignature({ signature, message: payload, publicKey })))
      })

      it("refuses a signature checked against another key", () => {
        const { signature } = signed(scheme)
        const bob = keyOf(devKey("Bob", scheme).publicKey)
        assert.strictEqual(
          failure(verifyMultiSignature({ signature, message: payload, publicKey: bob })).reason,
          "Mismatch"
        )
      })

      it("refuses a signature over another payload", () => {
        const { publicKey, signature } = signed(scheme)
        const error = failure(verifyMultiSignature({ signature, message: otherPayload, publicKey }))
        assert.strictEqual(error.reason, "Mismatch")
        assert.strictEqual(error.scheme, TAG[scheme])
      })

      it("refuses a signature one byte short, as Malformed, without throwing", () => {
        const { publicKey, signature } = signed(scheme)
        const short = { ...signature, bytes: signature.bytes.subarray(1) }
        assert.strictEqual(
          failure(verifyMultiSignature({ signature: short, message: payload, publicKey })).reason,
          "Malformed"
        )
      })
    })
  }

  it("refuses an sr25519 signature labelled Ed25519 (wrong variant)", () => {
    const { publicKey, signature } = signed("sr25519")
    const relabelled: Domain.MultiSignature = { _tag: "Ed25519", bytes: signature.bytes }
    assert.strictEqual(
      failure(verifyMultiSignature({ signature: relabelled, message: payload, publicKey })).reason,
      "Mismatch"
    )
  })

  it("refuses an ecdsa signature labelled Eth: the hash differs", () => {
    const { publicKey, signature } = signed("ecdsa")
    const relabelled: Domain.MultiSignature = { _tag: "Eth", bytes: signature.bytes }
    assert.strictEqual(
      failure(verifyMultiSignature({ signature: relabelled, message: payload, publicKey })).reason,
      "Mismatch"
    )
  })

  it("refuses an Sr25519 signature for a 33-byte secp256k1 key as KeyScheme", () => {
    const { signature } = signed("sr25519")
    const ecdsaKey = keyOf(devKey("Alice", "ecdsa").publicKey)
    const error = failure(verifyMultiSignature({ signature, message: payload, publicKey: ecdsaKey }))
    assert.strictEqual(error.reason, "KeyScheme")
    assert.include(error.message, "32-byte key")
  })

  it("refuses an Ecdsa signature for a 32-byte key as KeyScheme", () => {
    const { signature } = signed("ecdsa")
    const srKey = keyOf(devKey("Alice", "sr25519").publicKey)
    assert.strictEqual(
      failure(verifyMultiSignature({ signature, message: payload, publicKey: srKey })).reason,
      "KeyScheme"
    )
  })

  it("refuses an ecdsa signature whose recovery id is out of range as Malformed", () => {
    const { publicKey, signature } = signed("ecdsa")
    const bytes = signature.bytes.slice()
    bytes[64] = 9
    const error = failure(verifyMultiSignature({ signature: { _tag: "Ecdsa", bytes }, message: payload, publicKey }))
    assert.strictEqual(error.reason, "Malformed")
  })

  it("accepts a 64-byte uncompressed secp256k1 key", () => {
    const pair = devKey("Alice", "ecdsa")
    const { signature } = signed("ecdsa")
    const expanded = secp256k1Expand(pair.publicKey)
    // util-crypto returns x‖y (64 bytes); strip a 0x04 tag if a version ever adds it.
    const uncompressed = keyOf(expanded.length === 65 ? expanded.subarray(1) : expanded)
    assert.isTrue(Either.isRight(verifyMultiSignature({ signature, message: payload, publicKey: uncompressed })))
  })

  it("refuses, without throwing, a 32-byte key that is not a curve point", () => {
    const { signature } = signed("sr25519")
    const notAPoint = keyOf(new Uint8Array(32).fill(0xff))
    assert.strictEqual(
      failure(verifyMultiSignature({ signature, message: payload, publicKey: notAPoint })).reason,
      "Mismatch"
    )
  })
})

describe("provider_signature as sent over HTTP", () => {
  it("the 64-byte raw hex of older providers decodes to Sr25519 and verifies", () => {
    const alice = devKey("Alice")
    const hex = "0x" + Buffer.from(alice.sign(payload)).toString("hex")
    const signature = Schema.decodeSync(Domain.MultiSignatureFromHex)(hex)
    const result = verifyMultiSignature({ signature, message: payload, publicKey: keyOf(alice.publicKey) })
    assert.isTrue(Either.isRight(result))
  })

  it("the 65-byte SCALE hex of newer providers decodes and verifies", () => {
    const alice = devKey("Alice")
    const hex = "0x01" + Buffer.from(alice.sign(payload)).toString("hex")
    const signature = Schema.decodeSync(Domain.MultiSignatureFromHex)(hex)
    assert.strictEqual(signature._tag, "Sr25519")
    assert.isTrue(
      Either.isRight(verifyMultiSignature({ signature, message: payload, publicKey: keyOf(alice.publicKey) }))
    )
  })

  it("a 63-byte signature is a typed decode error, before any verification", () => {
    const hex = "0x" + "11".repeat(63)
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Domain.MultiSignatureFromHex)(hex)))
  })
})

describe("SignatureVerifier.layer", () => {
  it.layer(SignatureVerifier.layer)((it) => {
    it.effect("verifies through the service", () =>
      Effect.gen(function*() {
        const verifier = yield* SignatureVerifier
        const { publicKey, signature } = signed("sr25519")
        yield* verifier.verify({ signature, message: payload, publicKey })
        const error = yield* Effect.flip(verifier.verify({ signature, message: otherPayload, publicKey }))
        assert.strictEqual(error._tag, "InvalidSignature")
        assert.strictEqual(error.reason, "Mismatch")
      }))
  })
})

describe("SignatureVerifier.layer: signatures already verified", () => {
  it.layer(SignatureVerifier.layerWith({ verifiedCacheSize: 4 }))((it) => {
    it.effect("a signature verified valid is valid again for the same bytes", () =>
      Effect.gen(function*() {
        const verifier = yield* SignatureVerifier
        const { publicKey, signature } = signed("sr25519")
        yield* verifier.verify({ signature, message: payload, publicKey })
        yield* verifier.verify({ signature, message: payload, publicKey })
      }))

    it.effect("a signature differing by one byte from a verified one is verified afresh and refused", () =>
      Effect.gen(function*() {
        const verifier = yield* SignatureVerifier
        const { publicKey, signature } = signed("sr25519")
        yield* verifier.verify({ signature, message: payload, publicKey })
        const tampered = new Uint8Array(signature.bytes)
        tampered[10] ^= 1
        const error = yield* Effect.flip(
          verifier.verify({ signature: { _tag: "Sr25519", bytes: tampered }, message: payload, publicKey })
        )
        assert.strictEqual(error.reason, "Mismatch")
      }))

    it.effect("a verified signature is refused for another message or another key", () =>
      Effect.gen(function*() {
        const verifier = yield* SignatureVerifier
        const { publicKey, signature } = signed("sr25519")
        yield* verifier.verify({ signature, message: payload, publicKey })
        const otherMessage = yield* Effect.flip(verifier.verify({ signature, message: otherPayload, publicKey }))
        assert.strictEqual(otherMessage.reason, "Mismatch")
        const bob = signed("sr25519", "Bob")
        const otherKey = yield* Effect.flip(verifier.verify({ signature, message: payload, publicKey: bob.publicKey }))
        assert.strictEqual(otherKey.reason, "Mismatch")
      }))

    it.effect("a signature found invalid is refused every time", () =>
      Effect.gen(function*() {
        const verifier = yield* SignatureVerifier
        const { publicKey, signature } = signed("sr25519")
        for (let i = 0; i < 3; i++) {
          const error = yield* Effect.flip(verifier.verify({ signature, message: otherPayload, publicKey }))
          assert.strictEqual(error.reason, "Mismatch")
        }
      }))
  })

  it("the record keeps at most its capacity, a new signature replacing one of the others", () => {
    const record = VerifiedSignatures.make(2, () => 0)
    record.add("a")
    record.add("b")
    record.add("c")
    assert.strictEqual(record.size(), 2)
    assert.isFalse(record.has("a"))
    assert.isTrue(record.has("b"))
    assert.isTrue(record.has("c"))
    record.add("c")
    assert.strictEqual(record.size(), 2)
  })
})

/**
 * Local verification of provider signatures against the public key the provider registered on
 * chain, exactly as the pallet's `verify_signature` will check them: a bad signature is caught before
 * a fee is paid, and the provider that sent it is identified.
 *
 * - `Sr25519`, `Ed25519`: the raw message, a 32-byte key.
 * - `Ecdsa`: secp256k1 over `blake2_256(message)`, the key 33 bytes compressed.
 * - `Eth`: secp256k1 over `keccak_256(message)`, the key 33 bytes compressed.
 *
 * A 64-byte registered key is taken as an uncompressed secp256k1 key without its `0x04` tag.
 *
 * @since 0.1.0
 */
import { u8aEq } from "@polkadot/util"
import {
  blake2AsU8a,
  cryptoWaitReady,
  ed25519Verify,
  keccakAsU8a,
  secp256k1Compress,
  secp256k1Recover,
  sr25519Verify
} from "@polkadot/util-crypto"
import * as wasmCrypto from "@polkadot/wasm-crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MultiSignature, PublicKey } from "./Domain.js"
import { publicKeyToBytes } from "./Domain.js"
import * as VerifiedSignatures from "./internal/verifiedSignatures.js"

/**
 * A signature that does not verify, or cannot be checked against the registered key.
 *
 * - `Mismatch`: well-formed, but not a signature of this message by this key.
 * - `KeyScheme`: the registered key cannot verify this kind of signature (e.g. an Ed25519 signature
 *   for a 33-byte secp256k1 key).
 * - `Malformed`: the signature bytes themselves are unusable (wrong length, bad recovery id).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidSignature extends Schema.TaggedError<InvalidSignature>()("InvalidSignature", {
  scheme: Schema.Literal("Ed25519", "Sr25519", "Ecdsa", "Eth"),
  reason: Schema.Literal("Mismatch", "KeyScheme", "Malformed"),
  publicKey: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.scheme} signature for key ${this.publicKey}: ${this.detail}`
  }
}

/**
 * What is verified: a signature over raw message bytes, against a registered public key.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyInput {
  readonly signature: MultiSignature
  readonly message: Uint8Array
  readonly publicKey: PublicKey
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SignatureVerifierService {
  /** Succeeds when the signature verifies; otherwise fails with why it does not. */
  readonly verify: (input: VerifyInput) => Effect.Effect<void, InvalidSignature>
}

/** About 300 bytes each (a key of some 200 one-byte characters, and its map entry): about 5 MB when full. */
const DEFAULT_VERIFIED_CACHE_SIZE = 16_384

/**
 * The signature verification service.
 *
 * @since 0.1.0
 * @category tags
 */
export class SignatureVerifier extends Context.Tag("@checkpointer/core/SignatureVerifier")<
  SignatureVerifier,
  SignatureVerifierService
>() {
  /**
   * Verification through `@polkadot/util-crypto`, remembering up to `verifiedCacheSize` signatures found
   * valid (default 16,384, about 5 MB; 0 remembers none): an answer byte-identical to one verified before
   * (the same scheme, key, message and signature; an idle bucket's providers send it every round) is
   * valid without verifying it again. Only valid ones are remembered; verification being a pure function
   * of those bytes, the result is the same either way. A watcher with more idle buckets × providers than
   * that still gains, less (a new signature replaces a remembered one at random); size it to their count
   * to verify each idle answer once. Waits for util-crypto's WebAssembly to load; where it
   * cannot load, the library's pure-JavaScript implementations are used and the layer says so in the log.
   */
  static readonly layerWith = (options: { readonly verifiedCacheSize?: number | undefined } = {}) =>
    Layer.effect(
      SignatureVerifier,
      Effect.gen(function*() {
        const wasm = yield* Effect.promise(() => cryptoWaitReady())
        if (!wasm) yield* Effect.logWarning("util-crypto WebAssembly unavailable; verifying in JavaScript")
        const capacity = Math.max(0, Math.floor(options.verifiedCacheSize ?? DEFAULT_VERIFIED_CACHE_SIZE))
        if (capacity === 0) {
          return SignatureVerifier.of({ verify: (input) => Effect.suspend(() => verifyMultiSignature(input)) })
        }
        const verified = VerifiedSignatures.make(capacity)
        return SignatureVerifier.of({
          verify: (input) =>
            Effect.suspend(() => {
              const key = VerifiedSignatures.keyOf(input.signature, input.message, input.publicKey)
              if (verified.has(key)) return VALID
              const result = verifyMultiSignature(input)
              if (Either.isRight(result)) verified.add(key)
              return result
            })
        })
      })
    )

  /** `layerWith()`: the default cache of valid signatures. */
  static readonly layer: Layer.Layer<SignatureVerifier> = SignatureVerifier.layerWith()
}

const SECP_KEY_LENGTHS = [33, 64]

const invalid = (
  input: VerifyInput,
  reason: InvalidSignature["reason"],
  detail: string
): Either.Either<void, InvalidSignature> =>
  Either.left(
    new InvalidSignature({ scheme: input.signature._tag, reason, publicKey: input.publicKey, detail }, true)
  )

const VALID: Either.Either<void, InvalidSignature> = Either.void

const compressedKey = (key: Uint8Array): Uint8Array | undefined => {
  try {
    if (key.length === 33) return key
    const tagged = new Uint8Array(65)
    tagged[0] = 4
    tagged.set(key, 1)
    return secp256k1Compress(tagged)
  } catch {
    // Not a point on the curve: such a key can verify nothing.
    return undefined
  }
}

const verifySecp256k1 = (input: VerifyInput, key: Uint8Array, digest: Uint8Array) => {
  const signature = input.signature.bytes
  if (signature.length !== 65) return invalid(input, "Malformed", `expected 65 bytes, got ${signature.length}`)
  const v = signature[64]
  const recovery = v >= 27 ? v - 27 : v
  if (recovery > 3) return invalid(input, "Malformed", `recovery id ${v} is out of range`)
  const expected = compressedKey(key)
  if (expected === undefined) return invalid(input, "KeyScheme", "the registered key is not a secp256k1 point")
  let recovered: Uint8Array
  try {
    // 'blake2' only selects the compressed output form here; the digest was computed by the caller.
    recovered = secp256k1Recover(digest, signature, recovery, "blake2")
  } catch {
    return invalid(input, "Mismatch", "no public key can be recovered from this signature")
  }
  return u8aEq(recovered, expected) ? VALID : invalid(input, "Mismatch", "signed by a different key")
}

/**
 * sr25519 through the wasm build of schnorrkel once initialised (about 7x faster than the pure-JS path
 * util-crypto 14 takes); util-crypto's otherwise. Both verify the same signatures.
 */
const fastSr25519Verify = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean =>
  wasmCrypto.isReady()
    ? wasmCrypto.sr25519Verify(signature, message, publicKey)
    : sr25519Verify(message, signature, publicKey)

/**
 * Verifies synchronously, without the service (the service's implementation, exported for callers
 * that verify in bulk, such as benchmarks). Requires util-crypto to be initialised for the fast path.
 *
 * @since 0.1.0
 * @category verification
 */
export const verifyMultiSignature = (input: VerifyInput): Either.Either<void, InvalidSignature> => {
  const key = publicKeyToBytes(input.publicKey)
  const { bytes, _tag } = input.signature
  switch (_tag) {
    case "Sr25519":
    case "Ed25519": {
      if (key.length !== 32) {
        return invalid(input, "KeyScheme", `an ${_tag} signature needs a 32-byte key, the key has ${key.length}`)
      }
      if (bytes.length !== 64) return invalid(input, "Malformed", `expected 64 bytes, got ${bytes.length}`)
      let ok: boolean
      try {
        ok = _tag === "Sr25519"
          ? fastSr25519Verify(input.message, bytes, key)
          : ed25519Verify(input.message, bytes, key)
      } catch {
        // @scure/sr25519 throws when the key bytes do not decode to a curve point.
        ok = false
      }
      return ok ? VALID : invalid(input, "Mismatch", "the signature does not match this message and key")
    }
    case "Ecdsa":
    case "Eth": {
      if (!SECP_KEY_LENGTHS.includes(key.length)) {
        return invalid(
          input,
          "KeyScheme",
          `an ${_tag} signature needs a 33-byte secp256k1 key, the key has ${key.length}`
        )
      }
      const digest = _tag === "Ecdsa" ? blake2AsU8a(input.message, 256) : keccakAsU8a(input.message, 256)
      return verifySecp256k1(input, key, digest)
    }
  }
}

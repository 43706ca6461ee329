/**
 * Signed extrinsics as a node reads them: the V4 envelope parsed by hand (not with polkadot.js, whose
 * blind spots the devchain must not share), the signing payload rebuilt, the signature checked, and
 * the transaction-validity errors a Substrate pool returns.
 *
 * @internal
 */
import { u8aConcat, u8aEq, u8aToHex } from "@polkadot/util"
import {
  blake2AsU8a,
  ed25519Verify,
  keccakAsU8a,
  secp256k1Compress,
  secp256k1Recover,
  sr25519Verify
} from "@polkadot/util-crypto"
import * as wasmCrypto from "@polkadot/wasm-crypto"
import type { Profile } from "./runtime.js"
import * as S from "./scale.js"
import type { Hex, MultiSignature } from "./types.js"
import { MultiSignature as MultiSignatureCodec } from "./types.js"

export type MortalEra = { readonly _tag: "Immortal" } | {
  readonly _tag: "Mortal"
  readonly period: number
  readonly phase: number
}

export interface SignedPart {
  readonly signer: Hex
  readonly signature: MultiSignature
  readonly era: MortalEra
  readonly nonce: number
  readonly tip: bigint
  readonly metadataHashMode: number
  /** The extension bytes between the signature and the call, as signed. */
  readonly extra: Uint8Array
}

export interface Extrinsic<Call> {
  /** The full encoding, length prefix included, as it appears in a block body. */
  readonly bytes: Uint8Array
  readonly hash: Hex
  readonly signed: SignedPart | undefined
  readonly call: Call
  readonly callBytes: Uint8Array
}

/** Why a transaction is not valid, with the message Substrate's RPC returns (code 1010 or 1011). */
export type InvalidReason =
  | "Stale"
  | "Future"
  | "BadProof"
  | "AncientBirthBlock"
  | "Payment"
  | "Call"
  | "BadSigner"
  | "ExhaustsResources"
  | "CannotLookup"

export const INVALID_MESSAGE: Record<InvalidReason, string> = {
  Stale: "Transaction is outdated",
  Future: "Transaction will be valid in the future",
  BadProof: "Transaction has a bad signature",
  AncientBirthBlock: "Transaction has an ancient birth block",
  Payment: "Inability to pay some fees (e.g. account balance too low)",
  Call: "Transaction call is not expected",
  BadSigner: "Transaction has an invalid signer",
  ExhaustsResources: "Transaction would exhaust the block limits",
  CannotLookup: "Could not lookup information required to validate the transaction"
}

const decodeEra = (r: S.Reader): MortalEra => {
  const first = r.u8()
  if (first === 0) return { _tag: "Immortal" }
  const encoded = first + (r.u8() << 8)
  const period = 2 << (encoded % (1 << 4))
  const quantizeFactor = Math.max(period >> 12, 1)
  const phase = (encoded >> 4) * quantizeFactor
  if (period < 4 || phase >= period) throw new S.ScaleError("invalid mortal era")
  return { _tag: "Mortal", period, phase }
}

/** The block whose hash the signer committed to, for a transaction checked at block `current`. */
export const eraBirth = (era: MortalEra, current: number): number =>
  era._tag === "Immortal"
    ? 0
    : Math.floor((Math.max(current, era.phase) - era.phase) / era.period) * era.period + era.phase

export const eraDeath = (era: MortalEra, current: number): number =>
  era._tag === "Immortal" ? Number.MAX_SAFE_INTEGER : eraBirth(era, current) + era.period

/** Parses `compact(len) ++ version ++ [address ++ signature ++ extra] ++ call`; throws `ScaleError` on bad input. */
export const parseExtrinsic = <Call>(profile: Profile, bytes: Uint8Array): Extrinsic<Call> => {
  const outer = new S.Reader(bytes)
  const length = outer.length()
  const bodyStart = outer.offset
  if (bodyStart + length !== bytes.length) throw new S.ScaleError("extrinsic length prefix does not match")
  const r = outer
  const version = r.u8()
  if ((version & 0x7f) !== 4) throw new S.ScaleError(`unsupported extrinsic version ${version & 0x7f}`)
  let signed: SignedPart | undefined
  if ((version & 0x80) !== 0) {
    const addressTag = r.u8()
    if (addressTag !== 0) throw new S.ScaleError("only MultiAddress::Id signers are supported")
    const signer = u8aToHex(r.take(32))
    const signature = MultiSignatureCodec.decodeFrom(r)
    const extraStart = r.offset
    const era = decodeEra(r)
    const nonce = r.compact()
    const tip = r.compact()
    const metadataHashMode = r.u8()
    if (metadataHashMode > 1) throw new S.ScaleError(`CheckMetadataHash mode ${metadataHashMode}`)
    if (nonce > 0xffffffffn) throw new S.ScaleError("nonce exceeds u32")
    signed = {
      signer,
      signature,
      era,
      nonce: Number(nonce),
      tip,
      metadataHashMode,
      extra: bytes.slice(extraStart, r.offset)
    }
  }
  const callStart = r.offset
  const call = profile.RuntimeCall.decodeFrom(r) as Call
  r.done()
  return {
    bytes,
    hash: u8aToHex(blake2AsU8a(bytes, 256)),
    signed,
    call,
    callBytes: bytes.slice(callStart)
  }
}

/** What the signer signed: `call ++ extra ++ additional_signed`, hashed when longer than 256 bytes. */
export const signingPayload = (
  callBytes: Uint8Array,
  signed: SignedPart,
  additional: { specVersion: number; transactionVersion: number; genesisHash: Uint8Array; birthHash: Uint8Array }
): Uint8Array => {
  const w = new S.Writer()
  w.bytes(callBytes)
  w.bytes(signed.extra)
  w.uint(additional.specVersion, 4)
  w.uint(additional.transactionVersion, 4)
  w.bytes(additional.genesisHash)
  w.bytes(additional.birthHash)
  // CheckMetadataHash: mode Disabled signs `None`; the devchain publishes no metadata hash, so
  // `Enabled` cannot verify (as on a node without the hash configured).
  w.u8(0)
  const payload = w.finish()
  return payload.length > 256 ? blake2AsU8a(payload, 256) : payload
}

/** Checks a `MultiSignature` by an account (for ecdsa, the account is blake2_256 of the compressed key). */
export const verifyBy = (signature: MultiSignature, message: Uint8Array, account: Uint8Array): boolean => {
  try {
    switch (signature._tag) {
      case "Sr25519":
        return fastSr25519Verify(message, signature.value, account)
      case "Ed25519":
        return ed25519Verify(message, signature.value, account)
      case "Ecdsa":
        return u8aEq(blake2AsU8a(recoverCompressed(message, signature.value), 256), account)
      case "Eth":
        // Eth-signed transactions map to accounts by a derivation this devchain does not model.
        return false
    }
  } catch {
    return false
  }
}

/** Checks a `MultiSignature` against a registered public key (32 bytes, or a 33-byte compressed secp256k1 key). */
export const verifyWithKey = (signature: MultiSignature, message: Uint8Array, key: Uint8Array): boolean => {
  try {
    switch (signature._tag) {
      case "Sr25519":
      case "Ed25519":
        return key.length === 32 && verifyBy(signature, message, key)
      case "Ecdsa":
        return key.length === 33 && u8aEq(recoverCompressed(message, signature.value), key)
      case "Eth":
        return key.length === 33 && u8aEq(recoverCompressed(message, signature.value, keccakAsU8a), key)
    }
  } catch {
    return false
  }
}

/**
 * sr25519 through the wasm build of schnorrkel when it is initialised (about 7x faster than the pure-JS
 * path util-crypto 14 takes), else util-crypto's.
 */
const fastSr25519Verify = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean =>
  wasmCrypto.isReady() && publicKey.length === 32 && signature.length === 64
    ? wasmCrypto.sr25519Verify(signature, message, publicKey)
    : sr25519Verify(message, signature, publicKey)

const recoverCompressed = (
  message: Uint8Array,
  signature: Uint8Array,
  hash: (m: Uint8Array, bits: 256) => Uint8Array = blake2AsU8a
): Uint8Array => {
  const recovery = signature[64]!
  const id = recovery >= 27 ? recovery - 27 : recovery
  return secp256k1Compress(secp256k1Recover(hash(message, 256), signature.subarray(0, 64), id))
}

export const concat = u8aConcat

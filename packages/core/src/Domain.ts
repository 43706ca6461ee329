/**
 * The domain model of Scalable Web3 Storage checkpoints, as `effect/Schema` values.
 *
 * Every value that arrives from a provider, the chain, a config file or the command line is decoded
 * with one of these schemas at the edge; a malformed value is a typed `ParseError` that says what was
 * wrong, never an exception. Inside the library the branded types are trusted.
 *
 * Layouts follow the real `StorageProvider` pallet (see `shared/research/protocol-facts.md`):
 * `BucketId` u64, `AccountId` AccountId32 (SS58 prefix 42), `H256`, `BlockNumber` u32,
 * `sp_runtime::MultiSignature` (Ed25519 = 0, Sr25519 = 1, Ecdsa = 2, Eth = 3).
 *
 * @since 0.1.0
 */
import { decodeAddress, encodeAddress } from "@polkadot/util-crypto"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import { bytesToHex, describeHexProblem, hexProblem, hexToBytes } from "./internal/hex.js"

// ---------------------------------------------------------------------------------------------------
// Unsigned integers
// ---------------------------------------------------------------------------------------------------

/**
 * The largest u64, `2^64 - 1`.
 *
 * @since 0.1.0
 * @category constants
 */
export const U64_MAX: bigint = (1n << 64n) - 1n

/**
 * The largest u32, `2^32 - 1`.
 *
 * @since 0.1.0
 * @category constants
 */
export const U32_MAX: number = 0xffff_ffff

const DECIMAL = /^[0-9]+$/

/**
 * Parses a decimal string, a safe-integer number or a bigint into a bigint, or explains why not.
 * Decimal strings are capped in length so hostile input cannot make us parse a megabyte of digits.
 */
const parseUnsigned = (input: string | number | bigint, label: string): Either.Either<bigint, string> => {
  if (typeof input === "bigint") return Either.right(input)
  if (typeof input === "number") {
    if (!Number.isInteger(input)) return Either.left(`${label} must be an integer, got ${input}`)
    if (!Number.isSafeInteger(input)) {
      return Either.left(
        `${label} ${input} is beyond 2^53 as a JSON number and may have lost precision; send it as a string`
      )
    }
    return Either.right(BigInt(input))
  }
  const text = input.trim()
  if (text.length === 0 || text.length > 40 || !DECIMAL.test(text)) {
    return Either.left(`${label} must be a non-negative decimal integer, got ${JSON.stringify(input.slice(0, 64))}`)
  }
  return Either.right(BigInt(text))
}

const unsignedInput = Schema.Union(Schema.String, Schema.Number, Schema.BigIntFromSelf)

const makeU64Schema = <A extends bigint>(self: Schema.Schema<A, bigint>, label: string) =>
  Schema.transformOrFail(unsignedInput, self, {
    strict: true,
    decode: (input, _, ast) =>
      Either.match(parseUnsigned(input, label), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, input, message)),
        onRight: (value) =>
          value < 0n
            ? ParseResult.fail(new ParseResult.Type(ast, input, `${label} must not be negative, got ${value}`))
            : value > U64_MAX
            ? ParseResult.fail(new ParseResult.Type(ast, input, `${label} must be below 2^64, got ${value}`))
            : ParseResult.succeed(value)
      }),
    encode: (value) => ParseResult.succeed(value.toString())
  })

/**
 * A u64 held as a bigint, already in range.
 *
 * @since 0.1.0
 * @category schemas
 */
export const U64FromSelf = Schema.BigIntFromSelf.pipe(
  Schema.betweenBigInt(0n, U64_MAX, { message: () => "expected an unsigned 64-bit integer (0 to 2^64 - 1)" }),
  Schema.brand("U64"),
  Schema.annotations({
    identifier: "U64",
    arbitrary: () => (fc) => fc.bigInt({ min: 0n, max: U64_MAX }) as never
  })
)

/**
 * A u64 (`start_seq`, `leaf_count`, ...). Decodes from a decimal string, a safe-integer number or a
 * bigint; encodes to a decimal string so it survives JSON.
 *
 * @since 0.1.0
 * @category schemas
 */
export const U64 = makeU64Schema(U64FromSelf, "u64")

/**
 * @since 0.1.0
 * @category models
 */
export type U64 = typeof U64.Type

/**
 * A bucket id (`BucketId = u64` on chain), held as a bigint.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BucketIdFromSelf = Schema.BigIntFromSelf.pipe(
  Schema.betweenBigInt(0n, U64_MAX, { message: () => "expected a bucket id between 0 and 2^64 - 1" }),
  Schema.brand("BucketId"),
  Schema.annotations({
    identifier: "BucketId",
    arbitrary: () => (fc) => fc.bigInt({ min: 0n, max: U64_MAX }) as never
  })
)

/**
 * A bucket id. Decodes from a decimal string (command line, config), a safe-integer number (JSON)
 * or a bigint; rejects negatives and values of 2^64 or more. Encodes to a decimal string.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BucketId = makeU64Schema(BucketIdFromSelf, "bucket id")

/**
 * @since 0.1.0
 * @category models
 */
export type BucketId = typeof BucketId.Type

/**
 * A block number (`u32` on this chain).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BlockNumber = Schema.Number.pipe(
  Schema.int({ message: () => "a block number must be an integer" }),
  Schema.between(0, U32_MAX, { message: () => "a block number must be between 0 and 2^32 - 1" }),
  Schema.brand("BlockNumber"),
  Schema.annotations({ identifier: "BlockNumber" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type BlockNumber = typeof BlockNumber.Type

// ---------------------------------------------------------------------------------------------------
// Bytes and hashes
// ---------------------------------------------------------------------------------------------------

const hexFailure = (ast: SchemaAST.AST, input: string, requirePrefix: boolean) => {
  const problem = hexProblem(input, requirePrefix)
  return problem === undefined ? undefined : new ParseResult.Type(ast, input, describeHexProblem(problem))
}

/**
 * Bytes written as hex, with or without `0x`, any case. Encodes to lowercase `0x` hex.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BytesFromHex = Schema.transformOrFail(Schema.String, Schema.Uint8ArrayFromSelf, {
  strict: true,
  decode: (input, _, ast) => {
    const bytes = hexToBytes(input)
    if (bytes === undefined) {
      return ParseResult.fail(hexFailure(ast, input, false) ?? new ParseResult.Type(ast, input, "malformed hex"))
    }
    return ParseResult.succeed(bytes)
  },
  encode: (bytes) => ParseResult.succeed(bytesToHex(bytes))
}).annotations({ identifier: "BytesFromHex" })

const H256_PATTERN = /^0x[0-9a-f]{64}$/

/**
 * The canonical form of an `H256`: `0x` and 64 lowercase hex digits.
 *
 * @since 0.1.0
 * @category schemas
 */
export const H256FromSelf = Schema.TemplateLiteral("0x", Schema.String).pipe(
  Schema.pattern(H256_PATTERN, { message: () => "expected 0x followed by 64 lowercase hex digits" }),
  Schema.brand("H256"),
  Schema.annotations({
    identifier: "H256",
    arbitrary: () => (fc) => fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex) as never
  })
)

const makeH256Schema = (requirePrefix: boolean) =>
  Schema.transformOrFail(Schema.String, H256FromSelf, {
    strict: true,
    decode: (input, _, ast) => {
      const problem = hexFailure(ast, input, requirePrefix)
      if (problem !== undefined) return ParseResult.fail(problem)
      const digits = input.startsWith("0x") || input.startsWith("0X") ? input.slice(2) : input
      if (digits.length !== 64) {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, `an H256 is 32 bytes (64 hex digits), got ${digits.length / 2} bytes`)
        )
      }
      return ParseResult.succeed(`0x${digits.toLowerCase()}` as const)
    },
    encode: ParseResult.succeed
  })

/**
 * A 32-byte hash (`H256`): `0x` and 64 hex digits, case-insensitive in, lowercase out.
 *
 * @since 0.1.0
 * @category schemas
 */
export const H256 = makeH256Schema(true).annotations({ identifier: "H256FromString" })

/**
 * @since 0.1.0
 * @category models
 */
export type H256 = typeof H256.Type

/**
 * An `H256` where the `0x` prefix is optional, as provider nodes accept (protocol-facts §4.1).
 *
 * @since 0.1.0
 * @category schemas
 */
export const H256Lenient = makeH256Schema(false).annotations({ identifier: "H256Lenient" })

/**
 * The 32 bytes of an `H256`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const h256ToBytes = (hash: H256): Uint8Array => hexToBytes(hash) ?? new Uint8Array(32)

/**
 * An `H256` from exactly 32 bytes; `undefined` for any other length.
 *
 * @since 0.1.0
 * @category conversions
 */
export const h256FromBytes = (bytes: Uint8Array): H256 | undefined =>
  bytes.length === 32 ? (bytesToHex(bytes) as H256) : undefined

// ---------------------------------------------------------------------------------------------------
// Accounts and keys
// ---------------------------------------------------------------------------------------------------

/**
 * The SS58 address format of this chain (the generic Substrate prefix).
 *
 * @since 0.1.0
 * @category constants
 */
export const SS58_PREFIX = 42

/**
 * The canonical form of an `AccountId`: its SS58 text with prefix 42.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AccountIdFromSelf = Schema.String.pipe(
  Schema.brand("AccountId"),
  Schema.annotations({
    identifier: "AccountId",
    arbitrary: () => (fc) =>
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => encodeAddress(bytes, SS58_PREFIX)) as never
  })
)

const normaliseAccount = (input: string): Either.Either<string, string> => {
  if (input.startsWith("0x") || input.startsWith("0X")) {
    const problem = hexProblem(input, true)
    if (problem !== undefined) return Either.left(`account id: ${describeHexProblem(problem)}`)
    const bytes = hexToBytes(input)
    if (bytes === undefined || bytes.length !== 32) {
      return Either.left(`an account id is 32 bytes, got ${(input.length - 2) / 2} bytes of hex`)
    }
    return Either.right(encodeAddress(bytes, SS58_PREFIX))
  }
  if (input.length === 0 || input.length > 64) return Either.left("malformed SS58 address")
  let bytes: Uint8Array
  try {
    bytes = decodeAddress(input, false, SS58_PREFIX)
  } catch (error) {
    // decodeAddress reports bad base58, bad checksum and a foreign prefix by throwing; we keep its text.
    const reason = error instanceof Error ? error.message.replace(/^Decoding [^:]*: /, "") : "malformed"
    return Either.left(`malformed SS58 address (${reason})`)
  }
  if (bytes.length !== 32) return Either.left(`an account id is 32 bytes, this address holds ${bytes.length}`)
  return Either.right(encodeAddress(bytes, SS58_PREFIX))
}

/**
 * A 32-byte account (`AccountId32`). Decodes from SS58 with prefix 42 (checksum checked) or from
 * `0x` + 64 hex digits; always holds, prints and encodes its SS58 form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AccountId = Schema.transformOrFail(Schema.String, AccountIdFromSelf, {
  strict: true,
  decode: (input, _, ast) =>
    Either.match(normaliseAccount(input), {
      onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, input, message)),
      onRight: (ss58) => ParseResult.succeed(ss58)
    }),
  encode: ParseResult.succeed
}).annotations({ identifier: "AccountIdFromString" })

/**
 * @since 0.1.0
 * @category models
 */
export type AccountId = typeof AccountId.Type

/**
 * The 32 raw bytes of an account.
 *
 * @since 0.1.0
 * @category conversions
 */
export const accountIdToBytes = (account: AccountId): Uint8Array => decodeAddress(account, false, SS58_PREFIX)

/**
 * An account from its 32 raw bytes; `undefined` for any other length.
 *
 * @since 0.1.0
 * @category conversions
 */
export const accountIdFromBytes = (bytes: Uint8Array): AccountId | undefined =>
  bytes.length === 32 ? (encodeAddress(bytes, SS58_PREFIX) as AccountId) : undefined

/**
 * The byte lengths a registered provider key may have: 32 (sr25519, ed25519), 33 (compressed
 * secp256k1 for ecdsa and eth) and 64 (uncompressed secp256k1 without its 0x04 tag; the pallet's
 * `BoundedVec<u8, 64>` admits it).
 *
 * @since 0.1.0
 * @category constants
 */
export const PUBLIC_KEY_LENGTHS: ReadonlyArray<number> = [32, 33, 64]

/**
 * A provider's registered public key as lowercase `0x` hex.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PublicKeyFromSelf = Schema.TemplateLiteral("0x", Schema.String).pipe(
  Schema.filter((hex) => {
    const bytes = hexToBytes(hex)
    return bytes !== undefined && hex === hex.toLowerCase() && PUBLIC_KEY_LENGTHS.includes(bytes.length) ||
      "expected 0x hex of a 32, 33 or 64 byte public key"
  }),
  Schema.brand("PublicKey"),
  Schema.annotations({
    identifier: "PublicKey",
    arbitrary: () => (fc) =>
      fc.constantFrom(32, 33).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })).map(bytesToHex) as never
  })
)

/**
 * A public key, from hex with or without `0x`; 32, 33 or 64 bytes. Encodes to lowercase `0x` hex.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PublicKey = Schema.transformOrFail(Schema.String, PublicKeyFromSelf, {
  strict: true,
  decode: (input, _, ast) => {
    const bytes = hexToBytes(input)
    if (bytes === undefined) {
      return ParseResult.fail(hexFailure(ast, input, false) ?? new ParseResult.Type(ast, input, "malformed hex"))
    }
    if (!PUBLIC_KEY_LENGTHS.includes(bytes.length)) {
      return ParseResult.fail(
        new ParseResult.Type(ast, input, `a public key is 32, 33 or 64 bytes, got ${bytes.length}`)
      )
    }
    return ParseResult.succeed(bytesToHex(bytes))
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "PublicKeyFromString" })

/**
 * @since 0.1.0
 * @category models
 */
export type PublicKey = typeof PublicKey.Type

/**
 * The raw bytes of a public key.
 *
 * @since 0.1.0
 * @category conversions
 */
export const publicKeyToBytes = (key: PublicKey): Uint8Array => hexToBytes(key) ?? new Uint8Array(0)

/**
 * A public key from raw bytes; `undefined` unless 32, 33 or 64 bytes long.
 *
 * @since 0.1.0
 * @category conversions
 */
export const publicKeyFromBytes = (bytes: Uint8Array): PublicKey | undefined =>
  PUBLIC_KEY_LENGTHS.includes(bytes.length) ? (bytesToHex(bytes) as PublicKey) : undefined

/**
 * The public key an sr25519/ed25519 account was derived from: its own 32 bytes. The oldest pallet
 * era (A0-early) registers no key and verifies signatures against the signer's account itself.
 *
 * @since 0.1.0
 * @category conversions
 */
export const publicKeyOfAccount = (account: AccountId): PublicKey => bytesToHex(accountIdToBytes(account)) as PublicKey

// ---------------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------------

const fixedBytes = (length: number) =>
  Schema.Uint8ArrayFromSelf.pipe(
    Schema.filter((bytes) => bytes.length === length || `expected ${length} bytes, got ${bytes.length}`),
    Schema.annotations({ arbitrary: () => (fc) => fc.uint8Array({ minLength: length, maxLength: length }) as never })
  )

/**
 * An ed25519 signature (MultiSignature variant 0, 64 bytes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Ed25519Signature = Schema.TaggedStruct("Ed25519", { bytes: fixedBytes(64) })

/**
 * An sr25519 signature (MultiSignature variant 1, 64 bytes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Sr25519Signature = Schema.TaggedStruct("Sr25519", { bytes: fixedBytes(64) })

/**
 * A secp256k1 signature over the blake2-256 hash of the message (variant 2, 65 bytes `r‖s‖v`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const EcdsaSignature = Schema.TaggedStruct("Ecdsa", { bytes: fixedBytes(65) })

/**
 * A secp256k1 signature over the keccak-256 hash of the message (variant 3, 65 bytes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const EthSignature = Schema.TaggedStruct("Eth", { bytes: fixedBytes(65) })

/**
 * `sp_runtime::MultiSignature`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MultiSignature = Schema.Union(Ed25519Signature, Sr25519Signature, EcdsaSignature, EthSignature)
  .annotations({ identifier: "MultiSignature" })

/**
 * @since 0.1.0
 * @category models
 */
export type MultiSignature = typeof MultiSignature.Type

/**
 * The SCALE variant index of each signature scheme.
 *
 * @since 0.1.0
 * @category constants
 */
export const MULTI_SIGNATURE_VARIANT = { Ed25519: 0, Sr25519: 1, Ecdsa: 2, Eth: 3 } as const

const VARIANTS = ["Ed25519", "Sr25519", "Ecdsa", "Eth"] as const
const BODY_LENGTH = { Ed25519: 64, Sr25519: 64, Ecdsa: 65, Eth: 65 } as const

/**
 * Reads a signature as providers send it: 64 bytes are a raw sr25519 signature (older provider
 * nodes); otherwise the bytes are the SCALE `MultiSignature`, a variant byte then 64 (ed25519,
 * sr25519) or 65 (ecdsa, eth) bytes. Anything else is explained in the `Left`.
 */
const parseMultiSignature = (bytes: Uint8Array): Either.Either<MultiSignature, string> => {
  if (bytes.length === 64) return Either.right({ _tag: "Sr25519", bytes })
  if (bytes.length !== 65 && bytes.length !== 66) {
    return Either.left(
      `a signature is 64 raw sr25519 bytes or a 65/66-byte SCALE MultiSignature, got ${bytes.length} bytes`
    )
  }
  const variant = VARIANTS[bytes[0]]
  if (variant === undefined) {
    return Either.left(`unknown MultiSignature variant ${bytes[0]} (expected 0 Ed25519, 1 Sr25519, 2 Ecdsa, 3 Eth)`)
  }
  const body = bytes.subarray(1)
  if (body.length !== BODY_LENGTH[variant]) {
    return Either.left(`a ${variant} signature is ${BODY_LENGTH[variant]} bytes, got ${body.length}`)
  }
  return Either.right({ _tag: variant, bytes: body.slice() })
}

/**
 * The SCALE encoding of a `MultiSignature`: the variant byte, then the signature bytes.
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeMultiSignature = (signature: MultiSignature): Uint8Array => {
  const out = new Uint8Array(1 + signature.bytes.length)
  out[0] = MULTI_SIGNATURE_VARIANT[signature._tag]
  out.set(signature.bytes, 1)
  return out
}

/**
 * A `MultiSignature` from bytes: 64 raw (sr25519) or 65/66 SCALE. Encodes to SCALE bytes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MultiSignatureFromBytes = Schema.transformOrFail(Schema.Uint8ArrayFromSelf, MultiSignature, {
  strict: true,
  decode: (bytes, _, ast) =>
    Either.match(parseMultiSignature(bytes), {
      onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, bytes, message)),
      onRight: ParseResult.succeed
    }),
  encode: (signature) => ParseResult.succeed(encodeMultiSignature(signature))
}).annotations({ identifier: "MultiSignatureFromBytes" })

/**
 * A `MultiSignature` from hex (with or without `0x`): 64 raw bytes (sr25519) or the 65/66-byte SCALE
 * form. Encodes to `0x` hex of the SCALE form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MultiSignatureFromHex = Schema.compose(BytesFromHex, MultiSignatureFromBytes).annotations({
  identifier: "MultiSignatureFromHex"
})

/**
 * Decodes signature bytes as providers send them (see `MultiSignatureFromBytes`).
 *
 * @since 0.1.0
 * @category codecs
 */
export const decodeMultiSignature: (
  bytes: Uint8Array
) => Either.Either<MultiSignature, ParseResult.ParseError> = Schema.decodeEither(MultiSignatureFromBytes)

// ---------------------------------------------------------------------------------------------------
// Commitments and providers
// ---------------------------------------------------------------------------------------------------

/**
 * What a provider signs about a bucket: its MMR root, the first sequence number still held and the
 * number of leaves (`Commitment` on chain, era B onwards; flat arguments in era A, same bytes).
 *
 * @since 0.1.0
 * @category models
 */
export class Commitment extends Schema.Class<Commitment>("Commitment")({
  mmrRoot: H256,
  startSeq: U64,
  leafCount: U64
}) {}

/**
 * An `http:` or `https:` base URL of a provider, without a trailing slash.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Endpoint = Schema.String.pipe(
  Schema.filter((text) => {
    if (!URL.canParse(text)) return `not a URL: ${JSON.stringify(text.slice(0, 120))}`
    const url = new URL(text)
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return `a provider endpoint is http or https, got ${url.protocol}`
    }
    if (url.search !== "" || url.hash !== "") return "a provider endpoint has no query or fragment"
    return true
  }),
  Schema.brand("Endpoint"),
  Schema.annotations({ identifier: "Endpoint" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Endpoint = typeof Endpoint.Type

/**
 * A provider as the library knows it: its account, the base URL of its HTTP API, the public key its
 * commitment signatures must verify against, and the multiaddr text the endpoint came from.
 *
 * @since 0.1.0
 * @category models
 */
export class ProviderInfo extends Schema.Class<ProviderInfo>("ProviderInfo")({
  accountId: AccountId,
  endpoint: Endpoint,
  publicKey: PublicKey,
  multiaddr: Schema.String
}) {}

/**
 * A role in a bucket (`Role` enum on chain, in variant order).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Role = Schema.Literal("Admin", "Writer", "Reader")

/**
 * @since 0.1.0
 * @category models
 */
export type Role = typeof Role.Type

/**
 * The `Authorization: Web3Storage 0x<pub>:0x<sig>:<ts>` header that provider nodes require on
 * mutating requests (`PUT /node`, `POST /commit`, `POST /delete`). The signed message is the UTF-8 text
 * `web3storage:<METHOD>:<bucket_id>:<unix seconds>`, signed raw (protocol-facts §4.3). Providers
 * accept a clock skew of at most 300 s, so `makeAuthHeader` reads the time from Effect's `Clock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { BucketId } from "./Domain.js"
import { bytesToHex } from "./internal/hex.js"

/**
 * Anything that can sign raw bytes with a key whose public half the provider can resolve to a bucket
 * member: a `@polkadot/keyring` pair fits as it is.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestSigner {
  readonly publicKey: Uint8Array
  readonly sign: (message: Uint8Array) => Uint8Array
}

/**
 * The parts of an authorization message.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthMessageFields {
  /** The HTTP method; sent upper-case. */
  readonly method: string
  readonly bucketId: BucketId | bigint | number
  /** Unix time in whole seconds. */
  readonly timestamp: bigint | number
}

const encoder = new TextEncoder()

const decimal = (value: bigint | number, name: string): string => {
  if (typeof value === "bigint" ? value < 0n : !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`)
  }
  return value.toString()
}

/**
 * The exact bytes that are signed: `web3storage:<METHOD>:<bucket_id>:<timestamp>`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const authMessage = ({ bucketId, method, timestamp }: AuthMessageFields): Uint8Array =>
  encoder.encode(
    `web3storage:${method.toUpperCase()}:${decimal(bucketId, "bucketId")}:${decimal(timestamp, "timestamp")}`
  )

/**
 * The value of the `Authorization` header: `Web3Storage 0x<public key>:0x<signature>:<timestamp>`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const buildAuthHeader = (fields: AuthMessageFields & { readonly signer: RequestSigner }): string => {
  const signature = fields.signer.sign(authMessage(fields))
  return `Web3Storage ${bytesToHex(fields.signer.publicKey)}:${bytesToHex(signature)}:${
    decimal(fields.timestamp, "timestamp")
  }`
}

/**
 * Builds the header for a request made now, by Effect's `Clock` (so tests control it with `TestClock`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAuthHeader = (
  method: string,
  bucketId: BucketId,
  signer: RequestSigner
): Effect.Effect<string> =>
  Effect.map(
    Clock.currentTimeMillis,
    (millis) => buildAuthHeader({ method, bucketId, signer, timestamp: Math.floor(millis / 1000) })
  )

/**
 * A provider node's HTTP API, as far as checkpoints need it (protocol-facts §4): `GET /health`,
 * `GET /info`, `GET /checkpoint-signature?bucket_id=N` and `GET /commitment?bucket_id=N`.
 *
 * The wire bodies are decoded here, with the schemas below, by every implementation (the live
 * `HttpClient` layer and the test fakes alike), so a malformed body is the same typed error whoever
 * produced it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { AccountId, BucketId, Commitment, H256Lenient, MultiSignatureFromHex, U64 } from "./Domain.js"
import type { Endpoint, MultiSignature } from "./Domain.js"

// ---------------------------------------------------------------------------------------------------
// Wire bodies
// ---------------------------------------------------------------------------------------------------

/**
 * The body of `/checkpoint-signature` and `/commitment` (snake_case, as the provider sends it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SignedCommitmentBody = Schema.Struct({
  bucket_id: BucketId,
  mmr_root: H256Lenient,
  start_seq: U64,
  leaf_count: U64,
  provider_signature: MultiSignatureFromHex
})

/**
 * A provider's answer: the commitment it signed for a bucket, and its signature.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignedCommitment {
  readonly bucketId: BucketId
  readonly commitment: Commitment
  readonly signature: MultiSignature
}

/**
 * The body of `GET /health`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HealthBody = Schema.Struct({
  status: Schema.String,
  version: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type HealthReport = typeof HealthBody.Type

/**
 * The body of `GET /info`: which account the node signs as, and whether it is ready to sign.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InfoBody = Schema.Struct({
  provider_id: AccountId,
  provider_registration_info: Schema.optional(Schema.Unknown),
  readiness: Schema.optional(Schema.Struct({
    signing_configured: Schema.optional(Schema.Boolean),
    nonce_counter_ready: Schema.optional(Schema.Boolean),
    provider_info_loaded: Schema.optional(Schema.Boolean),
    deregistering: Schema.optional(Schema.Boolean)
  }))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface NodeInfo {
  readonly providerId: AccountId
  readonly signingConfigured: boolean | undefined
  readonly deregistering: boolean | undefined
}

/**
 * A provider's JSON error body: `{"error": "<snake_case code>", "details"?: ...}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorBody = Schema.Struct({ error: Schema.String, details: Schema.optional(Schema.Unknown) })

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/**
 * Why a request to a provider failed.
 *
 * - `Timeout`, `Transport` (connection refused, reset, DNS), `Status` 5xx/408 and `RateLimited` (429)
 *   are transient and retried;
 * - `Status` 3xx/4xx, `Decode` (not JSON, wrong shape, bad signature encoding), `TooLarge` (the body
 *   exceeds the size cap) and `Refused` (the endpoint policy forbids the address) are not.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProviderRequestError extends Schema.TaggedError<ProviderRequestError>()("ProviderRequestError", {
  endpoint: Schema.String,
  reason: Schema.Literal("Timeout", "Transport", "Status", "RateLimited", "Decode", "TooLarge", "Refused"),
  detail: Schema.String,
  status: Schema.optional(Schema.Number),
  errorCode: Schema.optional(Schema.String),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  /** Whether trying again may help. */
  get retryable(): boolean {
    switch (this.reason) {
      case "Timeout":
      case "Transport":
      case "RateLimited":
        return true
      case "Status":
        return this.status === undefined || this.status >= 500 || this.status === 408
      case "Decode":
      case "TooLarge":
      case "Refused":
        return false
    }
  }

  override get message(): string {
    const code = this.errorCode === undefined ? "" : ` (${this.errorCode})`
    const status = this.status === undefined ? "" : ` ${this.status}`
    return `provider ${this.endpoint}: ${this.reason}${status}${code}: ${this.detail}`
  }
}

/**
 * Decodes a `/checkpoint-signature` or `/commitment` body into a `SignedCommitment`, or a `Decode`
 * error that says what was wrong.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeSignedCommitment = (
  endpoint: string,
  body: unknown
): Effect.Effect<SignedCommitment, ProviderRequestError> => {
  // Decoded synchronously (every schema here is): one answer per provider per round, on the hot path.
  const decoded = decodeSignedCommitmentBody(body)
  return Either.isLeft(decoded)
    ? Effect.fail(decodeError(endpoint, decoded.left))
    : Effect.succeed({
      bucketId: decoded.right.bucket_id,
      commitment: new Commitment(
        { mmrRoot: decoded.right.mmr_root, startSeq: decoded.right.start_seq, leafCount: decoded.right.leaf_count },
        true
      ),
      signature: decoded.right.provider_signature
    })
}

const decodeSignedCommitmentBody = Schema.decodeUnknownEither(SignedCommitmentBody, { onExcessProperty: "ignore" })

/**
 * Decodes a `/health` body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeHealth = (endpoint: string, body: unknown): Effect.Effect<HealthReport, ProviderRequestError> =>
  Schema.decodeUnknown(HealthBody)(body).pipe(Effect.mapError((error) => decodeError(endpoint, error)))

/**
 * Decodes an `/info` body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeInfo = (endpoint: string, body: unknown): Effect.Effect<NodeInfo, ProviderRequestError> =>
  Schema.decodeUnknown(InfoBody)(body).pipe(
    Effect.map((decoded): NodeInfo => ({
      providerId: decoded.provider_id,
      signingConfigured: decoded.readiness?.signing_configured,
      deregistering: decoded.readiness?.deregistering
    })),
    Effect.mapError((error) => decodeError(endpoint, error))
  )

const decodeError = (endpoint: string, error: ParseResult.ParseError) =>
  new ProviderRequestError({
    endpoint,
    reason: "Decode",
    detail: ParseResult.TreeFormatter.formatErrorSync(error).slice(0, 2000)
  })

// ---------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------

/**
 * Per-request options.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /**
   * A bound on this request, on top of the implementation's own: past it, the request fails with a
   * `Timeout` error. Honoured only by implementations that set `enforcesTimeouts`; callers bound the
   * others themselves.
   */
  readonly timeout?: Duration.Duration | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProviderApiService {
  /**
   * Whether every request honours `RequestOptions.timeout` (failing with a `Timeout` error past it), so
   * that callers need not wrap each request in a timeout of their own (which costs a fiber fork and
   * join per request). Implementations that leave it unset are bounded by their callers.
   */
  readonly enforcesTimeouts?: boolean | undefined
  readonly health: (endpoint: Endpoint, options?: RequestOptions) => Effect.Effect<HealthReport, ProviderRequestError>
  readonly info: (endpoint: Endpoint, options?: RequestOptions) => Effect.Effect<NodeInfo, ProviderRequestError>
  /** The signature `checkpoint` needs: over the real `leaf_count` in eras A and C. */
  readonly checkpointSignature: (
    endpoint: Endpoint,
    bucketId: BucketId,
    options?: RequestOptions
  ) => Effect.Effect<SignedCommitment, ProviderRequestError>
  /** The provider's current commitment for a bucket (era A signs it with `leaf_count = 0`). */
  readonly commitment: (
    endpoint: Endpoint,
    bucketId: BucketId,
    options?: RequestOptions
  ) => Effect.Effect<SignedCommitment, ProviderRequestError>
}

/**
 * The provider HTTP API port.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderApi extends Context.Tag("@checkpointer/core/ProviderApi")<ProviderApi, ProviderApiService>() {}

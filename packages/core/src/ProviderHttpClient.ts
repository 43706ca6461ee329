/**
 * The live `ProviderApi`: a provider node's HTTP API over `@effect/platform`'s `HttpClient`.
 *
 * Every request is bounded: the endpoint is checked against the `EndpointPolicy` first; one timeout (the
 * client's, or the caller's `RequestOptions.timeout` if shorter: `enforcesTimeouts` is set) covers
 * resolving, connecting, the headers and the whole body; the body is never read past the size cap
 * (64 KiB by default): a declared length past it fails unread, a chunked body is abandoned as soon as it
 * passes it; a redirect is an error, never followed (use an `HttpClient` that does not follow redirects
 * itself: Node's `NodeHttpClient` layers do not; `fetch` does unless told otherwise). Integers beyond
 * 2^53 in a body keep every digit. Errors are `ProviderRequestError`s classified retryable or not, with
 * the provider's `{"error": ...}` code and `Retry-After` kept.
 *
 * **The address checked is the address connected to.** An endpoint whose host is a name is resolved
 * once per request, through `resolveHost`, and every answer is checked (`EndpointPolicy.admitResolved`:
 * one refused answer refuses the request). The request is then sent to the checked IP literal itself
 * (`http://93.184.216.34:3333/...`), with the `Host` header naming the original host, so the
 * `HttpClient` never resolves the name again: a name with a zero TTL that answers a public address for
 * the check and 169.254.169.254 for the connection (DNS rebinding) gets nowhere. Every request,
 * including every retry (a retry is a new request), resolves and checks afresh. When a name has several
 * answers they are all checked, then tried in the resolver's order until one accepts the connection.
 * For `https` the TLS server name (SNI) and the certificate check use the `Host` header's name: undici
 * (`NodeHttpClient.layerUndici`) and `node:http` (`NodeHttpClient.layer`) both take the server name
 * from it. An `HttpClient` that drops the `Host` header (a browser's `fetch`) fails closed: the
 * certificate does not match the address, or the server sees the address as the host.
 *
 * Without `resolveHost` a name is handed to the `HttpClient` as it is, checked only by name
 * (`localhost`, the metadata names); supply a resolver wherever endpoints come from the chain (the CLI
 * does, with `dns.lookup`).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { RequestSigner } from "./AuthHeader.js"
import { makeAuthHeader } from "./AuthHeader.js"
import type { BucketId, Endpoint } from "./Domain.js"
import type { EndpointPolicyOptions } from "./EndpointPolicy.js"
import { admitResolved, checkUrl, publicOnly } from "./EndpointPolicy.js"
import { parseJsonLossless } from "./internal/losslessJson.js"
import {
  decodeHealth,
  decodeInfo,
  decodeSignedCommitment,
  ErrorBody,
  ProviderApi,
  ProviderRequestError
} from "./ProviderApi.js"
import type { ProviderApiService, RequestOptions } from "./ProviderApi.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ProviderHttpOptions {
  /** One bound on a whole request: connect, headers and body (default 30 s). */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** The largest body read, in bytes (default 64 KiB). */
  readonly maxResponseBytes?: number | undefined
  /** Which addresses may be contacted (default: public only). */
  readonly policy?: EndpointPolicyOptions | undefined
  /**
   * Resolves a host name to its addresses (IP literals), so names are held to the policy too: called once
   * per request, and the request connects to one of the addresses it answered.
   */
  readonly resolveHost?: ((host: string) => Effect.Effect<ReadonlyArray<string>, unknown>) | undefined
  /** Signs an `Authorization: Web3Storage ...` header on requests that name a bucket. */
  readonly signer?: RequestSigner | undefined
  /** The longest `Retry-After` honoured (default 60 s). */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

const DEFAULT_MAX_BYTES = 64 * 1024

/**
 * Where one request goes: the URLs to try in order and, when they address a name's checked IP literals,
 * the `Host` header naming the original host.
 */
interface Targets {
  readonly urls: Arr.NonEmptyReadonlyArray<string>
  readonly host: string | undefined
}

const fail = (endpoint: string, reason: ProviderRequestError["reason"], detail: string, extra: {
  readonly status?: number
  readonly errorCode?: string
  readonly retryAfterMillis?: number
} = {}) => Effect.fail(new ProviderRequestError({ endpoint, reason, detail, ...extra }))

/**
 * Reads a body up to `max` bytes, failing as soon as it grows past it (the rest is never read).
 */
const readCapped = <E>(endpoint: string, body: Stream.Stream<Uint8Array, E>, max: number) =>
  body.pipe(
    Stream.mapError((cause) =>
      new ProviderRequestError({ endpoint, reason: "Transport", detail: `reading the body failed: ${describe(cause)}` })
    ),
    Stream.runFoldEffect({ chunks: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
      const size = acc.size + chunk.length
      if (size > max) {
        return fail(endpoint, "TooLarge", `the response exceeds ${max} bytes`)
      }
      acc.chunks.push(chunk)
      return Effect.succeed({ chunks: acc.chunks, size })
    }),
    Effect.map(({ chunks, size }) => {
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const chunk of chunks) {
        bytes.set(chunk, offset)
        offset += chunk.length
      }
      return new TextDecoder().decode(bytes)
    })
  )

/**
 * Reads a response's body as text within `max` bytes. A body whose declared `Content-Length` is within
 * the cap is read whole (the HTTP parser stops at the declared length, so it cannot grow past it); a
 * declared length past the cap fails at once, unread; a body without a length (chunked) is read as a
 * stream and abandoned as soon as it passes the cap.
 */
const readBody = (endpoint: string, response: HttpClientResponse.HttpClientResponse, max: number) => {
  const declared = response.headers["content-length"]
  if (declared === undefined || !/^\d{1,15}$/.test(declared)) return readCapped(endpoint, response.stream, max)
  const length = Number(declared)
  if (length > max) return fail(endpoint, "TooLarge", `the response declares ${length} bytes, more than ${max}`)
  return response.text.pipe(
    Effect.mapError((cause) =>
      new ProviderRequestError({ endpoint, reason: "Transport", detail: `reading the body failed: ${describe(cause)}` })
    ),
    // Characters never outnumber bytes: a text longer than the cap came from a body longer than it.
    Effect.filterOrElse(
      (text) => text.length <= max,
      () => fail(endpoint, "TooLarge", `the response exceeds ${max} bytes`)
    )
  )
}

const describe = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null && "message" in cause) return String(cause.message)
  return String(cause)
}

const retryAfterMillis = (header: string | undefined, now: number, cap: number): number | undefined => {
  if (header === undefined) return undefined
  const trimmed = header.trim()
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, cap)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.min(Math.max(at - now, 0), cap)
}

/**
 * Builds the live provider API on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ProviderHttpOptions = {}
): Effect.Effect<ProviderApiService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    // Trace headers are not sent to third-party providers.
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const timeout = Duration.decode(options.requestTimeout ?? Duration.seconds(30))
    const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_BYTES
    const policy = options.policy ?? publicOnly
    const maxRetryAfter = Duration.toMillis(Duration.decode(options.maxRetryAfter ?? Duration.seconds(60)))

    /**
     * Checks a request's URL and says where to send it: the URL itself when its host is an IP literal (or a
     * name and there is no resolver), else one URL per checked address, each naming the original host.
     */
    const admit = (endpoint: string, url: string): Effect.Effect<Targets, ProviderRequestError> =>
      Either.match(checkUrl(policy, url), {
        onLeft: (reason) => fail(endpoint, "Refused", reason),
        onRight: (host) => {
          if (host === undefined || options.resolveHost === undefined) {
            return Effect.succeed({ urls: [url], host: undefined })
          }
          return options.resolveHost(host).pipe(
            Effect.mapError((cause) =>
              new ProviderRequestError({
                endpoint,
                reason: "Transport",
                detail: `cannot resolve ${host}: ${describe(cause)}`
              })
            ),
            Effect.flatMap((addresses) =>
              Either.match(admitResolved(policy, host, addresses), {
                onLeft: (reason) => fail(endpoint, "Refused", reason),
                onRight: (admitted) => pin(endpoint, url, admitted)
              })
            )
          )
        }
      })

    /**
     * The URL with its host replaced by each admitted address. Each result must pass the policy as an IP
     * literal: `URL` ignores a host it cannot parse, which would silently leave the name in place.
     */
    const pin = (endpoint: string, url: string, addresses: Arr.NonEmptyReadonlyArray<string>) => {
      const original = new URL(url)
      const urls = Arr.map(addresses, (address) => {
        const target = new URL(url)
        target.hostname = address.includes(":") ? `[${address}]` : address
        return target.href
      })
      const stray = urls.find((target) => !isAdmittedLiteral(target))
      return stray === undefined
        ? Effect.succeed<Targets>({ urls, host: original.host })
        : fail(endpoint, "Refused", `cannot address ${original.hostname} by its checked address: ${stray}`)
    }

    const isAdmittedLiteral = (url: string) =>
      Either.match(checkUrl(policy, url), { onLeft: () => false, onRight: (name) => name === undefined })

    /** Sends to each target in turn until one answers; only a failure to get an answer moves on. */
    const send = (endpoint: string, request: HttpClientRequest.HttpClientRequest, urls: Targets["urls"]) =>
      Effect.firstSuccessOf(Arr.map(urls, (target) =>
        client.execute(HttpClientRequest.setUrl(request, target)).pipe(
          Effect.mapError((error) =>
            new ProviderRequestError({ endpoint, reason: "Transport", detail: describe(error.cause ?? error) })
          )
        )))

    /** One bound per request: the client's own, or the caller's if shorter. */
    const boundOf = (perRequest: RequestOptions | undefined) =>
      perRequest?.timeout !== undefined && Duration.lessThan(perRequest.timeout, timeout) ? perRequest.timeout : timeout

    const get = (
      endpoint: Endpoint,
      path: string,
      bucketId: BucketId | undefined,
      perRequest: RequestOptions | undefined
    ) =>
      Effect.gen(function*() {
        const url = `${endpoint.replace(/\/+$/, "")}${path}`
        const targets = yield* admit(endpoint, url)
        let request = HttpClientRequest.get(targets.urls[0]).pipe(HttpClientRequest.acceptJson)
        if (targets.host !== undefined) request = HttpClientRequest.setHeader(request, "host", targets.host)
        if (bucketId !== undefined) {
          request = HttpClientRequest.setUrlParam(request, "bucket_id", bucketId.toString())
          if (options.signer !== undefined) {
            request = HttpClientRequest.setHeader(
              request,
              "authorization",
              yield* makeAuthHeader("GET", bucketId, options.signer)
            )
          }
        }
        const response = yield* send(endpoint, request, targets.urls)
        const text = yield* readBody(endpoint, response, maxBytes)
        const status = response.status
        if (status >= 200 && status < 300) {
          return yield* Either.match(parseJsonLossless(text), {
            onLeft: (reason) => fail(endpoint, "Decode", `the body is not JSON: ${reason}`),
            onRight: Effect.succeed
          })
        }
        const errorCode = Either.getOrUndefined(
          Either.flatMap(
            parseJsonLossless(text),
            (body) => Either.mapLeft(Schema.decodeUnknownEither(ErrorBody)(body), () => "not an error body")
          )
        )?.error
        const code = errorCode === undefined ? {} : { errorCode }
        if (status >= 300 && status < 400) {
          const location = response.headers["location"] ?? "elsewhere"
          return yield* fail(endpoint, "Status", `redirect to ${location} not followed`, { status, ...code })
        }
        if (status === 429) {
          const after = retryAfterMillis(response.headers["retry-after"], yield* Clock.currentTimeMillis, maxRetryAfter)
          return yield* fail(endpoint, "RateLimited", "HTTP 429 Too Many Requests", {
            status,
            ...code,
            ...(after === undefined ? {} : { retryAfterMillis: after })
          })
        }
        return yield* fail(endpoint, "Status", `HTTP ${status}`, { status, ...code })
      }).pipe(
        Effect.timeoutFail({
          duration: boundOf(perRequest),
          onTimeout: () =>
            new ProviderRequestError({
              endpoint,
              reason: "Timeout",
              detail: `no complete answer within ${Duration.format(boundOf(perRequest))}`
            })
        }),
        Effect.withSpan("ProviderHttpClient.get", { attributes: { endpoint, path } })
      )

    return ProviderApi.of({
      enforcesTimeouts: true,
      health: (endpoint, perRequest) =>
        Effect.flatMap(get(endpoint, "/health", undefined, perRequest), (body) => decodeHealth(endpoint, body)),
      info: (endpoint, perRequest) =>
        Effect.flatMap(get(endpoint, "/info", undefined, perRequest), (body) => decodeInfo(endpoint, body)),
      checkpointSignature: (endpoint, bucketId, perRequest) =>
        Effect.flatMap(
          get(endpoint, "/checkpoint-signature", bucketId, perRequest),
          (body) => decodeSignedCommitment(endpoint, body)
        ),
      commitment: (endpoint, bucketId, perRequest) =>
        Effect.flatMap(
          get(endpoint, "/commitment", bucketId, perRequest),
          (body) => decodeSignedCommitment(endpoint, body)
        )
    })
  })

/**
 * The live `ProviderApi` layer; needs an `HttpClient` (e.g. `NodeHttpClient.layerUndici`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ProviderHttpOptions = {}): Layer.Layer<ProviderApi, never, HttpClient.HttpClient> =>
  Layer.effect(ProviderApi, make(options))

import type { Domain } from "@checkpointer/core"
import {
  encodeCommitmentPayload,
  EndpointPolicy,
  type ProviderApi,
  ProviderHttpClient,
  verifyMultiSignature
} from "@checkpointer/core"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Layer } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { isIP } from "node:net"
import * as Tls from "node:tls"
import { Mmr, ProviderSimulator } from "../src/index.js"

const bucket = 7n as Domain.BucketId

/** A live client whose HTTP client lives as long as the test's scope. */
const liveClient = (options: ProviderHttpClient.ProviderHttpOptions) =>
  Effect.gen(function*() {
    const http = yield* Layer.build(NodeHttpClient.layerUndici)
    return yield* ProviderHttpClient.make(options).pipe(Effect.provide(http))
  })

/** A simulator holding 10 leaves in bucket 7, and a live client allowed to reach loopback. */
const setup = (options: ProviderHttpClient.ProviderHttpOptions = {}) =>
  Effect.gen(function*() {
    const provider = yield* ProviderSimulator.start({ name: "Alice" })
    yield* provider.commit(bucket, Array.from({ length: 10 }, (_, i) => ProviderSimulator.testLeaf(bucket, i)))
    const api = yield* liveClient({ policy: EndpointPolicy.local, requestTimeout: "2 seconds", ...options })
    return { provider, api }
  })

/** Runs a request and reports its outcome and how long it took in real time. */
const timed = <A>(request: Effect.Effect<A, ProviderApi.ProviderRequestError>) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const result = yield* Effect.either(request)
    return { result, millis: (yield* Clock.currentTimeMillis) - started }
  })

const errorOf = <A>(result: Either.Either<A, ProviderApi.ProviderRequestError>) => {
  if (Either.isRight(result)) return assert.fail("expected a ProviderRequestError")
  return result.left
}

const verifies = (signed: ProviderApi.SignedCommitment, publicKey: Domain.PublicKey) =>
  Either.isRight(verifyMultiSignature({
    signature: signed.signature,
    message: encodeCommitmentPayload({ bucketId: signed.bucketId, ...signed.commitment }),
    publicKey
  }))

describe("the live client against a simulated provider", () => {
  it.scopedLive("reads /health and /info", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      assert.strictEqual((yield* api.health(provider.endpoint)).status, "healthy")
      assert.strictEqual((yield* api.info(provider.endpoint)).providerId, provider.account)
    }))

  it.scopedLive("gets a checkpoint signature over the MMR root that verifies against the provider's key", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      const signed = yield* api.checkpointSignature(provider.endpoint, bucket)
      const state = (yield* provider.state(bucket))!
      assert.strictEqual(signed.bucketId, bucket)
      assert.strictEqual(signed.commitment.leafCount, 10n)
      assert.strictEqual(signed.commitment.mmrRoot, state.mmrRoot)
      assert.strictEqual(signed.signature._tag, "Sr25519")
      assert.isTrue(verifies(signed, provider.publicKey))
    }))

  it.scopedLive("a new commit changes the root as an MMR does", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      const before = yield* api.checkpointSignature(provider.endpoint, bucket)
      yield* provider.commit(bucket, [ProviderSimulator.testLeaf(bucket, 10)])
      const after = yield* api.checkpointSignature(provider.endpoint, bucket)
      assert.strictEqual(after.commitment.leafCount, 11n)
      assert.notStrictEqual(after.commitment.mmrRoot, before.commitment.mmrRoot)
    }))

  it.scopedLive("the raw 64-byte signature form is read as Sr25519", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ signatureForm: "raw" })
      const signed = yield* api.checkpointSignature(provider.endpoint, bucket)
      assert.isTrue(verifies(signed, provider.publicKey))
    }))
})

describe("POST /commit", () => {
  it.scopedLive("appends data roots to the MMR and signs the new commitment, as the real node does", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      const roots = [ProviderSimulator.testLeaf(bucket, 10), ProviderSimulator.testLeaf(bucket, 11)]
      const response = yield* Effect.promise(() =>
        fetch(`${provider.endpoint}/commit`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ bucket_id: 7, data_roots: roots.map((r) => "0x" + Buffer.from(r).toString("hex")) })
        }).then((r) => r.json() as Promise<Record<string, unknown>>)
      )
      assert.strictEqual(response.leaf_count, 12)
      assert.deepStrictEqual(response.leaf_indices, [10, 11])
      const expected = new Mmr.Mmr()
      for (let i = 0; i < 12; i++) expected.append(ProviderSimulator.testLeaf(bucket, i))
      assert.strictEqual(response.mmr_root, "0x" + Buffer.from(expected.root()).toString("hex"))
      const signed = yield* api.checkpointSignature(provider.endpoint, bucket)
      assert.strictEqual(signed.commitment.mmrRoot, response.mmr_root)
      assert.isTrue(verifies(signed, provider.publicKey))
    }))

  it.scopedLive("refuses a data root that is not 32 bytes", () =>
    Effect.gen(function*() {
      const { provider } = yield* setup()
      const status = yield* Effect.promise(() =>
        fetch(`${provider.endpoint}/commit`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ bucket_id: 7, data_roots: ["0x1234"] })
        }).then((r) => r.status)
      )
      assert.strictEqual(status, 400)
    }))
})

describe("each fault mode gives a typed outcome within its bound", () => {
  it.scopedLive("latency drawn from a range: every answer arrives within it", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ latency: { min: "50 millis", max: "150 millis" } })
      for (let i = 0; i < 3; i++) {
        const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
        assert.isTrue(Either.isRight(result))
        assert.isAtLeast(millis, 45)
        assert.isBelow(millis, 1000)
      }
    }))

  it.scopedLive("latency: the answer arrives after the delay", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ latency: "200 millis" })
      const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
      assert.isTrue(Either.isRight(result))
      assert.isAtLeast(millis, 190)
    }))

  it.scopedLive("lag: an older root and count, still validly signed; caught up after the delay", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ lag: { leaves: 3, catchUpAfter: "300 millis" } })
      const behind = yield* api.checkpointSignature(provider.endpoint, bucket)
      assert.strictEqual(behind.commitment.leafCount, 7n)
      assert.isTrue(verifies(behind, provider.publicKey))
      yield* Effect.sleep("350 millis")
      assert.strictEqual((yield* api.checkpointSignature(provider.endpoint, bucket)).commitment.leafCount, 10n)
    }))

  it.scopedLive("divergent: same count, another root", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      const honest = yield* api.checkpointSignature(provider.endpoint, bucket)
      yield* provider.setFaults({ divergent: true })
      const divergent = yield* api.checkpointSignature(provider.endpoint, bucket)
      assert.strictEqual(divergent.commitment.leafCount, honest.commitment.leafCount)
      assert.notStrictEqual(divergent.commitment.mmrRoot, honest.commitment.mmrRoot)
    }))

  it.scopedLive("invalid signature: decodes, but does not verify against the registered key", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ invalidSignature: true })
      assert.isFalse(verifies(yield* api.checkpointSignature(provider.endpoint, bucket), provider.publicKey))
    }))

  it.scopedLive("wrong bucket: the answer names another bucket", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ wrongBucket: true })
      assert.strictEqual((yield* api.checkpointSignature(provider.endpoint, bucket)).bucketId, 8n)
    }))

  it.scopedLive("5xx: a retryable Status error with the provider's error code", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ status: { code: 503, errorCode: "chain_state_not_ready" } })
      const error = errorOf(yield* Effect.either(api.checkpointSignature(provider.endpoint, bucket)))
      assert.strictEqual(error.reason, "Status")
      assert.strictEqual(error.status, 503)
      assert.strictEqual(error.errorCode, "chain_state_not_ready")
      assert.isTrue(error.retryable)
    }))

  it.scopedLive("4xx: a Status error that is not retried", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      const error = errorOf(yield* Effect.either(api.checkpointSignature(provider.endpoint, 99n as Domain.BucketId)))
      assert.strictEqual(error.status, 404)
      assert.strictEqual(error.errorCode, "bucket_not_found")
      assert.isFalse(error.retryable)
    }))

  it.scopedLive("429: RateLimited with Retry-After in milliseconds", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ rateLimit: { retryAfterSeconds: 3 } })
      const error = errorOf(yield* Effect.either(api.checkpointSignature(provider.endpoint, bucket)))
      assert.strictEqual(error.reason, "RateLimited")
      assert.strictEqual(error.retryAfterMillis, 3000)
      assert.isTrue(error.retryable)
    }))

  it.scopedLive("malformed JSON: a Decode error, not retried", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ malformedJson: true })
      const error = errorOf(yield* Effect.either(api.checkpointSignature(provider.endpoint, bucket)))
      assert.strictEqual(error.reason, "Decode")
      assert.isFalse(error.retryable)
    }))

  it.scopedLive("oversized body with its length declared: TooLarge without reading it", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ oversized: { bytes: 5_000_000 } })
      const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
      assert.strictEqual(errorOf(result).reason, "TooLarge")
      assert.include(errorOf(result).detail, "declares")
      assert.isBelow(millis, 2000)
    }))

  it.scopedLive("oversized chunked body (no length): TooLarge once the cap is passed, without reading the rest", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ oversized: { bytes: 5_000_000, chunked: true } })
      const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
      assert.strictEqual(errorOf(result).reason, "TooLarge")
      assert.include(errorOf(result).detail, "exceeds")
      assert.isBelow(millis, 2000)
    }))

  it.scopedLive("a body just within the cap is read, declared or chunked", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup({ maxResponseBytes: 4096 })
      for (const chunked of [false, true]) {
        yield* provider.setFaults({ oversized: { bytes: 4096, chunked } })
        const signed = yield* api.checkpointSignature(provider.endpoint, bucket)
        assert.isTrue(verifies(signed, provider.publicKey))
        yield* provider.setFaults({ oversized: { bytes: 4097, chunked } })
        assert.strictEqual(
          errorOf(yield* Effect.either(api.checkpointSignature(provider.endpoint, bucket))).reason,
          "TooLarge"
        )
      }
    }))

  it.scopedLive("slow drip-fed body: a Timeout at the request bound, not a hang", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup({ requestTimeout: "500 millis" })
      yield* provider.setFaults({ drip: { chunkBytes: 4, interval: "100 millis" } })
      const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
      assert.strictEqual(errorOf(result).reason, "Timeout")
      assert.isBelow(millis, 1500)
    }))

  it.scopedLive("a drip that finishes within the bound is read in full", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup({ requestTimeout: "5 seconds" })
      yield* provider.setFaults({ drip: { chunkBytes: 64, interval: "10 millis" } })
      const signed = yield* api.checkpointSignature(provider.endpoint, bucket)
      assert.isTrue(verifies(signed, provider.publicKey))
    }))

  it.scopedLive("connection reset: a retryable Transport error", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ reset: true })
      const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
      const error = errorOf(result)
      assert.strictEqual(error.reason, "Transport")
      assert.isTrue(error.retryable)
      assert.isBelow(millis, 1500)
    }))

  it.scopedLive("hang: a Timeout at the request bound", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup({ requestTimeout: "300 millis" })
      yield* provider.setFaults({ hang: true })
      const { millis, result } = yield* timed(api.checkpointSignature(provider.endpoint, bucket))
      assert.strictEqual(errorOf(result).reason, "Timeout")
      assert.isBelow(millis, 1200)
    }))

  it.scopedLive("hang: a Timeout at the caller's shorter bound (the client enforces per-request timeouts)", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup({ requestTimeout: "20 seconds" })
      assert.isTrue(api.enforcesTimeouts)
      yield* provider.setFaults({ hang: true })
      const { millis, result } = yield* timed(
        api.checkpointSignature(provider.endpoint, bucket, { timeout: Duration.millis(300) })
      )
      assert.strictEqual(errorOf(result).reason, "Timeout")
      assert.include(errorOf(result).detail, "300ms")
      assert.isAtLeast(millis, 250)
      assert.isBelow(millis, 1200)
      // A longer bound than the client's own does not extend it.
      const { api: short } = yield* setup({ requestTimeout: "300 millis" })
      const capped = yield* timed(
        short.checkpointSignature(provider.endpoint, bucket, { timeout: Duration.seconds(20) })
      )
      assert.strictEqual(errorOf(capped.result).reason, "Timeout")
      assert.isBelow(capped.millis, 1200)
    }))

  it.scopedLive("a redirect is an error, never followed", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ status: { code: 302 } })
      const error = errorOf(yield* Effect.either(api.checkpointSignature(provider.endpoint, bucket)))
      assert.strictEqual(error.status, 302)
      assert.include(error.detail, "not followed")
      assert.isFalse(error.retryable)
    }))

  it.scopedLive("faults change at run time, and clearing them restores honest answers", () =>
    Effect.gen(function*() {
      const { api, provider } = yield* setup()
      yield* provider.setFaults({ reset: true })
      assert.isTrue(Either.isLeft(yield* Effect.either(api.checkpointSignature(provider.endpoint, bucket))))
      yield* provider.setFaults({})
      assert.isTrue(verifies(yield* api.checkpointSignature(provider.endpoint, bucket), provider.publicKey))
    }))
})

describe("hostile endpoints", () => {
  it.scopedLive("the cloud metadata address is refused without a request", () =>
    Effect.gen(function*() {
      const { api } = yield* setup()
      const error = errorOf(
        yield* Effect.either(api.checkpointSignature("http://169.254.169.254" as Domain.Endpoint, bucket))
      )
      assert.strictEqual(error.reason, "Refused")
      assert.isFalse(error.retryable)
    }))

  it.scopedLive("loopback is refused unless the policy opts in", () =>
    Effect.gen(function*() {
      const { provider } = yield* setup()
      const strict = yield* liveClient({ policy: EndpointPolicy.publicOnly })
      const error = errorOf(yield* Effect.either(strict.checkpointSignature(provider.endpoint, bucket)))
      assert.strictEqual(error.reason, "Refused")
      assert.strictEqual(yield* provider.requests, 0)
    }))

  it.scopedLive("a name that resolves to a metadata address is refused", () =>
    Effect.gen(function*() {
      const api = yield* liveClient({
        policy: EndpointPolicy.local,
        resolveHost: () => Effect.succeed(["169.254.169.254"])
      })
      const error = errorOf(
        yield* Effect.either(api.checkpointSignature("http://provider.example" as Domain.Endpoint, bucket))
      )
      assert.strictEqual(error.reason, "Refused")
      assert.include(error.detail, "169.254.169.254")
    }))

  it.scopedLive("a closed port is a Transport error, quickly", () =>
    Effect.gen(function*() {
      const { api } = yield* setup()
      const { millis, result } = yield* timed(api.checkpointSignature("http://127.0.0.1:9" as Domain.Endpoint, bucket))
      assert.strictEqual(errorOf(result).reason, "Transport")
      assert.isBelow(millis, 1500)
    }))
})

/**
 * A name server whose answer changes from one lookup to the next (a zero TTL, as in DNS rebinding): the
 * n-th lookup gets `answers[n]`, and every later one the last answer. It serves both the client's
 * `resolveHost` and, in `loopbackNetwork`, the HTTP client's own lookups, so `lookups` counts them all.
 */
const scriptedDns = (...answers: [ReadonlyArray<string>, ...Array<ReadonlyArray<string>>]) => {
  const lookups: Array<string> = []
  const lookup = (host: string): ReadonlyArray<string> => {
    const answer = answers[Math.min(lookups.length, answers.length - 1)]
    lookups.push(host)
    return answer
  }
  return { lookups, lookup, resolveHost: (host: string) => Effect.sync(() => lookup(host)) }
}

const isLoopback = (address: string) => address === "::1" || /^127\.\d+\.\d+\.\d+$/.test(address)

/**
 * An undici dispatcher on a simulated network where only loopback is reachable. A name is looked up
 * through `dns`, as undici's own connector would through `dns.lookup`; an IP literal is not looked up
 * (nor is it by Node). A connection to anything but loopback is recorded in `unreachable` and fails
 * without opening a socket: the test machine has no outside network, and a test must not try one.
 */
const loopbackNetwork = (dns: ReturnType<typeof scriptedDns>) =>
  Effect.gen(function*() {
    const unreachable: Array<string> = []
    const connect = Undici.buildConnector({ timeout: 1000 })
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Undici.Agent({
          connect: (options, callback) => {
            const address = isIP(options.hostname) !== 0 ? options.hostname : dns.lookup(options.hostname)[0]
            if (address === undefined || !isLoopback(address)) {
              unreachable.push(address ?? options.hostname)
              return callback(new Error(`${address} is unreachable from this test`), null)
            }
            connect({ ...options, hostname: address }, callback)
          }
        })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )
    return { http: NodeHttpClient.makeUndici(agent), unreachable }
  })

/** A loopback HTTP server that answers `/health` and records the `Host` header of every request. */
const healthServer = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly hosts: Array<string>; readonly server: Http.Server }>((resume) => {
    const hosts: Array<string> = []
    const server = Http.createServer((request, response) => {
      hosts.push(request.headers.host ?? "")
      response.setHeader("content-type", "application/json")
      response.end(JSON.stringify({ status: "healthy" }))
    })
    server.listen(
      0,
      "127.0.0.1",
      () => resume(Effect.succeed({ port: (server.address() as Net.AddressInfo).port, hosts, server }))
    )
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

/** A client over `http` (the simulated network, or undici's own by default) with a 2-second bound. */
const clientOver = (http: HttpClient.HttpClient, options: ProviderHttpClient.ProviderHttpOptions) =>
  ProviderHttpClient.make({ requestTimeout: "2 seconds", ...options }).pipe(
    Effect.provideService(HttpClient.HttpClient, http)
  )

describe("a name is connected to through the address that was checked (DNS rebinding)", () => {
  it.scopedLive("publicOnly: a name that answers a public address, then loopback, never reaches loopback", () =>
    Effect.gen(function*() {
      const server = yield* healthServer
      const dns = scriptedDns(["93.184.216.34"], ["127.0.0.1"])
      const network = yield* loopbackNetwork(dns)
      const api = yield* clientOver(network.http, { policy: EndpointPolicy.publicOnly, resolveHost: dns.resolveHost })
      const error = errorOf(yield* Effect.either(api.health(`http://rebind.test:${server.port}` as Domain.Endpoint)))
      assert.strictEqual(error._tag, "ProviderRequestError")
      assert.strictEqual(error.reason, "Transport")
      assert.deepStrictEqual(server.hosts, [])
      // Looked up once, for the check; the connection went to the checked address and nowhere else.
      assert.deepStrictEqual(dns.lookups, ["rebind.test"])
      assert.deepStrictEqual(network.unreachable, ["93.184.216.34"])
    }))

  it.scopedLive("local: a name checked as loopback is connected to there, though the next lookup answers metadata", () =>
    Effect.gen(function*() {
      const server = yield* healthServer
      const dns = scriptedDns(["127.0.0.1"], ["169.254.169.254"])
      const network = yield* loopbackNetwork(dns)
      const api = yield* clientOver(network.http, { policy: EndpointPolicy.local, resolveHost: dns.resolveHost })
      assert.strictEqual((yield* api.health(`http://rebind.test:${server.port}` as Domain.Endpoint)).status, "healthy")
      assert.deepStrictEqual(server.hosts, [`rebind.test:${server.port}`])
      assert.deepStrictEqual(dns.lookups, ["rebind.test"])
      assert.deepStrictEqual(network.unreachable, [])
    }))

  it.scopedLive("every request, a retry too, resolves and checks afresh: a later metadata answer is refused", () =>
    Effect.gen(function*() {
      const server = yield* healthServer
      const dns = scriptedDns(["127.0.0.1"], ["169.254.169.254"])
      const network = yield* loopbackNetwork(dns)
      const api = yield* clientOver(network.http, { policy: EndpointPolicy.local, resolveHost: dns.resolveHost })
      const endpoint = `http://rebind.test:${server.port}` as Domain.Endpoint
      assert.strictEqual((yield* api.health(endpoint)).status, "healthy")
      const retry = errorOf(yield* Effect.either(api.health(endpoint)))
      assert.strictEqual(retry.reason, "Refused")
      assert.include(retry.detail, "169.254.169.254")
      assert.strictEqual(server.hosts.length, 1)
      assert.deepStrictEqual(dns.lookups, ["rebind.test", "rebind.test"])
      assert.deepStrictEqual(network.unreachable, [])
    }))

  it.scopedLive("publicOnly: a name with loopback among its public answers is refused before any connection", () =>
    Effect.gen(function*() {
      const server = yield* healthServer
      const dns = scriptedDns(["93.184.216.34", "127.0.0.1"])
      const network = yield* loopbackNetwork(dns)
      const api = yield* clientOver(network.http, { policy: EndpointPolicy.publicOnly, resolveHost: dns.resolveHost })
      const error = errorOf(yield* Effect.either(api.health(`http://rebind.test:${server.port}` as Domain.Endpoint)))
      assert.strictEqual(error.reason, "Refused")
      assert.include(error.detail, "127.0.0.1")
      assert.deepStrictEqual(server.hosts, [])
      assert.deepStrictEqual(network.unreachable, [])
    }))

  it.scopedLive("local: a name resolving to loopback connects over undici's own network, keeping its Host", () =>
    Effect.gen(function*() {
      const server = yield* healthServer
      // `.test` is reserved (RFC 2606): only the connection to the checked literal can reach the server.
      const api = yield* liveClient({
        policy: EndpointPolicy.local,
        requestTimeout: "2 seconds",
        resolveHost: () => Effect.succeed(["127.0.0.1"])
      })
      assert.strictEqual(
        (yield* api.health(`http://provider.test:${server.port}` as Domain.Endpoint)).status,
        "healthy"
      )
      assert.deepStrictEqual(server.hosts, [`provider.test:${server.port}`])
    }))

  it.scopedLive("a name's checked answers are tried in order until one accepts the connection", () =>
    Effect.gen(function*() {
      const server = yield* healthServer
      // The server listens on 127.0.0.1 only, so ::1 refuses (or is unavailable) at once.
      const api = yield* liveClient({
        policy: EndpointPolicy.local,
        requestTimeout: "2 seconds",
        resolveHost: () => Effect.succeed(["::1", "127.0.0.1"])
      })
      assert.strictEqual(
        (yield* api.health(`http://provider.test:${server.port}` as Domain.Endpoint)).status,
        "healthy"
      )
      assert.deepStrictEqual(server.hosts, [`provider.test:${server.port}`])
    }))

  it.scopedLive("https: the TLS server name is the endpoint's name, not the checked address", () =>
    Effect.gen(function*() {
      // No certificate: the server records the name the client asks for, then ends the handshake.
      const serverNames: Array<string> = []
      const server = yield* Effect.acquireRelease(
        Effect.async<Tls.Server>((resume) => {
          const tls = Tls.createServer({
            SNICallback: (name, callback) => {
              serverNames.push(name)
              callback(new Error("no certificate in this test"))
            }
          })
          tls.on("tlsClientError", () => {})
          tls.listen(0, "127.0.0.1", () => resume(Effect.succeed(tls)))
        }),
        (tls) => Effect.async<void>((resume) => void tls.close(() => resume(Effect.void)))
      )
      const port = (server.address() as Net.AddressInfo).port
      const api = yield* liveClient({
        policy: EndpointPolicy.local,
        requestTimeout: "2 seconds",
        resolveHost: () => Effect.succeed(["127.0.0.1"])
      })
      const error = errorOf(yield* Effect.either(api.health(`https://provider.test:${port}` as Domain.Endpoint)))
      assert.strictEqual(error.reason, "Transport")
      assert.deepStrictEqual(serverNames, ["provider.test"])
    }))
})

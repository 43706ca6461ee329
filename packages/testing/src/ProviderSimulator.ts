/**
 * A storage provider node over real HTTP on a loopback port: `GET /health`, `GET /info`,
 * `GET /commitment`, `GET /checkpoint-signature` and `POST /commit`, answering with the provider's wire
 * format (protocol-facts §4) and signing with its sr25519 key exactly as the real node does: the v1
 * commitment payload, raw, over the real leaf count.
 *
 * Each bucket's state is a real Merkle Mountain Range over the committed data roots (blake2-256), so
 * roots change as real ones do. Faults can be set per provider and changed at run time: latency (fixed
 * or uniform in a range), lag by k leaves (catching up after a while), ahead, divergent root, invalid
 * signature, wrong bucket id, an HTTP error status, 429 with `Retry-After`, malformed JSON, an oversized
 * body, a slow (drip-fed) body, a connection reset, a hang, seeded flakiness, or failing the first n
 * requests.
 *
 * `GET /health` answers `{"status":"healthy","version":...}` under the same network faults (latency, the
 * first n failing, hang, reset, flakiness, a status, 429); `malformedJson` cuts its body too, and
 * `healthStatus` makes it report another status while the provider still signs.
 *
 * @since 0.1.0
 */
import { Domain, encodeCommitmentPayload, encodeMultiSignature } from "@checkpointer/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Keyring } from "@polkadot/keyring"
import { blake2AsU8a, cryptoWaitReady } from "@polkadot/util-crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import { prng } from "./internal/prng.js"
import { Mmr } from "./Mmr.js"

/**
 * The faults a simulated provider shows; all off by default, any combination allowed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  /** Added before every answer: a fixed delay or uniform in `[min, max]` (seeded). */
  readonly latency?: Duration.DurationInput | {
    readonly min: Duration.DurationInput
    readonly max: Duration.DurationInput
  } | undefined
  /**
   * Answer as if `leaves` leaves behind; after `catchUpAfter` (counted from the first answer signed under
   * these faults), honestly.
   */
  readonly lag?: { readonly leaves: number; readonly catchUpAfter?: Duration.DurationInput | undefined } | undefined
  /** Answer as if holding this many extra leaves. */
  readonly ahead?: number | undefined
  /** Same leaf count, another root. */
  readonly divergent?: boolean | undefined
  /** Sign with a key other than the registered one. */
  readonly invalidSignature?: boolean | undefined
  /** Answer for another bucket than the one asked. */
  readonly wrongBucket?: boolean | undefined
  /** Answer every request with this status and `{"error": errorCode}`. */
  readonly status?: { readonly code: number; readonly errorCode?: string | undefined } | undefined
  /** Answer 429 with this `Retry-After`. */
  readonly rateLimit?: { readonly retryAfterSeconds: number } | undefined
  /** A body that is not JSON. */
  readonly malformedJson?: boolean | undefined
  /**
   * Pad signing answers to exactly this many bytes (or the least a padded answer takes), with the
   * `Content-Length` declared, or chunked (no length) if asked.
   */
  readonly oversized?: { readonly bytes: number; readonly chunked?: boolean } | undefined
  /** Send signing answers in chunks, one per interval. */
  readonly drip?: { readonly chunkBytes: number; readonly interval: Duration.DurationInput } | undefined
  /** Destroy the connection instead of answering. */
  readonly reset?: boolean | undefined
  /** Never answer. */
  readonly hang?: boolean | undefined
  /** Reset the connection with this probability (seeded, so runs repeat). */
  readonly flaky?: { readonly failureProbability: number; readonly seed: number } | undefined
  /** Fail the first `times` requests this way, then answer. */
  readonly failFirst?: { readonly times: number; readonly failure: "Reset" | "Status503" | "Hang" } | undefined
  /** `raw`: 64-byte sr25519 hex (older nodes); `scale` (default): 65-byte SCALE MultiSignature. */
  readonly signatureForm?: "raw" | "scale" | undefined
  /** `GET /health` reports this status instead of `healthy`. */
  readonly healthStatus?: string | undefined
}

/**
 * A bucket's state on one provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketState {
  readonly mmrRoot: Domain.H256
  readonly startSeq: bigint
  readonly leafCount: bigint
}

/**
 * A running simulated provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimulatedProvider {
  readonly name: string
  readonly account: Domain.AccountId
  readonly publicKey: Domain.PublicKey
  readonly endpoint: Domain.Endpoint
  readonly multiaddr: string
  readonly port: number
  readonly setFaults: (faults: Faults) => Effect.Effect<void>
  /** Appends data roots to a bucket's MMR (as `POST /commit` does). */
  readonly commit: (bucketId: Domain.BucketId, roots: ReadonlyArray<Uint8Array>) => Effect.Effect<BucketState>
  readonly state: (bucketId: Domain.BucketId) => Effect.Effect<BucketState | undefined>
  /** Requests served so far (all routes). */
  readonly requests: Effect.Effect<number>
  /** The `Clock` times (ms) of signing requests (`/commitment`, `/checkpoint-signature`), oldest first. */
  readonly signingRequestTimes: Effect.Effect<ReadonlyArray<number>>
  /** The `Clock` times (ms) of `GET /health` requests, oldest first. */
  readonly healthRequestTimes: Effect.Effect<ReadonlyArray<number>>
  /** The `Authorization` header of the last request that carried one. */
  readonly lastAuthorization: Effect.Effect<string | undefined>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SimulatorOptions {
  /** The dev key name: the provider signs as `//<name>`. */
  readonly name: string
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number | undefined
  /** Seed of the latency and flakiness randomness. */
  readonly seed?: number | undefined
}

const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex")

const leafOf = (label: string) => blake2AsU8a(label, 256)

const CommitBody = Schema.Struct({
  bucket_id: Schema.Union(Schema.Number, Schema.String),
  data_roots: Schema.Array(Schema.String)
})

interface Bucket {
  readonly mmr: Mmr
  readonly startSeq: bigint
}

/**
 * Starts a simulated provider; it stops when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: SimulatorOptions): Effect.Effect<SimulatedProvider, never, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Effect.promise(() => cryptoWaitReady())
    const keyring = new Keyring({ type: "sr25519", ss58Format: Domain.SS58_PREFIX })
    const pair = keyring.addFromUri(`//${options.name}`)
    const wrongPair = keyring.addFromUri(`//${options.name}//not-registered`)
    const account = Domain.accountIdFromBytes(pair.publicKey)!
    const buckets = new Map<bigint, Bucket>()
    // The faults, and when the first answer under them was signed (`undefined` until then): a lag's catch-up
    // counts from that answer, so a provider under load or a slow start never catches up before it was asked.
    const faults = yield* Ref.make<{ readonly faults: Faults; readonly firstAnsweredAt: number | undefined }>({
      faults: {},
      firstAnsweredAt: undefined
    })
    const served = yield* Ref.make(0)
    const signingTimes = yield* Ref.make<ReadonlyArray<number>>([])
    const healthTimes = yield* Ref.make<ReadonlyArray<number>>([])
    const authorization = yield* Ref.make<string | undefined>(undefined)
    const random = prng(options.seed ?? 1)

    const nodeServer = createServer()
    const context = yield* Layer.build(
      NodeHttpServer.layer(() => nodeServer, { port: options.port ?? 0, host: "127.0.0.1" })
    ).pipe(Effect.orDie)
    // Runs before the server's own close (finalizers run last-in first-out): close hung connections.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const server = Context.get(context, HttpServer.HttpServer)
    const port = (server.address as HttpServer.TcpAddress).port

    const stateOf = (bucketId: bigint): BucketState | undefined => {
      const bucket = buckets.get(bucketId)
      if (bucket === undefined) return undefined
      return {
        mmrRoot: hex(bucket.mmr.root()) as Domain.H256,
        startSeq: bucket.startSeq,
        leafCount: BigInt(bucket.mmr.size)
      }
    }

    /** The commitment this provider answers with under its data faults. */
    const answerState = (bucket: Bucket, current: Faults, faultAge: number): BucketState => {
      const size = bucket.mmr.size
      const lag = current.lag
      const caughtUp = lag?.catchUpAfter !== undefined &&
        faultAge >= Duration.toMillis(Duration.decode(lag.catchUpAfter))
      if (lag !== undefined && !caughtUp) {
        const behind = Math.max(0, size - lag.leaves)
        return {
          mmrRoot: hex(bucket.mmr.rootAt(behind)) as Domain.H256,
          startSeq: bucket.startSeq,
          leafCount: BigInt(behind)
        }
      }
      if (current.ahead !== undefined && current.ahead > 0) {
        const extended = new Mmr()
        for (let i = 0; i < size; i++) extended.append(leafAt(bucket, i))
        for (let i = 0; i < current.ahead; i++) extended.append(leafOf(`ahead:${options.name}:${i}`))
        return {
          mmrRoot: hex(extended.root()) as Domain.H256,
          startSeq: bucket.startSeq,
          leafCount: BigInt(extended.size)
        }
      }
      if (current.divergent === true) {
        const diverged = new Mmr()
        for (let i = 0; i < size - 1; i++) diverged.append(leafAt(bucket, i))
        diverged.append(leafOf(`divergent:${options.name}:${size}`))
        return { mmrRoot: hex(diverged.root()) as Domain.H256, startSeq: bucket.startSeq, leafCount: BigInt(size) }
      }
      return stateOf(bucketIdOf(bucket))!
    }

    // The MMR keeps its leaves private; a parallel record keeps them readable for fault variants.
    const leafRecord = new Map<Bucket, Array<Uint8Array>>()
    const bucketIds = new Map<Bucket, bigint>()
    const leafAt = (bucket: Bucket, index: number) => leafRecord.get(bucket)![index]
    const bucketIdOf = (bucket: Bucket) => bucketIds.get(bucket)!

    const commit = (bucketId: bigint, roots: ReadonlyArray<Uint8Array>) => {
      let bucket = buckets.get(bucketId)
      if (bucket === undefined) {
        bucket = { mmr: new Mmr(), startSeq: 0n }
        buckets.set(bucketId, bucket)
        leafRecord.set(bucket, [])
        bucketIds.set(bucket, bucketId)
      }
      const indices = bucket.mmr.append(...roots)
      for (const root of roots) leafRecord.get(bucket)!.push(root)
      return { state: stateOf(bucketId)!, indices }
    }

    const errorJson = (status: number, error: string, headers: Record<string, string> = {}) =>
      HttpServerResponse.unsafeJson({ error }, { status, headers })

    /** Network-level faults, common to every route; `undefined` means answer normally. */
    const networkFault = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const count = yield* Ref.getAndUpdate(served, (n) => n + 1)
      const header = request.headers["authorization"]
      if (header !== undefined) yield* Ref.set(authorization, header)
      if (request.url.startsWith("/commitment") || request.url.startsWith("/checkpoint-signature")) {
        const now = yield* Clock.currentTimeMillis
        yield* Ref.update(signingTimes, (times) => [...times, now])
      }
      if (request.url === "/health" || request.url.startsWith("/health?")) {
        const now = yield* Clock.currentTimeMillis
        yield* Ref.update(healthTimes, (times) => [...times, now])
      }
      const { faults: current } = yield* Ref.get(faults)
      const reset = Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()).pipe(
        Effect.zipRight(Effect.sleep("1 second")),
        Effect.as(HttpServerResponse.empty())
      )
      if (current.latency !== undefined) {
        const latency = current.latency
        const millis = typeof latency === "object" && latency !== null && "min" in latency
          ? Duration.toMillis(Duration.decode(latency.min)) +
            random() *
              (Duration.toMillis(Duration.decode(latency.max)) - Duration.toMillis(Duration.decode(latency.min)))
          : Duration.toMillis(Duration.decode(latency as Duration.DurationInput))
        yield* Effect.sleep(Duration.millis(Math.round(millis)))
      }
      if (current.failFirst !== undefined && count < current.failFirst.times) {
        if (current.failFirst.failure === "Hang") return yield* Effect.never
        if (current.failFirst.failure === "Reset") return yield* reset
        return errorJson(503, "chain_state_not_ready")
      }
      if (current.hang === true) return yield* Effect.never
      if (current.reset === true) return yield* reset
      if (current.flaky !== undefined && random() < current.flaky.failureProbability) return yield* reset
      if (current.status !== undefined) {
        return errorJson(current.status.code, current.status.errorCode ?? "internal_error")
      }
      if (current.rateLimit !== undefined) {
        return errorJson(429, "rate_limited", { "retry-after": String(current.rateLimit.retryAfterSeconds) })
      }
      return undefined
    })

    const withFaults = <E, R>(answer: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      Effect.flatMap(networkFault, (fault) => (fault === undefined ? answer : Effect.succeed(fault)))

    const signing = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = new URL(request.url, "http://simulator")
      const raw = url.searchParams.get("bucket_id") ?? ""
      if (!/^\d{1,20}$/.test(raw)) return errorJson(400, "serialization_error")
      const bucketId = BigInt(raw)
      const bucket = buckets.get(bucketId)
      if (bucket === undefined) return errorJson(404, "bucket_not_found")
      const now = yield* Clock.currentTimeMillis
      const { faults: current, firstAnsweredAt } = yield* Ref.updateAndGet(
        faults,
        (f) => (f.firstAnsweredAt === undefined ? { ...f, firstAnsweredAt: now } : f)
      )
      const state = answerState(bucket, current, now - firstAnsweredAt!)
      const claimed = current.wrongBucket === true ? bucketId + 1n : bucketId
      const payload = encodeCommitmentPayload({ bucketId: claimed, ...state })
      const signature = (current.invalidSignature === true ? wrongPair : pair).sign(payload)
      const body: Record<string, unknown> = {
        bucket_id: Number(claimed) <= Number.MAX_SAFE_INTEGER ? Number(claimed) : claimed.toString(),
        mmr_root: state.mmrRoot,
        start_seq: Number(state.startSeq),
        leaf_count: Number(state.leafCount),
        provider_signature: current.signatureForm === "raw"
          ? hex(signature)
          : hex(encodeMultiSignature({ _tag: "Sr25519", bytes: signature }))
      }
      let text = JSON.stringify(body)
      if (current.malformedJson === true) text = text.slice(0, Math.floor(text.length / 2))
      if (current.oversized !== undefined) {
        const unpadded = JSON.stringify({ ...body, padding: "" }).length
        text = JSON.stringify({ ...body, padding: "x".repeat(Math.max(0, current.oversized.bytes - unpadded)) })
      }
      if (current.oversized?.chunked === true) {
        const bytes = new TextEncoder().encode(text)
        const chunks: Array<Uint8Array> = []
        for (let i = 0; i < bytes.length; i += 16_384) chunks.push(bytes.subarray(i, i + 16_384))
        return HttpServerResponse.stream(Stream.fromIterable(chunks), { contentType: "application/json" })
      }
      if (current.drip !== undefined) {
        const bytes = new TextEncoder().encode(text)
        const size = Math.max(1, current.drip.chunkBytes)
        const chunks: Array<Uint8Array> = []
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
        return HttpServerResponse.stream(
          Stream.fromIterable(chunks).pipe(Stream.schedule(Schedule.spaced(current.drip.interval))),
          { contentType: "application/json" }
        )
      }
      return HttpServerResponse.text(text, { contentType: "application/json" })
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/health",
        withFaults(Effect.map(Ref.get(faults), ({ faults: current }) => {
          const text = JSON.stringify({ status: current.healthStatus ?? "healthy", version: "simulator-0.1.0" })
          return HttpServerResponse.text(
            current.malformedJson === true ? text.slice(0, Math.floor(text.length / 2)) : text,
            { contentType: "application/json" }
          )
        }))
      ),
      HttpRouter.get(
        "/info",
        withFaults(Effect.succeed(HttpServerResponse.unsafeJson({
          provider_id: account,
          provider_registration_info: null,
          readiness: {
            signing_configured: true,
            nonce_counter_ready: true,
            provider_info_loaded: true,
            deregistering: false
          }
        })))
      ),
      HttpRouter.get("/commitment", withFaults(signing)),
      HttpRouter.get("/checkpoint-signature", withFaults(signing)),
      HttpRouter.post(
        "/commit",
        withFaults(Effect.gen(function*() {
          const body = yield* HttpServerRequest.schemaBodyJson(CommitBody).pipe(Effect.option)
          if (body._tag === "None") return errorJson(400, "serialization_error")
          const bucketText = String(body.value.bucket_id)
          if (!/^\d{1,20}$/.test(bucketText)) return errorJson(400, "serialization_error")
          const roots: Array<Uint8Array> = []
          for (const root of body.value.data_roots) {
            const bytes = Buffer.from(root.replace(/^0x/, ""), "hex")
            if (bytes.length !== 32) return errorJson(400, "invalid_hash")
            roots.push(new Uint8Array(bytes))
          }
          const bucketId = BigInt(bucketText)
          const { indices, state } = commit(bucketId, roots)
          const signature = pair.sign(encodeCommitmentPayload({ bucketId, ...state }))
          return HttpServerResponse.unsafeJson({
            mmr_root: state.mmrRoot,
            start_seq: Number(state.startSeq),
            leaf_count: Number(state.leafCount),
            leaf_indices: indices,
            provider_signature: hex(encodeMultiSignature({ _tag: "Sr25519", bytes: signature }))
          })
        }))
      )
    )

    yield* server.serve(router).pipe(Effect.provide(context))

    return {
      name: options.name,
      account,
      publicKey: Domain.publicKeyFromBytes(pair.publicKey)!,
      endpoint: `http://127.0.0.1:${port}` as Domain.Endpoint,
      multiaddr: `/ip4/127.0.0.1/tcp/${port}`,
      port,
      setFaults: (next) => Ref.set(faults, { faults: next, firstAnsweredAt: undefined }),
      commit: (bucketId, roots) => Effect.sync(() => commit(bucketId, roots).state),
      state: (bucketId) => Effect.sync(() => stateOf(bucketId)),
      requests: Ref.get(served),
      signingRequestTimes: Ref.get(signingTimes),
      healthRequestTimes: Ref.get(healthTimes),
      lastAuthorization: Ref.get(authorization)
    } satisfies SimulatedProvider
  })

/**
 * The data root of leaf `index` of a test bucket: the same on every simulator, so honest providers
 * that were given the same number of leaves agree.
 *
 * @since 0.1.0
 * @category constructors
 */
export const testLeaf = (bucketId: bigint, index: number): Uint8Array => leafOf(`bucket:${bucketId}:leaf:${index}`)

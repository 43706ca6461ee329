/**
 * A network of fake storage providers implementing `ProviderApi`, each with a behaviour: honest,
 * lagging (optionally catching up), ahead, divergent, bad signature, wrong bucket, unreachable, slow,
 * flaky (seeded), malformed body, an HTTP error status, failing a number of times, or hanging.
 *
 * `GET /health` answers `{"status":"healthy"}` unless a behaviour says otherwise: unreachable, hang, slow,
 * flaky (its own seeded sequence, so probes do not shift the signing answers'), an HTTP status and
 * malformed (a body without a status) apply to it too, and `unhealthy` makes it report another status
 * while the provider still signs.
 *
 * Providers sign with real sr25519 keys derived from `//<name>`, and answer with the provider's wire
 * body (snake_case JSON, hex signature) which goes through core's own decoder, exactly as a real
 * response would. Time (latency, catch-up) follows Effect's `Clock`, so `TestClock` drives it.
 *
 * @since 0.1.0
 */
import { Domain, encodeCommitmentPayload, encodeMultiSignature, ProviderApi } from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import { blake2AsHex } from "@polkadot/util-crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { prng } from "./internal/prng.js"

type BucketId = Domain.BucketId

/**
 * How a fake provider answers `/checkpoint-signature` and `/commitment` (and, for the transport-level
 * behaviours and `Unhealthy`, `/health`).
 *
 * @since 0.1.0
 * @category models
 */
export type Behaviour =
  | { readonly _tag: "Honest" }
  | { readonly _tag: "Lagging"; readonly behindBy: number; readonly catchUpAfter?: Duration.DurationInput | undefined }
  | { readonly _tag: "Ahead"; readonly aheadBy: number }
  | { readonly _tag: "Divergent" }
  | { readonly _tag: "BadSignature" }
  | { readonly _tag: "WrongBucket" }
  | { readonly _tag: "Unreachable" }
  | { readonly _tag: "Slow"; readonly latency: Duration.DurationInput }
  | { readonly _tag: "Flaky"; readonly failureProbability: number; readonly seed: number }
  | { readonly _tag: "Malformed" }
  | {
    readonly _tag: "HttpStatus"
    readonly status: number
    readonly errorCode?: string | undefined
    readonly retryAfterMillis?: number | undefined
  }
  | { readonly _tag: "FailTimes"; readonly times: number; readonly failure: "Transport" | "Status503" | "Hang" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Defect" }
  | { readonly _tag: "Unhealthy"; readonly status: string }
  | { readonly _tag: "All"; readonly behaviours: ReadonlyArray<Behaviour> }
  | { readonly _tag: "Custom"; readonly answer: CustomAnswer }

/**
 * A provider's answer written by the test: it receives the request and the answer the provider would
 * have given without it (`honest`, an effect: run it, or not), and returns its own.
 *
 * @since 0.1.0
 * @category models
 */
export type CustomAnswer = (request: {
  readonly endpoint: Domain.Endpoint
  readonly bucketId: BucketId
  /** How many requests the provider had received before this one. */
  readonly previous: number
  readonly honest: Effect.Effect<ProviderApi.SignedCommitment, ProviderApi.ProviderRequestError>
}) => Effect.Effect<ProviderApi.SignedCommitment, ProviderApi.ProviderRequestError>

/**
 * Constructors for behaviours.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Behaviour = {
  honest: (): Behaviour => ({ _tag: "Honest" }),
  lagging: (behindBy: number, catchUpAfter?: Duration.DurationInput): Behaviour => ({
    _tag: "Lagging",
    behindBy,
    catchUpAfter
  }),
  ahead: (aheadBy: number): Behaviour => ({ _tag: "Ahead", aheadBy }),
  divergent: (): Behaviour => ({ _tag: "Divergent" }),
  badSignature: (): Behaviour => ({ _tag: "BadSignature" }),
  wrongBucket: (): Behaviour => ({ _tag: "WrongBucket" }),
  unreachable: (): Behaviour => ({ _tag: "Unreachable" }),
  slow: (latency: Duration.DurationInput): Behaviour => ({ _tag: "Slow", latency }),
  flaky: (failureProbability: number, seed = 1): Behaviour => ({ _tag: "Flaky", failureProbability, seed }),
  malformed: (): Behaviour => ({ _tag: "Malformed" }),
  httpStatus: (status: number, options: { errorCode?: string; retryAfterMillis?: number } = {}): Behaviour => ({
    _tag: "HttpStatus",
    status,
    errorCode: options.errorCode,
    retryAfterMillis: options.retryAfterMillis
  }),
  failTimes: (times: number, failure: "Transport" | "Status503" | "Hang" = "Transport"): Behaviour => ({
    _tag: "FailTimes",
    times,
    failure
  }),
  hang: (): Behaviour => ({ _tag: "Hang" }),
  /** The request path itself dies (a bug, not a provider answer). */
  defect: (): Behaviour => ({ _tag: "Defect" }),
  /** `GET /health` reports this status instead of `healthy`; signing is unaffected. */
  unhealthy: (status = "degraded"): Behaviour => ({ _tag: "Unhealthy", status }),
  /**
   * Several behaviours at once, in order: e.g. `all(ahead(2), slow("3 seconds"))` answers late with a
   * commitment ahead of the others.
   */
  all: (...behaviours: ReadonlyArray<Behaviour>): Behaviour => ({ _tag: "All", behaviours }),
  /** An answer of the test's own (wrapping or replacing the provider's). */
  custom: (answer: CustomAnswer): Behaviour => ({ _tag: "Custom", answer })
} as const

/** The behaviours a behaviour stands for, flattened. */
const flatten = (behaviour: Behaviour): ReadonlyArray<Behaviour> =>
  behaviour._tag === "All" ? behaviour.behaviours.flatMap(flatten) : [behaviour]

/**
 * A fake provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeProvider {
  readonly name: string
  readonly account: Domain.AccountId
  readonly publicKey: Domain.PublicKey
  readonly endpoint: Domain.Endpoint
  readonly multiaddr: string
  readonly pair: KeyringPair
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProviderSpec {
  readonly name: string
  readonly behaviour?: Behaviour | undefined
  /** `raw`: 64-byte sr25519 hex (older nodes); `scale` (default): the SCALE MultiSignature. */
  readonly signatureForm?: "raw" | "scale" | undefined
  /** The provider's key scheme (default sr25519), as the newest provider node's `--key-scheme`. */
  readonly scheme?: "sr25519" | "ed25519" | "ecdsa" | undefined
}

const TAG = { sr25519: "Sr25519", ed25519: "Ed25519", ecdsa: "Ecdsa" } as const

/**
 * What the honest providers hold for a bucket.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketData {
  readonly mmrRoot: Domain.H256
  readonly startSeq: bigint
  readonly leafCount: bigint
}

/**
 * What a test can do with a network of providers, whether in memory or simulated over HTTP.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderNetworkHandle {
  readonly providers: ReadonlyArray<FakeProvider>
  readonly provider: (name: string) => FakeProvider
  readonly setBehaviour: (name: string, behaviour: Behaviour) => Effect.Effect<void>
  readonly setBucketData: (bucketId: BucketId, data: BucketData) => Effect.Effect<void>
  /** Appends leaves to a bucket on every honest provider (a new root, a higher count). */
  readonly append: (bucketId: BucketId, leaves: number) => Effect.Effect<BucketData>
  readonly bucketData: (bucketId: BucketId) => Effect.Effect<BucketData | undefined>
  /** The `Clock` times (ms) at which a provider was asked for a signature, oldest first. */
  readonly requestTimes: (name: string) => Effect.Effect<ReadonlyArray<number>>
  /** The `Clock` times (ms) at which a provider was asked `GET /health`, oldest first. */
  readonly probeTimes: (name: string) => Effect.Effect<ReadonlyArray<number>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FakeProviderNetworkService extends ProviderNetworkHandle {
  readonly api: ProviderApi.ProviderApiService
}

/**
 * The fake network's handle.
 *
 * @since 0.1.0
 * @category tags
 */
export class FakeProviderNetwork extends Context.Tag("@checkpointer/testing/FakeProviderNetwork")<
  FakeProviderNetwork,
  FakeProviderNetworkService
>() {}

/** A derived root, distinct per reason, so fakes can disagree in controlled ways. */
const deriveRoot = (root: Domain.H256, reason: string): Domain.H256 =>
  blake2AsHex(`${root}:${reason}`, 256) as Domain.H256

const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex")

/**
 * Builds a fake provider network. Provider `i` listens (in name only) on `127.0.0.1:${basePort + i}`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  specs: ReadonlyArray<ProviderSpec>,
  options: { readonly basePort?: number } = {}
): Effect.Effect<FakeProviderNetworkService> =>
  Effect.gen(function*() {
    const keyrings = {
      sr25519: new Keyring({ type: "sr25519", ss58Format: Domain.SS58_PREFIX }),
      ed25519: new Keyring({ type: "ed25519", ss58Format: Domain.SS58_PREFIX }),
      ecdsa: new Keyring({ type: "ecdsa", ss58Format: Domain.SS58_PREFIX })
    }
    const keyring = keyrings.sr25519
    const basePort = options.basePort ?? 3333
    const providers: Array<FakeProvider> = specs.map((spec, i) => {
      const pair = keyrings[spec.scheme ?? "sr25519"].addFromUri(`//${spec.name}`)
      const port = basePort + i
      return {
        name: spec.name,
        // An ecdsa account is the blake2-256 of its compressed key; sr25519/ed25519 accounts are the key.
        account: Domain.accountIdFromBytes(pair.addressRaw)!,
        publicKey: Domain.publicKeyFromBytes(pair.publicKey)!,
        endpoint: `http://127.0.0.1:${port}` as Domain.Endpoint,
        multiaddr: `/ip4/127.0.0.1/tcp/${port}`,
        pair
      }
    })
    const wrongKeys = {
      sr25519: keyring.addFromUri("//NotTheRegisteredKey"),
      ed25519: keyrings.ed25519.addFromUri("//NotTheRegisteredKey"),
      ecdsa: keyrings.ecdsa.addFromUri("//NotTheRegisteredKey")
    }
    const byName = new Map(providers.map((p, i) => [p.name, { provider: p, spec: specs[i] }]))
    const byEndpoint = new Map(providers.map((p, i) => [p.endpoint as string, { provider: p, spec: specs[i] }]))
    const startedAt = yield* Clock.currentTimeMillis
    // Each provider's behaviour and when it was set (a lagging provider's catch-up counts from then).
    const behaviours = yield* Ref.make(
      new Map(specs.map((s) => [s.name, { behaviour: s.behaviour ?? Behaviour.honest(), since: startedAt }]))
    )
    const data = yield* Ref.make(new Map<BucketId, BucketData>())
    const requests = yield* Ref.make(new Map<string, ReadonlyArray<number>>())
    const probes = yield* Ref.make(new Map<string, ReadonlyArray<number>>())
    const randoms = new Map<string, () => number>()
    // Flakiness of `/health` draws from its own sequence: probes leave the signing answers' unchanged.
    const healthRandoms = new Map<string, () => number>()

    const transport = (endpoint: string, detail: string) =>
      new ProviderApi.ProviderRequestError({ endpoint, reason: "Transport", detail })

    const lookup = (name: string) => {
      const found = byName.get(name)
      if (found === undefined) throw new Error(`no fake provider named ${name}`)
      return found
    }

    /** The commitment a provider holds for a bucket under its behaviours (applied in order). */
    const held = (name: string, behaviours: ReadonlyArray<Behaviour>, truth: BucketData, lagMillis: number) =>
      behaviours.reduce((data, behaviour) => shape(name, behaviour, data, lagMillis), truth)

    const shape = (name: string, behaviour: Behaviour, truth: BucketData, lagMillis: number): BucketData => {
      switch (behaviour._tag) {
        case "Lagging": {
          const caughtUp = behaviour.catchUpAfter !== undefined &&
            lagMillis >= Duration.toMillis(Duration.decode(behaviour.catchUpAfter))
          if (caughtUp) return truth
          const behind = BigInt(behaviour.behindBy)
          return {
            mmrRoot: deriveRoot(truth.mmrRoot, `behind:${behind}`),
            startSeq: truth.startSeq,
            leafCount: truth.leafCount > behind ? truth.leafCount - behind : 0n
          }
        }
        case "Ahead":
          return {
            mmrRoot: deriveRoot(truth.mmrRoot, `ahead:${behaviour.aheadBy}`),
            startSeq: truth.startSeq,
            leafCount: truth.leafCount + BigInt(behaviour.aheadBy)
          }
        case "Divergent":
          return { ...truth, mmrRoot: deriveRoot(truth.mmrRoot, `divergent:${name}`) }
        default:
          return truth
      }
    }

    const body = (
      found: { provider: FakeProvider; spec: ProviderSpec },
      behaviours: ReadonlyArray<Behaviour>,
      bucketId: BucketId,
      truth: BucketData,
      lagMillis: number
    ): unknown => {
      const has = (tag: Behaviour["_tag"]) => behaviours.some((b) => b._tag === tag)
      if (has("Malformed")) {
        return { bucket_id: Number(bucketId), mmr_root: "0xnot-a-root", start_seq: -1, provider_signature: "0x12" }
      }
      const claimed = has("WrongBucket") ? bucketId + 1n : bucketId
      const commitment = held(found.provider.name, behaviours, truth, lagMillis)
      const payload = encodeCommitmentPayload({ bucketId: claimed, ...commitment })
      const scheme = found.spec.scheme ?? "sr25519"
      const signer = has("BadSignature") ? wrongKeys[scheme] : found.provider.pair
      const raw = signer.sign(payload)
      const signature = found.spec.signatureForm === "raw" && scheme === "sr25519"
        ? hex(raw)
        : hex(encodeMultiSignature({ _tag: TAG[scheme], bytes: raw } as Domain.MultiSignature))
      return {
        bucket_id: claimed.toString(),
        mmr_root: commitment.mmrRoot,
        start_seq: commitment.startSeq.toString(),
        leaf_count: commitment.leafCount.toString(),
        provider_signature: signature
      }
    }

    const answer = (endpoint: Domain.Endpoint, bucketId: BucketId) =>
      Effect.gen(function*() {
        const found = byEndpoint.get(endpoint)
        if (found === undefined) return yield* transport(endpoint, "connection refused")
        const name = found.provider.name
        const now = yield* Clock.currentTimeMillis
        const previous = yield* Ref.modify(requests, (m) => {
          const times = m.get(name) ?? []
          return [times.length, new Map(m).set(name, [...times, now])]
        })
        const current = (yield* Ref.get(behaviours)).get(name) ?? { behaviour: Behaviour.honest(), since: now }
        const all = flatten(current.behaviour)
        const honest = respond(found, all, endpoint, bucketId, previous, current.since)
        const custom = all.find((b): b is Extract<Behaviour, { _tag: "Custom" }> => b._tag === "Custom")
        return yield* custom === undefined ? honest : custom.answer({ endpoint, bucketId, previous, honest })
      })

    /** A provider's answer under its behaviours (custom ones aside). */
    const respond = (
      found: { provider: FakeProvider; spec: ProviderSpec },
      all: ReadonlyArray<Behaviour>,
      endpoint: Domain.Endpoint,
      bucketId: BucketId,
      previous: number,
      since: number
    ) =>
      Effect.gen(function*() {
        const name = found.provider.name
        for (const behaviour of all) {
          switch (behaviour._tag) {
            case "Unreachable":
              return yield* transport(endpoint, "connection refused")
            case "Hang":
              return yield* Effect.never
            case "Defect":
              return yield* Effect.dieMessage(`fake provider ${name}: simulated defect`)
            case "HttpStatus":
              return yield* new ProviderApi.ProviderRequestError({
                endpoint,
                reason: behaviour.status === 429 ? "RateLimited" : "Status",
                status: behaviour.status,
                detail: `HTTP ${behaviour.status}`,
                ...(behaviour.errorCode === undefined ? {} : { errorCode: behaviour.errorCode }),
                ...(behaviour.retryAfterMillis === undefined ? {} : { retryAfterMillis: behaviour.retryAfterMillis })
              })
            case "FailTimes":
              if (previous < behaviour.times) {
                if (behaviour.failure === "Hang") return yield* Effect.never
                return yield* behaviour.failure === "Transport"
                  ? transport(endpoint, "connection reset")
                  : new ProviderApi.ProviderRequestError({
                    endpoint,
                    reason: "Status",
                    status: 503,
                    errorCode: "chain_state_not_ready",
                    detail: "HTTP 503"
                  })
              }
              break
            case "Flaky": {
              const random = randoms.get(name) ?? prng(behaviour.seed)
              randoms.set(name, random)
              if (random() < behaviour.failureProbability) return yield* transport(endpoint, "connection reset")
              break
            }
            case "Slow":
              yield* Effect.sleep(behaviour.latency)
              break
          }
        }
        const truth = (yield* Ref.get(data)).get(bucketId)
        if (truth === undefined) {
          return yield* new ProviderApi.ProviderRequestError({
            endpoint,
            reason: "Status",
            status: 404,
            errorCode: "bucket_not_found",
            detail: "HTTP 404"
          })
        }
        const wire = body(found, all, bucketId, truth, (yield* Clock.currentTimeMillis) - since)
        return yield* ProviderApi.decodeSignedCommitment(endpoint, wire)
      })

    const reachable = (endpoint: Domain.Endpoint) =>
      Effect.gen(function*() {
        const found = byEndpoint.get(endpoint)
        if (found === undefined) return yield* transport(endpoint, "connection refused")
        const current = (yield* Ref.get(behaviours)).get(found.provider.name)
        if (current !== undefined && flatten(current.behaviour).some((b) => b._tag === "Unreachable")) {
          return yield* transport(endpoint, "connection refused")
        }
        return found.provider
      })

    /** `GET /health` under the provider's transport-level behaviours. */
    const health = (endpoint: Domain.Endpoint) =>
      Effect.gen(function*() {
        const found = byEndpoint.get(endpoint)
        if (found === undefined) return yield* transport(endpoint, "connection refused")
        const name = found.provider.name
        const now = yield* Clock.currentTimeMillis
        yield* Ref.update(probes, (m) => new Map(m).set(name, [...(m.get(name) ?? []), now]))
        const current = (yield* Ref.get(behaviours)).get(name)
        let status = "healthy"
        for (const behaviour of current === undefined ? [] : flatten(current.behaviour)) {
          switch (behaviour._tag) {
            case "Unreachable":
              return yield* transport(endpoint, "connection refused")
            case "Hang":
              return yield* Effect.never
            case "HttpStatus":
              return yield* new ProviderApi.ProviderRequestError({
                endpoint,
                reason: behaviour.status === 429 ? "RateLimited" : "Status",
                status: behaviour.status,
                detail: `HTTP ${behaviour.status}`,
                ...(behaviour.errorCode === undefined ? {} : { errorCode: behaviour.errorCode }),
                ...(behaviour.retryAfterMillis === undefined ? {} : { retryAfterMillis: behaviour.retryAfterMillis })
              })
            case "Flaky": {
              const random = healthRandoms.get(name) ?? prng(behaviour.seed)
              healthRandoms.set(name, random)
              if (random() < behaviour.failureProbability) return yield* transport(endpoint, "connection reset")
              break
            }
            case "Slow":
              yield* Effect.sleep(behaviour.latency)
              break
            case "Malformed":
              return yield* ProviderApi.decodeHealth(endpoint, { healthy: "yes" })
            case "Unhealthy":
              status = behaviour.status
              break
          }
        }
        return yield* ProviderApi.decodeHealth(endpoint, { status, version: "fake" })
      })

    const api: ProviderApi.ProviderApiService = {
      health,
      info: (endpoint) =>
        Effect.flatMap(reachable(endpoint), (provider) =>
          ProviderApi.decodeInfo(endpoint, {
            provider_id: provider.account,
            provider_registration_info: null,
            readiness: { signing_configured: true, provider_info_loaded: true, deregistering: false }
          })),
      checkpointSignature: answer,
      commitment: answer
    }

    return {
      api,
      providers,
      provider: (name) => lookup(name).provider,
      setBehaviour: (name, behaviour) =>
        Effect.suspend(() => {
          lookup(name)
          return Effect.flatMap(
            Clock.currentTimeMillis,
            (since) => Ref.update(behaviours, (m) => new Map(m).set(name, { behaviour, since }))
          )
        }),
      setBucketData: (bucketId, bucket) => Ref.update(data, (m) => new Map(m).set(bucketId, bucket)),
      append: (bucketId, leaves) =>
        Ref.modify(data, (m) => {
          const previous = m.get(bucketId) ??
            { mmrRoot: ("0x" + "00".repeat(32)) as Domain.H256, startSeq: 0n, leafCount: 0n }
          const next: BucketData = {
            mmrRoot: deriveRoot(previous.mmrRoot, `append:${leaves}`),
            startSeq: previous.startSeq,
            leafCount: previous.leafCount + BigInt(leaves)
          }
          return [next, new Map(m).set(bucketId, next)]
        }),
      bucketData: (bucketId) => Effect.map(Ref.get(data), (m) => m.get(bucketId)),
      requestTimes: (name) => Effect.map(Ref.get(requests), (m) => m.get(name) ?? []),
      probeTimes: (name) => Effect.map(Ref.get(probes), (m) => m.get(name) ?? [])
    } satisfies FakeProviderNetworkService
  })

/**
 * A layer providing the network's handle and the `ProviderApi` it implements.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  specs: ReadonlyArray<ProviderSpec>,
  options: { readonly basePort?: number } = {}
): Layer.Layer<FakeProviderNetwork | ProviderApi.ProviderApi> =>
  Layer.effectContext(
    Effect.map(make(specs, options), (network) =>
      Context.make(FakeProviderNetwork, network).pipe(Context.add(ProviderApi.ProviderApi, network.api)))
  )

/**
 * The providers of a bucket, from chain state: the bucket's `primary_providers` (in order), each
 * one's `Providers` record (multiaddr turned into a URL, registered public key).
 *
 * - The bucket itself (primaries, `min_providers`, snapshot) is read fresh for every round, at the
 *   latest finalized block, so the floor check and the threshold use current values.
 * - Provider records are cached per bucket for `providerCacheTtl`; the cache is also dropped when the
 *   primaries change, and by `invalidate` (the manager calls it when a round fails).
 * - Manual endpoints are resolved to accounts through `/info` and merged: one that belongs to a primary
 *   replaces that primary's chain-derived URL (its key still comes from chain); one that belongs to no
 *   primary is reported and not used, since the chain would refuse its signature.
 * - A primary that cannot be asked (no record, unusable multiaddr) is reported as undiscoverable and
 *   still counts towards the total.
 * - `known` gives a bucket's providers as last discovered, without reading the chain (health probes use
 *   it); `invalidate` does not forget them, it only makes the next round read them again.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { BlockRef, BucketInfo, ChainReadError, ChainUnavailable } from "./ChainClient.js"
import { ChainClient } from "./ChainClient.js"
import { CheckpointConfig } from "./CheckpointConfig.js"
import type { RoundTarget, Undiscoverable } from "./CommitmentCollector.js"
import type { AccountId, BucketId } from "./Domain.js"
import { Endpoint, ProviderInfo, publicKeyOfAccount } from "./Domain.js"
import { bounded } from "./internal/chainRead.js"
import * as MapRef from "./internal/mapRef.js"
import { multiaddrToUrl } from "./Multiaddr.js"
import { ProviderApi } from "./ProviderApi.js"

/**
 * What became of a manual endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManualEndpointResolution {
  readonly endpoint: Endpoint
  readonly outcome: "Merged" | "NotPrimary" | "NotRegistered" | "Unresolved"
  readonly account: Option.Option<AccountId>
  readonly detail: string
}

/**
 * The providers of a bucket for one round.
 *
 * @since 0.1.0
 * @category models
 */
export interface Discovered extends RoundTarget {
  /** The finalized block the bucket was read at (cached provider records may be older, within the TTL). */
  readonly at: BlockRef
  readonly manual: ReadonlyArray<ManualEndpointResolution>
  /** Whether the provider records came from the cache. */
  readonly cached: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProviderDiscoveryService {
  readonly discover: (bucketId: BucketId) => Effect.Effect<Discovered, ChainReadError>
  readonly invalidate: (bucketId: BucketId) => Effect.Effect<void>
  /**
   * The providers of a bucket's latest discovery, however old (none if it was never discovered); reads
   * nothing from the chain.
   */
  readonly known: (bucketId: BucketId) => Effect.Effect<Option.Option<ReadonlyArray<ProviderInfo>>>
}

/**
 * Provider discovery.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderDiscovery extends Context.Tag("@checkpointer/core/ProviderDiscovery")<
  ProviderDiscovery,
  ProviderDiscoveryService
>() {
  static readonly layer: Layer.Layer<ProviderDiscovery, never, ChainClient | ProviderApi | CheckpointConfig> = Layer
    .effect(
      ProviderDiscovery,
      Effect.gen(function*() {
        const chain = yield* ChainClient
        const api = yield* ProviderApi
        const settings = yield* CheckpointConfig
        const cache = yield* MapRef.make<BucketId, CacheEntry>()
        // The latest providers of each bucket, kept through `invalidate` (which only forces a fresh read).
        const latest = yield* MapRef.make<BucketId, ReadonlyArray<ProviderInfo>>()

        const resolveRecords = (bucket: BucketInfo, at: BlockRef) =>
          Effect.forEach(
            bucket.primaryProviders,
            (account) =>
              chain.provider(account, at.hash).pipe(
                bounded("provider", settings.chainTimeout),
                Effect.map((record): Either.Either<ProviderInfo, Undiscoverable> => {
                  if (Option.isNone(record)) {
                    return Either.left({ account, detail: "no provider record on chain" })
                  }
                  const url = multiaddrToUrl(record.value.multiaddr)
                  const endpoint = Either.flatMap(
                    url,
                    (text) => Either.mapLeft(Schema.decodeEither(Endpoint)(text), (e) => ({ detail: e.message }))
                  )
                  if (Either.isLeft(endpoint)) {
                    return Either.left({ account, detail: `unusable multiaddr: ${endpoint.left.detail}` })
                  }
                  return Either.right(
                    new ProviderInfo({
                      accountId: account,
                      endpoint: endpoint.right,
                      publicKey: Option.getOrElse(record.value.publicKey, () => publicKeyOfAccount(account)),
                      multiaddr: record.value.multiaddr
                    }, true)
                  )
                })
              ),
            { concurrency: settings.maxConcurrency }
          )

        const resolveManual = (bucket: BucketInfo, at: BlockRef) =>
          Effect.forEach(settings.manualEndpoints, (endpoint) =>
            api.info(endpoint).pipe(
              Effect.timeout(settings.providerTimeout),
              Effect.either,
              Effect.flatMap((info) => {
                if (Either.isLeft(info)) {
                  return Effect.succeed<ManualEndpointResolution>({
                    endpoint,
                    outcome: "Unresolved",
                    account: Option.none(),
                    detail: `GET /info failed: ${info.left.message}`
                  })
                }
                const account = info.right.providerId
                if (!bucket.primaryProviders.includes(account)) {
                  return Effect.succeed<ManualEndpointResolution>({
                    endpoint,
                    outcome: "NotPrimary",
                    account: Option.some(account),
                    detail: `${account} is not a primary provider of bucket ${bucket.bucketId}`
                  })
                }
                return chain.provider(account, at.hash).pipe(
                  bounded("provider", settings.chainTimeout),
                  Effect.map((record): ManualEndpointResolution =>
                    Option.isNone(record)
                      ? {
                        endpoint,
                        outcome: "NotRegistered",
                        account: Option.some(account),
                        detail: "no provider record on chain"
                      }
                      : { endpoint, outcome: "Merged", account: Option.some(account), detail: "" }
                  )
                )
              })
            ), { concurrency: settings.maxConcurrency })

        const load = (bucket: BucketInfo, at: BlockRef): Effect.Effect<CacheEntry, ChainUnavailable> =>
          Effect.gen(function*() {
            const records = yield* resolveRecords(bucket, at)
            const manual = yield* resolveManual(bucket, at)
            const providers = new Map<string, ProviderInfo>()
            const undiscoverable = new Map<string, Undiscoverable>()
            for (const record of records) {
              if (Either.isRight(record)) providers.set(record.right.accountId, record.right)
              else undiscoverable.set(record.left.account, record.left)
            }
            for (const entry of manual) {
              if (entry.outcome !== "Merged" || Option.isNone(entry.account)) continue
              const account = entry.account.value
              const known = providers.get(account)
              const record = known ?? Option.getOrUndefined(
                Option.map(
                  yield* bounded("provider", settings.chainTimeout)(chain.provider(account, at.hash)),
                  (r) =>
                    new ProviderInfo({
                      accountId: account,
                      endpoint: entry.endpoint,
                      publicKey: Option.getOrElse(r.publicKey, () => publicKeyOfAccount(account)),
                      multiaddr: r.multiaddr
                    }, true)
                )
              )
              if (record === undefined) continue
              providers.set(account, new ProviderInfo({ ...record, endpoint: entry.endpoint }, true))
              undiscoverable.delete(account)
            }
            return {
              fetchedAtMillis: yield* Clock.currentTimeMillis,
              primaries: bucket.primaryProviders.join(","),
              providers: bucket.primaryProviders.flatMap((a) => providers.get(a) ?? []),
              undiscoverable: bucket.primaryProviders.flatMap((a) => undiscoverable.get(a) ?? []),
              manual
            }
          })

        const discover = Effect.fn("ProviderDiscovery.discover")(function*(bucketId: BucketId) {
          const at = yield* bounded("finalizedBlock", settings.chainTimeout)(chain.finalizedBlock)
          const bucket = yield* bounded("bucket", settings.chainTimeout)(chain.bucket(bucketId, at.hash))
          const now = yield* Clock.currentTimeMillis
          const cached = (yield* Ref.get(cache)).get(bucketId)
          const fresh = cached !== undefined &&
            cached.primaries === bucket.primaryProviders.join(",") &&
            now - cached.fetchedAtMillis < Duration.toMillis(settings.providerCacheTtl)
          const entry = fresh ? cached : yield* load(bucket, at)
          if (!fresh) {
            yield* Ref.update(cache, (m) => m.set(bucketId, entry))
            yield* Ref.update(latest, (m) => m.set(bucketId, entry.providers))
          }
          return {
            bucket,
            at,
            providers: entry.providers,
            undiscoverable: entry.undiscoverable,
            manual: entry.manual,
            cached: fresh
          } satisfies Discovered
        })

        return ProviderDiscovery.of({
          discover,
          invalidate: (bucketId) =>
            Ref.update(cache, (m) => {
              m.delete(bucketId)
              return m
            }),
          known: (bucketId) => Effect.map(Ref.get(latest), (m) => Option.fromNullable(m.get(bucketId)))
        })
      })
    )
}

interface CacheEntry {
  readonly fetchedAtMillis: number
  readonly primaries: string
  readonly providers: ReadonlyArray<ProviderInfo>
  readonly undiscoverable: ReadonlyArray<Undiscoverable>
  readonly manual: ReadonlyArray<ManualEndpointResolution>
}

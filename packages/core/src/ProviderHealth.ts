/**
 * Per-provider health: every request's outcome and latency, a status with one consistent boundary, and
 * a circuit breaker the collector consults before asking a provider.
 *
 * Status, in this order:
 * - `Unknown`: no request yet;
 * - `Unreachable`: `unreachableAfter` (5) or more consecutive failures;
 * - `Degraded`: a current failure streak, or a success rate below 80 %;
 * - `Healthy`: otherwise. "Healthy" means exactly this status (the anchor's `is_healthy` used another
 *   boundary than its status, so a provider at 80 % was both).
 *
 * The breaker opens when a provider becomes `Unreachable`, refuses requests for `breakerCooldown`, then
 * lets one through (half-open): a success closes it, a failure opens it again.
 *
 * Health probes (`GET /health`, run by the loop through `ProviderProbe`) count as requests under the same
 * rules: a provider failing them becomes Degraded, then Unreachable with its breaker open, before any
 * round asks it; one answering them again closes its breaker. A probe's latency is kept as its own
 * (`lastProbe`), out of the latency statistics, which describe signing requests.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { ProviderStatus } from "./CheckpointEvents.js"
import { CheckpointEvent, CheckpointEvents } from "./CheckpointEvents.js"
import { AccountId } from "./Domain.js"
import * as MapRef from "./internal/mapRef.js"

/**
 * A provider's health history as persisted (real event times, not the save time).
 *
 * @since 0.1.0
 * @category models
 */
export class HealthRecord extends Schema.Class<HealthRecord>("HealthRecord")({
  provider: AccountId,
  requests: Schema.Number,
  successes: Schema.Number,
  failures: Schema.Number,
  consecutiveFailures: Schema.Number,
  lastSuccessMillis: Schema.OptionFromNullOr(Schema.Number),
  lastFailureMillis: Schema.OptionFromNullOr(Schema.Number),
  latencyEwmaMillis: Schema.OptionFromNullOr(Schema.Number)
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface HealthSettings {
  readonly unreachableAfter: number
  readonly degradedBelowRate: number
  readonly breakerCooldown: Duration.Duration
  /** Latencies kept for percentiles. */
  readonly latencyWindow: number
  /** Weight of the newest latency in the moving average. */
  readonly ewmaAlpha: number
  /** Statuses kept in the recent history. */
  readonly recentStatuses: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultSettings: HealthSettings = {
  unreachableAfter: 5,
  degradedBelowRate: 0.8,
  breakerCooldown: Duration.seconds(30),
  latencyWindow: 100,
  ewmaAlpha: 0.2,
  recentStatuses: 10
}

/**
 * The outcome of one health probe, as `recordProbe` takes it.
 *
 * @since 0.1.0
 * @category models
 */
export type ProbeOutcome =
  & (
    | { readonly ok: true; readonly latencyMillis: number }
    | { readonly ok: false; readonly error: string; readonly latencyMillis?: number | undefined }
  )
  & {
    /** The endpoint probed (as discovery gave it), for a reader to see where the provider is asked. */
    readonly endpoint?: string | undefined
  }

/**
 * A provider's last health probe: when its outcome was known (epoch millis), whether it passed, how long
 * the provider took to answer (absent when it did not answer), why it failed, and the endpoint probed.
 *
 * @since 0.1.0
 * @category models
 */
export interface LastProbe {
  readonly at: number
  readonly ok: boolean
  readonly latencyMillis?: number | undefined
  readonly error?: string | undefined
  readonly endpoint?: string | undefined
}

/**
 * A provider's health.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderHealthSnapshot {
  readonly provider: AccountId
  readonly requests: number
  readonly successes: number
  readonly failures: number
  readonly consecutiveFailures: number
  readonly successRate: number
  readonly latencyEwmaMillis: Option.Option<number>
  readonly latencyP50Millis: Option.Option<number>
  readonly latencyP95Millis: Option.Option<number>
  readonly lastSuccessMillis: Option.Option<number>
  readonly lastFailureMillis: Option.Option<number>
  readonly lastError: Option.Option<string>
  readonly recentStatuses: ReadonlyArray<{ readonly atMillis: number; readonly status: ProviderStatus }>
  readonly status: ProviderStatus
  readonly breaker: "Closed" | "Open" | "HalfOpen"
  /** The last health probe, once the provider has been probed (not persisted across restarts). */
  readonly lastProbe?: LastProbe | undefined
}

interface Entry {
  readonly requests: number
  readonly successes: number
  readonly failures: number
  readonly consecutiveFailures: number
  readonly ewma: number | undefined
  readonly latencies: ReadonlyArray<number>
  readonly lastSuccessMillis: number | undefined
  readonly lastFailureMillis: number | undefined
  readonly lastError: string | undefined
  readonly recent: ReadonlyArray<{ readonly atMillis: number; readonly status: ProviderStatus }>
  readonly openUntil: number | undefined
  /** When the half-open probe was let through; it expires after a cooldown (the probe may never report). */
  readonly halfOpenSince: number | undefined
  readonly lastProbe: LastProbe | undefined
}

const blank: Entry = {
  requests: 0,
  successes: 0,
  failures: 0,
  consecutiveFailures: 0,
  ewma: undefined,
  latencies: [],
  lastSuccessMillis: undefined,
  lastFailureMillis: undefined,
  lastError: undefined,
  recent: [],
  openUntil: undefined,
  halfOpenSince: undefined,
  lastProbe: undefined
}

/**
 * The status rule, exported for tests and for callers with their own counters.
 *
 * @since 0.1.0
 * @category functions
 */
export const statusOf = (
  entry: { readonly requests: number; readonly successes: number; readonly consecutiveFailures: number },
  settings: HealthSettings = defaultSettings
): ProviderStatus => {
  if (entry.requests === 0) return "Unknown"
  if (entry.consecutiveFailures >= settings.unreachableAfter) return "Unreachable"
  if (entry.consecutiveFailures > 0 || entry.successes / entry.requests < settings.degradedBelowRate) return "Degraded"
  return "Healthy"
}

const percentile = (values: ReadonlyArray<number>, p: number): Option.Option<number> => {
  if (values.length === 0) return Option.none()
  const sorted = [...values].sort((a, b) => a - b)
  return Option.some(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)])
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProviderHealthService {
  readonly recordSuccess: (provider: AccountId, latencyMillis: number) => Effect.Effect<void>
  readonly recordFailure: (provider: AccountId, error: string) => Effect.Effect<void>
  /**
   * Records a health probe: counted as a request like any other (a success ends a failure streak and
   * closes the breaker, a failure extends the streak and may open it), its latency kept as `lastProbe`
   * only.
   */
  readonly recordProbe: (provider: AccountId, outcome: ProbeOutcome) => Effect.Effect<void>
  readonly snapshot: (provider: AccountId) => Effect.Effect<ProviderHealthSnapshot>
  readonly all: Effect.Effect<ReadonlyArray<ProviderHealthSnapshot>>
  /** Providers best first: by status, then success rate, then latency; ties keep the given order. */
  readonly ordered: (providers: ReadonlyArray<AccountId>) => Effect.Effect<ReadonlyArray<AccountId>>
  /** Whether at least `required` of these providers are Healthy (Unknown counts as not yet). */
  readonly hasEnoughHealthyProviders: (providers: ReadonlyArray<AccountId>, required: number) => Effect.Effect<boolean>
  /** Whether the breaker lets a request through now (a half-open breaker lets one through). */
  readonly allowRequest: (provider: AccountId) => Effect.Effect<boolean>
  /** The persistable form, with real event times. */
  readonly records: Effect.Effect<ReadonlyArray<HealthRecord>>
  readonly restore: (records: ReadonlyArray<HealthRecord>) => Effect.Effect<void>
}

/**
 * Provider health.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderHealth extends Context.Tag("@checkpointer/core/ProviderHealth")<
  ProviderHealth,
  ProviderHealthService
>() {
  /** In memory, reporting status changes on the event bus; the loop persists it in its `LoopStore`. */
  static readonly layer = (
    settings: Partial<HealthSettings> = {}
  ): Layer.Layer<ProviderHealth, never, CheckpointEvents> =>
    Layer.effect(ProviderHealth, make({ ...defaultSettings, ...settings }))
}

/**
 * Builds the in-memory health tracker.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  settings: HealthSettings = defaultSettings
): Effect.Effect<ProviderHealthService, never, CheckpointEvents> =>
  Effect.gen(function*() {
    const events = yield* CheckpointEvents
    const entries = yield* MapRef.make<AccountId, Entry>()

    const update = (provider: AccountId, change: (entry: Entry, now: number) => Entry) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const [from, to] = yield* Ref.modify(
          entries,
          (m): [[ProviderStatus, ProviderStatus], Map<AccountId, Entry>] => {
            const before = m.get(provider) ?? blank
            const after = change(before, now)
            const status = statusOf(after, settings)
            const recent = [...after.recent, { atMillis: now, status }].slice(-settings.recentStatuses)
            return [[statusOf(before, settings), status], m.set(provider, { ...after, recent })]
          }
        )
        if (from !== to) yield* events.publish(CheckpointEvent.ProviderStatusChanged({ provider, from, to }))
      })

    const snapshotOf = (provider: AccountId, entry: Entry, now: number): ProviderHealthSnapshot => ({
      provider,
      requests: entry.requests,
      successes: entry.successes,
      failures: entry.failures,
      consecutiveFailures: entry.consecutiveFailures,
      successRate: entry.requests === 0 ? 1 : entry.successes / entry.requests,
      latencyEwmaMillis: Option.fromNullable(entry.ewma),
      latencyP50Millis: percentile(entry.latencies, 50),
      latencyP95Millis: percentile(entry.latencies, 95),
      lastSuccessMillis: Option.fromNullable(entry.lastSuccessMillis),
      lastFailureMillis: Option.fromNullable(entry.lastFailureMillis),
      lastError: Option.fromNullable(entry.lastError),
      recentStatuses: entry.recent,
      status: statusOf(entry, settings),
      breaker: entry.openUntil === undefined ? "Closed" : now >= entry.openUntil ? "HalfOpen" : "Open",
      ...(entry.lastProbe === undefined ? {} : { lastProbe: entry.lastProbe })
    })

    const snapshot = (provider: AccountId) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.map(Ref.get(entries), (m) => snapshotOf(provider, m.get(provider) ?? blank, now))
      )

    const rank: Record<ProviderStatus, number> = { Healthy: 0, Unknown: 1, Degraded: 2, Unreachable: 3 }

    const succeeded = (e: Entry, now: number): Entry => ({
      ...e,
      requests: e.requests + 1,
      successes: e.successes + 1,
      consecutiveFailures: 0,
      lastSuccessMillis: now,
      openUntil: undefined,
      halfOpenSince: undefined
    })

    const failed = (e: Entry, now: number, error: string): Entry => {
      const consecutiveFailures = e.consecutiveFailures + 1
      const trips = consecutiveFailures >= settings.unreachableAfter
      return {
        ...e,
        requests: e.requests + 1,
        failures: e.failures + 1,
        consecutiveFailures,
        lastFailureMillis: now,
        lastError: error,
        openUntil: trips ? now + Duration.toMillis(settings.breakerCooldown) : e.openUntil,
        halfOpenSince: undefined
      }
    }

    return {
      recordSuccess: (provider, latencyMillis) =>
        update(provider, (e, now) => ({
          ...succeeded(e, now),
          ewma: e.ewma === undefined ? latencyMillis : e.ewma + settings.ewmaAlpha * (latencyMillis - e.ewma),
          latencies: [...e.latencies, latencyMillis].slice(-settings.latencyWindow)
        })),
      recordFailure: (provider, error) => update(provider, (e, now) => failed(e, now, error)),
      recordProbe: (provider, outcome) =>
        update(provider, (e, now) =>
          outcome.ok
            ? {
              ...succeeded(e, now),
              lastProbe: {
                at: now,
                ok: true,
                latencyMillis: outcome.latencyMillis,
                ...(outcome.endpoint === undefined ? {} : { endpoint: outcome.endpoint })
              }
            }
            : {
              ...failed(e, now, `health probe: ${outcome.error}`),
              lastProbe: {
                at: now,
                ok: false,
                error: outcome.error,
                ...(outcome.latencyMillis === undefined ? {} : { latencyMillis: outcome.latencyMillis }),
                ...(outcome.endpoint === undefined ? {} : { endpoint: outcome.endpoint })
              }
            }),
      snapshot,
      all: Effect.flatMap(Ref.get(entries), (m) => Effect.forEach(Array.from(m.keys()), snapshot)),
      ordered: (providers) =>
        Effect.map(Effect.forEach(providers, snapshot), (snapshots) =>
          snapshots
            .map((s, index) => ({ s, index }))
            .sort((a, b) =>
              rank[a.s.status] - rank[b.s.status] ||
              b.s.successRate - a.s.successRate ||
              Option.getOrElse(a.s.latencyEwmaMillis, () => Infinity) -
                Option.getOrElse(b.s.latencyEwmaMillis, () => Infinity) ||
              a.index - b.index
            )
            .map(({ s }) => s.provider)),
      hasEnoughHealthyProviders: (providers, required) =>
        Effect.map(
          Effect.forEach(providers, snapshot),
          (snapshots) => snapshots.filter((s) => s.status === "Healthy").length >= required
        ),
      allowRequest: (provider) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.modify(entries, (m): [boolean, Map<AccountId, Entry>] => {
            const entry = m.get(provider) ?? blank
            if (entry.openUntil === undefined) return [true, m]
            const probing = entry.halfOpenSince !== undefined &&
              now - entry.halfOpenSince < Duration.toMillis(settings.breakerCooldown)
            if (now < entry.openUntil || probing) return [false, m]
            return [true, m.set(provider, { ...entry, halfOpenSince: now })]
          })),
      records: Effect.map(Ref.get(entries), (m) =>
        Array.from(m, ([provider, e]) =>
          new HealthRecord({
            provider,
            requests: e.requests,
            successes: e.successes,
            failures: e.failures,
            consecutiveFailures: e.consecutiveFailures,
            lastSuccessMillis: Option.fromNullable(e.lastSuccessMillis),
            lastFailureMillis: Option.fromNullable(e.lastFailureMillis),
            latencyEwmaMillis: Option.fromNullable(e.ewma)
          }, true))),
      restore: (records) =>
        Ref.update(entries, (m) => {
          const next = new Map(m)
          for (const r of records) {
            next.set(r.provider, {
              ...blank,
              requests: r.requests,
              successes: r.successes,
              failures: r.failures,
              consecutiveFailures: r.consecutiveFailures,
              ewma: Option.getOrUndefined(r.latencyEwmaMillis),
              lastSuccessMillis: Option.getOrUndefined(r.lastSuccessMillis),
              lastFailureMillis: Option.getOrUndefined(r.lastFailureMillis)
            })
          }
          return next
        })
    } satisfies ProviderHealthService
  })

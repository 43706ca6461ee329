/**
 * The schedules every retry uses, built from configuration: exponential from a base delay, doubled
 * each time, capped, optionally jittered, bounded in count. A provider's `Retry-After` (on 429) is
 * honoured: the wait is the longer of the backoff and what the provider asked for.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { CheckpointConfig } from "./CheckpointConfig.js"
import type { ProviderRequestError } from "./ProviderApi.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  readonly base: Duration.DurationInput
  readonly cap: Duration.DurationInput
  readonly times: number
  readonly jitter: boolean
}

/**
 * `base`, `2·base`, `4·base`, ... each capped at `cap` (after jitter, so the cap is hard), at most
 * `times` recurrences.
 *
 * @since 0.1.0
 * @category constructors
 */
export const backoff = (options: BackoffOptions): Schedule.Schedule<number> => {
  const cap = Duration.decode(options.cap)
  const exponential = Schedule.exponential(options.base, 2)
  const spread = options.jitter ? Schedule.jittered(exponential) : exponential
  return spread.pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.intersect(Schedule.recurs(options.times)),
    Schedule.map(([, count]) => count)
  )
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicyService {
  /** Retries of one provider request (the caller retries only transient errors). */
  readonly providerRequest: Schedule.Schedule<number, ProviderRequestError>
}

/**
 * Waits at least as long as a rate-limited provider asked (`Retry-After`), capped at `cap`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const honourRetryAfter = (
  cap: Duration.DurationInput
): Schedule.Schedule<ProviderRequestError, ProviderRequestError> =>
  Schedule.identity<ProviderRequestError>().pipe(
    Schedule.addDelay((error) => Duration.min(Duration.millis(error.retryAfterMillis ?? 0), Duration.decode(cap)))
  )

/**
 * The retry schedules.
 *
 * @since 0.1.0
 * @category tags
 */
export class RetryPolicy extends Context.Tag("@checkpointer/core/RetryPolicy")<RetryPolicy, RetryPolicyService>() {
  /** Schedules built from `CheckpointConfig`. */
  static readonly layer: Layer.Layer<RetryPolicy, never, CheckpointConfig> = Layer.effect(
    RetryPolicy,
    Effect.map(CheckpointConfig, (settings) =>
      RetryPolicy.of({
        providerRequest: backoff({
          base: settings.retryDelay,
          cap: settings.retryMaxDelay,
          times: settings.maxRetries,
          jitter: settings.retryJitter
        }).pipe(
          Schedule.intersect(honourRetryAfter(settings.roundDeadline)),
          Schedule.map(([count]) => count)
        )
      }))
  )
}

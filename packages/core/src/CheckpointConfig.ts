/**
 * The settings of a checkpoint round, with the Rust anchor's defaults where it has them (`maxRetries`
 * 3, `retryDelay` 2 s, threshold 51 %, `providerCacheTtl` 300 s) and bounds on everything it left
 * unbounded (a round deadline, a grace window, a concurrency cap).
 *
 * The provider timeout is 10 s, not the anchor's 30 s: the anchor has no round deadline, ours (60 s)
 * covers the whole collection, and 4 attempts × 30 s alone would not fit in it, so a hanging provider
 * would get one retry instead of three. With 10 s the worst case, 4 × 10 s plus backoff of at most
 * (2 + 4 + 8) s × 1.2 jitter, is 56.8 s.
 *
 * Values are validated however they arrive: a threshold outside 1–100 %, a negative retry count, a
 * zero deadline, or retries that cannot all happen before the round deadline is a configuration error,
 * never a round that silently cannot succeed (or silently retries less than asked).
 *
 * The spend guardrails (`maxFeePerCheckpoint`, `bucketBudget`, `signerBudget` over `budgetPeriod`,
 * `minimumBalance`; amounts in planck) are off by default: with none set, nothing is estimated and
 * nothing is refused for its cost.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { BucketId } from "./Domain.js"
import { Endpoint } from "./Domain.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface CheckpointSettings {
  /** Per-attempt timeout of one provider request, headers and body. */
  readonly providerTimeout: Duration.Duration
  /** Retries after the first attempt, for transient failures only. */
  readonly maxRetries: number
  /** First retry delay; each further one doubles. */
  readonly retryDelay: Duration.Duration
  /** No single retry delay exceeds this. */
  readonly retryMaxDelay: Duration.Duration
  /** Spread retry delays randomly (0.8–1.2×) so providers are not hit in lockstep. */
  readonly retryJitter: boolean
  /** Consensus threshold in percent of all primaries (1–100). */
  readonly consensusThreshold: number
  /** How long discovered providers are cached. */
  readonly providerCacheTtl: Duration.Duration
  /** A round never runs longer than this. */
  readonly roundDeadline: Duration.Duration
  /** Once the threshold is met, wait this long for more signatures before finishing. */
  readonly graceWindow: Duration.Duration
  /** At most this many provider requests in flight per round. */
  readonly maxConcurrency: number
  /** When laggards could complete the threshold, wait this long before asking again. */
  readonly syncWait: Duration.Duration
  /** How many times to wait and ask again for laggards. */
  readonly syncRequeries: number
  /** Submission plus finality never takes longer than this. */
  readonly submissionTimeout: Duration.Duration
  /** Every chain read (blocks, bucket, provider records) is bounded by this. */
  readonly chainTimeout: Duration.Duration
  /**
   * After a restart, a journaled round that met the threshold but was not submitted is submitted with its
   * signatures (verified again) instead of running a new round, if it is younger than this.
   */
  readonly reuseSignaturesFor: Duration.Duration
  /** Challenge (`challenge_offchain`) a provider that diverged in `challengeAfterRounds` rounds in a row (default off). */
  readonly autoChallenge: boolean
  readonly challengeAfterRounds: number
  /** A provider is challenged at most once per cooldown. */
  readonly challengeCooldown: Duration.Duration
  /** At most this many challenges (each costs a deposit) for the life of the process. */
  readonly challengeBudget: number
  /** Provider endpoints given by hand; resolved to accounts through `/info`, merged with chain discovery. */
  readonly manualEndpoints: ReadonlyArray<Endpoint>
  /** A checkpoint whose estimated fee (planck) is above this is refused, unsigned (`FeeAboveCap`). */
  readonly maxFeePerCheckpoint: Option.Option<bigint>
  /** At most this much (planck) in fees for one bucket's checkpoints per `budgetPeriod` (`BudgetExhausted`). */
  readonly bucketBudget: Option.Option<bigint>
  /** At most this much (planck) in fees for all of the signer's checkpoints per `budgetPeriod` (`BudgetExhausted`). */
  readonly signerBudget: Option.Option<bigint>
  /** The window the budgets count fees over: the last `budgetPeriod`, sliding. */
  readonly budgetPeriod: Duration.Duration
  /**
   * Nothing is paid that would leave the signer's free balance (planck) below this
   * (`BalanceBelowMinimum`); the loop then pauses the signer's buckets until `resume`.
   */
  readonly minimumBalance: Option.Option<bigint>
  /** Settings that differ for some buckets (see `forBucket`); every other bucket has the settings above. */
  readonly perBucket: ReadonlyArray<BucketOverride>
}

/**
 * What may differ for one bucket: its threshold, its fee cap and its budget. Absent fields are the
 * process's settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketOverride {
  readonly bucketId: BucketId
  readonly consensusThreshold?: number | undefined
  readonly maxFeePerCheckpoint?: Option.Option<bigint> | undefined
  readonly bucketBudget?: Option.Option<bigint> | undefined
}

/**
 * The settings of one bucket: the process's, with the bucket's overrides applied.
 *
 * @since 0.1.0
 * @category functions
 */
export const forBucket = (settings: CheckpointSettings, bucketId: BucketId): CheckpointSettings => {
  if (settings.perBucket.length === 0) return settings
  const override = settings.perBucket.find((o) => o.bucketId === bucketId)
  if (override === undefined) return settings
  return {
    ...settings,
    ...(override.consensusThreshold === undefined ? {} : { consensusThreshold: override.consensusThreshold }),
    ...(override.maxFeePerCheckpoint === undefined ? {} : { maxFeePerCheckpoint: override.maxFeePerCheckpoint }),
    ...(override.bucketBudget === undefined ? {} : { bucketBudget: override.bucketBudget })
  }
}

/**
 * An amount in planck as a caller writes it: a `bigint`, a decimal string (`"1500000000"`), or an
 * `Option` (`Option.none()` for no limit, as the defaults are).
 *
 * @since 0.1.0
 * @category models
 */
export type AmountInput = bigint | string | Option.Option<bigint>

/**
 * Settings as a caller writes them: durations in any `DurationInput` form (`"30 seconds"`, millis, ...),
 * amounts as an `AmountInput`.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointSettingsInput = {
  readonly [K in keyof CheckpointSettings]?: CheckpointSettings[K] extends Duration.Duration ? Duration.DurationInput
    : CheckpointSettings[K] extends Option.Option<bigint> ? AmountInput
    : CheckpointSettings[K]
}

const DURATION_KEYS = [
  "providerTimeout",
  "retryDelay",
  "retryMaxDelay",
  "providerCacheTtl",
  "roundDeadline",
  "graceWindow",
  "syncWait",
  "submissionTimeout",
  "chainTimeout",
  "reuseSignaturesFor",
  "challengeCooldown",
  "budgetPeriod"
] as const

const AMOUNT_KEYS = ["maxFeePerCheckpoint", "bucketBudget", "signerBudget", "minimumBalance"] as const

/** The largest balance a chain holds (u128). */
const MAX_AMOUNT = (1n << 128n) - 1n

/**
 * An amount in planck from its decimal text: digits only, at most a u128.
 *
 * @since 0.1.0
 * @category validation
 */
export const parseAmount = (text: string): Either.Either<bigint, string> => {
  const trimmed = text.trim()
  if (!/^\d+$/.test(trimmed)) return Either.left(`expected a whole number of planck, got ${JSON.stringify(text)}`)
  const amount = BigInt(trimmed)
  return amount > MAX_AMOUNT ? Either.left(`${trimmed} is more than a u128 balance`) : Either.right(amount)
}

const decodeAmount = (input: AmountInput): Either.Either<Option.Option<bigint>, string> =>
  Option.isOption(input)
    ? Either.right(input)
    : typeof input === "bigint"
    ? Either.right(Option.some(input))
    : Either.map(parseAmount(input), Option.some)

/**
 * The defaults.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: CheckpointSettings = {
  providerTimeout: Duration.seconds(10),
  maxRetries: 3,
  retryDelay: Duration.seconds(2),
  retryMaxDelay: Duration.seconds(30),
  retryJitter: true,
  consensusThreshold: 51,
  providerCacheTtl: Duration.seconds(300),
  roundDeadline: Duration.seconds(60),
  graceWindow: Duration.seconds(1),
  maxConcurrency: 16,
  syncWait: Duration.seconds(12),
  syncRequeries: 1,
  submissionTimeout: Duration.minutes(5),
  chainTimeout: Duration.seconds(30),
  reuseSignaturesFor: Duration.minutes(10),
  autoChallenge: false,
  challengeAfterRounds: 3,
  challengeCooldown: Duration.hours(1),
  challengeBudget: 10,
  manualEndpoints: [],
  maxFeePerCheckpoint: Option.none(),
  bucketBudget: Option.none(),
  signerBudget: Option.none(),
  budgetPeriod: Duration.days(1),
  minimumBalance: Option.none(),
  perBucket: []
}

/** The largest factor `Schedule.jittered` applies (its range is 0.8–1.2). */
const JITTER_MAX = 1.2

/**
 * The longest one provider request can take before the collector gives up on it, as the retry schedule
 * (`RetryPolicy`) runs it: `maxRetries + 1` attempts each cut off at `providerTimeout`, and the
 * `maxRetries` backoff delays between them at their longest (`retryDelay · 2^i`, × 1.2 with jitter,
 * then capped at `retryMaxDelay`, in that order as the schedule does). A `Retry-After` longer than the
 * backoff, and requests queued behind `maxConcurrency`, come on top: the round deadline still bounds
 * those.
 *
 * @since 0.1.0
 * @category validation
 */
export const worstCaseRequest = (settings: CheckpointSettings): {
  readonly attempts: number
  readonly backoff: Duration.Duration
  readonly total: Duration.Duration
} => {
  const attempts = settings.maxRetries + 1
  const cap = Duration.toMillis(settings.retryMaxDelay)
  let backoffMillis = 0
  for (let retry = 0; retry < settings.maxRetries; retry++) {
    const exponential = Duration.toMillis(Duration.times(settings.retryDelay, Math.pow(2, retry)))
    backoffMillis += Math.min(settings.retryJitter ? exponential * JITTER_MAX : exponential, cap)
  }
  const backoff = Duration.millis(backoffMillis)
  return { attempts, backoff, total: Duration.sum(Duration.times(settings.providerTimeout, attempts), backoff) }
}

/** `2.4s`, `60s`: seconds, to the millisecond. */
const seconds = (duration: Duration.Duration): string =>
  Duration.isFinite(duration) ? `${Math.round(Duration.toMillis(duration)) / 1000}s` : "forever"

/**
 * Every problem with a set of settings, in words; empty when they are valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const problems = (settings: CheckpointSettings): ReadonlyArray<string> => {
  const out: Array<string> = []
  const int = (value: number, name: string, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      out.push(`${name} must be a whole number from ${min} to ${max}, got ${value}`)
    }
  }
  const positive = (value: Duration.Duration, name: string) => {
    if (!Duration.greaterThan(value, Duration.zero)) out.push(`${name} must be longer than zero`)
  }
  int(settings.consensusThreshold, "consensusThreshold (percent)", 1, 100)
  int(settings.maxRetries, "maxRetries", 0, 50)
  int(settings.maxConcurrency, "maxConcurrency", 1, 10_000)
  int(settings.syncRequeries, "syncRequeries", 0, 100)
  int(settings.challengeAfterRounds, "challengeAfterRounds", 1, 1000)
  int(settings.challengeBudget, "challengeBudget", 0, 1_000_000)
  positive(settings.providerTimeout, "providerTimeout")
  positive(settings.retryDelay, "retryDelay")
  positive(settings.retryMaxDelay, "retryMaxDelay")
  positive(settings.roundDeadline, "roundDeadline")
  positive(settings.submissionTimeout, "submissionTimeout")
  positive(settings.chainTimeout, "chainTimeout")
  if (Duration.greaterThanOrEqualTo(settings.graceWindow, settings.roundDeadline)) {
    out.push("graceWindow must be shorter than roundDeadline")
  }
  if (Duration.lessThan(settings.retryMaxDelay, settings.retryDelay)) {
    out.push("retryMaxDelay must not be shorter than retryDelay")
  }
  // Every retry asked for must be able to happen within the round: the deadline races the whole
  // collection, so retries that do not fit are silently fewer than configured.
  if (Number.isInteger(settings.maxRetries) && settings.maxRetries >= 0 && settings.maxRetries <= 50) {
    const worst = worstCaseRequest(settings)
    if (Duration.greaterThan(worst.total, settings.roundDeadline)) {
      out.push(
        `the retries do not fit in the round deadline: ${worst.attempts} attempts × ${
          seconds(settings.providerTimeout)
        } + ${seconds(worst.backoff)} of backoff = ${seconds(worst.total)} > roundDeadline ${
          seconds(settings.roundDeadline)
        } (lower providerTimeout or maxRetries, or raise roundDeadline)`
      )
    }
  }
  for (const endpoint of settings.manualEndpoints) {
    if (Either.isLeft(Schema.decodeUnknownEither(Endpoint)(endpoint))) out.push(`not a provider endpoint: ${endpoint}`)
  }
  // A cap or budget of zero would refuse every checkpoint: no limit is written by leaving it unset.
  const amount = (value: Option.Option<bigint>, name: string, min: bigint) => {
    if (Option.isNone(value)) return
    if (value.value < min || value.value > MAX_AMOUNT) {
      out.push(`${name} must be a whole number of planck from ${min} to 2^128 - 1, got ${value.value}`)
    }
  }
  amount(settings.maxFeePerCheckpoint, "maxFeePerCheckpoint", 1n)
  amount(settings.bucketBudget, "bucketBudget", 1n)
  amount(settings.signerBudget, "signerBudget", 1n)
  amount(settings.minimumBalance, "minimumBalance", 0n)
  const seen = new Set<BucketId>()
  for (const override of settings.perBucket ?? []) {
    const where = `perBucket[bucket ${override.bucketId}]`
    if (seen.has(override.bucketId)) out.push(`${where}: bucket ${override.bucketId} is listed twice`)
    seen.add(override.bucketId)
    if (override.consensusThreshold !== undefined) {
      int(override.consensusThreshold, `${where}.consensusThreshold (percent)`, 1, 100)
    }
    if (override.maxFeePerCheckpoint !== undefined) {
      amount(override.maxFeePerCheckpoint, `${where}.maxFeePerCheckpoint`, 1n)
    }
    if (override.bucketBudget !== undefined) amount(override.bucketBudget, `${where}.bucketBudget`, 1n)
  }
  positive(settings.budgetPeriod, "budgetPeriod")
  return out
}

/**
 * Settings from defaults and overrides, or a `ConfigError` listing what is wrong.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  overrides: CheckpointSettingsInput = {}
): Either.Either<CheckpointSettings, ConfigError.ConfigError> => {
  const durations: Partial<Record<(typeof DURATION_KEYS)[number], Duration.Duration>> = {}
  for (const key of DURATION_KEYS) {
    const value = overrides[key]
    if (value === undefined) continue
    const decoded = Duration.decodeUnknown(value)
    if (Option.isNone(decoded)) {
      return Either.left(ConfigError.InvalidData([key], `invalid checkpoint settings: ${key} is not a duration`))
    }
    durations[key] = decoded.value
  }
  const amounts: Partial<Record<(typeof AMOUNT_KEYS)[number], Option.Option<bigint>>> = {}
  for (const key of AMOUNT_KEYS) {
    const value = overrides[key]
    if (value === undefined) continue
    const decoded = decodeAmount(value)
    if (Either.isLeft(decoded)) {
      return Either.left(ConfigError.InvalidData([key], `invalid checkpoint settings: ${key}: ${decoded.left}`))
    }
    amounts[key] = decoded.right
  }
  const settings: CheckpointSettings = { ...defaults, ...overrides, ...durations, ...amounts } as CheckpointSettings
  const found = problems(settings)
  return found.length === 0
    ? Either.right(settings)
    : Either.left(ConfigError.InvalidData([], `invalid checkpoint settings: ${found.join("; ")}`))
}

/** An optional amount in planck (decimal digits); absent is no limit. */
const amountConfig = (name: string): Config.Config<Option.Option<bigint>> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(parseAmount(text), (problem) => ConfigError.InvalidData([name], problem))
    ),
    Config.option
  )

/**
 * Settings read from configuration (environment variables by default), all optional:
 * `CHECKPOINTER_PROVIDER_TIMEOUT` ("10 seconds"), `CHECKPOINTER_MAX_RETRIES`, `CHECKPOINTER_RETRY_DELAY`,
 * `CHECKPOINTER_RETRY_MAX_DELAY`, `CHECKPOINTER_RETRY_JITTER`, `CHECKPOINTER_CONSENSUS_THRESHOLD`,
 * `CHECKPOINTER_PROVIDER_CACHE_TTL`, `CHECKPOINTER_ROUND_DEADLINE`, `CHECKPOINTER_GRACE_WINDOW`,
 * `CHECKPOINTER_MAX_CONCURRENCY`, `CHECKPOINTER_SYNC_WAIT`, `CHECKPOINTER_SYNC_REQUERIES`,
 * `CHECKPOINTER_SUBMISSION_TIMEOUT`, `CHECKPOINTER_CHAIN_TIMEOUT`,
 * `CHECKPOINTER_PROVIDER_ENDPOINTS` (comma-separated URLs), and the spend guardrails in planck (unset: no
 * limit) `CHECKPOINTER_MAX_FEE_PER_CHECKPOINT`, `CHECKPOINTER_BUCKET_BUDGET`, `CHECKPOINTER_SIGNER_BUDGET`,
 * `CHECKPOINTER_MINIMUM_BALANCE`, with `CHECKPOINTER_BUDGET_PERIOD` ("1 day").
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<CheckpointSettings> = Config.all({
  providerTimeout: Config.duration("PROVIDER_TIMEOUT").pipe(Config.withDefault(defaults.providerTimeout)),
  maxRetries: Config.integer("MAX_RETRIES").pipe(Config.withDefault(defaults.maxRetries)),
  retryDelay: Config.duration("RETRY_DELAY").pipe(Config.withDefault(defaults.retryDelay)),
  retryMaxDelay: Config.duration("RETRY_MAX_DELAY").pipe(Config.withDefault(defaults.retryMaxDelay)),
  retryJitter: Config.boolean("RETRY_JITTER").pipe(Config.withDefault(defaults.retryJitter)),
  consensusThreshold: Config.integer("CONSENSUS_THRESHOLD").pipe(Config.withDefault(defaults.consensusThreshold)),
  providerCacheTtl: Config.duration("PROVIDER_CACHE_TTL").pipe(Config.withDefault(defaults.providerCacheTtl)),
  roundDeadline: Config.duration("ROUND_DEADLINE").pipe(Config.withDefault(defaults.roundDeadline)),
  graceWindow: Config.duration("GRACE_WINDOW").pipe(Config.withDefault(defaults.graceWindow)),
  maxConcurrency: Config.integer("MAX_CONCURRENCY").pipe(Config.withDefault(defaults.maxConcurrency)),
  syncWait: Config.duration("SYNC_WAIT").pipe(Config.withDefault(defaults.syncWait)),
  syncRequeries: Config.integer("SYNC_REQUERIES").pipe(Config.withDefault(defaults.syncRequeries)),
  submissionTimeout: Config.duration("SUBMISSION_TIMEOUT").pipe(Config.withDefault(defaults.submissionTimeout)),
  chainTimeout: Config.duration("CHAIN_TIMEOUT").pipe(Config.withDefault(defaults.chainTimeout)),
  reuseSignaturesFor: Config.duration("REUSE_SIGNATURES_FOR").pipe(Config.withDefault(defaults.reuseSignaturesFor)),
  autoChallenge: Config.boolean("AUTO_CHALLENGE").pipe(Config.withDefault(defaults.autoChallenge)),
  challengeAfterRounds: Config.integer("CHALLENGE_AFTER_ROUNDS").pipe(
    Config.withDefault(defaults.challengeAfterRounds)
  ),
  challengeCooldown: Config.duration("CHALLENGE_COOLDOWN").pipe(Config.withDefault(defaults.challengeCooldown)),
  challengeBudget: Config.integer("CHALLENGE_BUDGET").pipe(Config.withDefault(defaults.challengeBudget)),
  manualEndpoints: Config.array(Config.string(), "PROVIDER_ENDPOINTS").pipe(
    Config.withDefault([] as ReadonlyArray<string>),
    Config.map((urls) => urls.filter((url) => url.trim() !== "").map((url) => url.trim() as Endpoint))
  ),
  maxFeePerCheckpoint: amountConfig("MAX_FEE_PER_CHECKPOINT"),
  bucketBudget: amountConfig("BUCKET_BUDGET"),
  signerBudget: amountConfig("SIGNER_BUDGET"),
  budgetPeriod: Config.duration("BUDGET_PERIOD").pipe(Config.withDefault(defaults.budgetPeriod)),
  minimumBalance: amountConfig("MINIMUM_BALANCE")
}).pipe(
  Config.nested("CHECKPOINTER"),
  Config.mapOrFail((settings) => make(settings))
)

/**
 * The settings of checkpoint rounds.
 *
 * @since 0.1.0
 * @category tags
 */
export class CheckpointConfig extends Context.Tag("@checkpointer/core/CheckpointConfig")<
  CheckpointConfig,
  CheckpointSettings
>() {
  /** The defaults. */
  static readonly layerDefault: Layer.Layer<CheckpointConfig> = Layer.succeed(CheckpointConfig, defaults)

  /** Defaults with overrides; fails to build with a `ConfigError` if they are invalid. */
  static readonly layer = (
    overrides: CheckpointSettingsInput = {}
  ): Layer.Layer<CheckpointConfig, ConfigError.ConfigError> => Layer.effect(CheckpointConfig, make(overrides))

  /** From configuration (see `config`). */
  static readonly layerConfig: Layer.Layer<CheckpointConfig, ConfigError.ConfigError> = Layer.effect(
    CheckpointConfig,
    Effect.suspend(() => config)
  )
}

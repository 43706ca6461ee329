/**
 * Every tunable setting of the library, reachable from the command, in one table: the round's
 * (`CheckpointConfig`), the loop's (`CheckpointLoop`) and provider health's (`ProviderHealth`).
 *
 * Each setting is read, in this order of precedence, from `--set key=value` (or the flag that names it,
 * such as `--threshold`), the config file's `settings` object, the environment (`CHECKPOINTER_` and the
 * key in capitals with underscores, the names the library reads: `CHECKPOINTER_ROUND_DEADLINE`), and
 * otherwise the library's default. Values are validated once, by the library's own rules
 * (`CheckpointConfig.make`: bounds, retries that fit in the deadline), whichever way they came.
 *
 * @internal
 */
import { CheckpointConfig, CheckpointLoop, type Domain, ProviderHealth } from "@checkpointer/core"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

type Kind = "duration" | "int" | "boolean" | "rate" | "endpoints" | "durationOrOff" | "amount"

interface Spec {
  readonly key: string
  readonly scope: "round" | "loop" | "health"
  readonly kind: Kind
  readonly env: string
  readonly describe: string
}

const envName = (key: string) => `CHECKPOINTER_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

const spec = (scope: Spec["scope"], key: string, kind: Kind, describe: string, env = envName(key)): Spec => ({
  key,
  scope,
  kind,
  env,
  describe
})

/** Every setting, with how it is written and what it does. */
export const SPECS: ReadonlyArray<Spec> = [
  spec("round", "consensusThreshold", "int", "percent of all primaries that must sign (1-100)"),
  spec("round", "providerTimeout", "duration", "one provider request, headers and body"),
  spec("round", "maxRetries", "int", "retries of a transient provider failure"),
  spec("round", "retryDelay", "duration", "first retry delay (doubles each time)"),
  spec("round", "retryMaxDelay", "duration", "longest retry delay"),
  spec("round", "retryJitter", "boolean", "spread retry delays 0.8-1.2x"),
  spec("round", "providerCacheTtl", "duration", "how long discovered providers are cached"),
  spec("round", "roundDeadline", "duration", "a round never runs longer"),
  spec("round", "graceWindow", "duration", "wait for more signatures once the threshold is met"),
  spec("round", "maxConcurrency", "int", "provider requests in flight per round"),
  spec("round", "syncWait", "duration", "wait before asking laggards again"),
  spec("round", "syncRequeries", "int", "times to ask laggards again"),
  spec("round", "submissionTimeout", "duration", "submission plus finality"),
  spec("round", "chainTimeout", "duration", "every chain read"),
  spec("round", "reuseSignaturesFor", "duration", "after a restart, reuse a journaled round this recent"),
  spec("round", "autoChallenge", "boolean", "challenge a provider that diverges round after round"),
  spec("round", "challengeAfterRounds", "int", "rounds of divergence before a challenge"),
  spec("round", "challengeCooldown", "duration", "at most one challenge per provider per cooldown"),
  spec("round", "challengeBudget", "int", "challenges (each a deposit) for the life of the process"),
  spec(
    "round",
    "manualEndpoints",
    "endpoints",
    "provider URLs given by hand (comma-separated)",
    "CHECKPOINTER_PROVIDER_ENDPOINTS"
  ),
  spec(
    "round",
    "maxFeePerCheckpoint",
    "amount",
    "refuse a checkpoint whose quoted fee is higher (planck; none: no cap)"
  ),
  spec("round", "bucketBudget", "amount", "at most this much in fees per bucket per budgetPeriod (planck)"),
  spec("round", "signerBudget", "amount", "at most this much in fees for all buckets per budgetPeriod (planck)"),
  spec("round", "budgetPeriod", "duration", "the sliding window the budgets count fees over"),
  spec("round", "minimumBalance", "amount", "never let the signer's free balance fall below this (planck); run pauses"),
  spec("loop", "maxConsecutiveFailures", "int", "failures of one bucket before the loop pauses"),
  spec("loop", "failureRetryDelay", "duration", "first retry after a failed round (doubles)"),
  spec("loop", "failureRetryMaxDelay", "duration", "longest retry delay after failures"),
  spec("loop", "concurrency", "int", "rounds in flight at once across buckets"),
  spec("loop", "overdueAfter", "durationOrOff", "report a bucket overdue after this long without a checkpoint"),
  spec(
    "loop",
    "probeInterval",
    "durationOrOff",
    "probe every provider on GET /health this often, jittered (off or 0: never)"
  ),
  spec("loop", "probeConcurrency", "int", "health probes in flight at once"),
  spec("health", "unreachableAfter", "int", "consecutive failures before a provider is Unreachable"),
  spec("health", "degradedBelowRate", "rate", "success rate (0-1) below which a provider is Degraded"),
  spec("health", "breakerCooldown", "duration", "how long an open breaker refuses a provider")
]

const byKey = new Map(SPECS.map((s) => [s.key, s]))

/** Where a value came from. */
export type Source = "default" | `env ${string}` | "config file" | `--${string}`

export interface Tuned {
  readonly round: CheckpointConfig.CheckpointSettingsInput
  readonly loop: Partial<CheckpointLoop.LoopSettings>
  readonly health: Partial<ProviderHealth.HealthSettings>
  /** Every setting's effective value, as text, and its source. */
  readonly effective: ReadonlyArray<{ readonly key: string; readonly value: string; readonly source: Source }>
}

/** A value as given (text from the environment or `--set`, JSON from a file), parsed for its kind. */
const parse = (s: Spec, raw: unknown): Either.Either<unknown, string> => {
  const text = typeof raw === "string" ? raw.trim() : undefined
  switch (s.kind) {
    case "duration":
    case "durationOrOff": {
      if (s.kind === "durationOrOff" && (raw === false || text === "off")) return Either.right(Option.none())
      // A bare number is milliseconds; text is Effect's duration syntax ("30 seconds", "2 minutes") or
      // short units ("500ms", "30s", "5m", "2h", "1d").
      const short = text === undefined ? null : /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text)
      const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
      const input = typeof raw === "number"
        ? raw
        : short !== null
        ? Number(short[1]) * unit[short[2] as keyof typeof unit]
        : text !== undefined && /^\d+(\.\d+)?$/.test(text)
        ? Number(text)
        : text
      const decoded = input === undefined ? Option.none() : Duration.decodeUnknown(input)
      if (Option.isNone(decoded) || !Duration.isFinite(decoded.value)) {
        return Either.left(`expected a duration such as "30 seconds" or milliseconds, got ${JSON.stringify(raw)}`)
      }
      return Either.right(s.kind === "durationOrOff" ? Option.some(decoded.value) : decoded.value)
    }
    case "int": {
      const n = typeof raw === "number" ? raw : text !== undefined && /^-?\d+$/.test(text) ? Number(text) : Number.NaN
      return Number.isSafeInteger(n)
        ? Either.right(n)
        : Either.left(`expected a whole number, got ${JSON.stringify(raw)}`)
    }
    case "rate": {
      const n = typeof raw === "number" ? raw : text !== undefined && text !== "" ? Number(text) : Number.NaN
      return Number.isFinite(n) && n >= 0 && n <= 1
        ? Either.right(n)
        : Either.left(`expected a number from 0 to 1, got ${JSON.stringify(raw)}`)
    }
    case "boolean": {
      if (typeof raw === "boolean") return Either.right(raw)
      if (text === "true" || text === "1" || text === "yes") return Either.right(true)
      if (text === "false" || text === "0" || text === "no") return Either.right(false)
      return Either.left(`expected true or false, got ${JSON.stringify(raw)}`)
    }
    case "amount": {
      // Planck, as digits (or a JSON number that is a safe integer); "none" or false for no limit.
      if (raw === false || text === "none" || text === "off") return Either.right(Option.none())
      const digits = typeof raw === "number" && Number.isSafeInteger(raw) ? String(raw) : text
      return digits !== undefined && /^\d+$/.test(digits)
        ? Either.right(Option.some(BigInt(digits)))
        : Either.left(`expected an amount in planck (digits), or none, got ${JSON.stringify(raw)}`)
    }
    case "endpoints": {
      const list = Array.isArray(raw) ? raw : text !== undefined ? text.split(",") : undefined
      if (list === undefined || !list.every((u) => typeof u === "string")) {
        return Either.left(`expected a list of URLs, got ${JSON.stringify(raw)}`)
      }
      return Either.right(list.map((u) => (u as string).trim()).filter((u) => u !== "") as Array<Domain.Endpoint>)
    }
  }
}

const show = (value: unknown): string =>
  Duration.isDuration(value)
    ? Duration.format(value)
    : Option.isOption(value)
    ? Option.match(value, { onNone: () => "none", onSome: show })
    : Array.isArray(value)
    ? value.length === 0 ? "(none)" : value.join(", ")
    : String(value)

const defaultOf = (s: Spec): unknown =>
  s.scope === "round"
    ? CheckpointConfig.defaults[s.key as keyof CheckpointConfig.CheckpointSettings]
    : s.scope === "loop"
    ? CheckpointLoop.defaultSettings[s.key as keyof CheckpointLoop.LoopSettings]
    : ProviderHealth.defaultSettings[s.key as keyof ProviderHealth.HealthSettings]

/** `key=value` of `--set`, split and checked against the table. */
export const parseSet = (assignment: string): Either.Either<readonly [string, string], string> => {
  const at = assignment.indexOf("=")
  if (at <= 0) return Either.left(`--set: expected key=value, got "${assignment}"`)
  const key = assignment.slice(0, at).trim()
  if (!byKey.has(key)) return Either.left(`--set: unknown setting "${key}" (see checkpointer config check)`)
  return Either.right([key, assignment.slice(at + 1)] as const)
}

/**
 * The settings from every source, validated: the problems found, one per bad value, or the result.
 * `flags` are the command line's assignments (`--set`, `--threshold`), named by the flag that gave them.
 */
export const resolve = (sources: {
  readonly flags: ReadonlyArray<readonly [key: string, value: unknown, flag: `--${string}`]>
  readonly file: Readonly<Record<string, unknown>>
  readonly env: Readonly<Record<string, string | undefined>>
  /** Settings that differ for some buckets (from the config file's bucket entries). */
  readonly perBucket?: ReadonlyArray<CheckpointConfig.BucketOverride> | undefined
}): Either.Either<Tuned, ReadonlyArray<string>> => {
  const problems: Array<string> = []
  const chosen = new Map<string, { readonly value: unknown; readonly source: Source }>()
  for (const key of Object.keys(sources.file)) {
    if (!byKey.has(key)) problems.push(`settings.${key}: not a setting (see checkpointer config check)`)
  }
  for (const s of SPECS) {
    const flag = [...sources.flags].reverse().find(([key]) => key === s.key)
    const envValue = sources.env[s.env]
    const given: [unknown, Source] | undefined = flag !== undefined
      ? [flag[1], flag[2]]
      : s.key in sources.file
      ? [sources.file[s.key], "config file"]
      : envValue !== undefined && envValue !== ""
      ? [envValue, `env ${s.env}`]
      : undefined
    if (given === undefined) {
      chosen.set(s.key, { value: defaultOf(s), source: "default" })
      continue
    }
    const parsed = parse(s, given[0])
    if (Either.isLeft(parsed)) problems.push(`${s.key} (${given[1]}): ${parsed.left}`)
    else chosen.set(s.key, { value: parsed.right, source: given[1] })
  }
  const pick = (scope: Spec["scope"]) =>
    Object.fromEntries(
      SPECS.filter((s) => s.scope === scope && chosen.get(s.key)?.source !== "default" && chosen.has(s.key))
        .map((s) => [s.key, chosen.get(s.key)!.value])
    )
  const perBucket = sources.perBucket ?? []
  const round = {
    ...pick("round"),
    ...(perBucket.length === 0 ? {} : { perBucket })
  } as CheckpointConfig.CheckpointSettingsInput
  const loop = pick("loop") as Partial<CheckpointLoop.LoopSettings>
  const health = pick("health") as Partial<ProviderHealth.HealthSettings>
  if (problems.length === 0) {
    // The library's own validation: bounds, and retries that fit in the round deadline.
    const checked = CheckpointConfig.make(round)
    if (Either.isLeft(checked)) {
      const error = checked.left
      problems.push(
        (error._op === "InvalidData" ? error.message : String(error)).replace(/^invalid checkpoint settings: /, "")
      )
    }
    for (const key of ["maxConsecutiveFailures", "concurrency", "probeConcurrency", "unreachableAfter"] as const) {
      const value = (key === "unreachableAfter" ? health[key] : loop[key]) as number | undefined
      if (value !== undefined && value < 1) problems.push(`${key} must be at least 1, got ${value}`)
    }
    for (const key of ["failureRetryDelay", "failureRetryMaxDelay"] as const) {
      const value = loop[key]
      if (value !== undefined && !Duration.greaterThan(value, Duration.zero)) {
        problems.push(`${key} must be longer than zero`)
      }
    }
  }
  if (problems.length > 0) return Either.left(problems)
  return Either.right({
    round,
    loop,
    health,
    effective: [
      ...SPECS.map((s) => ({ key: s.key, value: show(chosen.get(s.key)?.value), source: chosen.get(s.key)!.source })),
      ...perBucket.flatMap((o) =>
        (["consensusThreshold", "maxFeePerCheckpoint", "bucketBudget"] as const).flatMap((key) =>
          o[key] === undefined
            ? []
            : [{ key: `bucket ${o.bucketId}: ${key}`, value: show(o[key]), source: "config file" as const }]
        )
      )
    ]
  })
}

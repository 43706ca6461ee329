/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that scrape a
 * `/metrics` endpoint. The npm parser of this format (`parse-prometheus-text-format` 1.1.1, unchanged
 * since 2019) merges every series of a labelled histogram into one and checks neither names nor numbers,
 * so it cannot tell a per-provider histogram apart; this one follows the format's specification and
 * refuses what Prometheus's own parser refuses, and more:
 *
 * - metric and label names by their grammar; label values quoted, with only `\\`, `\"` and `\n` escapes;
 * - values as Go floats (`NaN`, `+Inf`, `-Inf` included), timestamps as integers;
 * - `# HELP` and `# TYPE` at most once per family, `# TYPE` before its samples, a family's lines together;
 * - no series twice; counters not negative;
 * - histograms: `_bucket` series with `le`, ascending, cumulative, ending at `+Inf` equal to `_count`,
 *   and a `_sum`.
 *
 * ```ts
 * const families = Either.getOrThrow(Exposition.parse(text))
 * Exposition.samples(families, "checkpointer_rounds_total", { outcome: "Submitted" })
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"

/**
 * @since 0.1.0
 * @category models
 */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped"

/**
 * One line's series and value.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/**
 * A metric family: its `# TYPE` (`untyped` without one), `# HELP` and samples, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Family {
  readonly name: string
  readonly type: MetricType
  readonly help: string | undefined
  readonly samples: ReadonlyArray<Sample>
}

/**
 * The exposition is not valid: where (the line, or 0 for the whole text) and what.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExpositionError extends Data.TaggedError("ExpositionError")<{
  readonly line: number
  readonly problem: string
}> {
  constructor(line: number, problem: string) {
    super({ line, problem })
  }

  override get message(): string {
    return `line ${this.line}: ${this.problem}`
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/
const TIMESTAMP = /^-?\d+$/
const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const parseFloatStrict = (text: string, line: number): number => {
  if (!FLOAT.test(text)) throw new ExpositionError(line, `not a number: "${text}"`)
  return text.endsWith("Inf") ? (text.startsWith("-") ? -Infinity : Infinity) : Number(text)
}

const unescapeHelp = (text: string, line: number) =>
  text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\"
    if (c === "n") return "\n"
    throw new ExpositionError(line, `bad escape in HELP: "\\${c}"`)
  })

/** `name{labels} value [timestamp]` */
const parseSample = (text: string, line: number): Sample => {
  let i = 0
  while (i < text.length && text[i] !== "{" && text[i] !== " " && text[i] !== "\t") i++
  const name = text.slice(0, i)
  if (!METRIC_NAME.test(name)) throw new ExpositionError(line, `bad metric name "${name}"`)
  const labels: Record<string, string> = {}
  if (text[i] === "{") {
    i++
    while (text[i] !== "}") {
      const start = i
      while (i < text.length && /[a-zA-Z0-9_]/.test(text[i]!)) i++
      const label = text.slice(start, i)
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new ExpositionError(line, `bad label name "${label}"`)
      }
      if (label in labels) throw new ExpositionError(line, `label "${label}" twice`)
      if (text[i] !== "=" || text[i + 1] !== "\"") throw new ExpositionError(line, `expected ="… after ${label}`)
      i += 2
      let value = ""
      for (;;) {
        const c = text[i]
        if (c === undefined) throw new ExpositionError(line, "unterminated label value")
        i++
        if (c === "\"") break
        if (c === "\\") {
          const escaped = text[i++]
          if (escaped === "\\") value += "\\"
          else if (escaped === "\"") value += "\""
          else if (escaped === "n") value += "\n"
          else throw new ExpositionError(line, `bad escape in label value: "\\${escaped}"`)
        } else if (c === "\n") {
          throw new ExpositionError(line, "raw newline in label value")
        } else {
          value += c
        }
      }
      labels[label] = value
      if (text[i] === ",") {
        i++
        if (text[i] === "}") throw new ExpositionError(line, "trailing comma in labels")
      } else if (text[i] !== "}") {
        throw new ExpositionError(line, `expected , or } after label ${label}`)
      }
    }
    i++
  }
  const rest = text.slice(i)
  if (!/^[ \t]/.test(rest)) throw new ExpositionError(line, "expected whitespace before the value")
  const fields = rest.trim().split(/[ \t]+/)
  if (fields.length < 1 || fields.length > 2) {
    throw new ExpositionError(line, "expected a value and at most a timestamp")
  }
  if (fields.length === 2 && !TIMESTAMP.test(fields[1]!)) {
    throw new ExpositionError(line, `bad timestamp "${fields[1]}"`)
  }
  return { name, labels, value: parseFloatStrict(fields[0]!, line) }
}

const seriesKey = (sample: Sample) =>
  `${sample.name}{${
    Object.keys(sample.labels).sort().map((k) => `${k}=${JSON.stringify(sample.labels[k])}`).join(",")
  }}`

/** The family a sample belongs to, given the family whose lines came last. */
const familyOf = (sample: string, current: { name: string; type: MetricType } | undefined) => {
  if (current !== undefined) {
    const suffixes = current.type === "histogram"
      ? ["_bucket", "_sum", "_count"]
      : current.type === "summary"
      ? ["_sum", "_count"]
      : []
    if (sample === current.name || suffixes.some((s) => sample === current.name + s)) return current.name
  }
  return sample
}

interface Building {
  name: string
  type: MetricType
  typed: boolean
  help: string | undefined
  samples: Array<Sample>
}

const checkHistogram = (family: Building) => {
  const byLabels = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>()
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const entry = byLabels.get(key) ?? { buckets: [] }
    byLabels.set(key, entry)
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new ExpositionError(0, `${family.name}_bucket without le`)
      entry.buckets.push([parseFloatStrict(le, 0), sample.value])
    } else if (le !== undefined) {
      throw new ExpositionError(0, `${sample.name} with an le label`)
    } else if (sample.name === `${family.name}_sum`) {
      entry.sum = sample.value
    } else if (sample.name === `${family.name}_count`) {
      entry.count = sample.value
    } else {
      throw new ExpositionError(0, `${sample.name} in histogram ${family.name}`)
    }
  }
  for (const [labels, { buckets, count, sum }] of byLabels) {
    const where = `${family.name}${labels}`
    if (sum === undefined || count === undefined) throw new ExpositionError(0, `${where}: no _sum or _count`)
    if (buckets.length === 0 || buckets.at(-1)![0] !== Infinity) {
      throw new ExpositionError(0, `${where}: no +Inf bucket last`)
    }
    buckets.forEach(([le, n], i) => {
      if (i > 0 && !(le > buckets[i - 1]![0])) {
        throw new ExpositionError(0, `${where}: buckets not ascending at le=${le}`)
      }
      if (i > 0 && n < buckets[i - 1]![1]) {
        throw new ExpositionError(0, `${where}: bucket counts not cumulative at le=${le}`)
      }
    })
    if (buckets.at(-1)![1] !== count) {
      throw new ExpositionError(0, `${where}: +Inf bucket ${buckets.at(-1)![1]} != _count ${count}`)
    }
  }
}

const parseUnsafe = (text: string): ReadonlyArray<Family> => {
  if (text.length > 0 && !text.endsWith("\n")) throw new ExpositionError(0, "the last line does not end with \\n")
  const families: Array<Building> = []
  const seen = new Map<string, Building>()
  const series = new Set<string>()
  let current: Building | undefined
  const open = (name: string, line: number): Building => {
    if (current?.name === name) return current
    if (seen.has(name)) throw new ExpositionError(line, `the lines of ${name} are not together`)
    current = { name, type: "untyped", typed: false, help: undefined, samples: [] }
    seen.set(name, current)
    families.push(current)
    return current
  }
  text.split("\n").slice(0, -1).forEach((raw, index) => {
    const line = index + 1
    const text = raw.trim()
    if (text === "") return
    if (text.startsWith("#")) {
      const tokens = text.slice(1).trim().split(/[ \t]+/)
      if (tokens[0] !== "HELP" && tokens[0] !== "TYPE") return // a comment
      const name = tokens[1]
      if (name === undefined || !METRIC_NAME.test(name)) throw new ExpositionError(line, `bad name in ${tokens[0]}`)
      const family = open(name, line)
      if (tokens[0] === "HELP") {
        if (family.help !== undefined) throw new ExpositionError(line, `second HELP for ${name}`)
        family.help = unescapeHelp(text.slice(1).trim().slice(5 + name.length).trim(), line)
      } else {
        if (family.typed) throw new ExpositionError(line, `second TYPE for ${name}`)
        if (family.samples.length > 0) throw new ExpositionError(line, `TYPE of ${name} after its samples`)
        if (tokens.length !== 3 || !TYPES.has(tokens[2]!)) throw new ExpositionError(line, `bad TYPE line`)
        family.type = tokens[2] as MetricType
        family.typed = true
      }
      return
    }
    const sample = parseSample(text, line)
    const family = open(familyOf(sample.name, current), line)
    const key = seriesKey(sample)
    if (series.has(key)) throw new ExpositionError(line, `series ${key} twice`)
    series.add(key)
    if (family.type === "counter" && !(sample.value >= 0)) {
      throw new ExpositionError(line, `counter ${sample.name} is ${sample.value}`)
    }
    family.samples.push(sample)
  })
  for (const family of families) if (family.type === "histogram") checkHistogram(family)
  return families.map(({ help, name, samples, type }) => ({ name, type, help, samples }))
}

/**
 * Parses an exposition, or says where and what is wrong.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Either.Either<ReadonlyArray<Family>, ExpositionError> =>
  Either.try({
    try: () => parseUnsafe(text),
    catch: (error) => error instanceof ExpositionError ? error : new ExpositionError(0, String(error))
  })

/**
 * The samples of this name whose labels include these.
 *
 * @since 0.1.0
 * @category accessors
 */
export const samples = (
  families: ReadonlyArray<Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): ReadonlyArray<Sample> =>
  families.flatMap((f) => f.samples).filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )

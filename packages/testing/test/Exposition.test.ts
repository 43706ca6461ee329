/**
 * The test's exposition parser is strict: what it accepts is what Prometheus accepts, and it refuses the
 * mistakes an exporter could make.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Exposition from "../src/Exposition.js"

const parseExposition = (text: string) => Either.getOrThrow(Exposition.parse(text))
const sampleValue = (families: ReadonlyArray<Exposition.Family>, name: string, labels = {}) => {
  const found = Exposition.samples(families, name, labels)
  expect(found).toHaveLength(1)
  return found[0]!.value
}

const histogram = (buckets: string) => `# TYPE h histogram\n${buckets}h_sum{p="a"} 3\nh_count{p="a"} 2\n`

describe("the exposition parser", () => {
  it("reads families, labels with escapes, special values and comments", () => {
    const families = parseExposition(
      [
        "# a comment",
        "# HELP c_total a \\\\ help\\nline",
        "# TYPE c_total counter",
        "c_total{a=\"x\\\"y\\\\z\\n\",b=\"\"} 1.5e3 1700000000000",
        "# UNIT g 1",
        "g +Inf",
        "u NaN",
        histogram("h_bucket{p=\"a\",le=\"0.5\"} 1\nh_bucket{p=\"a\",le=\"+Inf\"} 2\n").trimEnd(),
        ""
      ].join("\n")
    )
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ["c_total", "counter"],
      ["g", "untyped"],
      ["u", "untyped"],
      ["h", "histogram"]
    ])
    expect(families[0]!.help).toBe("a \\ help\nline")
    expect(families[0]!.samples[0]!.labels).toEqual({ a: "x\"y\\z\n", b: "" })
    expect(sampleValue(families, "c_total")).toBe(1500)
    expect(sampleValue(families, "g")).toBe(Infinity)
    expect(sampleValue(families, "h_bucket", { le: "0.5" })).toBe(1)
  })

  it.each([
    ["a bad metric name", "1abc 1\n"],
    ["a bad label name", "m{__x=\"1\"} 1\n"],
    ["an unquoted label value", "m{a=1} 1\n"],
    ["a bad escape", "m{a=\"\\t\"} 1\n"],
    ["a trailing comma", "m{a=\"1\",} 1\n"],
    ["a label twice", "m{a=\"1\",a=\"2\"} 1\n"],
    ["a value that is not a number", "m 0x10\n"],
    ["a bad timestamp", "m 1 1.5\n"],
    ["no newline at the end", "m 1"],
    ["a series twice", "m{a=\"1\"} 1\nm{a=\"1\"} 2\n"],
    ["a family split in two", "m 1\nn 1\nm{a=\"1\"} 2\n"],
    ["a TYPE after the samples", "m 1\n# TYPE m gauge\n"],
    ["an unknown type", "# TYPE m meter\nm 1\n"],
    ["a negative counter", "# TYPE m_total counter\nm_total -1\n"],
    [
      "buckets not cumulative",
      histogram("h_bucket{p=\"a\",le=\"0.5\"} 2\nh_bucket{p=\"a\",le=\"1\"} 1\nh_bucket{p=\"a\",le=\"+Inf\"} 2\n")
    ],
    [
      "buckets not ascending",
      histogram("h_bucket{p=\"a\",le=\"1\"} 1\nh_bucket{p=\"a\",le=\"0.5\"} 1\nh_bucket{p=\"a\",le=\"+Inf\"} 2\n")
    ],
    ["no +Inf bucket", histogram("h_bucket{p=\"a\",le=\"0.5\"} 2\n")],
    ["+Inf bucket not the count", histogram("h_bucket{p=\"a\",le=\"+Inf\"} 1\n")]
  ])("refuses %s", (_, text) => {
    expect(Either.isLeft(Exposition.parse(text))).toBe(true)
  })
})

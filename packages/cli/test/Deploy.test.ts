/**
 * `deploy/`: the systemd unit run as systemd would run it (its command line, its environment and
 * environment file, its state directory, its stop signal, its restart policy), against a devchain and
 * simulated providers; and the Grafana dashboard's queries checked against what the exporter produces.
 * Child processes; every request on loopback, bounded.
 */
import { Exposition } from "@checkpointer/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { eventually, run, start } from "./process.js"
import { world } from "./world.js"

const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url))
const read = (file: string) => readFileSync(join(DEPLOY, file), "utf8")

/** A systemd unit file: each section's `Key=value` lines, in order (a key may repeat). */
const parseUnit = (text: string) => {
  const sections = new Map<string, Array<readonly [string, string]>>()
  let current: Array<readonly [string, string]> | undefined
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue
    const section = /^\[(.+)\]$/.exec(line)
    if (section) {
      current = []
      sections.set(section[1]!, current)
      continue
    }
    const eq = line.indexOf("=")
    if (current === undefined || eq < 1) throw new Error(`not a unit line: ${line}`)
    current.push([line.slice(0, eq), line.slice(eq + 1)])
  }
  const values = (section: string, key: string) =>
    (sections.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v)
  const value = (section: string, key: string) => {
    const found = values(section, key)
    expect(found, `[${section}] ${key}`).toHaveLength(1)
    return found[0]!
  }
  return { values, value }
}

/** `KEY=value` lines of an environment file. */
const parseEnvFile = (text: string) =>
  Object.fromEntries(
    text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")).map((l) => {
      const eq = l.indexOf("=")
      return [l.slice(0, eq), l.slice(eq + 1)]
    })
  )

const Dashboard = Schema.Struct({
  title: Schema.String,
  templating: Schema.Struct({
    list: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String, definition: Schema.String }))
  }),
  panels: Schema.Array(Schema.Struct({
    title: Schema.String,
    targets: Schema.Array(Schema.Struct({ expr: Schema.String }))
  }))
})

/** Labels Prometheus itself puts on every series it scrapes (the target's), never in the exposition. */
const TARGET_LABELS = ["instance", "job"]

/** The metric names and label names a PromQL expression refers to. */
const referencedIn = (expr: string) => ({
  metrics: [...expr.matchAll(/\bcheckpointer_[a-z0-9_]+/g)].map((m) => m[0]),
  labels: [
    ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",").map((l) => l.trim())),
    ...[...expr.matchAll(/[{,]\s*([a-z_]+)\s*=~?/g)].map((m) => m[1]!)
  ].filter((l) => l !== "le" && !TARGET_LABELS.includes(l))
})

/** Every metric selector of a PromQL expression, with its matchers. */
const selectorsIn = (expr: string) =>
  [...expr.matchAll(/\b(checkpointer_[a-z0-9_]+)(\{[^}]*\})?/g)].map((m) => ({ metric: m[1]!, matchers: m[2] ?? "" }))

describe("deploy/", () => {
  it.scopedLive(
    "the systemd unit's command checkpoints against a live chain, serves the endpoints it names, keeps its journal in the state directory and stops cleanly on its KillSignal; its RestartPreventExitStatus is the code of a configuration error; every query of the Grafana dashboard names metrics and labels a scrape has",
    () =>
      Effect.gen(function*() {
        const unit = parseUnit(read("checkpointer.service"))
        const execStart = unit.value("Service", "ExecStart").split(/\s+/)
        expect(execStart[0]).toMatch(/\/checkpointer$/)
        const args = execStart.slice(1)
        expect(args[0]).toBe("run")
        const flag = (name: string) => args[args.indexOf(name) + 1]!
        expect(flag("--listen")).toMatch(/^127\.0\.0\.1:\d+$/) // loopback by default

        // Where the unit's files would be: the configuration and environment file from the examples,
        // pointed at this test's chain; %S (the state directories' root) a temporary directory.
        const etc = mkdtempSync(join(tmpdir(), "checkpointer-deploy-etc-"))
        const stateRoot = mkdtempSync(join(tmpdir(), "checkpointer-deploy-state-"))
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            rmSync(etc, { recursive: true, force: true })
            rmSync(stateRoot, { recursive: true, force: true })
          })
        )
        const { chain, write } = yield* world("interval")
        yield* write(4)
        const example = JSON.parse(read("config.example.json")) as Record<string, unknown>
        const configFile = join(etc, "config.json")
        writeFileSync(configFile, JSON.stringify({ ...example, chain: [chain.url], buckets: [0], intervalBlocks: 2 }))
        const stateDirectory = join(stateRoot, unit.value("Service", "StateDirectory"))
        const env: Record<string, string> = {
          ...parseEnvFile(read("signer.env.example")),
          CHECKPOINTER_JOURNAL_DIR: "",
          XDG_STATE_HOME: ""
        }
        for (const assignment of unit.values("Service", "Environment")) {
          const eq = assignment.indexOf("=")
          env[assignment.slice(0, eq)] = assignment.slice(eq + 1).replaceAll("%S", stateRoot)
        }
        // Health probes every 2 s instead of every minute, for the dashboard's probes panel to have data
        // within the test (a tuning the environment may give; the unit leaves the default).
        env.CHECKPOINTER_PROBE_INTERVAL = "2 seconds"
        expect(env.CHECKPOINTER_JOURNAL_DIR).toBe(stateDirectory)
        expect(env.CHECKPOINTER_SIGNER_SURI).toBe("//Alice") // the devchain's Alice, the bucket's admin
        const argv = args.map((arg, i) =>
          args[i - 1] === "--config" ? configFile : args[i - 1] === "--listen" ? "127.0.0.1:0" : arg
        )

        const service = yield* start(argv, env)
        const listening = () => /operator endpoints on (http:\/\/127\.0\.0\.1:\d+)/.exec(service.output.stdout)?.[1]
        yield* eventually(() => listening() !== undefined, "the Running line", 60)
        const url = listening()!
        const scrape = () =>
          Effect.promise(() => fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()))
            .pipe(Effect.map((text) => Either.getOrThrow(Exposition.parse(text))))
        let families: ReadonlyArray<Exposition.Family> = []
        yield* Effect.gen(function*() {
          families = yield* scrape()
          const paid = Exposition.samples(families, "checkpointer_transactions_paid_total")
          if (!(paid.length === 1 && paid[0]!.value >= 1)) return yield* Effect.fail("no checkpoint paid yet")
          // The round that paid is counted when it ends, a moment after its transaction.
          const rounds = Exposition.samples(families, "checkpointer_rounds_total")
          if (!rounds.some((s) => s.value >= 1)) return yield* Effect.fail("the paying round not ended yet")
          // The dashboard's probes panel needs a probe counted (every 2 s here, see the environment above).
          const probes = Exposition.samples(families, "checkpointer_provider_probes_total")
          if (probes.length === 0) return yield* Effect.fail("no health probe counted yet")
        }).pipe(
          // Scraped every 250 ms until the first checkpoint is paid and its round counted, for at most 90 s.
          Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo("90 seconds"))),
          Effect.orDie
        )
        expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed").length).toBeGreaterThanOrEqual(1)
        // The journal is in the unit's state directory.
        expect(readdirSync(stateDirectory).length).toBeGreaterThan(0)

        // The dashboard: every metric a query names is produced (a histogram's series by its suffixes),
        // and every label it groups or filters by is on one of those metrics.
        const dashboard = Schema.decodeUnknownSync(Dashboard)(JSON.parse(read("grafana/checkpointer.json")))
        const samples = families.flatMap((f) => f.samples)
        const names = new Set(samples.map((s) => s.name))
        const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))
        expect(exprs.length).toBeGreaterThanOrEqual(10)
        expect(dashboard.panels.map((p) => p.title)).toContain("Health probes by outcome")
        // An `instance` variable chooses the processes shown (each cluster runner is one), from a metric a
        // scrape has, and every selector of every query filters on it: runners are not summed unasked.
        const instance = dashboard.templating.list.find((v) => v.name === "instance")
        expect(instance?.type).toBe("query")
        expect(referencedIn(instance?.definition ?? "").metrics).toHaveLength(1)
        for (const metric of referencedIn(instance?.definition ?? "").metrics) {
          expect(names.has(metric), metric).toBe(true)
        }
        for (const expr of exprs) {
          for (const { matchers, metric } of selectorsIn(expr)) {
            expect(matchers, `${metric} in ${expr}`).toContain("instance=~\"$instance\"")
          }
        }
        for (const expr of exprs) {
          const { labels, metrics } = referencedIn(expr)
          expect(metrics.length, expr).toBeGreaterThan(0)
          for (const metric of metrics) expect(names.has(metric), `${metric} in ${expr}`).toBe(true)
          const labelled = new Set(
            samples.filter((s) => metrics.includes(s.name)).flatMap((s) => Object.keys(s.labels))
          )
          for (const label of labels) expect(labelled.has(label), `label ${label} in ${expr}`).toBe(true)
        }

        expect(unit.value("Service", "KillSignal")).toBe("SIGTERM")
        const stopWithin = Number(unit.value("Service", "TimeoutStopSec"))
        service.child.kill("SIGTERM")
        yield* eventually(() => service.output.exit !== undefined, "the service to stop", stopWithin)
        expect(service.output.exit).toBe(0)

        // A configuration error exits with the code the unit does not restart on.
        writeFileSync(configFile, JSON.stringify({ ...example, chain: [chain.url], buckets: ["not a bucket"] }))
        const broken = yield* run(argv, env)
        expect(unit.value("Service", "RestartPreventExitStatus").split(/\s+/)).toContain(String(broken.exit))
        expect(broken.exit).toBe(2)
      }),
    240_000
  )
})

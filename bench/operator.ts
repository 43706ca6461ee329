/**
 * The operator's endpoints (`@checkpointer/operator`) at scale, and what the listener costs.
 *
 * 1. `/metrics` with 1,000 buckets, each checkpointed once by a loop (in the first world, before the
 *    comparison's worlds add their providers' series to the process's registry) (so every per-bucket series exists:
 *    rounds by outcome, seconds since the last checkpoint), over 5 providers: milliseconds per scrape
 *    (SCRAPES sequential scrapes over loopback HTTP, after 10 warm-ups), and the body's size and sample
 *    count. Goal: p99 well under 100 ms.
 * 2. The listener's cost: rounds per second through the loop for 1,000 fresh buckets with no listener
 *    (the default: nothing of the operator package runs), and with the listener served and scraped
 *    every second meanwhile. RUNS runs of each, alternating (off, on, off, on, …), each in a world of
 *    its own; the better run of each is compared (as `bench/adapters.ts` does), and the spread of each
 *    printed: a difference inside the spread is not one. Goal: no measurable difference when off (it is
 *    not started), a small one when on.
 *
 * The machine's 1-minute load average is printed and recorded at the end (other work on it shows here).
 *
 * Run: `npm run build && node --import tsx bench/operator.ts` (about two minutes).
 */
import { CheckpointLoop, type Domain } from "@checkpointer/core"
import { OperatorRouter } from "@checkpointer/operator"
import { Exposition } from "@checkpointer/testing"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServer from "@effect/platform/HttpServer"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { createServer } from "node:http"
import { availableParallelism, loadavg } from "node:os"
import { recordResults } from "./results.js"
import { remoteWorld } from "./world.js"

const BUCKETS = 1_000
const SCRAPES = Number(process.env.OPERATOR_SCRAPES ?? 200)
const RUNS = Number(process.env.OPERATOR_RUNS ?? 3)
const now = () => performance.now()

/** Serves the router on a free loopback port for the scope's lifetime; its base URL. */
const serve = Effect.gen(function*() {
  const server = yield* NodeHttpServer.make(() => createServer(), { host: "127.0.0.1", port: 0 })
  yield* HttpServer.serveEffect(OperatorRouter.router).pipe(Effect.provideService(HttpServer.HttpServer, server))
  if (server.address._tag !== "TcpAddress") return yield* Effect.dieMessage("not a TCP address")
  return `http://127.0.0.1:${server.address.port}`
})

const scrape = (url: string) => Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))

/** A world of fresh buckets (in a child process's providers), a loop over them; every bucket checkpointed once. */
const checkpointAll = (prefix: string, listener: "off" | "on", measureScrape: boolean) =>
  Effect.gen(function*() {
    const ids = Array.from({ length: BUCKETS }, (_, i) => i)
    const specs = Array.from({ length: 5 }, (_, i) => ({ name: `${prefix}${i}`, latencyMillis: 0 }))
    const world = yield* remoteWorld(specs, ids, { chainVerifies: false })
    return yield* Effect.gen(function*() {
      const loop = yield* CheckpointLoop.make(ids.map((i) => BigInt(i) as Domain.BucketId), {
        interval: CheckpointLoop.Every("1 hour"),
        concurrency: 32
      })
      const scraping = listener === "on"
        ? yield* serve.pipe(
          Effect.provideService(CheckpointLoop.CheckpointLoop, loop),
          Effect.flatMap((url) => scrape(url).pipe(Effect.repeat(Schedule.spaced("1 second")))),
          Effect.provide(OperatorRouter.layer()),
          Effect.fork
        )
        : undefined
      yield* loop.submitNowAndWait(0n as Domain.BucketId) // warm-up
      const started = now()
      yield* Effect.forEach(ids.slice(1), (id) => loop.submitNowAndWait(BigInt(id) as Domain.BucketId), {
        concurrency: 32,
        discard: true
      })
      const roundsPerSecond = (BUCKETS - 1) / ((now() - started) / 1000)
      if (scraping) yield* Fiber.interrupt(scraping)
      if (!measureScrape) return { roundsPerSecond, millis: [], body: "" }
      // The scrape of 1,000 buckets, served from this process.
      const timing = yield* serve.pipe(
        Effect.provideService(CheckpointLoop.CheckpointLoop, loop),
        Effect.flatMap((url) =>
          Effect.gen(function*() {
            for (let i = 0; i < 10; i++) yield* scrape(url)
            const millis: Array<number> = []
            let body = ""
            for (let i = 0; i < SCRAPES; i++) {
              const t = now()
              body = yield* scrape(url)
              millis.push(now() - t)
            }
            return { millis, body }
          })
        ),
        // With the listener off, the exporter is made only now, for the measurement.
        Effect.provide(OperatorRouter.layer())
      )
      return { roundsPerSecond, ...timing }
    }).pipe(Effect.provide(world.layer), Effect.scoped)
  }).pipe(Effect.scoped)

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  // The scrape first: the metric registry is the process's, and the later worlds' providers would add
  // their series to it (a process of 1,000 buckets over 5 providers is what is measured).
  const measured = yield* checkpointAll("OpScrape", "off", true)
  const offRates: Array<number> = []
  const onRates: Array<number> = []
  console.log(
    `operator: scrape measured (p50 ${quantile(measured.millis, 0.5).toFixed(1)} ms); ${RUNS} off/on pairs next`
  )
  for (let run = 0; run < RUNS; run++) {
    offRates.push((yield* checkpointAll(`OpOff${run}_`, "off", false)).roundsPerSecond)
    onRates.push((yield* checkpointAll(`OpOn${run}_`, "on", false)).roundsPerSecond)
    console.log(
      `  pair ${run + 1}: off ${offRates[run]!.toFixed(1)}, on ${onRates[run]!.toFixed(1)} rounds/s (load ${
        loadavg()[0]!.toFixed(2)
      })`
    )
  }
  const families = Either.getOrThrow(Exposition.parse(measured.body))
  const rounds = Exposition.samples(families, "checkpointer_rounds_total")
  const samples = families.reduce((n, f) => n + f.samples.length, 0)
  const bestOff = Math.max(...offRates)
  const bestOn = Math.max(...onRates)
  const spread = (rates: ReadonlyArray<number>) => (Math.max(...rates) - Math.min(...rates)) / Math.max(...rates)
  const loadAverage = loadavg()[0]!
  const figures = {
    machine: { cores: availableParallelism(), node: process.version, platform: process.platform },
    buckets: BUCKETS,
    scrape: {
      scrapes: SCRAPES,
      p50Millis: quantile(measured.millis, 0.5),
      p90Millis: quantile(measured.millis, 0.9),
      p99Millis: quantile(measured.millis, 0.99),
      maxMillis: Math.max(...measured.millis),
      bodyBytes: Buffer.byteLength(measured.body),
      samples,
      roundsSeries: rounds.length,
      goalMillis: 100
    },
    listener: {
      runs: RUNS,
      roundsPerSecondOff: offRates,
      roundsPerSecondOnScrapedEverySecond: onRates,
      bestOff,
      bestOn,
      ratio: bestOn / bestOff,
      // (best − worst) / best of each: how far runs of the same thing differ here.
      spreadOff: spread(offRates),
      spreadOn: spread(onRates)
    },
    // The machine's 1-minute load average at the end (other work on it shows here).
    loadAverage
  }
  const list = (rates: ReadonlyArray<number>) => rates.map((r) => r.toFixed(1)).join(", ")
  console.log(
    `operator: /metrics with ${BUCKETS} buckets checkpointed (${samples} samples, ${figures.scrape.bodyBytes} bytes), ` +
      `${figures.machine.cores} cores, Node ${figures.machine.node}`
  )
  console.log(
    `  ${SCRAPES} scrapes: p50 ${figures.scrape.p50Millis.toFixed(1)} ms, p90 ${
      figures.scrape.p90Millis.toFixed(1)
    } ms, ` +
      `p99 ${figures.scrape.p99Millis.toFixed(1)} ms, max ${
        figures.scrape.maxMillis.toFixed(1)
      } ms (goal p99 < 100 ms): ${figures.scrape.p99Millis < 100 ? "met" : "NOT met"}`
  )
  console.log(
    `  rounds/s, ${RUNS} runs each, alternating: listener off ${list(offRates)} (best ${bestOff.toFixed(1)}, spread ${
      (figures.listener.spreadOff * 100).toFixed(0)
    } %); on and scraped every second ${list(onRates)} (best ${bestOn.toFixed(1)}, spread ${
      (figures.listener.spreadOn * 100).toFixed(0)
    } %); best on / best off ${(figures.listener.ratio * 100).toFixed(0)} %`
  )
  console.log(`  load average (1 min) at the end: ${loadAverage.toFixed(2)}`)
  yield* recordResults("operator", figures)
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

/**
 * The operator's endpoints (`@checkpointer/operator`) at scale, and what the listener costs.
 *
 * 1. `/metrics` with 1,000 buckets, each checkpointed once by a loop (so every per-bucket series exists:
 *    rounds by outcome, seconds since the last checkpoint), over 5 providers: milliseconds per scrape
 *    (30 sequential scrapes over loopback HTTP, after 3 warm-ups), and the body's size and sample
 *    count. Goal: well under 100 ms.
 * 2. The listener's cost: rounds per second through the loop for 1,000 fresh buckets with no listener
 *    (the default: nothing of the operator package runs), and with the listener served and scraped
 *    every second meanwhile. Goal: no measurable difference when off (it is not started), a small one
 *    when on.
 *
 * Run: `npm run build && node --import tsx bench/operator.ts` (about a minute).
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
import { recordResults } from "./results.js"
import { remoteWorld } from "./world.js"

const BUCKETS = 1_000
const SCRAPES = 30
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
const checkpointAll = (prefix: string, listener: "off" | "on") =>
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
      // The scrape of 1,000 buckets, served from this process.
      const timing = yield* serve.pipe(
        Effect.provideService(CheckpointLoop.CheckpointLoop, loop),
        Effect.flatMap((url) =>
          Effect.gen(function*() {
            for (let i = 0; i < 3; i++) yield* scrape(url)
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
  const off = yield* checkpointAll("OpOff", "off")
  const on = yield* checkpointAll("OpOn", "on")
  const families = Either.getOrThrow(Exposition.parse(off.body))
  const rounds = Exposition.samples(families, "checkpointer_rounds_total")
  const samples = families.reduce((n, f) => n + f.samples.length, 0)
  const figures = {
    buckets: BUCKETS,
    scrape: {
      p50Millis: quantile(off.millis, 0.5),
      p99Millis: quantile(off.millis, 0.99),
      maxMillis: Math.max(...off.millis),
      bodyBytes: Buffer.byteLength(off.body),
      samples,
      roundsSeries: rounds.length,
      goalMillis: 100
    },
    listener: {
      roundsPerSecondOff: off.roundsPerSecond,
      roundsPerSecondOnScrapedEverySecond: on.roundsPerSecond,
      ratio: on.roundsPerSecond / off.roundsPerSecond
    }
  }
  console.log(
    `operator: /metrics with ${BUCKETS} buckets checkpointed (${samples} samples, ${figures.scrape.bodyBytes} bytes)`
  )
  console.log(
    `  scrape p50 ${figures.scrape.p50Millis.toFixed(1)} ms, p99 ${
      figures.scrape.p99Millis.toFixed(1)
    } ms (goal < 100 ms): ${figures.scrape.p99Millis < 100 ? "met" : "NOT met"}`
  )
  console.log(
    `  rounds/s with the listener off ${off.roundsPerSecond.toFixed(1)}, on and scraped every second ${
      on.roundsPerSecond.toFixed(1)
    } (${(figures.listener.ratio * 100).toFixed(0)} %)`
  )
  yield* recordResults("operator", figures)
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

/**
 * `--listen`: the operator's endpoints (`@checkpointer/operator`) served by the command itself, on the
 * address it prints. Child processes against a devchain and simulated providers in this process; every
 * request on loopback, bounded.
 */
import { Exposition } from "@checkpointer/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { eventually, jsonLines, run, start } from "./process.js"
import { NAMES, world } from "./world.js"

const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "")

/** A GET to the command's listener: at most 10 seconds. */
const get = (url: string) =>
  Effect.promise(() =>
    fetch(url, { signal: AbortSignal.timeout(10_000) }).then(async (response) => ({
      status: response.status,
      body: await response.text()
    }))
  )

/** The one sample of this name with these labels, from a strictly parsed scrape. */
const valueIn = (families: ReadonlyArray<Exposition.Family>) => (name: string, labels: Record<string, string> = {}) => {
  const found = Exposition.samples(families, name, labels)
  expect(found, `${name}${JSON.stringify(labels)}`).toHaveLength(1)
  return found[0]!.value
}

describe("--listen", () => {
  it.scopedLive("a bad address is a configuration error, before anything starts", () =>
    Effect.gen(function*() {
      const port = yield* run(["run", "--bucket", "0", "--suri", "//Alice", "--listen", "99999"])
      expect(port.exit).toBe(2)
      expect(lines(port.stderr)).toEqual([
        "checkpointer: listen: expected PORT or HOST:PORT (a port from 0 to 65535; IPv6 as [::1]:PORT), got \"99999\""
      ])
      const noLoop = yield* run(["devnet", "--no-loop", "--listen", "9615"])
      expect(noLoop.exit).toBe(2)
      expect(lines(noLoop.stderr)).toEqual(["checkpointer: listen: --no-loop runs no loop to report on"])
    }), 120_000)

  it.scopedLive(
    "run --listen 127.0.0.1:0 prints the bound address; after a checkpoint lands, /metrics shows it and /readyz is ready",
    () =>
      Effect.gen(function*() {
        const { chain, write } = yield* world("interval")
        yield* write(4)
        const daemon = yield* start([
          "run",
          "--chain",
          chain.url,
          "--bucket",
          "0",
          "--suri",
          "//Alice",
          "--interval-blocks",
          "2",
          "--json",
          "--listen",
          "127.0.0.1:0"
        ])
        const records = () => jsonLines(daemon.output.stdout)
        yield* eventually(() => records().some((l) => l.type === "CheckpointSubmitted"), "run's checkpoint", 60)
        const running = records().find((l) => l.type === "Running")!
        const url = running.listen as string
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(url).not.toMatch(/:0$/)
        const landed = records().find((l) => l.type === "CheckpointSubmitted")!
        const fee = BigInt((landed.event as { receipt: { fee: string } }).receipt.fee)

        const scraped = yield* get(`${url}/metrics`)
        expect(scraped.status).toBe(200)
        const families = Either.getOrThrow(Exposition.parse(scraped.body))
        const value = valueIn(families)
        // One checkpoint paid, with the fee the chain charged; the rounds after it found it on chain.
        expect(value("checkpointer_rounds_total", { bucket: "0", outcome: "Submitted" })).toBe(1)
        expect(value("checkpointer_broadcasts_total")).toBe(1)
        expect(value("checkpointer_transactions_paid_total")).toBe(1)
        expect(value("checkpointer_fees_paid_planck_total")).toBe(Number(fee))
        expect(value("checkpointer_signatures_collected_total")).toBeGreaterThanOrEqual(2)
        // Every primary was asked over HTTP: one latency histogram each, in seconds.
        const latency = Exposition.samples(families, "checkpointer_provider_request_seconds_count")
        expect(latency).toHaveLength(NAMES.length)
        for (const sample of latency) expect(sample.value).toBeGreaterThanOrEqual(1)
        expect(value("checkpointer_seconds_since_last_checkpoint", { bucket: "0" })).toBeLessThan(60)
        expect(value("checkpointer_chain_connected")).toBe(1)
        expect(value("checkpointer_loop_running")).toBe(1)
        expect(value("checkpointer_loop_paused")).toBe(0)

        const ready = yield* get(`${url}/readyz`)
        expect(ready).toEqual({ status: 200, body: "{\"ready\":true,\"reasons\":[]}" })
        expect((yield* get(`${url}/healthz`)).status).toBe(200)

        daemon.child.kill("SIGTERM")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop", 20)
        expect(daemon.output.exit).toBe(0)
      }),
    180_000
  )

  it.scopedLive(
    "the devnet serves its loop's endpoints on a free loopback port, named in DevnetStarted",
    () =>
      Effect.gen(function*() {
        const devnet = yield* start(["devnet", "--port", "0", "--json", "--block-time", "300", "--write-every", "1500"])
        const records = () => jsonLines(devnet.output.stdout)
        yield* eventually(() => records().some((l) => l.type === "DevnetStarted"), "the devnet to start", 60)
        const url = records().find((l) => l.type === "DevnetStarted")!.listen as string
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect((yield* get(`${url}/healthz`)).status).toBe(200)
        yield* eventually(() => records().some((l) => l.type === "CheckpointSubmitted"), "the devnet's checkpoint", 60)
        const families = Either.getOrThrow(Exposition.parse((yield* get(`${url}/metrics`)).body))
        expect(valueIn(families)("checkpointer_transactions_paid_total")).toBeGreaterThanOrEqual(1)
        expect((yield* get(`${url}/readyz`)).status).toBe(200)
      }),
    180_000
  )
})

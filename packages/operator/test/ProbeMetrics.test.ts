/**
 * Health probes in `/metrics`: `checkpointer_provider_probes_total{provider,outcome}` scraped from a real
 * loopback server and parsed strictly, against the probes the providers saw; and where each provider is
 * asked (`checkpointer_provider_info{provider,endpoint}`, and each provider's `endpoint` in
 * `/status.json`), against what discovery holds. The metric registry is the process's, so this file holds
 * one scenario (Vitest runs each file in its own worker).
 */
import { ProviderDiscovery } from "@checkpointer/core"
import { StatusPage } from "@checkpointer/operator"
import { Exposition, FakeProviders } from "@checkpointer/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { get } from "./serve.js"
import { inWorld, startServing } from "./world.js"

const { Behaviour } = FakeProviders

describe("/metrics", () => {
  it.scoped("health probes by provider and outcome, beside the provider status they led to", () =>
    inWorld(
      {
        providers: [
          { name: "Alice" },
          { name: "Bob", behaviour: Behaviour.unreachable() },
          { name: "Charlie", behaviour: Behaviour.unhealthy("syncing") }
        ],
        buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }]
      },
      Effect.gen(function*() {
        // No round runs (nothing dirty, due once an hour): every request is a probe.
        const { url, world } = yield* startServing([1], {
          interval: { _tag: "Duration", duration: Duration.hours(1) },
          probeInterval: Option.some(Duration.minutes(1))
        })
        yield* TestClock.adjust("10 minutes")
        const passes = (yield* world.network.probeTimes("Alice")).length
        expect(passes).toBeGreaterThanOrEqual(8)

        const scraped = yield* get(`${url}/metrics`)
        expect(scraped.status).toBe(200)
        const metrics = Either.getOrThrow(Exposition.parse(scraped.body))
        const family = metrics.find((f) => f.name === "checkpointer_provider_probes_total")
        expect(family?.type).toBe("counter")
        const probes = (name: string, outcome: string) =>
          Exposition.samples(metrics, "checkpointer_provider_probes_total", {
            provider: world.account(name),
            outcome
          }).map((s) => s.value)
        expect(probes("Alice", "Ok")).toEqual([passes])
        expect(probes("Bob", "Transport")).toEqual([(yield* world.network.probeTimes("Bob")).length])
        expect(probes("Charlie", "NotHealthy")).toEqual([(yield* world.network.probeTimes("Charlie")).length])
        expect(probes("Alice", "Transport")).toEqual([])
        // What the probes made of them, without any round.
        const status = (name: string, value: string) =>
          Exposition.samples(metrics, "checkpointer_provider_status", { provider: world.account(name), status: value })
            .map((s) => s.value)
        expect(status("Alice", "Healthy")).toEqual([1])
        expect(status("Bob", "Unreachable")).toEqual([1])
        expect(status("Charlie", "Unreachable")).toEqual([1])

        // Where each provider is asked: the endpoint discovery gave the probes, in the scrape and on the page.
        const discovered = Option.getOrThrow(
          yield* Effect.flatMap(ProviderDiscovery.ProviderDiscovery, (d) => d.known(world.bucketId(1)))
        )
        expect(discovered).toHaveLength(3)
        const document = Schema.decodeUnknownSync(StatusPage.Status)(
          JSON.parse((yield* get(`${url}/status.json`)).body)
        )
        for (const provider of discovered) {
          expect(
            Exposition.samples(metrics, "checkpointer_provider_info", { provider: provider.accountId }).map((s) => [
              s.labels.endpoint,
              s.value
            ]),
            provider.accountId
          ).toEqual([[provider.endpoint, 1]])
          expect(document.providers.find((p) => p.provider === provider.accountId)?.endpoint).toBe(provider.endpoint)
        }
        expect(new Set(discovered.map((p) => p.endpoint)).size).toBe(3)
      })
    ))
})

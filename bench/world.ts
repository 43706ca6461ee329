/**
 * Benchmark worlds: provider simulators in a child process (they are other machines in reality, and
 * must not share the measuring process's CPU), and an in-memory chain holding their buckets.
 */
import {
  ChainClient,
  Checkpointer,
  type Domain,
  EndpointPolicy,
  type ProviderApi,
  type ProviderHealth,
  ProviderHttpClient
} from "@checkpointer/core"
import { FakeChain } from "@checkpointer/testing"
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const CHILD = fileURLToPath(new URL("./providers-child.ts", import.meta.url))
const CACHED_CHILD = fileURLToPath(new URL("./cached-providers.ts", import.meta.url))

/** Checkpointer's settings in the benchmarks: a 20 ms grace window, every provider asked at once. */
export const SETTINGS = {
  graceWindow: "20 millis",
  maxConcurrency: 256,
  providerTimeout: "10 seconds",
  roundDeadline: "60 seconds"
} as const

/**
 * The live provider API over undici (as the CLI uses it), loopback allowed. `onResponse` sees every
 * response as it arrives (before its body is read), for benchmarks that time answers.
 */
export const providerHttpLayer = (
  onResponse?: (response: HttpClientResponse.HttpClientResponse) => void
): Layer.Layer<ProviderApi.ProviderApi> => {
  const client = onResponse === undefined
    ? NodeHttpClient.layerUndici
    : Layer.effect(
      HttpClient.HttpClient,
      Effect.map(
        HttpClient.HttpClient,
        (c) => HttpClient.tap(c, (response) => Effect.sync(() => onResponse(response)))
      )
    ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  return ProviderHttpClient.layer({ policy: EndpointPolicy.local }).pipe(Layer.provide(client))
}

/**
 * CPU time (user + system, ms) a child process has used so far, from `/proc` (Linux); `undefined`
 * elsewhere.
 */
export const childCpuMillis = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000
  } catch {
    return undefined
  }
}
const CLOCK_TICKS = 100

/**
 * Providers in a child process; a fake chain (in this process) holding the buckets with them as
 * primaries. `chainVerifies: false` has the in-process chain accept signatures unchecked (the real chain
 * verifies them on its own machine; Checkpointer verifies every one before submitting either way).
 * `providers: "simulator"` (the default) runs `ProviderSimulator`s, which sign every answer;
 * `"cached"` runs `cached-providers.ts`, which answer from commitments signed once, so that they are not
 * the bottleneck of a benchmark measuring the client.
 */
export const remoteWorld = (
  specs: ReadonlyArray<{ name: string; latencyMillis: number; badSignature?: boolean }>,
  buckets: ReadonlyArray<number>,
  options: {
    readonly chainVerifies?: boolean
    readonly providers?: "simulator" | "cached"
    /** Checkpointer's provider health settings (its defaults otherwise). */
    readonly health?: Partial<ProviderHealth.HealthSettings>
  } = {}
) =>
  Effect.gen(function*() {
    const cached = options.providers === "cached"
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [
          "--import",
          "tsx",
          cached ? CACHED_CHILD : CHILD,
          JSON.stringify(
            cached
              ? { providers: specs, buckets, leaves: 10 }
              : specs.map((s) => ({ ...s, buckets, leaves: 10 }))
          )
        ], {
          stdio: ["ignore", "pipe", "inherit"]
        })
      ),
      (c) => Effect.sync(() => void c.kill("SIGKILL"))
    )
    const announced = yield* Effect.async<
      ReadonlyArray<{ name: string; endpoint: string; multiaddr: string; account: string; publicKey: string }>
    >((resume) => {
      let buffer = ""
      child.stdout!.on("data", (d: Buffer) => {
        buffer += d.toString()
        const line = buffer.indexOf("\n")
        if (line >= 0) resume(Effect.succeed(JSON.parse(buffer.slice(0, line))))
      })
    })
    const fake = yield* FakeChain.make({
      signer: announced[0]!.account as Domain.AccountId,
      verifySignatures: options.chainVerifies ?? true
    })
    for (const p of announced) {
      yield* fake.registerProvider(
        new ChainClient.ProviderRecord({
          accountId: p.account as Domain.AccountId,
          multiaddr: p.multiaddr,
          publicKey: Option.some(p.publicKey as Domain.PublicKey)
        })
      )
    }
    for (const bucket of buckets) {
      yield* fake.putBucket({
        bucketId: BigInt(bucket) as Domain.BucketId,
        primaryProviders: announced.map((p) => p.account as Domain.AccountId),
        minProviders: 1,
        members: [new ChainClient.BucketMember({ account: announced[0]!.account as Domain.AccountId, role: "Admin" })],
        snapshot: Option.none(),
        frozenStartSeq: Option.none()
      })
    }
    /** Checkpointer's round services on this world's chain, asking providers through `api`. */
    const layerWith = (api: Layer.Layer<ProviderApi.ProviderApi>) =>
      Checkpointer.layerOn({ journal: Checkpointer.inMemory(), settings: SETTINGS, health: options.health }).pipe(
        Layer.provideMerge(Layer.merge(Layer.succeed(ChainClient.ChainClient, fake.client), api)),
        Layer.orDie
      )
    const layer = layerWith(providerHttpLayer())
    return { announced, layer, layerWith, childPid: child.pid }
  })

/**
 * The same provider network as `FakeProviders`, but every provider is a `ProviderSimulator` serving
 * real HTTP on loopback, so a round goes through real sockets and the live `ProviderApi` client.
 * Behaviours map onto the simulator's faults; their durations are multiplied by `timeScale` because
 * real sockets run on the real clock.
 *
 * @since 0.1.0
 */
import { Domain } from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Behaviour, BucketData, FakeProvider, ProviderNetworkHandle, ProviderSpec } from "./FakeProviders.js"
import type { Faults, SimulatedProvider } from "./ProviderSimulator.js"
import { start, testLeaf } from "./ProviderSimulator.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SimulatedNetwork extends ProviderNetworkHandle {
  readonly simulators: ReadonlyArray<SimulatedProvider>
}

/**
 * The simulator faults that reproduce a fake behaviour.
 *
 * @since 0.1.0
 * @category functions
 */
export const faultsOf = (behaviour: Behaviour, spec: ProviderSpec, timeScale: number): Faults => {
  const scaled = (d: Duration.DurationInput) => Duration.times(Duration.decode(d), timeScale)
  const base: Faults = spec.signatureForm === undefined ? {} : { signatureForm: spec.signatureForm }
  switch (behaviour._tag) {
    case "Honest":
      return base
    case "Lagging":
      return {
        ...base,
        lag: {
          leaves: behaviour.behindBy,
          catchUpAfter: behaviour.catchUpAfter === undefined ? undefined : scaled(behaviour.catchUpAfter)
        }
      }
    case "Ahead":
      return { ...base, ahead: behaviour.aheadBy }
    case "Divergent":
      return { ...base, divergent: true }
    case "BadSignature":
      return { ...base, invalidSignature: true }
    case "WrongBucket":
      return { ...base, wrongBucket: true }
    case "Unreachable":
    case "Defect":
      return { ...base, reset: true }
    case "Slow":
      return { ...base, latency: scaled(behaviour.latency) }
    case "Flaky":
      return { ...base, flaky: { failureProbability: behaviour.failureProbability, seed: behaviour.seed } }
    case "Malformed":
      return { ...base, malformedJson: true }
    case "HttpStatus":
      return behaviour.status === 429
        ? {
          ...base,
          rateLimit: { retryAfterSeconds: Math.ceil((behaviour.retryAfterMillis ?? 1000) * timeScale / 1000) }
        }
        : { ...base, status: { code: behaviour.status, errorCode: behaviour.errorCode } }
    case "FailTimes":
      return {
        ...base,
        failFirst: {
          times: behaviour.times,
          failure: behaviour.failure === "Transport" ? "Reset" : behaviour.failure
        }
      }
    case "Hang":
      return { ...base, hang: true }
    case "Unhealthy":
      return { ...base, healthStatus: behaviour.status }
    case "All":
      return behaviour.behaviours.reduce<Faults>((faults, b) => ({ ...faults, ...faultsOf(b, spec, timeScale) }), base)
    case "Custom":
      // A function of the test's cannot run inside the simulator's HTTP server: say so at setup.
      throw new Error("a custom provider behaviour runs in memory only (transport: \"memory\")")
  }
}

/**
 * Starts one simulator per provider; they stop with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  specs: ReadonlyArray<ProviderSpec>,
  options: { readonly timeScale: number }
): Effect.Effect<SimulatedNetwork, never, Scope.Scope> =>
  Effect.gen(function*() {
    const keyring = new Keyring({ type: "sr25519", ss58Format: Domain.SS58_PREFIX })
    const simulators = yield* Effect.forEach(specs, (spec, i) => start({ name: spec.name, seed: i + 1 }))
    const entries = specs.map((spec, i) => ({ spec, simulator: simulators[i] }))
    for (const { simulator, spec } of entries) {
      if (spec.scheme !== undefined && spec.scheme !== "sr25519") {
        return yield* Effect.dieMessage(`the provider simulator signs with sr25519 only (${spec.name}: ${spec.scheme})`)
      }
      yield* simulator.setFaults(faultsOf(spec.behaviour ?? { _tag: "Honest" }, spec, options.timeScale))
    }
    const providers: Array<FakeProvider> = entries.map(({ simulator, spec }) => ({
      name: spec.name,
      account: simulator.account,
      publicKey: simulator.publicKey,
      endpoint: simulator.endpoint,
      multiaddr: simulator.multiaddr,
      pair: keyring.addFromUri(`//${spec.name}`)
    }))
    const byName = new Map(entries.map((entry) => [entry.spec.name, entry]))
    const lookup = (name: string) =>
      Effect.suspend(() => {
        const entry = byName.get(name)
        return entry === undefined ? Effect.dieMessage(`no simulated provider named ${name}`) : Effect.succeed(entry)
      })
    const truth = (bucketId: Domain.BucketId) => simulators[0].state(bucketId)

    /** Brings every simulator's bucket to `leafCount` leaves of the shared test sequence. */
    const growTo = (bucketId: Domain.BucketId, leafCount: number) =>
      Effect.forEach(simulators, (simulator) =>
        Effect.gen(function*() {
          const size = Number((yield* simulator.state(bucketId))?.leafCount ?? 0n)
          const leaves = Array.from({ length: Math.max(0, leafCount - size) }, (_, i) => testLeaf(bucketId, size + i))
          if (leaves.length > 0 || size === 0) yield* simulator.commit(bucketId, leaves)
        }), { discard: true })

    return {
      simulators,
      providers,
      provider: (name) => {
        const found = providers.find((p) => p.name === name)
        if (found === undefined) throw new Error(`no simulated provider named ${name}`)
        return found
      },
      setBehaviour: (name, behaviour) =>
        Effect.flatMap(
          lookup(name),
          ({ simulator, spec }) => simulator.setFaults(faultsOf(behaviour, spec, options.timeScale))
        ),
      setBucketData: (bucketId, data) => growTo(bucketId, Number(data.leafCount)),
      append: (bucketId, leaves) =>
        Effect.gen(function*() {
          const size = Number((yield* truth(bucketId))?.leafCount ?? 0n)
          yield* growTo(bucketId, size + leaves)
          const state = (yield* truth(bucketId))!
          return { mmrRoot: state.mmrRoot, startSeq: state.startSeq, leafCount: state.leafCount } satisfies BucketData
        }),
      bucketData: (bucketId) => truth(bucketId),
      requestTimes: (name) => Effect.flatMap(lookup(name), ({ simulator }) => simulator.signingRequestTimes),
      probeTimes: (name) => Effect.flatMap(lookup(name), ({ simulator }) => simulator.healthRequestTimes)
    } satisfies SimulatedNetwork
  })

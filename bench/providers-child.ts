/**
 * Provider simulators in their own process (as providers are, on other machines): started from the
 * JSON spec in argv[2] — `[{ name, latencyMillis, badSignature?, buckets, leaves }]` — and announced on stdout as one JSON line
 * `[{ name, endpoint, multiaddr, account, publicKey }]`. Runs until killed.
 */
import { ProviderSimulator } from "@checkpointer/testing"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"

const spec = JSON.parse(process.argv[2] ?? "[]") as ReadonlyArray<
  { name: string; latencyMillis: number; badSignature?: boolean; buckets: ReadonlyArray<number>; leaves: number }
>

const program = Effect.scoped(Effect.gen(function*() {
  const started = yield* Effect.forEach(spec, (p, i) =>
    Effect.gen(function*() {
      const simulator = yield* ProviderSimulator.start({ name: p.name, seed: i + 1 })
      yield* simulator.setFaults({ latency: `${p.latencyMillis} millis`, invalidSignature: p.badSignature === true })
      const roots = Array.from({ length: p.leaves }, (_, k) => blake2AsU8a(`bench leaf ${k}`, 256))
      for (const bucket of p.buckets) yield* simulator.commit(BigInt(bucket) as never, roots)
      return {
        name: p.name,
        endpoint: simulator.endpoint,
        multiaddr: simulator.multiaddr,
        account: simulator.account,
        publicKey: simulator.publicKey
      }
    }))
  process.stdout.write(JSON.stringify(started) + "\n")
  return yield* Effect.never
}))

Effect.runPromise(program)

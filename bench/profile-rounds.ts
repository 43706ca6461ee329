/**
 * Checkpointer's round alone (no baseline), for profiling the measuring process:
 *
 *   node --cpu-prof --cpu-prof-dir=build/prof --import tsx bench/profile-rounds.ts
 *
 * BENCH_PROFILE_N providers (default 32, 10 % at 2 s as in rounds.ts), BENCH_PROFILE_ROUNDS rounds
 * (default 200). Prints the CPU time of the process per round next to the wall time.
 *
 * The providers answer from commitments signed once (`cached-providers.ts`); BENCH_PROFILE_PROVIDERS=simulator
 * runs `ProviderSimulator`s instead, which sign every answer.
 *
 * BENCH_PROFILE_MEMORY=1 serves each provider's real signed answer from memory instead of HTTP (the
 * same answers, fetched once), to separate Checkpointer's own per-answer work from the HTTP stack's.
 */
import { CheckpointManager, type Domain, ProviderApi } from "@checkpointer/core"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { remoteWorld } from "./world.js"

const n = Number(process.env.BENCH_PROFILE_N ?? 32)
const rounds = Number(process.env.BENCH_PROFILE_ROUNDS ?? 200)

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const specs = Array.from({ length: n }, (_, i) => ({
    name: `Prof${n}x${i}`,
    latencyMillis: i % 10 === Math.min(9, n - 1) ? 2_000 : 2 + (i % 7)
  }))
  const world = yield* remoteWorld(specs, [1], {
    providers: process.env.BENCH_PROFILE_PROVIDERS === "simulator" ? "simulator" : "cached"
  })
  let layer = world.layer
  if (process.env.BENCH_PROFILE_MEMORY === "1") {
    const answers = new Map<string, ProviderApi.SignedCommitment>()
    yield* Effect.forEach(
      world.announced,
      (p) =>
        Effect.flatMap(
          ProviderApi.ProviderApi,
          (api) => api.checkpointSignature(p.endpoint as Domain.Endpoint, 1n as Domain.BucketId)
        )
          .pipe(
            Effect.tap((signed) => answers.set(p.endpoint, signed)),
            Effect.provide(world.layer)
          ),
      { concurrency: "unbounded" }
    )
    const fromMemory = Layer.succeed(
      ProviderApi.ProviderApi,
      ProviderApi.ProviderApi.of({
        health: () => Effect.die("not used"),
        info: () => Effect.die("not used"),
        commitment: () => Effect.die("not used"),
        checkpointSignature: (endpoint) => Effect.succeed(answers.get(endpoint)!)
      })
    )
    layer = world.layerWith(fromMemory)
  }
  yield* Effect.gen(function*() {
    const manager = yield* CheckpointManager.CheckpointManager
    const bucket = 1n as Domain.BucketId
    for (let i = 0; i < 5; i++) yield* manager.collectCommitments(bucket)
    const cpu = process.cpuUsage()
    const started = performance.now()
    const walls: Array<number> = []
    const thresholdAt: Array<number> = []
    const collected: Array<number> = []
    const notAwaited: Array<number> = []
    for (let i = 0; i < rounds; i++) {
      const t = performance.now()
      const report = yield* manager.collectCommitments(bucket)
      walls.push(performance.now() - t)
      const { collection } = report
      const answered = collection.outcomes.flatMap((o) => o._tag === "Answered" ? [o.latencyMillis] : []).sort((a, b) =>
        a - b
      )
      thresholdAt.push(answered[collection.required - 1] ?? Number.NaN)
      collected.push(collection.finishedAtMillis - collection.startedAtMillis)
      notAwaited.push(collection.outcomes.filter((o) => o._tag === "NotAwaited").length)
    }
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log(
      `median: threshold-th answer at ${median(thresholdAt)} ms, collection ${median(collected)} ms, ${
        median(notAwaited)
      } not awaited`
    )
    const used = process.cpuUsage(cpu)
    const wall = performance.now() - started
    walls.sort((a, b) => a - b)
    console.log(
      `N=${n}: ${rounds} rounds, wall p50 ${walls[Math.floor(rounds / 2)]!.toFixed(1)} ms, p99 ${
        walls[Math.ceil(rounds * 0.99) - 1]!.toFixed(1)
      } ms; CPU ${((used.user + used.system) / 1000 / rounds).toFixed(1)} ms per round (${
        (((used.user + used.system) / 1000 / wall) * 100).toFixed(0)
      } % of wall)`
    )
  }).pipe(Effect.provide(layer))
}).pipe(Effect.scoped)

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

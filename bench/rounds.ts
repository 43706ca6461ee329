/**
 * Round latency against the physical limit and against the seed design's wait-for-all collection, and
 * early abort, over real loopback HTTP, measured side by side in one run.
 *
 * 1. Latency: N = 5, 16, 32, 100 providers, 90 % answering after 2–8 ms and 10 % after 2 s, from
 *    commitments signed once (`cached-providers.ts`: the providers' CPU does not compete with the client
 *    measured). Checkpointer's collection and decision (`collectCommitments`) and, on the same providers,
 *    a baseline written here as the seed design does it: every `/commitment` requested at once, all
 *    awaited (`join_all`), then every signature verified. Ten of Checkpointer's rounds run after each
 *    baseline round (a baseline round takes 2 s), so its p99 comes from 200 samples.
 *
 *    A round cannot end before the threshold-th provider has answered and the grace window is over. In
 *    each of Checkpointer's rounds every provider reports how long it took to answer (`x-served-in`,
 *    from the request's arrival to the answer leaving it); the threshold-th smallest of these is the
 *    threshold-th provider's latency in that round, which includes no delay of the measuring process
 *    (a client that sent every request at once and did nothing else would end the round then, plus the
 *    grace window and a loopback round trip). Goals: Checkpointer's p99 ≤ the threshold-th
 *    provider's p99 (the same rounds) + grace + 15 ms at N ≤ 32, + 40 ms at N = 100; the p99 ratio to
 *    wait-for-all ≤ 0.3 (met by construction: the baseline waits for the 2 s stragglers).
 * 2. Early abort: 5 providers, threshold 3; one honest at 5 ms, three answer with bad signatures at
 *    20, 30, 40 ms, one honest after 2 s. The threshold is impossible once the third bad signature is
 *    in; the goal is that the round fails within one response time of that moment (the fast honest
 *    provider's latency), not after the straggler. The circuit breaker is off here: it would stop
 *    asking the three bad providers after five rounds.
 *
 * The providers run in a child process (they are other machines in reality). Settings used for
 * Checkpointer (stated with the figures): a 20 ms grace window after the threshold is met, request
 * concurrency 256 (a round asks every provider at once, as the baseline does).
 */
import { CheckpointManager, type Domain, SignatureVerifier } from "@checkpointer/core"
import { decodeMultiSignature, encodeCommitmentPayload } from "@checkpointer/core"
import { hexToU8a } from "@polkadot/util"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { availableParallelism } from "node:os"
import { recordResults } from "./results.js"
import { providerHttpLayer, remoteWorld, SETTINGS } from "./world.js"

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
const now = () => performance.now()

/** The seed design's collection: ask everyone, await all, then verify every signature. */
const joinAll = (providers: ReadonlyArray<{ endpoint: string; publicKey: string }>, bucket: number) =>
  Effect.promise(async () => {
    const started = now()
    const latencies: Array<number> = []
    const answers = await Promise.all(providers.map(async (p) => {
      const t = now()
      const body = await fetch(`${p.endpoint}/commitment?bucket_id=${bucket}`).then((r) => r.json()) as Record<
        string,
        unknown
      >
      latencies.push(now() - t)
      return { p, body }
    }))
    for (const { body, p } of answers) {
      const signature = decodeMultiSignature(hexToU8a(String(body.provider_signature)))
      if (Either.isLeft(signature)) continue
      SignatureVerifier.verifyMultiSignature({
        signature: signature.right,
        message: encodeCommitmentPayload({
          bucketId: BigInt(bucket) as Domain.BucketId,
          mmrRoot: String(body.mmr_root) as Domain.H256,
          startSeq: BigInt(String(body.start_seq)) as Domain.U64,
          leafCount: BigInt(String(body.leaf_count)) as Domain.U64
        }),
        publicKey: p.publicKey as Domain.PublicKey
      })
    }
    return { elapsed: now() - started, latencies }
  })

const GRACE_MILLIS = Duration.toMillis(Duration.decode(SETTINGS.graceWindow))
/** What a round may take beyond the threshold-th answer and the grace window. */
const allowanceFor = (n: number) => n <= 32 ? 15 : 40

/**
 * `samples` baseline rounds (each waits for the 2 s stragglers), and `perBaseline` of Checkpointer's
 * rounds after each, so that its p99 comes from enough samples to be a percentile, not the maximum.
 */
const latencyFor = (n: number, samples: number, perBaseline: number) =>
  Effect.gen(function*() {
    // 10 % stragglers (at least one) at 2 s; the rest answer within a few milliseconds.
    const specs = Array.from({ length: n }, (_, i) => ({
      name: `Bench${n}x${i}`,
      latencyMillis: i % 10 === Math.min(9, n - 1) ? 2_000 : 2 + (i % 7)
    }))
    const { announced, layerWith } = yield* remoteWorld(specs, [1], { providers: "cached" })
    // How long each provider took to answer, in the round in flight.
    let servedIn: Array<number> = []
    const layer = layerWith(providerHttpLayer((response) => {
      const millis = Number(response.headers["x-served-in"])
      if (Number.isFinite(millis)) servedIn.push(millis)
    }))
    return yield* Effect.gen(function*() {
      const manager = yield* CheckpointManager.CheckpointManager
      const bucket = 1n as Domain.BucketId
      const endpoints = announced.map((p) => ({ endpoint: p.endpoint, publicKey: p.publicKey }))
      for (let i = 0; i < 5; i++) yield* manager.collectCommitments(bucket) // warm-up (connections, JIT)
      yield* joinAll(endpoints, 1)
      const ours: Array<number> = []
      const base: Array<number> = []
      const thresholdAnswer: Array<number> = []
      let required = 0
      for (let i = 0; i < samples; i++) {
        for (let k = 0; k < perBaseline; k++) {
          servedIn = []
          const t = now()
          const { collection } = yield* manager.collectCommitments(bucket)
          ours.push(now() - t)
          required = collection.required
          // The answers not awaited never arrive: those that did are the fastest, the threshold-th among them.
          const served = [...servedIn].sort((a, b) => a - b)
          thresholdAnswer.push(served[collection.required - 1] ?? Number.NaN)
          if (process.env.BENCH_DUMP) console.error(`k=${k} ${(now() - t).toFixed(1)}`)
        }
        const baseline = yield* joinAll(endpoints, 1)
        base.push(baseline.elapsed)
      }
      const p99 = percentile(ours, 99)
      const baseP99 = percentile(base, 99)
      const thresholdP99 = percentile(thresholdAnswer, 99)
      const bound = thresholdP99 + GRACE_MILLIS + allowanceFor(n)
      return {
        providers: n,
        required,
        samples: ours.length,
        baselineSamples: base.length,
        p50: percentile(ours, 50),
        p99,
        baselineP50: percentile(base, 50),
        baselineP99: baseP99,
        p99Ratio: p99 / baseP99,
        thresholdProviderP50: percentile(thresholdAnswer, 50),
        thresholdProviderP99: thresholdP99,
        graceMillis: GRACE_MILLIS,
        allowanceMillis: allowanceFor(n),
        p99Bound: bound,
        p99OverThreshold: p99 - thresholdP99 - GRACE_MILLIS,
        met: p99 <= bound
      }
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

/**
 * Early abort: the threshold (3 of 5) becomes impossible when the third bad signature arrives (~40 ms);
 * the abort delay is from that answer to the round's end, against one response time (the honest fast
 * provider's latency in the same round).
 */
const earlyAbort = Effect.gen(function*() {
  const { layer } = yield* remoteWorld(
    [
      { name: "Early0", latencyMillis: 5 },
      { name: "Early1", latencyMillis: 20, badSignature: true },
      { name: "Early2", latencyMillis: 30, badSignature: true },
      { name: "Early3", latencyMillis: 40, badSignature: true },
      { name: "Early4", latencyMillis: 2_000 }
    ],
    [1],
    {
      providers: "cached",
      // The three bad providers would open their circuit breakers after five rounds (unasked, they fail at
      // once: the breaker's job, not the early abort measured here).
      health: { unreachableAfter: Number.MAX_SAFE_INTEGER }
    }
  )
  return yield* Effect.gen(function*() {
    const manager = yield* CheckpointManager.CheckpointManager
    const bucket = 1n as Domain.BucketId
    yield* manager.collectCommitments(bucket) // warm-up
    const delays: Array<number> = []
    const ends: Array<number> = []
    const impossibleAt: Array<number> = []
    const oneResponse: Array<number> = []
    for (let i = 0; i < 20; i++) {
      const { collection, decision } = yield* manager.collectCommitments(bucket)
      if (collection.endedBy !== "ThresholdUnreachable" || decision.thresholdMet) {
        return yield* Effect.dieMessage(`early abort: the round ended by ${collection.endedBy}`)
      }
      const bad = collection.outcomes.flatMap((o) => o._tag === "BadSignature" ? [o.latencyMillis] : [])
      const fast = collection.outcomes.flatMap((o) => o._tag === "Answered" ? [o.latencyMillis] : [])
      const ended = collection.finishedAtMillis - collection.startedAtMillis
      impossibleAt.push(Math.max(...bad))
      ends.push(ended)
      delays.push(ended - Math.max(...bad))
      oneResponse.push(Math.min(...fast))
    }
    return {
      impossibleAtMillisP50: percentile(impossibleAt, 50),
      roundMillisP50: percentile(ends, 50),
      roundMillisMax: Math.max(...ends),
      abortDelayMillisP50: percentile(delays, 50),
      abortDelayMillisMax: Math.max(...delays),
      oneResponseMillisP50: percentile(oneResponse, 50),
      stragglerMillis: 2_000
    }
  }).pipe(Effect.provide(layer))
}).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const latency = []
  const sizes = process.env.BENCH_ROUND_SIZES === undefined
    ? [5, 16, 32, 100]
    : process.env.BENCH_ROUND_SIZES.split(",").map(Number)
  for (const n of sizes) latency.push(yield* latencyFor(n, 20, 10))
  const abort = yield* earlyAbort
  const machine = { cores: availableParallelism(), node: process.version }
  console.log(
    `round latency over loopback HTTP (ms), 10 % of providers at 2 s, the rest at 2–8 ms; grace ${GRACE_MILLIS} ms; ` +
      `${machine.cores} cores, Node ${machine.node}`
  )
  console.log(
    "  N     p50     p99  threshold-th p99  bound (+grace +15, +40 at 100)  over threshold-th+grace  " +
      "base p99  p99 ratio (goal ≤ 0.3)  samples"
  )
  for (const r of latency) {
    console.log(
      `  ${String(r.providers).padEnd(4)}${r.p50.toFixed(1).padStart(6)} ${r.p99.toFixed(1).padStart(7)} ${
        r.thresholdProviderP99.toFixed(1).padStart(17)
      } ${r.p99Bound.toFixed(1).padStart(12)} ${r.met ? "met    " : "NOT MET"} ${
        r.p99OverThreshold.toFixed(1).padStart(28)
      } ${r.baselineP99.toFixed(0).padStart(9)}  ${r.p99Ratio.toFixed(3).padStart(8)} ${
        r.p99Ratio <= 0.3 ? "met" : "NOT MET"
      }        ${r.samples}/${r.baselineSamples}`
    )
  }
  const withinOne = abort.abortDelayMillisMax <= abort.oneResponseMillisP50
  console.log(
    `early abort: the threshold became impossible at ${abort.impossibleAtMillisP50} ms (p50, the third bad signature); ` +
      `the round ended ${abort.abortDelayMillisP50} ms later (p50; max ${abort.abortDelayMillisMax}), at ${abort.roundMillisP50} ms ` +
      `(max ${abort.roundMillisMax}), not after the 2,000 ms straggler; one response takes ${abort.oneResponseMillisP50} ms ` +
      `(goal: the abort within one response: ${withinOne ? "met" : "NOT MET"})`
  )
  yield* recordResults("rounds", { machine, settings: SETTINGS, latency, earlyAbort: abort })
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

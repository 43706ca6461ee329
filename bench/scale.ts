/**
 * 100,000 buckets in one process: what holding buckets costs, at 1,000, 10,000 and 100,000.
 *
 * - Heap per 1,000 buckets: the loop (`CheckpointLoop.make`, the watcher's settings) over N buckets after
 *   its first pass and a liveness watch (each bucket's state and its `secondsSinceLastCheckpoint` gauge),
 *   measured after a full GC against the heap with the world already built (the in-memory chain and
 *   providers are other machines, not counted). Goal ≤ 5 MB per 1,000 at 100,000.
 * - The loop's CPU per finalized head with N idle buckets (none due: the heads between two due points),
 *   and per bucket in a pass where all N are due (none dirty, so no round starts: the pass alone). The
 *   first must not grow with N, the second must not grow faster than N.
 * - Starting with a file journal holding N buckets (`Checkpointer.onDisk`: the receipt journal and the
 *   loop's store, as `checkpointer run` opens them): opening it, the loop's first pass over the N buckets,
 *   and the first read of one bucket's journal. Must grow no faster than N.
 *
 * Heads are fed to the loop one at a time through a stream that signals each pull, so a head's CPU is
 * measured from its delivery to the loop asking for the next one (the pass done). The health probes
 * (`probeInterval`, once a minute, every provider of the buckets once) are off: they are not per head.
 */
import {
  ChainClient,
  Checkpointer,
  CheckpointLoop,
  Domain,
  ProviderDiscovery,
  ReceiptJournal
} from "@checkpointer/core"
import { FakeChain } from "@checkpointer/testing"
import { NodeContext } from "@effect/platform-node"
import { Keyring } from "@polkadot/keyring"
import { blake2AsHex, cryptoWaitReady } from "@polkadot/util-crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { recordResults } from "./results.js"
import { providerHttpLayer, SETTINGS } from "./world.js"

const SIZES = (process.env.BENCH_SCALE_SIZES ?? "1000,10000,100000").split(",").map(Number)
const INTERVAL_BLOCKS = 50
const IDLE_HEADS = 40
const DUE_PASSES = 3
const HEAP_GOAL_MB_PER_1000 = 5

const now = () => performance.now()
const gc = () => (globalThis as { gc?: () => void }).gc?.()
const cpuMillis = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const head = (n: number) =>
  new ChainClient.BlockRef({
    number: n as Domain.BlockNumber,
    hash: `0x${n.toString(16).padStart(64, "0")}` as Domain.H256
  })

/**
 * Checkpointer's services on an in-memory chain where every bucket id is a bucket with the same five
 * providers (the chain's memory is not the process's), and whose finalized heads this benchmark delivers:
 * `deliver(n)` hands the loop head n and returns once the loop has asked for the next one (its pass over
 * head n is done).
 */
const world = (journal: Layer.Layer<Checkpointer.Journal>) =>
  Effect.gen(function*() {
    const fake = yield* FakeChain.make({ verifySignatures: false })
    const keyring = new Keyring({ type: "sr25519" })
    const providers = Array.from({ length: 5 }, (_, i) => keyring.addFromUri(`//Scale${i}`)).map((pair, i) =>
      new ChainClient.ProviderRecord({
        accountId: Domain.accountIdFromBytes(pair.publicKey)!,
        multiaddr: `/ip4/127.0.0.1/tcp/${40_000 + i}`,
        publicKey: Option.some(Domain.publicKeyFromBytes(pair.publicKey)!)
      })
    )
    for (const record of providers) yield* fake.registerProvider(record)
    yield* fake.putBucket({
      bucketId: 0n as Domain.BucketId,
      primaryProviders: providers.map((p) => p.accountId),
      minProviders: 3,
      members: [new ChainClient.BucketMember({ account: providers[0]!.accountId, role: "Admin" })],
      snapshot: Option.none(),
      frozenStartSeq: Option.none()
    })
    const incoming = yield* Queue.unbounded<ChainClient.BlockRef>()
    const pulls = yield* Queue.unbounded<void>()
    const chain: ChainClient.ChainClientService = {
      ...fake.client,
      bucket: (bucketId, at) =>
        Effect.map(fake.client.bucket(0n as Domain.BucketId, at), (b) =>
          new ChainClient.BucketInfo({ ...b, bucketId }, true)),
      finalizedHeads: Stream.repeatEffect(Effect.zipRight(Queue.offer(pulls, undefined), Queue.take(incoming)))
    }
    const layer = Checkpointer.layerOn({ journal, settings: SETTINGS }).pipe(
      Layer.provideMerge(Layer.merge(Layer.succeed(ChainClient.ChainClient, chain), providerHttpLayer())),
      Layer.orDie
    )
    let waiting = false
    const deliver = (n: number) =>
      Effect.gen(function*() {
        if (!waiting) {
          yield* Queue.take(pulls).pipe(Effect.timeout("60 seconds"), Effect.orDie)
        }
        yield* Queue.offer(incoming, head(n))
        yield* Queue.take(pulls).pipe(Effect.timeout("600 seconds"), Effect.orDie)
        waiting = true
      })
    return { layer, deliver }
  })

const loopSettings = {
  interval: CheckpointLoop.Blocks(INTERVAL_BLOCKS),
  submitOnEmpty: false,
  probeInterval: Option.none(),
  // The watchdog (each bucket's gauge, overdue events) every 6 s instead of every minute, so that its gauges
  // are counted; nothing is overdue before a minute.
  overdueAfter: Option.some(Duration.seconds(60))
} as const

/** Bucket ids of their own per size: the metric registry keeps a gauge per bucket id ever seen. */
const ids = (count: number) =>
  Array.from({ length: count }, (_, i) => (BigInt(count) << 32n) + BigInt(i) as Domain.BucketId)

interface LoopFigures {
  readonly buckets: number
  readonly heapMB: number
  readonly heapMBPer1000: number
  readonly firstPassMillis: number
  /** CPU per finalized head with no bucket due (median of `IDLE_HEADS`). */
  readonly idleHeadCpuMillis: number
  readonly idleHeadCpuMillisMax: number
  /** CPU of a pass in which every bucket is due, per bucket (µs; the median pass). */
  readonly duePassCpuMicrosPerBucket: number
  readonly duePassesCpuMillis: ReadonlyArray<number>
}

const loopAt = (count: number) =>
  Effect.gen(function*() {
    const { deliver, layer } = yield* world(Checkpointer.inMemory())
    return yield* Effect.gen(function*() {
      const discovery = yield* ProviderDiscovery.ProviderDiscovery
      gc()
      const before = process.memoryUsage().heapUsed
      const loop = yield* CheckpointLoop.make(ids(count), loopSettings)
      const t0 = now()
      yield* deliver(1) // every bucket is due at the first head: its due point is set
      const firstPassMillis = now() - t0
      // What a round leaves per bucket beyond the loop: its providers as discovered (cached per bucket).
      const t1 = now()
      yield* Effect.forEach(ids(count), (b) => Effect.orDie(discovery.discover(b)), { concurrency: 64, discard: true })
      console.log(
        `  (${count} buckets: loop made and first pass in ${firstPassMillis.toFixed(0)} ms, discovered in ${
          (now() - t1).toFixed(0)
        } ms)`
      )
      // The watchdog's first run (each bucket's gauge).
      yield* Effect.sleep("6500 millis")
      yield* loop.status
      gc()
      const heapMB = (process.memoryUsage().heapUsed - before) / 2 ** 20
      // Heads between two due points: nothing is due.
      const idle: Array<number> = []
      for (let n = 2; n < 2 + IDLE_HEADS; n++) {
        const c = process.cpuUsage()
        yield* deliver(n)
        idle.push(cpuMillis(c))
      }
      // Passes in which every bucket is due again (the median of DUE_PASSES: a major GC of the whole heap
      // lands in one of them now and then).
      const passes: Array<number> = []
      let next = 2 + IDLE_HEADS
      for (let pass = 1; pass <= DUE_PASSES; pass++) {
        for (; next < 1 + pass * INTERVAL_BLOCKS; next++) yield* deliver(next)
        const c = process.cpuUsage()
        yield* deliver(next++)
        passes.push(cpuMillis(c))
      }
      const duePass = median(passes)
      yield* loop.stop
      return {
        buckets: count,
        heapMB,
        heapMBPer1000: heapMB / (count / 1000),
        firstPassMillis,
        idleHeadCpuMillis: median(idle),
        idleHeadCpuMillisMax: Math.max(...idle),
        duePassCpuMicrosPerBucket: (duePass * 1000) / count,
        duePassesCpuMillis: passes
      } satisfies LoopFigures
    }).pipe(Effect.provide(layer), Effect.scoped)
  }).pipe(Effect.scoped)

/** N bucket journals in the file journal's format, written directly (the journal's own writes fsync each). */
const writeJournals = (directory: string, count: number) => {
  const buckets = join(directory, "buckets")
  mkdirSync(buckets, { recursive: true })
  const encode = Schema.encodeSync(ReceiptJournal.BucketJournal)
  for (const bucketId of ids(count)) {
    const body = encode(ReceiptJournal.empty(bucketId))
    const text = JSON.stringify(
      { version: ReceiptJournal.JOURNAL_VERSION, checksum: blake2AsHex(JSON.stringify(body), 256), body },
      null,
      1
    )
    writeFileSync(join(buckets, `${bucketId}.json`), text)
  }
}

interface StartFigures {
  readonly buckets: number
  readonly openMillis: number
  readonly loopFirstPassMillis: number
  readonly firstReadMillis: number
  readonly totalMillis: number
}

const startAt = (count: number) =>
  Effect.gen(function*() {
    const directory = mkdtempSync(join(tmpdir(), "checkpointer-scale-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(directory, { recursive: true, force: true })))
    const tw = now()
    writeJournals(directory, count)
    console.log(`  (${count} bucket journals written in ${(now() - tw).toFixed(0)} ms)`)
    const t0 = now()
    const journal = yield* Layer.memoize(
      Checkpointer.onDisk({ directory }).pipe(Layer.provide(NodeContext.layer), Layer.orDie)
    )
    const { deliver, layer } = yield* world(journal)
    const context = yield* Layer.build(layer)
    const openMillis = now() - t0
    return yield* Effect.gen(function*() {
      const t1 = now()
      const loop = yield* CheckpointLoop.make(ids(count), loopSettings)
      yield* deliver(1)
      const loopFirstPassMillis = now() - t1
      const t2 = now()
      const read = yield* Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(ids(count)[count - 1]!))
      const firstReadMillis = now() - t2
      if (Option.isNone(read)) return yield* Effect.dieMessage(`the last bucket's journal not found`)
      yield* loop.stop
      return {
        buckets: count,
        openMillis,
        loopFirstPassMillis,
        firstReadMillis,
        totalMillis: openMillis + loopFirstPassMillis + firstReadMillis
      } satisfies StartFigures
    }).pipe(Effect.provide(context))
  }).pipe(Effect.scoped)

/** How a figure grows from one size to the next, over how the size grows (1: linear). */
const growth = <A extends { readonly buckets: number }>(rows: ReadonlyArray<A>, figure: (row: A) => number) =>
  rows.slice(1).map((row, i) => (figure(row) / figure(rows[i]!)) / (row.buckets / rows[i]!.buckets))

const program = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const machine = { cores: availableParallelism(), node: process.version, platform: process.platform }
  console.log(`scale: one process, ${machine.cores} cores, Node ${machine.node}`)
  if ((globalThis as { gc?: unknown }).gc === undefined) console.log("  (run with --expose-gc for exact heap figures)")

  const loops: Array<LoopFigures> = []
  for (const count of SIZES) loops.push(yield* loopAt(count))
  const largest = loops[loops.length - 1]!
  const heapMet = largest.heapMBPer1000 <= HEAP_GOAL_MB_PER_1000
  // Idle heads: "does not grow with N" — the largest size within 2× of the smallest, or under 1 ms.
  const idleMet = largest.idleHeadCpuMillis <= Math.max(1, 2 * loops[0]!.idleHeadCpuMillis)
  const dueGrowth = growth(loops, (l) => l.duePassCpuMicrosPerBucket * l.buckets)
  const dueMet = dueGrowth.every((g) => g <= 1.5)
  console.log(`loop over N buckets (interval ${INTERVAL_BLOCKS} blocks, none dirty):`)
  console.log("  buckets   heap MB   MB/1,000   first pass ms   CPU per idle head ms (max)   due pass µs/bucket")
  for (const l of loops) {
    console.log(
      `  ${String(l.buckets).padStart(7)}   ${l.heapMB.toFixed(1).padStart(7)}   ${
        l.heapMBPer1000.toFixed(2).padStart(8)
      }   ${l.firstPassMillis.toFixed(0).padStart(13)}   ${l.idleHeadCpuMillis.toFixed(3).padStart(12)} (${
        l.idleHeadCpuMillisMax.toFixed(2)
      })   ${l.duePassCpuMicrosPerBucket.toFixed(2).padStart(12)}`
    )
  }
  console.log(
    `  heap per 1,000 at ${largest.buckets}: ${largest.heapMBPer1000.toFixed(2)} MB (goal ≤ ${HEAP_GOAL_MB_PER_1000}: ${
      heapMet ? "met" : "NOT MET"
    })`
  )
  console.log(
    `  CPU per idle head at ${largest.buckets}: ${largest.idleHeadCpuMillis.toFixed(3)} ms (goal: not growing with ` +
      `the buckets held: ${idleMet ? "met" : "NOT MET"})`
  )
  console.log(
    `  due pass total CPU growth per ×10 buckets, over linear: ${dueGrowth.map((g) => g.toFixed(2)).join(", ")} ` +
      `(goal ≤ 1.5, linear: ${dueMet ? "met" : "NOT MET"})`
  )

  const starts: Array<StartFigures> = []
  for (const count of SIZES) starts.push(yield* startAt(count))
  const startGrowth = growth(starts, (s) => s.totalMillis)
  const startMet = startGrowth.every((g) => g <= 1.5)
  console.log("start with a file journal holding N buckets:")
  console.log("  buckets   open ms   loop's first pass ms   first journal read ms   total ms")
  for (const s of starts) {
    console.log(
      `  ${String(s.buckets).padStart(7)}   ${s.openMillis.toFixed(0).padStart(7)}   ${
        s.loopFirstPassMillis.toFixed(0).padStart(20)
      }   ${s.firstReadMillis.toFixed(1).padStart(21)}   ${s.totalMillis.toFixed(0).padStart(8)}`
    )
  }
  console.log(
    `  growth per ×10 buckets, over linear: ${startGrowth.map((g) => g.toFixed(2)).join(", ")} (goal ≤ 1.5: ${
      startMet ? "met" : "NOT MET"
    })`
  )
  yield* recordResults("scale", {
    machine,
    intervalBlocks: INTERVAL_BLOCKS,
    goals: {
      heap: `≤ ${HEAP_GOAL_MB_PER_1000} MB per 1,000 buckets at ${largest.buckets}`,
      idleHead:
        "CPU per finalized head with no bucket due does not grow with the buckets held (≤ 2× the smallest size's, or ≤ 1 ms)",
      duePass: "a pass's CPU grows no faster than the buckets due (≤ 1.5 × linear per step)",
      start: "start time grows no faster than the buckets in the journal (≤ 1.5 × linear per step)"
    },
    met: { heap: heapMet, idleHead: idleMet, duePass: dueMet, start: startMet },
    loop: loops,
    duePassGrowthOverLinear: dueGrowth,
    start: starts,
    startGrowthOverLinear: startGrowth,
    // The machine's 1-minute load average at the end (other work on it shows here).
    loadAverage: loadavg()[0]!
  })
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

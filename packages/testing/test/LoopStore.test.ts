import type { ReceiptJournal } from "@checkpointer/core"
import { Checkpointer, Domain, LoopStore, ProviderHealth } from "@checkpointer/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"

const bucket = 5n as Domain.BucketId
const alice = Domain.accountIdFromBytes(new Uint8Array(32).fill(1))!

const made: Array<string> = []
const tempDir = () => {
  const directory = fs.mkdtempSync(nodePath.join(os.tmpdir(), "checkpointer-loopstore-"))
  made.push(directory)
  return directory
}
afterAll(() => made.forEach((directory) => fs.rmSync(directory, { recursive: true, force: true })))

const onDisk = (directory: string) => LoopStore.layerFileSystem({ directory }).pipe(Layer.provide(NodeContext.layer))

const state = new LoopStore.LoopState({
  dirtyBuckets: [bucket],
  health: [
    new ProviderHealth.HealthRecord({
      provider: alice,
      requests: 3,
      successes: 2,
      failures: 1,
      consecutiveFailures: 1,
      lastSuccessMillis: Option.some(1_700_000_000_000),
      lastFailureMillis: Option.some(1_700_000_100_000),
      latencyEwmaMillis: Option.some(42)
    }, true)
  ],
  updatedAtMillis: 1_700_000_200_000
}, true)

const implementations: ReadonlyArray<
  readonly [string, () => Layer.Layer<LoopStore.LoopStore, ReceiptJournal.JournalError>]
> = [
  ["memory", () => LoopStore.layerMemory()],
  ["file system", () => onDisk(tempDir())]
]

for (const [name, make] of implementations) {
  describe(`LoopStore (${name})`, () => {
    it.effect("reads None before anything is saved, then the state with its real event times", () =>
      Effect.gen(function*() {
        const store = yield* LoopStore.LoopStore
        assert.isTrue(Option.isNone(yield* store.read))
        yield* store.write(state)
        const back = Option.getOrThrow(yield* store.read)
        assert.deepStrictEqual(back.dirtyBuckets, [bucket])
        assert.deepStrictEqual(back.health[0].lastSuccessMillis, Option.some(1_700_000_000_000))
        assert.deepStrictEqual(back.health[0].latencyEwmaMillis, Option.some(42))
      }).pipe(Effect.provide(make())))
  })
}

describe("LoopStore (file system)", () => {
  it.effect("survives a new instance on the same directory, beside the receipt journal", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* Effect.flatMap(LoopStore.LoopStore, (store) => store.write(state)).pipe(
        Effect.provide(Checkpointer.onDisk({ directory }).pipe(Layer.provide(NodeContext.layer)))
      )
      assert.isTrue(fs.existsSync(nodePath.join(directory, "state.json")))
      assert.isTrue(fs.existsSync(nodePath.join(directory, "buckets")))
      const back = yield* Effect.flatMap(LoopStore.LoopStore, (store) => store.read).pipe(
        Effect.provide(onDisk(directory))
      )
      assert.deepStrictEqual(Option.getOrThrow(back).dirtyBuckets, [bucket])
    }))

  it.effect("a damaged state file is quarantined and reported, never read as empty", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      fs.writeFileSync(nodePath.join(directory, "state.json"), "{\"version\":1,\"checksum\":\"0x00\",\"body\":{}}")
      const failed = yield* Effect.flatMap(LoopStore.LoopStore, (store) => store.read).pipe(
        Effect.provide(onDisk(directory)),
        Effect.flip
      )
      assert.strictEqual(failed.reason, "Corrupt")
      assert.isTrue(Option.isSome(failed.quarantinedTo))
      assert.isTrue(fs.existsSync(Option.getOrThrow(failed.quarantinedTo)))
      // Set aside, it stays unreadable until someone looks at it.
      const again = yield* Effect.flatMap(LoopStore.LoopStore, (store) => store.read).pipe(
        Effect.provide(onDisk(directory)),
        Effect.flip
      )
      assert.strictEqual(again.reason, "Corrupt")
    }))

  it.effect("a temp file left by a dead writer is cleared; the journal's files are left alone", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const deadTemp = nodePath.join(directory, ".state.json.999999.1.abc.tmp")
      const journalTemp = nodePath.join(directory, ".chain.json.999999.1.abc.tmp")
      fs.writeFileSync(deadTemp, "half")
      fs.writeFileSync(journalTemp, "half")
      yield* Effect.flatMap(LoopStore.LoopStore, (store) => store.read).pipe(
        Effect.provide(LoopStore.layerFileSystem({ directory, isProcessAlive: () => false })),
        Effect.provide(NodeContext.layer)
      )
      assert.isFalse(fs.existsSync(deadTemp))
      assert.isTrue(fs.existsSync(journalTemp))
    }))
})

import type { Domain } from "@checkpointer/core"
import { ReceiptJournal } from "@checkpointer/core"
import * as JournalSpec from "@checkpointer/testing/JournalSpec"
import { FileSystem, Path } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { SystemError } from "@effect/platform/Error"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"

const { bucket, prepared, round } = JournalSpec

// Every journal directory made here is removed when the file's tests are done.
const made: Array<string> = []
const tempDir = () => {
  const directory = fs.mkdtempSync(nodePath.join(os.tmpdir(), "checkpointer-journal-"))
  made.push(directory)
  return directory
}
afterAll(() => made.forEach((directory) => fs.rmSync(directory, { recursive: true, force: true })))

const fileLayer = (directory: string, options: Partial<ReceiptJournal.FileSystemJournalOptions> = {}) =>
  ReceiptJournal.layerFileSystem({ directory, ...options }).pipe(Layer.provide(NodeContext.layer))

const implementations: ReadonlyArray<
  readonly [string, () => Layer.Layer<ReceiptJournal.ReceiptJournal, ReceiptJournal.JournalError>]
> = [
  ["memory", () => ReceiptJournal.layerMemory()],
  ["file system", () => fileLayer(tempDir())]
]

for (const [name, make] of implementations) JournalSpec.suite(name, make)

describe("ReceiptJournal on disk: faults", () => {
  const withJournal = <A, E>(
    directory: string,
    body: Effect.Effect<A, E, ReceiptJournal.ReceiptJournal>,
    options = {}
  ) => Effect.provide(body, fileLayer(directory, options))

  const bucketPath = (directory: string) => nodePath.join(directory, "buckets", `${bucket}.json`)

  const seed = (directory: string) =>
    withJournal(
      directory,
      Effect.flatMap(ReceiptJournal.ReceiptJournal, (journal) =>
        journal.update(bucket, (j) =>
          ReceiptJournal.addAttempt(ReceiptJournal.addRound(j, round(1)), prepared(10), 2)))
    )

  const readError = (directory: string) =>
    withJournal(
      directory,
      Effect.flatMap(ReceiptJournal.ReceiptJournal, (journal) => Effect.flip(journal.read(bucket)))
    )

  it.live("writes leave no temp file behind and a parseable, checksummed file", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const names = fs.readdirSync(nodePath.join(directory, "buckets"))
      assert.deepStrictEqual(names, [`${bucket}.json`])
      const envelope = JSON.parse(fs.readFileSync(bucketPath(directory), "utf8"))
      assert.strictEqual(envelope.version, ReceiptJournal.JOURNAL_VERSION)
      assert.match(envelope.checksum, /^0x[0-9a-f]{64}$/)
    }))

  it.live("a torn write (temp file left by a crash before rename) is cleared; the last good state stands", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      fs.writeFileSync(nodePath.join(directory, "buckets", `.${bucket}.json.999.1.x.tmp`), "{\"version\":1,\"checks")
      const stored = yield* withJournal(directory, Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)))
      assert.strictEqual(Option.getOrThrow(stored).attempts.length, 1)
      assert.deepStrictEqual(fs.readdirSync(nodePath.join(directory, "buckets")), [`${bucket}.json`])
    }))

  it.live("a live process's temp file is left alone by another process starting on the same journal", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const live = nodePath.join(directory, "buckets", `.${bucket}.json.4242.1.abc.tmp`)
      const dead = nodePath.join(directory, "buckets", `.${bucket}.json.4343.1.abc.tmp`)
      fs.writeFileSync(live, "in progress")
      fs.writeFileSync(dead, "abandoned")
      yield* withJournal(directory, Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)), {
        isProcessAlive: (pid: number) => pid === 4242
      })
      assert.isTrue(fs.existsSync(live))
      assert.isFalse(fs.existsSync(dead))
    }))

  it.live("a truncated file is a typed Corrupt error, and is set aside, not deleted", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const text = fs.readFileSync(bucketPath(directory), "utf8")
      fs.writeFileSync(bucketPath(directory), text.slice(0, text.length / 2))
      const error = yield* readError(directory)
      assert.strictEqual(error.reason, "Corrupt")
      const moved = Option.getOrThrow(error.quarantinedTo)
      assert.strictEqual(fs.readFileSync(moved, "utf8"), text.slice(0, text.length / 2))
      assert.isFalse(fs.existsSync(bucketPath(directory)))
    }))

  it.live("a bit flip is caught by the checksum", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const text = fs.readFileSync(bucketPath(directory), "utf8")
      // Flip one digit of a number inside the body: still valid JSON and a valid schema.
      const flipped = text.replace("\"preparedAtBlock\": 3", "\"preparedAtBlock\": 7")
      assert.notStrictEqual(flipped, text)
      fs.writeFileSync(bucketPath(directory), flipped)
      const error = yield* readError(directory)
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.detail, "checksum")
    }))

  it.live("a file from a newer version is refused with a clear error and left in place", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const envelope = JSON.parse(fs.readFileSync(bucketPath(directory), "utf8"))
      fs.writeFileSync(bucketPath(directory), JSON.stringify({ ...envelope, version: 2 }))
      const error = yield* readError(directory)
      assert.strictEqual(error.reason, "FutureVersion")
      assert.include(error.message, "newer")
      assert.isTrue(fs.existsSync(bucketPath(directory)))
    }))

  it.live("an unwritable directory is a typed Io error", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const file = nodePath.join(directory, "not-a-directory")
      fs.writeFileSync(file, "x")
      const error = yield* Effect.flip(withJournal(nodePath.join(file, "journal"), ReceiptJournal.ReceiptJournal))
      assert.strictEqual(error.reason, "Io")
    }))

  it.live("a full disk fails the write with a typed error and keeps the previous state intact", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const before = fs.readFileSync(bucketPath(directory), "utf8")
      const fullDisk = Layer.effect(
        FileSystem.FileSystem,
        Effect.map(FileSystem.FileSystem, (real) => ({
          ...real,
          open: (path: string, options?: FileSystem.OpenFileOptions) =>
            Effect.map(real.open(path, options), (file) =>
              path.endsWith(".tmp")
                ? {
                  ...file,
                  writeAll: () =>
                    Effect.fail(
                      new SystemError({
                        reason: "Unknown",
                        module: "FileSystem",
                        method: "writeAll",
                        description: "ENOSPC: no space left on device"
                      })
                    )
                }
                : file)
        }))
      ).pipe(Layer.provide(NodeContext.layer))
      const journalLayer = ReceiptJournal.layerFileSystem({ directory }).pipe(
        Layer.provide(Layer.mergeAll(fullDisk, Path.layer))
      )
      const error = yield* Effect.flip(Effect.provide(
        Effect.flatMap(
          ReceiptJournal.ReceiptJournal,
          (j) => j.update(bucket, (x) => ReceiptJournal.addRound(x, round(3)))
        ),
        journalLayer
      ))
      assert.strictEqual(error.reason, "Io")
      assert.strictEqual(fs.readFileSync(bucketPath(directory), "utf8"), before)
      assert.deepStrictEqual(fs.readdirSync(nodePath.join(directory, "buckets")), [`${bucket}.json`])
    }))

  it.live("a lock left by a dead process is recovered; one held by a live process is waited for", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      fs.mkdirSync(nodePath.join(directory, "locks"), { recursive: true })
      const lockPath = nodePath.join(directory, "locks", `${bucket}.lock`)
      fs.writeFileSync(lockPath, JSON.stringify({ pid: 999_999, token: "dead", atMillis: 0 }))
      const ran = yield* withJournal(
        directory,
        Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.withLock(bucket, Effect.succeed("ran"))),
        { isProcessAlive: (pid: number) => pid !== 999_999 }
      )
      assert.strictEqual(ran, "ran")
      assert.isFalse(fs.existsSync(lockPath))

      fs.writeFileSync(lockPath, JSON.stringify({ pid: 1, token: "live", atMillis: 0 }))
      const blocked = yield* Effect.flip(withJournal(
        directory,
        Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.withLock(bucket, Effect.succeed("ran"))),
        { isProcessAlive: () => true, lockTimeout: "200 millis" }
      ))
      assert.strictEqual(blocked.reason, "Locked")
      assert.isTrue(fs.existsSync(lockPath), "another process's lock is never removed")
    }))

  it.live("after a file is set aside, it stays unreadable (never empty) and updates are refused", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      fs.writeFileSync(bucketPath(directory), "{ torn")
      assert.strictEqual((yield* readError(directory)).reason, "Corrupt")
      const again = yield* readError(directory)
      assert.strictEqual(again.reason, "Corrupt")
      assert.include(again.detail, "set aside")
      const update = yield* Effect.flip(
        withJournal(
          directory,
          Effect.flatMap(
            ReceiptJournal.ReceiptJournal,
            (j) => j.update(bucket, (x) => ReceiptJournal.addRound(x, round(9)))
          )
        )
      )
      assert.strictEqual(update.reason, "Corrupt")
      // An operator who inspected the quarantined file clears the marker: the bucket starts afresh.
      fs.rmSync(`${bucketPath(directory)}.quarantined`)
      const fresh = yield* withJournal(directory, Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)))
      assert.isTrue(Option.isNone(fresh))
    }))

  it.live("a lock being written (unreadable, but recent) is not taken over", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      fs.mkdirSync(nodePath.join(directory, "locks"), { recursive: true })
      fs.writeFileSync(nodePath.join(directory, "locks", `${bucket}.lock`), "")
      const blocked = yield* Effect.flip(withJournal(
        directory,
        Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.withLock(bucket, Effect.succeed("ran"))),
        { lockTimeout: "300 millis" }
      ))
      assert.strictEqual(blocked.reason, "Locked")
    }))

  it.live("a lock left by a previous life of this same pid is recovered", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      fs.mkdirSync(nodePath.join(directory, "locks"), { recursive: true })
      const lockPath = nodePath.join(directory, "locks", `${bucket}.lock`)
      fs.writeFileSync(lockPath, JSON.stringify({ pid: 1, instance: "1-previous-life", token: "old", atMillis: 0 }))
      const ran = yield* withJournal(
        directory,
        Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.withLock(bucket, Effect.succeed("ran"))),
        { processId: 1, isProcessAlive: () => true, lockTimeout: "2 seconds" }
      )
      assert.strictEqual(ran, "ran")
      assert.isFalse(fs.existsSync(lockPath))
    }))

  it.live("two journal instances on one directory do not lose each other's updates", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const a = fileLayer(directory, { processId: 101, isProcessAlive: () => true })
      const b = fileLayer(directory, { processId: 102, isProcessAlive: () => true })
      const p = prepared(10)
      const updateWith = (layer: typeof a, change: (j: ReceiptJournal.BucketJournal) => ReceiptJournal.BucketJournal) =>
        Effect.provide(Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.update(bucket, change)), layer)
      yield* Effect.all([
        updateWith(a, (j) => ReceiptJournal.addAttempt(j, p, 1)),
        updateWith(b, (j) => ReceiptJournal.addRound(j, round(2)))
      ], { concurrency: 2 })
      const stored = Option.getOrThrow(
        yield* Effect.provide(Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)), a)
      )
      assert.strictEqual(stored.attempts.length, 1)
      assert.strictEqual(stored.rounds.length, 1)
    }))

  /** The error `effect` fails with; a success fails the test plainly (its value may not print). */
  const refusal = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.either(effect), (result) =>
      Either.isLeft(result)
        ? Effect.succeed(result.left)
        : Effect.sync(() => assert.fail("succeeded where a refusal was expected")))

  it.live("a valid journal of another bucket under this bucket's name is refused as OtherBucket and set aside", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const other = 6n as Domain.BucketId
      const otherPath = nodePath.join(directory, "buckets", `${other}.json`)
      const copied = fs.readFileSync(bucketPath(directory), "utf8")
      fs.writeFileSync(otherPath, copied)
      const error = yield* withJournal(
        directory,
        Effect.flatMap(ReceiptJournal.ReceiptJournal, (journal) => refusal(journal.read(other)))
      )
      assert.strictEqual(error._tag, "JournalError")
      assert.strictEqual(error.reason, "OtherBucket")
      assert.include(error.detail, `bucket ${bucket}`)
      assert.include(error.detail, `bucket ${other}`)
      const moved = Option.getOrThrow(error.quarantinedTo)
      assert.strictEqual(nodePath.dirname(moved), nodePath.join(directory, "quarantine"))
      assert.strictEqual(fs.readFileSync(moved, "utf8"), copied)
      assert.isFalse(fs.existsSync(otherPath))
      // The bucket whose journal it is still reads as before.
      const own = yield* withJournal(directory, Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)))
      assert.strictEqual(Option.getOrThrow(own).attempts.length, 1)
    }))

  it.live("a bucket whose file held another bucket's journal stays refused, and is never updated", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const other = 6n as Domain.BucketId
      fs.copyFileSync(bucketPath(directory), nodePath.join(directory, "buckets", `${other}.json`))
      const attempt = withJournal(
        directory,
        Effect.flatMap(
          ReceiptJournal.ReceiptJournal,
          (j) => refusal(j.update(other, (x) => ReceiptJournal.addRound(x, round(9))))
        )
      )
      assert.strictEqual((yield* attempt).reason, "OtherBucket")
      const again = yield* attempt
      assert.strictEqual(again.reason, "OtherBucket")
      assert.include(again.detail, "set aside")
      assert.strictEqual(fs.readdirSync(nodePath.join(directory, "quarantine")).length, 1)
    }))

  const genesisA = "0x" + "a1".repeat(32)
  const genesisB = "0x" + "b2".repeat(32)
  const readOn = (
    directory: string,
    genesisHash: string,
    options: Partial<ReceiptJournal.FileSystemJournalOptions> = {}
  ) =>
    withJournal(directory, Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) => j.read(bucket)), {
      genesisHash,
      ...options
    })

  it.live("a journal recorded for another chain fails to open with OtherChain, naming both chains", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* withJournal(
        directory,
        Effect.flatMap(
          ReceiptJournal.ReceiptJournal,
          (j) => j.update(bucket, (x) => ReceiptJournal.addRound(x, round(1)))
        ),
        { genesisHash: genesisA }
      )
      const before = fs.readFileSync(bucketPath(directory), "utf8")
      const error = yield* refusal(readOn(directory, genesisB))
      assert.strictEqual(error._tag, "JournalError")
      assert.strictEqual(error.reason, "OtherChain")
      assert.include(error.message, `belongs to the chain with genesis ${genesisA}`)
      assert.include(error.message, `the connected chain's genesis is ${genesisB}`)
      assert.strictEqual(
        fs.readFileSync(bucketPath(directory), "utf8"),
        before,
        "another chain's journal is left as it is"
      )
    }))

  it.live("a journal opened again on its own chain reads as before", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* withJournal(
        directory,
        Effect.flatMap(ReceiptJournal.ReceiptJournal, (j) =>
          j.update(bucket, (x) => ReceiptJournal.addRound(x, round(1)))),
        { genesisHash: genesisA }
      )
      const stored = yield* readOn(directory, genesisA)
      assert.strictEqual(Option.getOrThrow(stored).rounds.length, 1)
    }))

  it.live("a journal with no chain recorded (an earlier version's) adopts the connected chain", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      yield* seed(directory)
      const stored = yield* readOn(directory, genesisA)
      assert.strictEqual(Option.getOrThrow(stored).attempts.length, 1)
      const record = JSON.parse(fs.readFileSync(nodePath.join(directory, "chain.json"), "utf8"))
      assert.strictEqual(record.version, ReceiptJournal.JOURNAL_VERSION)
      assert.strictEqual(record.body.genesisHash, genesisA)
      assert.strictEqual((yield* refusal(readOn(directory, genesisB))).reason, "OtherChain")
    }))

  it.live("of two journals opening a fresh directory on different chains, one records its chain, the other is refused", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      // Two processes (each keeps its own temp files), both starting on a directory with no chain recorded.
      const [a, b] = yield* Effect.all([
        Effect.either(readOn(directory, genesisA, { processId: 101, isProcessAlive: () => true })),
        Effect.either(readOn(directory, genesisB, { processId: 102, isProcessAlive: () => true }))
      ], { concurrency: 2 })
      const refused = [a, b].filter(Either.isLeft).map((e) => e.left.reason)
      assert.deepStrictEqual(refused, ["OtherChain"])
      const record = JSON.parse(fs.readFileSync(nodePath.join(directory, "chain.json"), "utf8"))
      assert.strictEqual(record.body.genesisHash, Either.isRight(a) ? genesisA : genesisB)
    }))

  it("decodeFile refuses garbage without throwing", () => {
    for (const text of ["", "null", "{}", "{\"version\":1}", "{\"version\":1,\"checksum\":\"x\",\"body\":{}}"]) {
      assert.isTrue(Either.isLeft(ReceiptJournal.decodeFile(ReceiptJournal.BucketJournal, text)), text)
    }
  })
})

import { ChainClient, Domain, ReceiptJournal } from "@checkpointer/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Keyring } from "@polkadot/keyring"
import { Effect, Either, Layer, Option, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { FakeChain, FakeProviders, RemoteChain } from "../src/index.js"
import { providerSpecs } from "./fixtures/crashWorld.js"

const childScript = fileURLToPath(new URL("./fixtures/crashChild.ts", import.meta.url))
const bucketId = 1n as Domain.BucketId

interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts the child; `exited` resolves when it ends, however it ends. */
const startChild = (env: Record<string, string>) => {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", childScript], {
    env: { ...process.env, ...env, POLKADOTJS_DISABLE_ESM_CJS_WARNING: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk) => (stdout += String(chunk)))
  child.stderr?.on("data", (chunk) => (stderr += String(chunk)))
  const exited = Effect.async<ChildExit>((resume) => {
    child.on("exit", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
  return { child, exited }
}

/** The parent's world: a chain (which outlives every child), served over loopback. */
const parentChain = (onStep: (step: RemoteChain.SubmissionStep) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const network = yield* FakeProviders.make(providerSpecs)
    const signer = Domain.accountIdFromBytes(new Keyring({ type: "sr25519" }).addFromUri("//Ferdie").publicKey)!
    const chain = yield* FakeChain.make({ signer, finalityDelay: "300 millis" })
    for (const provider of network.providers) {
      yield* chain.registerProvider(
        new ChainClient.ProviderRecord({
          accountId: provider.account,
          multiaddr: provider.multiaddr,
          publicKey: Option.some(provider.publicKey)
        }, true)
      )
    }
    yield* chain.putBucket({
      bucketId,
      primaryProviders: network.providers.map((p) => p.account),
      minProviders: 2,
      members: [new ChainClient.BucketMember({ account: signer, role: "Admin" }, true)],
      snapshot: Option.none(),
      frozenStartSeq: Option.none()
    })
    const url = yield* RemoteChain.serve(chain, (step) => onStep(step))
    return { chain, url }
  })

const readJournal = (directory: string) =>
  Effect.flatMap(ReceiptJournal.ReceiptJournal, (journal) => journal.read(bucketId)).pipe(
    Effect.provide(ReceiptJournal.layerFileSystem({ directory }).pipe(Layer.provide(NodeContext.layer))),
    Effect.map(Option.getOrThrow)
  )

const crashPoints = [
  { name: "after the round is recorded", child: "round" },
  { name: "after broadcast, before inclusion", parent: "Received" },
  { name: "after inclusion, before finality", parent: "Included" },
  { name: "after finality, before the receipt is written", child: "receipt" }
] as const

describe("crash at each step boundary, then restart: one checkpoint, receipt journaled", () => {
  for (const point of crashPoints) {
    it.scopedLive(point.name, () =>
      Effect.gen(function*() {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "checkpointer-crash-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(directory, { recursive: true, force: true })))
        const victim: { child?: ChildProcess } = {}
        const { chain, url } = yield* parentChain((step) =>
          Effect.sync(() => {
            if ("parent" in point && step === point.parent) victim.child?.kill("SIGKILL")
          })
        )
        const env = { CHAIN_URL: url, JOURNAL_DIR: directory, BUCKET: "1" }
        const first = startChild({ ...env, ...("child" in point ? { CRASH_AT: point.child } : {}) })
        victim.child = first.child
        const crashed = yield* first.exited
        assert.strictEqual(crashed.signal, "SIGKILL", `the first run must die at the crash point: ${crashed.stderr}`)

        const second = yield* startChild(env).exited
        assert.strictEqual(second.code, 0, second.stderr)
        const result = JSON.parse(second.stdout.trim()) as { tag: string }
        assert.include(["Submitted", "AlreadyCheckpointed"], result.tag)

        // Exactly one checkpoint extrinsic reached the chain, and it succeeded (once its block is final).
        yield* chain.client.finalizedBlock.pipe(
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (head) => head.number >= 2 }),
          Effect.timeout("10 seconds")
        )
        const recorded = yield* chain.submissions
        assert.strictEqual(recorded.length, 1)
        assert.isTrue(Either.isRight(recorded[0].outcome))
        // Its receipt is in the journal, and nothing is left unresolved.
        const stored = yield* readJournal(directory)
        assert.deepStrictEqual(stored.receipts.map((r) => r.extrinsicHash), [recorded[0].extrinsicHash])
        assert.isTrue(Option.isNone(stored.unresolved))
      }), 60_000)
  }
})

describe("two processes racing on one bucket", () => {
  it.scopedLive("submit one checkpoint between them", () =>
    Effect.gen(function*() {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "checkpointer-race-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(directory, { recursive: true, force: true })))
      const { chain, url } = yield* parentChain(() => Effect.void)
      const env = { CHAIN_URL: url, JOURNAL_DIR: directory, BUCKET: "1" }
      const [a, b] = yield* Effect.all([startChild(env).exited, startChild(env).exited], { concurrency: 2 })
      assert.strictEqual(a.code, 0, a.stderr)
      assert.strictEqual(b.code, 0, b.stderr)
      const tags = [a, b].map((r) => (JSON.parse(r.stdout.trim()) as { tag: string }).tag).sort()
      assert.deepStrictEqual(tags, ["AlreadyCheckpointed", "Submitted"])
      assert.strictEqual((yield* chain.submissions).length, 1)
    }), 60_000)
})

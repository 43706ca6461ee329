/**
 * The live client against the storage chain's real runtime (the oldest pallet era, as its authors
 * compiled it), run offline under Chopsticks from ../shared/fixtures. Skipped, with the reason printed,
 * where the fixtures are absent (a clone of this repository alone).
 */
import { CheckpointManager, encodeCommitmentPayload } from "@checkpointer/core"
import { Chopsticks } from "@checkpointer/testing"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { u8aToHex } from "@polkadot/util"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { arrange, chainSuite, sendTx } from "./ChainSuite.js"
import { account, dev } from "./helpers.js"

const NAMES_FOR_SIGNING = ["Bob", "Charlie"] as const

const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/storage-local.raw.json", import.meta.url))
const present = existsSync(FIXTURE)
if (!present) {
  console.warn(`real-runtime tests skipped: ${FIXTURE} not found (the fixtures sit beside the project in CI)`)
}

describe.skipIf(!present)("the live client's chain suite on the real runtime (Chopsticks)", () => {
  // One Chopsticks per file (~3 s to start), its tests one after the other: each rewinds it to the block
  // where accounts the runtime's genesis leaves out were endowed.
  const scope = Effect.runSync(Scope.make())
  const node = Effect.runSync(Effect.cached(
    Chopsticks.start({ chainSpec: FIXTURE }).pipe(
      Effect.tap((n) => n.endow(["Dave", "Eve", "Ferdie"].map((name) => dev(name).publicKey), 10n ** 18n)),
      Effect.tap((n) => n.newBlock()),
      Effect.map((n) => ({ ...n, snapshot: n.headNumber() })),
      Effect.orDie,
      Scope.extend(scope)
    )
  ))
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  const fresh = node.pipe(
    Effect.tap((n) => n.setHead(n.snapshot)),
    Effect.map((n) => ({ url: n.url, endow: () => Effect.void })),
    Effect.orDie
  )

  describe.sequential("one test at a time on the shared instance", () => {
    // `npm test` runs the basic tests for @polkadot/api and the full round for polkadot-api here, within
    // the suite's time budget (the devchain runs every test for both); `npm run test:real-runtime` runs
    // the whole suite for both (concurrent buckets and the socket cut too; about six minutes). The runtime
    // upgrade is the devchain's alone: the fixtures hold one real runtime, with no second one to upgrade to.
    const whole = process.env.CHECKPOINTER_WHOLE_REAL_RUNTIME_SUITE === "1"
    chainSuite({ name: "real runtime", era: "A", basicOnly: !whole, fresh })
    chainSuite({ name: "papi on the real runtime", era: "A", client: "papi", roundOnly: !whole, fresh })

    it.scopedLive(
      "local verification matters: this runtime accepts a garbage provider signature, Checkpointer never sends one",
      () =>
        Effect.gen(function*() {
          const { api, bucketId, context, simulators, write } = yield* arrange({
            name: "real runtime",
            era: "A",
            fresh
          })
          yield* write(5)
          // Dave signs with a key that is not his: a signature the pallet should refuse.
          yield* simulators[2]!.setFaults({ invalidSignature: true })
          const result = yield* Effect.flatMap(
            CheckpointManager.CheckpointManager,
            (m) => m.submitCheckpoint(bucketId as never)
          )
            .pipe(Effect.provide(context))
          expect(result._tag).toBe("Submitted")
          if (result._tag !== "Submitted") return
          expect([...result.receipt.signers].sort()).toEqual([account("Bob"), account("Charlie")].sort())
          const submitted = yield* Effect.promise(() => api.rpc.chain.getBlock(result.receipt.blockHash))
          const call = submitted.block.extrinsics[result.receipt.extrinsicIndex]!.method
          expect(JSON.stringify(call.toJSON())).not.toContain(u8aToHex(dev("Dave").publicKey).slice(2))

          // The same checkpoint pushed past the library, with 64 garbage bytes as Dave's signature:
          // the runtime takes it and records Dave as a signer.
          const { commitment } = result.receipt
          const garbage = { Sr25519: u8aToHex(new Uint8Array(64).fill(0x5a)) }
          const honest = NAMES_FOR_SIGNING.map((
            name
          ) => [dev(name).address, {
            Sr25519: u8aToHex(dev(name).sign(encodeCommitmentPayload({ bucketId: bucketId as never, ...commitment })))
          }])
          const events = yield* sendTx(
            api,
            api.tx.storageProvider.checkpoint(bucketId, commitment.mmrRoot, commitment.startSeq, commitment.leafCount, [
              ...honest,
              [dev("Dave").address, garbage]
            ]),
            dev("Alice")
          )
          const checkpointed = events.find((e) => e.name === "storageProvider.BucketCheckpointed")
          expect((checkpointed?.data.toJSON() as ReadonlyArray<unknown>)[4]).toContain(dev("Dave").address)
        }),
      120_000
    )
  })
})

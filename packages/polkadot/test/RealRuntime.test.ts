/**
 * The live client against the storage chain's real runtime (the oldest pallet era, as its authors
 * compiled it), run offline under Chopsticks from ../shared/fixtures. Skipped, with the reason printed,
 * where the fixtures are absent (a clone of this repository alone).
 */
import { Chopsticks } from "@checkpointer/testing"
import { afterAll, describe } from "@effect/vitest"
import { u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a, xxhashAsU8a } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { chainSuite } from "./ChainSuite.js"
import { dev } from "./helpers.js"

const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/storage-local.raw.json", import.meta.url))
const present = existsSync(FIXTURE)
if (!present) {
  console.warn(`real-runtime tests skipped: ${FIXTURE} not found (the fixtures sit beside the project in CI)`)
}

/** `System.Account` of `name` holding `free`, in the real runtime's layout. */
const endowment = (name: string, free: bigint): readonly [`0x${string}`, `0x${string}`] => {
  const id = dev(name).publicKey
  const key = u8aConcat(xxhashAsU8a("System", 128), xxhashAsU8a("Account", 128), blake2AsU8a(id, 128), id)
  const value = new Uint8Array(16 + 64)
  const view = new DataView(value.buffer)
  view.setUint32(8, 1, true) // providers
  view.setBigUint64(16, free & ((1n << 64n) - 1n), true)
  view.setBigUint64(24, free >> 64n, true)
  value[79] = 0x80 // ExtraFlags: new logic
  return [u8aToHex(key), u8aToHex(value)]
}

describe.skipIf(!present)("the live client's chain suite on the real runtime (Chopsticks)", () => {
  // One Chopsticks per file (~3 s to start), its tests one after the other: each rewinds it to the block
  // where accounts the runtime's genesis leaves out were endowed.
  const scope = Effect.runSync(Scope.make())
  const node = Effect.runSync(Effect.cached(
    Chopsticks.start({ chainSpec: FIXTURE }).pipe(
      Effect.tap((n) => n.setStorage(["Dave", "Eve", "Ferdie"].map((name) => endowment(name, 10n ** 18n)))),
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
    chainSuite({ name: "real runtime", era: "A", fresh })
  })
})

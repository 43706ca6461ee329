/**
 * The Chopsticks launcher on the storage chain's real runtime (../shared/fixtures). Skipped, with the
 * reason printed, without the fixtures.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Chopsticks from "../src/Chopsticks.js"
import * as Loopback from "../src/Loopback.js"

const dir = fileURLToPath(new URL("../../../../shared/fixtures/", import.meta.url))
const present = existsSync(`${dir}storage-local.json`)
if (!present) {
  console.warn(`Chopsticks launcher tests skipped: ${dir} not found (the fixtures sit beside the project in CI)`)
}

const listening = Loopback.isListening

describe.skipIf(!present)("Chopsticks launcher", () => {
  it.effect(
    "builds raw genesis from the patch-form chain spec with the runtime's own GenesisBuilder",
    () =>
      Effect.gen(function*() {
        const spec = JSON.parse(readFileSync(`${dir}storage-local.json`, "utf8"))
        const expected = JSON.parse(readFileSync(`${dir}storage-local.raw.json`, "utf8")).genesis.raw.top
        const top = yield* Chopsticks.rawGenesis(spec)
        expect(top).toEqual(expected)
      }),
    60_000
  )

  it.live(
    "starts from the patch-form spec, builds sealed blocks (RelayParentOffset 1), rewinds, and stops",
    () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const node = yield* Chopsticks.start({ chainSpec: `${dir}storage-local.json` }).pipe(Scope.extend(scope))
        expect(node.headNumber()).toBe(1)
        yield* node.newBlock(2)
        expect(node.headNumber()).toBe(3)
        yield* node.setHead(1)
        expect(node.headNumber()).toBe(1)
        expect(yield* listening(node.port)).toBe(true)
        yield* Scope.close(scope, Exit.void)
        expect(yield* listening(node.port)).toBe(false)
      }),
    60_000
  )

  it.live(
    "a runtime whose blocks need descendants fails to start when told it needs none",
    () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Effect.scoped(Chopsticks.start({ chainSpec: `${dir}storage-local.raw.json`, relayParentOffset: 0 }))
        )
        expect(error.stage).toBe("Ready")
      }),
    60_000
  )
})

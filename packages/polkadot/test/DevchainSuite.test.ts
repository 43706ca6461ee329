import { Devchain } from "@checkpointer/devchain"
import { describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { chainSuite } from "./ChainSuite.js"

for (const [era, client] of [["C", "polkadot-js"], ["A", "polkadot-js"], ["C", "papi"], ["A", "papi"]] as const) {
  describe(`the ${client} chain client's suite on the devchain, era ${era}`, () => {
    chainSuite({
      name: `${client} on devchain era ${era}`,
      era,
      client,
      runtimeUpgrade: true,
      fresh: Devchain.start({ era, blockMode: "instant", finalityLag: 0 }).pipe(
        Effect.map((chain) => ({
          url: chain.url,
          // The devchain endows the six dev accounts at genesis.
          endow: () => Effect.void,
          // To the other era (the pallet's calls and events change shape), as `set_code` would; the next
          // block runs the new runtime.
          upgrade: chain.upgradeRuntime(era === "C" ? "A" : "C").pipe(
            Effect.zipRight(chain.newBlock(1)),
            Effect.map(() => chain.finalizedNumber())
          )
        }))
      )
    }, 60_000)
  })
}

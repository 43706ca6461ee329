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
      fresh: Devchain.start({ era, blockMode: "instant", finalityLag: 0 }).pipe(
        // The devchain endows the six dev accounts at genesis.
        Effect.map((chain) => ({ url: chain.url, endow: () => Effect.void }))
      )
    }, 60_000)
  })
}

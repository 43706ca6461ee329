import { Devchain } from "@checkpointer/devchain"
import { describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { chainSuite } from "./ChainSuite.js"

for (const era of ["C", "A"] as const) {
  describe(`the live client's chain suite on the devchain, era ${era}`, () => {
    chainSuite({
      name: `devchain era ${era}`,
      era,
      fresh: Devchain.start({ era, blockMode: "instant", finalityLag: 0 }).pipe(
        // The devchain endows the six dev accounts at genesis.
        Effect.map((chain) => ({ url: chain.url, endow: () => Effect.void }))
      )
    }, 60_000)
  })
}

/**
 * `challenge_offchain`, built as the runtime takes it (or refused as `Unsupported` where it has none),
 * sent and followed to the `ChallengeCreated` event that names the challenge (core's
 * `ChainAdapter.challengeOffchain`; the call and the event's decoding are this layer's).
 *
 * @internal
 */
import { ChainAdapter, type ChainClient } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { decodeWith } from "./reads.js"
import { challengeCall, type PalletShape } from "./shape.js"
import type { Transactions } from "./transactions.js"
import { ChallengeCreatedWire, toPlain } from "./wire.js"

/** The port's `challengeOffchain`. */
export const make = (
  api: ApiPromise,
  shape: Effect.Effect<PalletShape, ChainClient.SubmissionFailed>,
  transactions: Transactions
) => ({
  challengeOffchain: ChainAdapter.challengeOffchain({
    signer: (challenge) =>
      Effect.map(shape, (s) =>
        s.challengeOffchain === "Absent"
          ? Option.none()
          : Option.some(() => transactions.sign(() => challengeCall(api, s, challenge)))),
    drive: transactions.drive,
    challengeCreated: (inc) => {
      const created = inc.events.find((e) => e.name === "storageProvider.ChallengeCreated")
      return created === undefined
        ? Effect.succeedNone
        : Effect.asSome(
          Effect.map(decodeWith(ChallengeCreatedWire, "ChallengeCreated")(toPlain(created.data)), ([id]) => id)
        )
    }
  })
})

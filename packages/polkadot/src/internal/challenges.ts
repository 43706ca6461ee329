/**
 * `challenge_offchain`, built as the runtime takes it (or refused as `Unsupported` where it has none),
 * sent and followed to the `ChallengeCreated` event that names the challenge.
 *
 * @internal
 */
import { ChainClient, type Domain } from "@checkpointer/core"
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
) => {
  const challengeOffchain = (challenge: ChainClient.OffchainChallenge) =>
    Effect.gen(function*() {
      const s = yield* shape
      if (s.challengeOffchain === "Absent") {
        return yield* new ChainClient.SubmissionFailed({
          stage: "Unsupported",
          detail: "this runtime has no StorageProvider.challenge_offchain",
          maybeIncluded: false
        })
      }
      const signOnce = () => transactions.sign(() => challengeCall(api, s, challenge))
      const tx = yield* signOnce()
      const { included: inc } = yield* transactions.drive(tx, Option.some(signOnce))
      const created = inc.events.find((e) => e.name === "storageProvider.ChallengeCreated")
      if (created === undefined) {
        return yield* new ChainClient.ChainUnavailable({
          operation: "challengeOffchain",
          detail: "no ChallengeCreated event"
        })
      }
      const [id] = yield* decodeWith(ChallengeCreatedWire, "ChallengeCreated")(toPlain(created.data))
      return new ChainClient.ChallengeReceipt({
        deadline: id.deadline,
        index: id.index,
        blockHash: inc.blockHash,
        blockNumber: inc.blockNumber as Domain.BlockNumber
      }, true)
    })

  return { challengeOffchain }
}

/**
 * Chain faults against the live client on the devchain: a slow node, a node slower than the client's
 * request timeout, and the socket dropped in the middle of a round's reads. Each ends in a clear
 * outcome and at most one checkpoint on chain.
 */
import { ChainClient } from "@checkpointer/core"
import { Devchain } from "@checkpointer/devchain"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { PolkadotApi, PolkadotChainClient } from "../src/index.js"
import { eventually, genesis, live, submission } from "./helpers.js"

const checkpoints = (chain: Devchain.DevchainHandle) =>
  chain.eventsNamed("StorageProvider", "BucketCheckpointed").length

describe("chain faults", () => {
  it.scopedLive("a slow node (every answer 200 ms late): the checkpoint lands once", () =>
    Effect.gen(function*() {
      const { chain, client } = yield* live(genesis())
      yield* chain.setResponseDelay("200 millis")
      const receipt = yield* ChainClient.submitCheckpoint(client, submission(0, 10, ["Bob", "Charlie"]))
      expect(receipt.commitment.leafCount).toBe(10n)
      expect(checkpoints(chain)).toBe(1)
    }), 60_000)

  it.scopedLive(
    "a node slower than the request timeout: reads fail as ChainUnavailable, nothing is sent",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ ...genesis(), blockMode: "instant", finalityLag: 0 })
        const context = yield* Layer.build(
          PolkadotChainClient.layer({ signer: Redacted.make("//Alice") }).pipe(
            Layer.provideMerge(
              PolkadotApi.layer({ endpoints: [chain.url], requestTimeout: "500 millis", connectTimeout: "10 seconds" })
            )
          )
        )
        const client = Context.get(context, ChainClient.ChainClient)
        // Longer than WsProvider's timeout check (every 5 s) plus the timeout: the read cannot win the race.
        yield* chain.setResponseDelay("8 seconds")
        const error = yield* Effect.flip(client.bucket(0n as never))
        expect(error._tag).toBe("ChainUnavailable")
        expect(checkpoints(chain)).toBe(0)
      }),
    60_000
  )

  it.scopedLive(
    "the socket dropped during a round's reads: the reads are retried, one checkpoint lands",
    () =>
      Effect.gen(function*() {
        const { chain, client } = yield* live(genesis())
        // Slow answers keep the reads in flight while the connection is cut.
        yield* chain.setResponseDelay("150 millis")
        const round = yield* Effect.fork(Effect.gen(function*() {
          const bucket = yield* client.bucket(0n as never)
          const provider = yield* client.provider(bucket.primaryProviders[0]!)
          expect(Option.isSome(provider)).toBe(true)
          return yield* ChainClient.submitCheckpoint(client, submission(0, 10, ["Bob", "Charlie"]))
        }))
        yield* Effect.sleep("50 millis")
        yield* chain.disconnectAll()
        yield* chain.setResponseDelay(0)
        const receipt = yield* Fiber.join(round)
        expect(receipt.commitment.leafCount).toBe(10n)
        yield* eventually(() => checkpoints(chain) === 1, "the checkpoint")
        expect(checkpoints(chain)).toBe(1)
      }),
    60_000
  )
})

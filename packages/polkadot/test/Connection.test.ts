import { ChainClient } from "@checkpointer/core"
import { Devchain } from "@checkpointer/devchain"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { createServer } from "node:net"
import { PolkadotApi, PolkadotChainClient } from "../src/index.js"
import { account, eventually, genesis, live } from "./helpers.js"

/** A loopback port with nothing listening (bound, then released). */
const deadPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

describe("PolkadotApi connection", () => {
  it.scopedLive("connecting to nothing fails as ConnectionFailed within the bound", () =>
    Effect.gen(function*() {
      const port = yield* deadPort
      const started = Date.now()
      const error = yield* Effect.flip(
        PolkadotApi.make({ endpoints: [`ws://127.0.0.1:${port}`], connectTimeout: "1 second" })
      )
      expect(error._tag).toBe("ConnectionFailed")
      expect(Date.now() - started).toBeLessThan(5_000)
    }), 30_000)

  it.scopedLive("fails over to the next endpoint", () =>
    Effect.gen(function*() {
      const port = yield* deadPort
      const chain = yield* Devchain.start({ blockMode: "manual" })
      const { api } = yield* PolkadotApi.make({
        endpoints: [`ws://127.0.0.1:${port}`, chain.url],
        reconnectDelay: "50 millis",
        connectTimeout: "10 seconds"
      })
      expect(api.genesisHash.toHex()).toBe(chain.genesisHash)
    }), 30_000)

  it.scopedLive(
    "layerConfig reads endpoints and the signer (redacted) from configuration",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "manual" })
        const provider = ConfigProvider.fromMap(
          new Map([
            ["CHECKPOINTER_CHAIN_ENDPOINTS", chain.url],
            ["CHECKPOINTER_SIGNER_SURI", "//Bob"]
          ])
        )
        const context = yield* Layer.build(
          PolkadotChainClient.layerConfig.pipe(
            Layer.provideMerge(PolkadotApi.layerConfig),
            Layer.provide(Layer.setConfigProvider(provider))
          )
        )
        const client = Context.get(context, ChainClient.ChainClient)
        expect(client.signer).toEqual(Option.some(account("Bob")))
      }),
    30_000
  )

  it.scopedLive("finalized heads keep coming after the socket drops", () =>
    Effect.gen(function*() {
      const { chain, client } = yield* live({ ...genesis(), blockMode: "manual" })
      const heads: Array<number> = []
      yield* client.finalizedHeads.pipe(
        Stream.runForEach((h) => Effect.sync(() => heads.push(h.number))),
        Effect.forkScoped
      )
      yield* eventually(() => heads.includes(0), "the current head on subscribing")
      yield* chain.newBlock(1)
      yield* eventually(() => heads.includes(1), "block 1")
      yield* chain.disconnectAll()
      yield* eventually(() => chain.connections() === 0, "the drop")
      yield* eventually(() => chain.connections() === 1, "the reconnection")
      yield* chain.newBlock(2)
      yield* eventually(() => heads.at(-1) === 3, "block 3 after the reconnection")
      expect(heads).toContain(1)
      expect(heads.at(-1)).toBe(3)
    }), 30_000)
})

/**
 * The README's polkadot-api example: an Effect app that already holds a polkadot-api client (as an app
 * on the storage chain's SDK does) checkpoints its buckets through that client: one connection, one
 * `chainHead_v1_follow` subscription, no `@polkadot/*` package. Typechecked by `npm test` (`tsc -b`);
 * run it with `CHECKPOINTER_SIGNER_SURI=... npx tsx examples/papi-app.ts wss://rpc.example`.
 */
import { Checkpointer, CheckpointLoop, type Domain } from "@checkpointer/core"
import { PapiCheckpointer } from "@checkpointer/papi"
import { NodeContext, NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { createClient } from "polkadot-api"
import { getWsProvider } from "polkadot-api/ws"
import { WebSocket } from "ws"

// The app's own client, made once at start-up for its own reads and transactions (Node 20 has no global
// WebSocket: `ws` stands in).
const client = createClient(
  getWsProvider(process.argv[2] ?? "ws://127.0.0.1:9944", { websocketClass: WebSocket as never })
)

const Live = PapiCheckpointer.layer({
  client, // Checkpointer uses the app's client and never destroys it: the app does, when it stops.
  // A secret URI, or the app's own signer: `signer: { signer: polkadotSigner, address: "5F…" }`.
  signer: Redacted.make(process.env.CHECKPOINTER_SIGNER_SURI ?? "//Alice"),
  journal: Checkpointer.onDisk({ directory: "./checkpointer-journal" }),
  settings: { consensusThreshold: 67 }
}).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(NodeContext.layer))

const program = Effect.gen(function*() {
  // Every 10 finalized blocks each bucket's providers are asked; only new data is paid for.
  yield* CheckpointLoop.make([1n, 2n] as Array<Domain.BucketId>, { interval: CheckpointLoop.Blocks(10) })
  return yield* Effect.never
})

NodeRuntime.runMain(
  program.pipe(Effect.scoped, Effect.provide(Live), Effect.ensuring(Effect.sync(() => client.destroy())))
)

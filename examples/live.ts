/**
 * The README's live example: a background loop over two buckets on a node of the storage chain, with a
 * journal on disk, every event logged. Typechecked by `npm test` (`tsc -b`); run it with
 * `CHECKPOINTER_SIGNER_SURI=... npx tsx examples/live.ts wss://rpc.example`.
 */
import { Checkpointer, CheckpointEvents, CheckpointLoop, type Domain } from "@checkpointer/core"
import { PolkadotCheckpointer } from "@checkpointer/polkadot"
import { NodeContext, NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Redacted, Stream } from "effect"

const Live = PolkadotCheckpointer.layer({
  endpoints: [process.argv[2] ?? "ws://127.0.0.1:9944"],
  signer: Redacted.make(process.env.CHECKPOINTER_SIGNER_SURI ?? "//Alice"),
  journal: Checkpointer.onDisk({ directory: "./checkpointer-journal" }),
  settings: { consensusThreshold: 67 }
}).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(NodeContext.layer))

const program = Effect.gen(function*() {
  const events = yield* (yield* CheckpointEvents.CheckpointEvents).subscribe
  yield* events.pipe(Stream.runForEach((event) => Effect.log(event._tag)), Effect.forkScoped)
  // A watcher: every 10 finalized blocks each bucket's providers are asked; only new data is paid for.
  yield* CheckpointLoop.make([1n, 2n] as Array<Domain.BucketId>, {
    interval: CheckpointLoop.Blocks(10),
    submitOnEmpty: true
  })
  return yield* Effect.never
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(Live)))

/**
 * The README's test example: a whole world in one call, deterministic under `TestClock`. Typechecked by
 * `npm test`.
 */
import { CheckpointManager } from "@checkpointer/core"
import { FakeProviders, TestNetwork } from "@checkpointer/testing"
import { Effect } from "effect"

const world = TestNetwork.layer({
  providers: [{ name: "Alice" }, { name: "Bob", behaviour: FakeProviders.Behaviour.lagging(3) }, { name: "Charlie" }],
  buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }]
})

export const program = Effect.gen(function*() {
  const manager = yield* CheckpointManager.CheckpointManager
  return yield* manager.submitCheckpoint(yield* TestNetwork.bucket(1)) // Submitted, with a receipt
}).pipe(Effect.provide(world))

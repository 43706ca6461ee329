/**
 * The loop's dirty set and provider health across restarts, through `LoopStore`, with their real times:
 * restored when the loop starts, saved after each round and when the loop's scope closes. A state file
 * that cannot be read (damaged, or from a newer version) is never overwritten: persistence is off.
 * Several loops (drives) may share the store: each keeps the others' buckets and sets its own.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { BucketId } from "../Domain.js"
import { LoopState, LoopStore } from "../LoopStore.js"
import { ProviderHealth } from "../ProviderHealth.js"
import type { BucketState } from "./loopBucket.js"
import type * as MapRef from "./mapRef.js"

/**
 * Restores the saved state (each saved dirty bucket through `markDirty`, provider health into
 * `ProviderHealth`) and returns the save, also run when the scope closes: stopped between two rounds'
 * saves, what the loop knows then is saved too.
 */
export const make = (
  states: MapRef.MapRef<BucketId, BucketState>,
  markDirty: (bucketId: BucketId) => Effect.Effect<void>
): Effect.Effect<Effect.Effect<void>, never, LoopStore | ProviderHealth | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* LoopStore
    const health = yield* ProviderHealth
    const persistLock = yield* Effect.makeSemaphore(1)
    let persistable = true
    const saved = yield* Effect.either(store.read)
    if (saved._tag === "Left") {
      persistable = false
      yield* Effect.logError(`loop state not restored, and will not be saved: ${saved.left.message}`)
    } else if (Option.isSome(saved.right)) {
      for (const bucketId of saved.right.value.dirtyBuckets) yield* markDirty(bucketId)
      yield* health.restore(saved.right.value.health)
    }
    const persist = Effect.gen(function*() {
      if (!persistable) return
      const mine = yield* Ref.get(states)
      const stored = Option.getOrUndefined(yield* store.read)
      const others = (stored?.dirtyBuckets ?? []).filter((b) => !mine.has(b))
      const dirtyBuckets = [...others, ...Array.from(mine.values()).filter((s) => s.dirty).map((s) => s.bucketId)]
      yield* store.write(
        new LoopState({
          dirtyBuckets,
          health: yield* health.records,
          updatedAtMillis: yield* Clock.currentTimeMillis
        }, true)
      )
    }).pipe(
      persistLock.withPermits(1),
      Effect.catchAll((error) => Effect.logWarning(`could not persist loop state: ${error.message}`))
    )
    yield* Effect.addFinalizer(() => persist)
    return persist
  })

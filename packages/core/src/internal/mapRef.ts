/**
 * A `Map` held in a `Ref` and changed in place, inside `Ref.update` / `Ref.modify` (or `update` and
 * `modify` here). Those run their function synchronously, so a change made in place is as atomic between
 * fibers as a copy would be; copying the map on every change instead makes each change cost O(entries),
 * and a pass over many entries quadratic. What `Ref.get` returns is the live map: read it at once, never
 * keep it across an effect, and change it only inside an update.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/** A `Map` in a `Ref`, changed in place: see the module's comment. */
export type MapRef<K, V> = Ref.Ref<Map<K, V>>

/** A new map, each time the effect runs, with the entries `entries` gives then. */
export const make = <K, V>(entries?: () => Iterable<readonly [K, V]>): Effect.Effect<MapRef<K, V>> =>
  Effect.suspend(() => Ref.make(new Map(entries?.())))

/** Changes the map in place. */
export const update = <K, V>(ref: MapRef<K, V>, change: (map: Map<K, V>) => void): Effect.Effect<void> =>
  Ref.update(ref, (map) => {
    change(map)
    return map
  })

/** Changes the map in place and returns what `change` returns. */
export const modify = <K, V, A>(ref: MapRef<K, V>, change: (map: Map<K, V>) => A): Effect.Effect<A> =>
  Ref.modify(ref, (map) => [change(map), map])

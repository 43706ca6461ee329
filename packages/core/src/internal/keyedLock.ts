/**
 * One mutex per key (a bucket, usually), made on first use: effects under the same key run one at a
 * time, effects under different keys do not wait for each other.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

export interface KeyedLock<K> {
  readonly withLock: <A, E, R>(key: K, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const make = <K>(): KeyedLock<K> => {
  const locks = new Map<K, Effect.Semaphore>()
  const lockFor = (key: K) =>
    Effect.sync(() => {
      let lock = locks.get(key)
      if (lock === undefined) {
        lock = Effect.unsafeMakeSemaphore(1)
        locks.set(key, lock)
      }
      return lock
    })
  return { withLock: (key, effect) => Effect.flatMap(lockFor(key), (lock) => lock.withPermits(1)(effect)) }
}

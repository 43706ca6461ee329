/**
 * One mutex per key (a bucket, usually), made on first use: effects under the same key run one at a
 * time, effects under different keys do not wait for each other.
 *
 * Used by the journals (a bucket's writes) and by `@checkpointer/cluster`'s SQL journal (one lease
 * holder per bucket in a process).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface KeyedLock<K> {
  readonly withLock: <A, E, R>(key: K, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * A lock per key, with no key held.
 *
 * @since 0.1.0
 * @category constructors
 */
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

/**
 * The loop's pause: the whole loop paused by request or by its signer's balance, with the reason
 * `pausedBecause` reports, and `resume`, which lifts every pause — also the buckets that paused
 * themselves (their failure streaks are cleared, see `loopRetry`).
 *
 * The balance hold: a signer whose balance is below the minimum would be refused alike for every bucket
 * it signs for, so all of them pause at once (their retry timers cancelled), without interrupting the
 * rounds in flight. When it signs for every bucket of the loop (one signer, the usual case) the whole
 * loop pauses, announced once per pause with one `LoopPaused` whose `bucketId` is undefined; otherwise
 * each of its buckets pauses with its own `LoopPaused`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { CheckpointEvent } from "../CheckpointEvents.js"
import type { AccountId, BucketId } from "../Domain.js"
import type { SpendRefusal } from "../SpendGuard.js"
import type { BucketState } from "./loopBucket.js"
import * as LoopRetry from "./loopRetry.js"
import type * as MapRef from "./mapRef.js"

const sameAccount = Option.getEquivalence<string>((a, b) => a === b)

/** What a pause changes: the loop's buckets and their retry timers. */
export interface Paused {
  readonly signerFor: (bucketId: BucketId) => Option.Option<AccountId>
  readonly states: MapRef.MapRef<BucketId, BucketState>
  readonly retries: FiberMap.FiberMap<BucketId>
  readonly publish: (event: CheckpointEvent) => Effect.Effect<void>
  readonly submitOnEmpty: boolean
}

/** A loop's pause: see the module's comment. */
export interface LoopPause {
  /** The whole loop is paused: no pass starts a round, no retry timer fires. */
  readonly isPaused: Effect.Effect<boolean>
  readonly reason: Effect.Effect<Option.Option<string>>
  /** `pause`: `interrupt` (retry timers and rounds in flight) runs before the pause is announced. */
  readonly byRequest: (interrupt: Effect.Effect<void>) => Effect.Effect<void>
  /** Holds every bucket of the signer of `bucketId`, whose round was just refused for the balance. */
  readonly holdForBalance: (
    bucketId: BucketId,
    detail: string,
    spend: SpendRefusal | undefined
  ) => Effect.Effect<void>
  /**
   * `resume`: every pause lifted, every failure streak cleared, announced; returns the buckets that were
   * failing and have work — they lost their retry timer to the pause, and are tried again now.
   */
  readonly resume: Effect.Effect<Array<BucketId>>
}

export const make = (loop: Paused): Effect.Effect<LoopPause> =>
  Effect.gen(function*() {
    const paused = yield* Ref.make(false)
    const pauseReason = yield* Ref.make(Option.none<string>())

    const byRequest = (interrupt: Effect.Effect<void>) =>
      Effect.gen(function*() {
        yield* Ref.set(paused, true)
        yield* Ref.set(pauseReason, Option.some("paused by request"))
        yield* interrupt
        yield* loop.publish(CheckpointEvent.LoopPaused({ bucketId: undefined, reason: "paused by request" }))
      })

    const holdForBalance = (bucketId: BucketId, detail: string, spend: SpendRefusal | undefined) =>
      Effect.gen(function*() {
        const reason = `BalanceBelowMinimum: ${detail}`
        const signer = loop.signerFor(bucketId)
        const sameSigner = (other: BucketId) => sameAccount(loop.signerFor(other), signer)
        const all = Array.from((yield* Ref.get(loop.states)).keys())
        if (all.every(sameSigner)) {
          const already = yield* Ref.getAndSet(paused, true)
          yield* FiberMap.clear(loop.retries)
          yield* Ref.update(loop.states, (m) => {
            for (const [id, s] of m) m.set(id, { ...s, paused: true })
            return m
          })
          if (!already) {
            yield* Ref.set(pauseReason, Option.some(reason))
            yield* loop.publish(CheckpointEvent.LoopPaused({ bucketId: undefined, reason, spend }))
          }
          return
        }
        const newlyPaused = yield* Ref.modify(loop.states, (m): [Array<BucketId>, Map<BucketId, BucketState>] => {
          const held: Array<BucketId> = []
          for (const [id, s] of m) {
            if (!sameSigner(id)) continue
            // This bucket's own state was set paused by its round already; it is announced here too.
            if (!s.paused || id === bucketId) held.push(id)
            m.set(id, { ...s, paused: true })
          }
          return [held, m]
        })
        for (const id of newlyPaused) {
          yield* FiberMap.remove(loop.retries, id)
          yield* loop.publish(CheckpointEvent.LoopPaused({ bucketId: id, reason, spend }))
        }
      })

    const resume = Effect.gen(function*() {
      yield* Ref.set(paused, false)
      yield* Ref.set(pauseReason, Option.none())
      const failing = yield* Ref.modify(loop.states, (m) => [LoopRetry.clearFailures(m, loop.submitOnEmpty), m])
      yield* loop.publish(CheckpointEvent.LoopResumed({ bucketId: undefined }))
      return failing
    })

    return { isPaused: Ref.get(paused), reason: Ref.get(pauseReason), byRequest, holdForBalance, resume }
  })

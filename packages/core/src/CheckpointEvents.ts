/**
 * What happens, as typed events: a `PubSub` to subscribe to as a `Stream`, and a callback adapter whose
 * callbacks can neither crash nor block whoever publishes (they run on their own fiber, behind an
 * unbounded queue, each call guarded).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { CheckpointReceipt, OffchainChallenge } from "./ChainClient.js"
import type { RefusalReason } from "./CheckpointResult.js"
import type { AccountId, BucketId, H256 } from "./Domain.js"
import type { SpendRefusal } from "./SpendGuard.js"

/**
 * A provider's health status.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderStatus = "Unknown" | "Healthy" | "Degraded" | "Unreachable"

/**
 * The events.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointEvent = Data.TaggedEnum<{
  /**
   * A checkpoint landed. `settled`: it was sent earlier (by a previous process, or an attempt whose
   * outcome was unknown) and found on chain now, not paid for now.
   */
  CheckpointSubmitted: { readonly bucketId: BucketId; readonly receipt: CheckpointReceipt; readonly settled: boolean }
  /**
   * `willRetry`: a retry of this bucket is scheduled (by the loop); false when nothing will try again.
   * `refusal`: the submitter refused before signing anything (nothing paid), for this reason — among them
   * the spend guardrails' `FeeAboveCap`, `BudgetExhausted` and `BalanceBelowMinimum` (which also pauses the
   * loop: `LoopPaused`).
   */
  CheckpointFailed: {
    readonly bucketId: BucketId
    readonly reason: string
    readonly willRetry: boolean
    readonly refusal?: RefusalReason | undefined
    /** A spend guardrail's refusal with its amounts in planck (`refusal` is its `_tag`). */
    readonly spend?: SpendRefusal | undefined
  }
  ProviderConflict: {
    readonly bucketId: BucketId
    readonly majorityRoot: H256
    readonly disagreeing: ReadonlyArray<{ readonly provider: AccountId; readonly conflict: string }>
  }
  /**
   * One bucket (after `maxConsecutiveFailures`), or the whole loop (`bucketId` undefined: by request, or
   * because the signer's balance is below `minimumBalance`), is paused until `resume`.
   */
  LoopPaused: {
    readonly bucketId: BucketId | undefined
    readonly reason: string
    /** For a pause on the signer's balance: the guardrail's `BalanceBelowMinimum` with its amounts in planck. */
    readonly spend?: SpendRefusal | undefined
  }
  LoopResumed: { readonly bucketId: BucketId | undefined }
  ProviderStatusChanged: { readonly provider: AccountId; readonly from: ProviderStatus; readonly to: ProviderStatus }
  ChallengeSubmitted: { readonly challenge: OffchainChallenge; readonly deadline: number }
  CheckpointOverdue: { readonly bucketId: BucketId; readonly sinceMillis: number }
}>

/**
 * Constructors and matchers for events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const CheckpointEvent = Data.taggedEnum<CheckpointEvent>()

/**
 * @since 0.1.0
 * @category models
 */
export interface CheckpointEventsService {
  readonly publish: (event: CheckpointEvent) => Effect.Effect<void>
  /** Every event published from now on. */
  readonly stream: Stream.Stream<CheckpointEvent>
  /** A subscription that starts now (events published before it are not seen). */
  readonly subscribe: Effect.Effect<Stream.Stream<CheckpointEvent>, never, Scope.Scope>
}

/**
 * The event bus.
 *
 * @since 0.1.0
 * @category tags
 */
export class CheckpointEvents extends Context.Tag("@checkpointer/core/CheckpointEvents")<
  CheckpointEvents,
  CheckpointEventsService
>() {
  static readonly layer: Layer.Layer<CheckpointEvents> = Layer.scoped(
    CheckpointEvents,
    Effect.gen(function*() {
      const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<CheckpointEvent>(), PubSub.shutdown)
      return CheckpointEvents.of({
        publish: (event) => Effect.asVoid(PubSub.publish(pubsub, event)),
        stream: Stream.fromPubSub(pubsub),
        subscribe: Effect.map(PubSub.subscribe(pubsub), Stream.fromQueue)
      })
    })
  )
}

/**
 * Publishes on the event bus. The bus is required: a service that reports what it does cannot be built
 * without one (`CheckpointEvents.layer` is the in-memory bus).
 *
 * @since 0.1.0
 * @category combinators
 */
export const publish = (event: CheckpointEvent): Effect.Effect<void, never, CheckpointEvents> =>
  Effect.flatMap(CheckpointEvents, (bus) => bus.publish(event))

/**
 * Callbacks for the seed's events.
 *
 * @since 0.1.0
 * @category models
 */
export interface Callbacks {
  readonly onCheckpointSubmitted?: ((bucketId: BucketId, receipt: CheckpointReceipt) => void) | undefined
  readonly onCheckpointFailed?: ((bucketId: BucketId, reason: string, willRetry: boolean) => void) | undefined
  readonly onProviderConflict?:
    | (
      (bucketId: BucketId, majorityRoot: H256, disagreeing: ReadonlyArray<AccountId>) => void
    )
    | undefined
  /** Called with the error when a callback throws (the loop goes on regardless). */
  readonly onCallbackError?: ((error: unknown) => void) | undefined
}

/**
 * Delivers events to callbacks for as long as the scope lives. A callback that throws is reported and
 * skipped; a slow one delays only later callbacks, never the publisher.
 *
 * @since 0.1.0
 * @category combinators
 */
export const callbacks = (handlers: Callbacks): Effect.Effect<void, never, Scope.Scope | CheckpointEvents> =>
  Effect.gen(function*() {
    const bus = yield* CheckpointEvents
    const events = yield* bus.subscribe
    const guard = (call: () => void) =>
      Effect.try(call).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(
            Effect.logWarning("a checkpoint callback threw; it is skipped", error.error),
            Effect.try(() => handlers.onCallbackError?.(error.error)).pipe(Effect.ignore)
          )
        )
      )
    yield* events.pipe(
      Stream.runForEach((event) =>
        CheckpointEvent.$match(event, {
          CheckpointSubmitted: (e) => guard(() => handlers.onCheckpointSubmitted?.(e.bucketId, e.receipt)),
          CheckpointFailed: (e) => guard(() => handlers.onCheckpointFailed?.(e.bucketId, e.reason, e.willRetry)),
          ProviderConflict: (e) =>
            guard(() =>
              handlers.onProviderConflict?.(e.bucketId, e.majorityRoot, e.disagreeing.map((d) => d.provider))
            ),
          LoopPaused: () => Effect.void,
          LoopResumed: () => Effect.void,
          ProviderStatusChanged: () => Effect.void,
          ChallengeSubmitted: () => Effect.void,
          CheckpointOverdue: () => Effect.void
        })
      ),
      Effect.forkScoped
    )
  })

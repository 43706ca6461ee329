/**
 * The public facade of a checkpoint round: discover, collect, decide, submit, status.
 *
 * ```ts
 * const manager = yield* CheckpointManager
 * const submitted = yield* manager.submitCheckpoint(bucket)   // Submitted | AlreadyCheckpointed
 * ```
 *
 * A failed round (no consensus, nobody reachable, transaction failed) drops the bucket's cached
 * providers so the next round reads them again from chain.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { AutoChallenge } from "./AutoChallenge.js"
import type { BucketInfo, BucketSnapshot, ChainReadError } from "./ChainClient.js"
import { ChainClient } from "./ChainClient.js"
import { CheckpointConfig, forBucket } from "./CheckpointConfig.js"
import { CheckpointEvent, CheckpointEvents } from "./CheckpointEvents.js"
import type { AlreadyCheckpointed, CheckpointError, CheckpointResult, RefusalReason } from "./CheckpointResult.js"
import { InsufficientConsensus, NoProviders, ProvidersUnreachable, Submitted } from "./CheckpointResult.js"
import type { Collection } from "./CommitmentCollector.js"
import { CommitmentCollector } from "./CommitmentCollector.js"
import type { Decision } from "./Consensus.js"
import { Consensus } from "./Consensus.js"
import type { BucketId } from "./Domain.js"
import * as MapRef from "./internal/mapRef.js"
import * as Metrics from "./Metrics.js"
import type { Discovered } from "./ProviderDiscovery.js"
import { ProviderDiscovery } from "./ProviderDiscovery.js"
import { Recovery, settledResult } from "./Recovery.js"
import { RetryPolicy } from "./RetryPolicy.js"
import { RoundJournal } from "./RoundJournal.js"
import * as RoundTrace from "./RoundTrace.js"
import type { SpendRefusal } from "./SpendGuard.js"
import { Submitter } from "./Submitter.js"

/**
 * One round's full account: who was asked, what each answered, what was decided.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoundReport {
  readonly discovered: Discovered
  readonly collection: Collection
  readonly decision: Decision
  /** Earlier rounds of the same call, when it waited for laggards to sync (oldest first). */
  readonly earlier: ReadonlyArray<Decision>
}

/**
 * What is known of a bucket's checkpoints.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointStatus {
  readonly bucket: BucketInfo
  readonly snapshot: Option.Option<BucketSnapshot>
  readonly lastAttempt: Option.Option<{ readonly atMillis: number; readonly result: CheckpointResult }>
  readonly lastSuccess: Option.Option<{ readonly atMillis: number; readonly result: Submitted | AlreadyCheckpointed }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CheckpointManagerService {
  /** Collects and decides once, without waiting for laggards. */
  readonly collectCommitments: (bucketId: BucketId) => Effect.Effect<RoundReport, ChainReadError | NoProviders>
  /** Collects and decides; when the resolution is `WaitForSync`, waits and asks again (bounded). */
  readonly collectWithConflicts: (bucketId: BucketId) => Effect.Effect<RoundReport, ChainReadError | NoProviders>
  /**
   * A whole round: settle what an earlier attempt left in flight, collect (waiting for laggards if that
   * can help), decide, and submit at most once. A failure is published as `CheckpointFailed` with
   * `willRetry: false` (nothing here tries again).
   */
  readonly submitCheckpoint: (bucketId: BucketId) => Effect.Effect<Submitted | AlreadyCheckpointed, CheckpointError>
  /**
   * The same round without publishing `CheckpointFailed`: for a scheduler that publishes it itself,
   * knowing whether it will try again (the loop).
   */
  readonly attemptCheckpoint: (bucketId: BucketId) => Effect.Effect<Submitted | AlreadyCheckpointed, CheckpointError>
  /** The on-chain snapshot and the last attempt made by this manager. */
  readonly checkpointStatus: (bucketId: BucketId) => Effect.Effect<CheckpointStatus, ChainReadError>
}

/**
 * The checkpoint manager.
 *
 * @since 0.1.0
 * @category tags
 */
export class CheckpointManager extends Context.Tag("@checkpointer/core/CheckpointManager")<
  CheckpointManager,
  CheckpointManagerService
>() {
  static readonly layer: Layer.Layer<
    CheckpointManager,
    never,
    | ChainClient
    | ProviderDiscovery
    | CommitmentCollector
    | Consensus
    | Submitter
    | Recovery
    | AutoChallenge
    | CheckpointConfig
    | RoundJournal
    | CheckpointEvents
  > = Layer.effect(
    CheckpointManager,
    Effect.gen(function*() {
      const chain = yield* ChainClient
      const discovery = yield* ProviderDiscovery
      const collector = yield* CommitmentCollector
      const consensus = yield* Consensus
      const submitter = yield* Submitter
      const recovery = yield* Recovery
      const autoChallenge = yield* AutoChallenge
      const settings = yield* CheckpointConfig
      const journal = yield* RoundJournal
      const events = yield* CheckpointEvents
      const publish = events.publish
      const history = yield* MapRef.make<BucketId, History>()

      const round = Effect.fn("CheckpointManager.round")(function*(bucketId: BucketId) {
        const discovered = yield* discovery.discover(bucketId).pipe(RoundTrace.discover(bucketId))
        if (discovered.bucket.primaryProviders.length === 0) return yield* new NoProviders({ bucketId })
        const collection = yield* collector.collect(discovered)
        const decision = yield* RoundTrace.decide(collection, () =>
          consensus.decide({
            bucketId,
            primaries: discovered.bucket.primaryProviders,
            minProviders: discovered.bucket.minProviders,
            thresholdPercent: forBucket(settings, bucketId).consensusThreshold,
            outcomes: collection.outcomes
          }))
        return { discovered, collection, decision, earlier: [] } satisfies RoundReport
      })

      const collectWithConflicts = Effect.fn("CheckpointManager.collectWithConflicts")(function*(bucketId: BucketId) {
        let report = yield* round(bucketId)
        const earlier: Array<Decision> = []
        for (let requery = 0; requery < settings.syncRequeries; requery++) {
          if (report.decision.resolution._tag !== "WaitForSync") break
          earlier.push(report.decision)
          yield* Effect.sleep(settings.syncWait)
          report = yield* round(bucketId)
        }
        return { ...report, earlier }
      })

      const remember = (bucketId: BucketId, result: CheckpointResult) =>
        Effect.flatMap(Clock.currentTimeMillis, (atMillis) =>
          MapRef.update(history, (m) => {
            const previous = m.get(bucketId)
            const success = result._tag === "Submitted" || result._tag === "AlreadyCheckpointed"
              ? Option.some({ atMillis, result })
              : previous?.lastSuccess ?? Option.none()
            m.set(bucketId, { lastAttempt: Option.some({ atMillis, result }), lastSuccess: success })
          }))

      const attempt = (bucketId: BucketId) =>
        Effect.gen(function*() {
          // What an earlier attempt left behind is settled first (and may complete the round).
          const recovered = yield* recovery.settle(bucketId)
          if (Option.isSome(recovered.reused)) return recovered.reused.value
          const report = yield* collectWithConflicts(bucketId)
          const { decision } = report
          yield* journal.recordRound(decision)
          yield* autoChallenge.consider(decision)
          if (!decision.thresholdMet) {
            // Nobody answered at all (some were not awaited once the round could no longer succeed).
            const nobodyAnswered = decision.outcomes.some((o) => o._tag === "Unreachable") &&
              decision.outcomes.every((o) => o._tag === "Unreachable" || o._tag === "NotAwaited")
            if (nobodyAnswered) {
              return yield* new ProvidersUnreachable({
                bucketId,
                providers: decision.outcomes.filter((o) => o._tag === "Unreachable").map((o) => o.provider),
                notAwaited: decision.outcomes.filter((o) => o._tag === "NotAwaited").map((o) => o.provider)
              })
            }
            return yield* new InsufficientConsensus({
              bucketId,
              agreeing: decision.agreeing,
              required: decision.required,
              disagreements: decision.conflicts.flatMap((c) =>
                c._tag === "SyncDelay" || c._tag === "Ahead" || c._tag === "DataDivergence"
                  ? [{ provider: c.provider, mmrRoot: c.commitment.mmrRoot }]
                  : []
              ),
              conflicts: decision.conflicts,
              resolution: decision.resolution
            }, true)
          }
          const result = yield* submitter.submit(decision, { pinned: report.discovered.bucket }).pipe(
            RoundTrace.submit(bucketId)
          )
          const { earlier } = report
          // The fresh round found on chain exactly what an earlier submission, settled above, put there.
          const settled = settledResult(recovered, result, earlier)
          if (Option.isSome(settled)) return settled.value
          return result._tag === "Submitted" && earlier.length > 0
            ? new Submitted({ ...result, earlier }, true)
            : result
        })

      /** Metrics and events for one attempt's result. */
      const report = (bucketId: BucketId, result: CheckpointResult) =>
        Effect.gen(function*() {
          yield* Metric.increment(Metrics.rounds)
          yield* Metric.increment(
            Metric.tagged(Metric.tagged(Metrics.outcomes, "outcome", result._tag), "bucket", bucketId.toString())
          )
          const decision = "decision" in result ? result.decision : undefined
          if (decision !== undefined) yield* Metric.incrementBy(Metrics.signaturesCollected, decision.agreeing)
          const conflicts = result._tag === "InsufficientConsensus" ? result.conflicts : decision?.conflicts ?? []
          const disagreeing = conflicts.filter((c) =>
            c._tag === "SyncDelay" || c._tag === "Ahead" || c._tag === "DataDivergence"
          )
          const majorityRoot = decision !== undefined
            ? Option.map(decision.majority, (m) => m.commitment.mmrRoot)
            : Option.none()
          if (disagreeing.length > 0 && Option.isSome(majorityRoot)) {
            yield* publish(CheckpointEvent.ProviderConflict({
              bucketId,
              majorityRoot: majorityRoot.value,
              disagreeing: disagreeing.map((c) => ({ provider: c.provider, conflict: c._tag }))
            }))
          }
          // A settled receipt was published by recovery when it settled it.
          if (result._tag === "Submitted" && !result.settled) {
            yield* publish(CheckpointEvent.CheckpointSubmitted({ bucketId, receipt: result.receipt, settled: false }))
          }
        })

      const attemptRound = Effect.fn("CheckpointManager.attemptCheckpoint")(function*(bucketId: BucketId) {
        const result = yield* Effect.merge(attempt(bucketId))
        yield* remember(bucketId, result)
        yield* report(bucketId, result)
        switch (result._tag) {
          case "Submitted":
          case "AlreadyCheckpointed":
            return result
          case "InsufficientConsensus":
          case "ProvidersUnreachable":
          case "TransactionFailed":
            yield* discovery.invalidate(bucketId)
            return yield* Effect.fail(result)
          default:
            return yield* Effect.fail(result)
        }
      })

      // The round's span and log annotations (RoundTrace) around everything the round does.
      const attemptCheckpoint = (bucketId: BucketId) => attemptRound(bucketId).pipe(RoundTrace.round(bucketId))

      const submitCheckpoint = (bucketId: BucketId) =>
        attemptCheckpoint(bucketId).pipe(
          Effect.tapError((error) =>
            publish(CheckpointEvent.CheckpointFailed({
              bucketId,
              reason: failureReason(error),
              willRetry: false,
              refusal: refusalOf(error),
              spend: spendOf(error)
            }))
          )
        )

      const checkpointStatus = Effect.fn("CheckpointManager.checkpointStatus")(function*(bucketId: BucketId) {
        const bucket = yield* chain.bucket(bucketId)
        const known = (yield* Ref.get(history)).get(bucketId)
        return {
          bucket,
          snapshot: bucket.snapshot,
          lastAttempt: known?.lastAttempt ?? Option.none(),
          lastSuccess: known?.lastSuccess ?? Option.none()
        } satisfies CheckpointStatus
      })

      return CheckpointManager.of({
        collectCommitments: round,
        collectWithConflicts,
        submitCheckpoint,
        attemptCheckpoint,
        checkpointStatus
      })
    })
  )

  /**
   * The manager with every round service it needs; the caller provides `ChainClient`, `ProviderApi`,
   * `SignatureVerifier` and `CheckpointConfig`.
   */
  static readonly layerRound = CheckpointManager.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        ProviderDiscovery.layer,
        CommitmentCollector.layer,
        Recovery.layer,
        AutoChallenge.layer,
        Consensus.layer
      ).pipe(
        Layer.provideMerge(Submitter.layer),
        Layer.provideMerge(RetryPolicy.layer),
        Layer.provideMerge(RoundJournal.layer)
      )
    )
  )
}

/**
 * The `reason` of a `CheckpointFailed` event for a failed round.
 *
 * @since 0.1.0
 * @category functions
 */
export const failureReason = (error: CheckpointError): string =>
  error._tag === "TransactionFailed"
    ? `${error._tag}: ${error.error}`
    : error._tag === "SubmissionRefused" || error._tag === "JournalFailed"
    ? `${error._tag}: ${error.reason}`
    : error._tag

/**
 * The `refusal` of a `CheckpointFailed` event: why the submitter refused, when it did (nothing was paid).
 *
 * @since 0.1.0
 * @category functions
 */
export const refusalOf = (error: CheckpointError): RefusalReason | undefined =>
  error._tag === "SubmissionRefused" ? error.reason : undefined

/**
 * The `spend` of a `CheckpointFailed` event: a spend guardrail's refusal with its amounts.
 *
 * @since 0.1.0
 * @category functions
 */
export const spendOf = (error: CheckpointError): SpendRefusal | undefined =>
  error._tag === "SubmissionRefused" ? error.spend : undefined

interface History {
  readonly lastAttempt: CheckpointStatus["lastAttempt"]
  readonly lastSuccess: CheckpointStatus["lastSuccess"]
}

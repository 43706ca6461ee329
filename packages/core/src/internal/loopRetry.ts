/**
 * What a round's outcome does to its bucket: the failure schedule (exponential from `failureRetryDelay`,
 * capped at `failureRetryMaxDelay`), the failure streak, and the pause after `maxConsecutiveFailures` —
 * lifted by a success, or by `resume`, which clears every streak.
 *
 * Pure functions of the bucket's state; the loop runs the retry timers and announces the pauses.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { LoopSettings } from "../CheckpointLoop.js"
import type { AlreadyCheckpointed, CheckpointResult, SubmissionRefused, Submitted } from "../CheckpointResult.js"
import type { BucketId } from "../Domain.js"
import { backoff } from "../RetryPolicy.js"
import type { BucketState } from "./loopBucket.js"

/** The n-th backoff delay (n ≥ 1) of the failure schedule. */
export const failureBackoff = (
  settings: Pick<LoopSettings, "failureRetryDelay" | "failureRetryMaxDelay">,
  failures: number
): Effect.Effect<Duration.Duration> =>
  Schedule.run(
    Schedule.delays(backoff({
      base: settings.failureRetryDelay,
      cap: settings.failureRetryMaxDelay,
      times: Math.max(1, failures),
      jitter: false
    })),
    0,
    Array.from({ length: Math.max(1, failures) }, (_, i) => i)
  ).pipe(Effect.map((delays) => Chunk.unsafeGet(delays, Math.max(1, failures) - 1)))

/** A checkpoint is on the chain: the round succeeded. */
export const isSuccess = (result: CheckpointResult): result is Submitted | AlreadyCheckpointed =>
  result._tag === "Submitted" || result._tag === "AlreadyCheckpointed"

/** The signer cannot pay: every bucket it signs for is held, not only this one. */
export const isLowBalance = (result: CheckpointResult): result is SubmissionRefused =>
  result._tag === "SubmissionRefused" && result.reason === "BalanceBelowMinimum"

/**
 * Not a failure of the bucket: an earlier attempt is still in doubt, and the submitter refused to pay
 * again (nothing sent). The next round's recovery settles that attempt from the chain (found, or expired
 * once its mortal era is past), so the bucket is tried again at its next due point, with no backoff and
 * no step towards the auto-pause — an attempt in doubt for its whole validity must not pause the bucket,
 * nor leave it waiting out a backoff long after it settled.
 */
export const awaitsSettlement = (result: CheckpointResult): result is SubmissionRefused =>
  result._tag === "SubmissionRefused" && result.reason === "PreviousSubmissionInDoubt"

/** The bucket's failure streak after this round: cleared by a success, unchanged while awaiting settlement. */
export const streakAfter = (streak: number, result: CheckpointResult): number =>
  isSuccess(result) ? 0 : awaitsSettlement(result) ? streak : streak + 1

/**
 * Whether the loop's retry timer brings the bucket back after this round: a failure does; a round that
 * awaits settlement does only when the bucket was already failing (its due points skip a failing bucket).
 */
export const retriedByTimer = (result: CheckpointResult, after: BucketState): boolean =>
  !isSuccess(result) && (!awaitsSettlement(result) || after.failureStreak > 0)

/**
 * The bucket after its round: `state` is what it is now (written to during the round, perhaps), `before`
 * what it was when the round began; a failure's retry is due `delay` after `doneMillis`.
 */
export const afterRound = (
  state: BucketState,
  before: BucketState,
  result: CheckpointResult,
  doneMillis: number,
  delay: Duration.Duration,
  { maxConsecutiveFailures }: Pick<LoopSettings, "maxConsecutiveFailures">
): BucketState => {
  const success = isSuccess(result)
  const settling = awaitsSettlement(result)
  const streak = streakAfter(state.failureStreak, result)
  return {
    ...state,
    inFlight: false,
    lastResult: result._tag,
    failureStreak: streak,
    // Clean only if nothing was written during the round, and the round was a fresh one: a
    // journaled round's signatures (reused after a restart) may predate the latest writes.
    dirty: success && state.generation === before.generation && !(result._tag === "Submitted" && result.reused)
      ? false
      : state.dirty,
    lastSuccessMillis: success ? doneMillis : state.lastSuccessMillis,
    overdueReported: success ? false : state.overdueReported,
    retryNotBeforeMillis: success || (settling && streak === 0) ? undefined : doneMillis + Duration.toMillis(delay),
    // A bucket pauses itself after too many failures; a success (an explicit `submitNow`, a drive's
    // write) shows the cause is gone, and unpauses it.
    paused: success ? false : state.paused || isLowBalance(result) || (!settling && streak >= maxConsecutiveFailures)
  }
}

/** This round paused the bucket for its failure streak (announced with its own `LoopPaused`). */
export const autoPaused = (
  before: BucketState,
  after: BucketState,
  { maxConsecutiveFailures }: Pick<LoopSettings, "maxConsecutiveFailures">
): boolean => after.paused && !before.paused && after.failureStreak >= maxConsecutiveFailures

/**
 * `resume`: every bucket unpaused with its streak cleared (in `states`, in place); returns the buckets that
 * were failing and have work, to be tried again at once — they lost their retry timer to the pause.
 */
export const clearFailures = (states: Map<BucketId, BucketState>, submitOnEmpty: boolean): Array<BucketId> => {
  const failing: Array<BucketId> = []
  for (const [id, s] of states) {
    if (s.failureStreak > 0 && (s.dirty || submitOnEmpty)) failing.push(id)
    states.set(id, { ...s, paused: false, failureStreak: 0, retryNotBeforeMillis: undefined })
  }
  return failing
}

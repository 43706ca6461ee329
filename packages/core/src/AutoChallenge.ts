/**
 * Automatic challenges (off by default, `autoChallenge`): fed every round's decision, it counts per
 * (bucket, provider) the rounds in a row in which the provider signed a commitment that diverges from the
 * majority (same leaf count, another root), and after `challengeAfterRounds` of them submits
 * `challenge_offchain` with the provider's own signed commitment as evidence — at most once per
 * `challengeCooldown` per provider, and at most `challengeBudget` times in the process's life (each
 * challenge costs a deposit).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { ChainClient, ChunkLocation, OffchainChallenge } from "./ChainClient.js"
import { CheckpointConfig } from "./CheckpointConfig.js"
import { CheckpointEvent, CheckpointEvents } from "./CheckpointEvents.js"
import type { ChallengeEvidence, Decision } from "./Consensus.js"
import type { U64 } from "./Domain.js"
import * as MapRef from "./internal/mapRef.js"

interface Streak {
  readonly streak: number
  readonly lastChallengeMillis: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AutoChallengeService {
  /** Counts a round's divergences and challenges the providers that are due (when enabled). */
  readonly consider: (decision: Decision) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AutoChallenge extends Context.Tag("@checkpointer/core/AutoChallenge")<
  AutoChallenge,
  AutoChallengeService
>() {
  static readonly layer: Layer.Layer<AutoChallenge, never, ChainClient | CheckpointConfig | CheckpointEvents> = Layer
    .effect(
      AutoChallenge,
      Effect.gen(function*() {
        const chain = yield* ChainClient
        const settings = yield* CheckpointConfig
        const events = yield* CheckpointEvents
        // Per `${bucket}:${provider}`.
        const divergence = yield* MapRef.make<string, Streak>()
        const budget = yield* Ref.make(settings.challengeBudget)

        const challenge = (evidence: ChallengeEvidence, now: number) =>
          Effect.gen(function*() {
            const commitment = evidence.providerCommitment
            const challenge = new OffchainChallenge({
              bucketId: evidence.bucketId,
              provider: evidence.provider,
              commitment,
              // The newest leaf the provider itself committed to; never a leaf outside its range.
              target: new ChunkLocation({
                leafIndex: (commitment.startSeq + commitment.leafCount - 1n) as U64,
                chunkIndex: 0n as U64
              }, true),
              signature: evidence.providerSignature
            }, true)
            const receipt = yield* Effect.either(chain.challengeOffchain(challenge))
            yield* Ref.update(divergence, (m) =>
              m.set(`${evidence.bucketId}:${evidence.provider}`, { streak: 0, lastChallengeMillis: now }))
            if (receipt._tag === "Right") {
              yield* events.publish(CheckpointEvent.ChallengeSubmitted({ challenge, deadline: receipt.right.deadline }))
            } else {
              yield* Effect.logWarning(`challenge of ${evidence.provider} failed: ${receipt.left.message}`)
            }
          })

        const consider = (decision: Decision) =>
          Effect.gen(function*() {
            const divergent = new Map(decision.challengeCandidates.map((c) => [c.provider as string, c]))
            const answered = decision.outcomes.filter((o) => o._tag === "Answered").map((o) => o.provider as string)
            const now = yield* Clock.currentTimeMillis
            const due = yield* Ref.modify(divergence, (m): [Array<ChallengeEvidence>, Map<string, Streak>] => {
              const found: Array<ChallengeEvidence> = []
              for (const provider of new Set(answered)) {
                const key = `${decision.bucketId}:${provider}`
                const before = m.get(key) ?? { streak: 0, lastChallengeMillis: undefined }
                const evidence = divergent.get(provider)
                const streak = evidence === undefined ? 0 : before.streak + 1
                m.set(key, { ...before, streak })
                const cooled = before.lastChallengeMillis === undefined ||
                  now - before.lastChallengeMillis >= Duration.toMillis(settings.challengeCooldown)
                if (evidence !== undefined && streak >= settings.challengeAfterRounds && cooled) found.push(evidence)
              }
              return [found, m]
            })
            if (!settings.autoChallenge) return
            for (const evidence of due) {
              if (evidence.providerCommitment.leafCount === 0n) continue
              const spent = yield* Ref.modify(budget, (left) => (left > 0 ? [true, left - 1] : [false, left]))
              if (!spent) return yield* Effect.logWarning("challenge budget exhausted; not challenging")
              yield* challenge(evidence, now)
            }
          })

        return AutoChallenge.of({ consider })
      })
    )
}

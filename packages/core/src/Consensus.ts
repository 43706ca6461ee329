/**
 * The decision policy of a round, as pure functions over what each provider answered.
 *
 * - Answers with a valid signature are grouped by their whole commitment (root, start, count): only
 *   signatures over identical payloads can go into one extrinsic.
 * - The majority group is chosen deterministically: more signatures, then the higher leaf count, then
 *   the lower root bytes, then the lower start sequence. Order of arrival never matters; a provider
 *   counts once, by its first outcome.
 * - `required = max(ceil(total · pct / 100), min_providers)`, `total` being every primary of the
 *   bucket, reachable or not; only the majority group's signatures count towards it.
 * - Every other provider gets a conflict class from real leaf counts: `SyncDelay` (behind),
 *   `Ahead`, `DataDivergence` (same count, different commitment), `InvalidSignature`,
 *   `InvalidResponse` or `Unreachable`.
 * - The resolution says what to do: `ProceedWithMajority`, `WaitForSync`, `ConsiderChallenge` (with
 *   the divergent provider's own signed commitment as evidence) or `ManualIntervention`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { CheckpointSignature } from "./ChainClient.js"
import * as CommitmentRelation from "./CommitmentRelation.js"
import { AccountId, BucketId, Commitment, MultiSignatureFromHex, U64 } from "./Domain.js"
import type { BucketId as BucketIdType, MultiSignature } from "./Domain.js"
import { requiredSignatures } from "./Threshold.js"

// ---------------------------------------------------------------------------------------------------
// What providers answered
// ---------------------------------------------------------------------------------------------------

const Millis = Schema.Number
const Attempts = Schema.Number

/**
 * A provider answered with a commitment whose signature verifies against its registered key.
 *
 * @since 0.1.0
 * @category outcomes
 */
export const Answered = Schema.TaggedStruct("Answered", {
  provider: AccountId,
  commitment: Commitment,
  signature: MultiSignatureFromHex,
  latencyMillis: Millis,
  attempts: Attempts
})

/**
 * A provider answered, but its signature does not verify: it is never submitted.
 *
 * @since 0.1.0
 * @category outcomes
 */
export const BadSignature = Schema.TaggedStruct("BadSignature", {
  provider: AccountId,
  commitment: Commitment,
  reason: Schema.String,
  detail: Schema.String,
  latencyMillis: Millis,
  attempts: Attempts
})

/**
 * A provider answered something unusable: another bucket, a range behind the on-chain snapshot, a
 * malformed body, or an error status that retrying cannot fix.
 *
 * @since 0.1.0
 * @category outcomes
 */
export const InvalidResponse = Schema.TaggedStruct("InvalidResponse", {
  provider: AccountId,
  reason: Schema.Literal("WrongBucket", "RangeRegression", "Malformed", "Rejected"),
  detail: Schema.String,
  latencyMillis: Millis,
  attempts: Attempts
})

/**
 * A provider could not be asked or did not answer in time.
 *
 * @since 0.1.0
 * @category outcomes
 */
export const Unreachable = Schema.TaggedStruct("Unreachable", {
  provider: AccountId,
  reason: Schema.Literal("Request", "Undiscoverable", "Deadline"),
  detail: Schema.String,
  attempts: Attempts
})

/**
 * The round ended before this provider answered: the threshold was already met (and the grace window
 * over), or could no longer be met. Not a fault of the provider.
 *
 * @since 0.1.0
 * @category outcomes
 */
export const NotAwaited = Schema.TaggedStruct("NotAwaited", {
  provider: AccountId,
  reason: Schema.Literal("ThresholdMet", "ThresholdUnreachable"),
  attempts: Attempts
})

/**
 * @since 0.1.0
 * @category outcomes
 */
export const ProviderOutcome = Schema.Union(Answered, BadSignature, InvalidResponse, Unreachable, NotAwaited)

/**
 * @since 0.1.0
 * @category outcomes
 */
export type ProviderOutcome = typeof ProviderOutcome.Type

/**
 * @since 0.1.0
 * @category outcomes
 */
export type AnsweredOutcome = typeof Answered.Type

// ---------------------------------------------------------------------------------------------------
// Conflicts and resolutions
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category conflicts
 */
export const SyncDelay = Schema.TaggedStruct("SyncDelay", {
  provider: AccountId,
  commitment: Commitment,
  behindBy: U64
})

/**
 * @since 0.1.0
 * @category conflicts
 */
export const Ahead = Schema.TaggedStruct("Ahead", { provider: AccountId, commitment: Commitment, aheadBy: U64 })

/**
 * @since 0.1.0
 * @category conflicts
 */
export const DataDivergence = Schema.TaggedStruct("DataDivergence", { provider: AccountId, commitment: Commitment })

/**
 * @since 0.1.0
 * @category conflicts
 */
export const InvalidSignatureConflict = Schema.TaggedStruct("InvalidSignature", {
  provider: AccountId,
  detail: Schema.String
})

/**
 * @since 0.1.0
 * @category conflicts
 */
export const InvalidResponseConflict = Schema.TaggedStruct("InvalidResponse", {
  provider: AccountId,
  reason: Schema.String,
  detail: Schema.String
})

/**
 * @since 0.1.0
 * @category conflicts
 */
export const UnreachableConflict = Schema.TaggedStruct("Unreachable", { provider: AccountId, detail: Schema.String })

/**
 * Why a provider is not in the majority.
 *
 * @since 0.1.0
 * @category conflicts
 */
export const Conflict = Schema.Union(
  SyncDelay,
  Ahead,
  DataDivergence,
  InvalidSignatureConflict,
  InvalidResponseConflict,
  UnreachableConflict
)

/**
 * @since 0.1.0
 * @category conflicts
 */
export type Conflict = typeof Conflict.Type

/**
 * What a challenge of a divergent provider rests on: the commitment it signed itself (usable with
 * `challenge_offchain`), against the majority's commitment and signers.
 *
 * @since 0.1.0
 * @category resolutions
 */
export const ChallengeEvidence = Schema.Struct({
  bucketId: BucketId,
  provider: AccountId,
  providerCommitment: Commitment,
  providerSignature: MultiSignatureFromHex,
  majorityCommitment: Commitment,
  majoritySigners: Schema.Array(AccountId)
})

/**
 * @since 0.1.0
 * @category resolutions
 */
export type ChallengeEvidence = typeof ChallengeEvidence.Type

/**
 * @since 0.1.0
 * @category resolutions
 */
export const ProceedWithMajority = Schema.TaggedStruct("ProceedWithMajority", {})

/**
 * Providers that are only behind (or ahead) could complete the threshold: wait, then ask again.
 *
 * @since 0.1.0
 * @category resolutions
 */
export const WaitForSync = Schema.TaggedStruct("WaitForSync", {
  providers: Schema.Array(AccountId),
  maxBehindBy: U64
})

/**
 * One provider signed a different commitment at the same leaf count while the others agree.
 *
 * @since 0.1.0
 * @category resolutions
 */
export const ConsiderChallenge = Schema.TaggedStruct("ConsiderChallenge", {
  provider: AccountId,
  evidence: ChallengeEvidence
})

/**
 * Nothing automatic can make progress; a person should look.
 *
 * @since 0.1.0
 * @category resolutions
 */
export const ManualIntervention = Schema.TaggedStruct("ManualIntervention", { reason: Schema.String })

/**
 * @since 0.1.0
 * @category resolutions
 */
export const Resolution = Schema.Union(ProceedWithMajority, WaitForSync, ConsiderChallenge, ManualIntervention)

/**
 * @since 0.1.0
 * @category resolutions
 */
export type Resolution = typeof Resolution.Type

// ---------------------------------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------------------------------

/**
 * The majority: one commitment and the signatures over it, in the bucket's primary order (the order
 * of the snapshot bitfield).
 *
 * @since 0.1.0
 * @category models
 */
export class Majority extends Schema.Class<Majority>("Majority")({
  commitment: Commitment,
  signatures: Schema.Array(CheckpointSignature)
}) {}

/**
 * Everything decided in a round, and the arithmetic behind it.
 *
 * @since 0.1.0
 * @category models
 */
export class Decision extends Schema.Class<Decision>("Decision")({
  bucketId: BucketId,
  totalProviders: Schema.Number,
  minProviders: Schema.Number,
  thresholdPercent: Schema.Number,
  required: Schema.Number,
  agreeing: Schema.Number,
  majority: Schema.OptionFromNullOr(Majority),
  conflicts: Schema.Array(Conflict),
  challengeCandidates: Schema.Array(ChallengeEvidence),
  resolution: Resolution,
  outcomes: Schema.Array(ProviderOutcome)
}) {
  /** Whether the majority has enough signatures to checkpoint, and nothing stands against it. */
  get thresholdMet(): boolean {
    return Option.isSome(this.majority) && this.agreeing >= this.required &&
      this.resolution._tag === "ProceedWithMajority"
  }
}

/**
 * The inputs of a decision.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionInput {
  readonly bucketId: BucketIdType
  /** The bucket's primaries in on-chain order; their count is `total`. */
  readonly primaries: ReadonlyArray<AccountId>
  readonly minProviders: number
  readonly thresholdPercent: number
  readonly outcomes: ReadonlyArray<ProviderOutcome>
}

// ---------------------------------------------------------------------------------------------------
// Pure functions
// ---------------------------------------------------------------------------------------------------

/**
 * Answers over the same commitment.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommitmentGroup {
  readonly commitment: Commitment
  readonly members: ReadonlyArray<AnsweredOutcome>
}

const keyOf = CommitmentRelation.key

/**
 * Orders groups best first: more signatures, then higher leaf count, then lower root bytes (lowercase
 * hex compares like the bytes), then lower start sequence.
 *
 * @since 0.1.0
 * @category functions
 */
export const compareGroups = (a: CommitmentGroup, b: CommitmentGroup): number => {
  if (a.members.length !== b.members.length) return b.members.length - a.members.length
  const ac = a.commitment
  const bc = b.commitment
  if (ac.leafCount !== bc.leafCount) return ac.leafCount > bc.leafCount ? -1 : 1
  if (ac.mmrRoot !== bc.mmrRoot) return ac.mmrRoot < bc.mmrRoot ? -1 : 1
  if (ac.startSeq !== bc.startSeq) return ac.startSeq < bc.startSeq ? -1 : 1
  return 0
}

/**
 * Groups the answers with valid signatures by commitment, best group first. A provider that appears
 * twice is counted once (its first answer): the pallet would count a duplicate twice, we never submit one.
 *
 * @since 0.1.0
 * @category functions
 */
export const groupByCommitment = (outcomes: ReadonlyArray<ProviderOutcome>): ReadonlyArray<CommitmentGroup> => {
  const seen = new Set<string>()
  const groups = new Map<string, { commitment: Commitment; members: Array<AnsweredOutcome> }>()
  for (const outcome of outcomes) {
    if (outcome._tag !== "Answered" || seen.has(outcome.provider)) continue
    seen.add(outcome.provider)
    const key = keyOf(outcome.commitment)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { commitment: outcome.commitment, members: [outcome] })
    else group.members.push(outcome)
  }
  return Array.from(groups.values()).sort(compareGroups)
}

/**
 * The best group's size kept as answers arrive, one provider at a time: the size of the first group
 * `groupByCommitment` would give over the answers added, at a constant cost per answer instead of a
 * regrouping (a property test checks it against that regrouping after every answer).
 * Each provider is counted once (its first answer), as `groupByCommitment` does. The runner-up's size
 * is kept alongside, so the collector can tell when no answer still pending could change the decision
 * (`settled`).
 *
 * @since 0.1.0
 * @category models
 */
export class GroupTally {
  private readonly sizes = new Map<string, number>()
  private readonly seen = new Set<string>()
  private bestKey: string | undefined = undefined
  private bestSize = 0
  /** The largest group other than the best one (on a tie, as large as the best). */
  private runnerUpSize = 0

  /** Counts an outcome; only answers with valid signatures join a group. */
  add(outcome: ProviderOutcome): void {
    if (outcome._tag !== "Answered" || this.seen.has(outcome.provider)) return
    this.seen.add(outcome.provider)
    const key = keyOf(outcome.commitment)
    const size = (this.sizes.get(key) ?? 0) + 1
    this.sizes.set(key, size)
    if (key === this.bestKey) {
      this.bestSize = size
    } else if (size > this.bestSize) {
      // Overtaken by one: the old best is now the largest of the rest.
      this.runnerUpSize = this.bestSize
      this.bestKey = key
      this.bestSize = size
    } else if (size > this.runnerUpSize) {
      this.runnerUpSize = size
    }
  }

  /** The size of the best group so far. */
  get best(): number {
    return this.bestSize
  }

  /** Whether `required` is still reachable if every provider still pending joined the best group. */
  canStillMeet(pending: number, required: number): boolean {
    return this.bestSize + pending >= required
  }

  /**
   * Whether the best group has `required` signatures and no answer still pending could change that:
   * no other group (an existing one, or a new commitment only pending providers would sign) could reach
   * `required` even if every pending provider joined it. Above 50 % that holds as soon as the
   * threshold is met (two groups cannot both reach `required`); at 50 % or less, stopping earlier would
   * let the order of arrival pick the commitment, where `decide` asks for a person when two commitments
   * both reach `required`.
   */
  settled(pending: number, required: number): boolean {
    return this.bestSize >= required && this.runnerUpSize + pending < required
  }
}

const conflictOf = (outcome: ProviderOutcome, majority: Commitment | undefined): Conflict | undefined => {
  switch (outcome._tag) {
    case "Answered": {
      if (majority === undefined || keyOf(outcome.commitment) === keyOf(majority)) return undefined
      const theirs = outcome.commitment.leafCount
      const ours = majority.leafCount
      if (theirs < ours) {
        return {
          _tag: "SyncDelay",
          provider: outcome.provider,
          commitment: outcome.commitment,
          behindBy: ours - theirs as U64
        }
      }
      if (theirs > ours) {
        return {
          _tag: "Ahead",
          provider: outcome.provider,
          commitment: outcome.commitment,
          aheadBy: theirs - ours as U64
        }
      }
      return { _tag: "DataDivergence", provider: outcome.provider, commitment: outcome.commitment }
    }
    case "BadSignature":
      return { _tag: "InvalidSignature", provider: outcome.provider, detail: `${outcome.reason}: ${outcome.detail}` }
    case "InvalidResponse":
      return { _tag: "InvalidResponse", provider: outcome.provider, reason: outcome.reason, detail: outcome.detail }
    case "Unreachable":
      return { _tag: "Unreachable", provider: outcome.provider, detail: `${outcome.reason}: ${outcome.detail}` }
    case "NotAwaited":
      return outcome.reason === "ThresholdMet"
        ? undefined
        : {
          _tag: "Unreachable",
          provider: outcome.provider,
          detail: "not awaited: the threshold could no longer be met"
        }
  }
}

/**
 * The conflict class of every provider outside the majority, in outcome order.
 *
 * @since 0.1.0
 * @category functions
 */
export const classify = (
  outcomes: ReadonlyArray<ProviderOutcome>,
  majority: Commitment | undefined
): ReadonlyArray<Conflict> => {
  const seen = new Set<string>()
  const conflicts: Array<Conflict> = []
  for (const outcome of outcomes) {
    if (seen.has(outcome.provider)) continue
    seen.add(outcome.provider)
    const conflict = conflictOf(outcome, majority)
    if (conflict !== undefined) conflicts.push(conflict)
  }
  return conflicts
}

const describeConflicts = (conflicts: ReadonlyArray<Conflict>): string => {
  const counts = new Map<string, number>()
  for (const conflict of conflicts) counts.set(conflict._tag, (counts.get(conflict._tag) ?? 0) + 1)
  return Array.from(counts, ([tag, n]) => `${n} ${tag}`).join(", ")
}

/**
 * The resolution of a round.
 *
 * 1. The majority has `required` signatures: `ProceedWithMajority`.
 * 2. The bucket asks for more signatures than it has primaries: `ManualIntervention`.
 * 3. Providers that are only behind or ahead would complete the threshold if they converged:
 *    `WaitForSync`.
 * 4. Exactly one provider diverges (same leaf count, another commitment) and at least two agree
 *    against it: `ConsiderChallenge`, with its own signed commitment as evidence.
 * 5. Otherwise: `ManualIntervention`, saying why.
 *
 * @since 0.1.0
 * @category functions
 */
export const resolve = (input: {
  readonly total: number
  readonly required: number
  readonly majoritySize: number
  readonly conflicts: ReadonlyArray<Conflict>
  readonly challengeCandidates: ReadonlyArray<ChallengeEvidence>
}): Resolution => {
  const { challengeCandidates, conflicts, majoritySize, required, total } = input
  if (majoritySize > 0 && majoritySize >= required) return { _tag: "ProceedWithMajority" }
  if (required > total) {
    return {
      _tag: "ManualIntervention",
      reason: `the bucket requires ${required} signatures but has only ${total} primary providers`
    }
  }
  const moving = conflicts.filter((c) => c._tag === "SyncDelay" || c._tag === "Ahead")
  if (majoritySize > 0 && moving.length > 0 && majoritySize + moving.length >= required) {
    let maxBehindBy = 0n
    for (const c of moving) {
      const gap = c._tag === "SyncDelay" ? c.behindBy : c.aheadBy
      if (gap > maxBehindBy) maxBehindBy = gap
    }
    return { _tag: "WaitForSync", providers: moving.map((c) => c.provider), maxBehindBy: maxBehindBy as U64 }
  }
  const divergent = conflicts.filter((c) => c._tag === "DataDivergence")
  if (divergent.length === 1 && majoritySize >= 2 && challengeCandidates.length === 1) {
    return { _tag: "ConsiderChallenge", provider: divergent[0].provider, evidence: challengeCandidates[0] }
  }
  const summary = conflicts.length === 0 ? "no conflicts" : describeConflicts(conflicts)
  return {
    _tag: "ManualIntervention",
    reason: majoritySize === 0
      ? `no provider gave a usable signed commitment (${summary})`
      : `${majoritySize} of ${required} required signatures agree (${summary})`
  }
}

/**
 * Decides a round: majority, threshold, conflicts, challenge candidates and resolution.
 *
 * @since 0.1.0
 * @category functions
 */
export const decide = (input: DecisionInput): Decision => {
  const primaries = Array.from(new Set(input.primaries))
  const total = primaries.length
  const required = requiredSignatures({
    total,
    thresholdPercent: input.thresholdPercent,
    minProviders: input.minProviders
  })
  const primaryIndex = new Map(primaries.map((account, index) => [account as string, index]))
  // One outcome per provider (its first), and only primaries: the pallet fails the whole call for a
  // signer that is not one.
  const seen = new Set<string>()
  const eligible = input.outcomes.filter((outcome) => {
    if (!primaryIndex.has(outcome.provider) || seen.has(outcome.provider)) return false
    seen.add(outcome.provider)
    return true
  })
  const groups = groupByCommitment(eligible)
  const best = groups[0]
  const conflicts = classify(eligible, best?.commitment)

  const signatures = best === undefined
    ? []
    : [...best.members]
      .sort((a, b) => (primaryIndex.get(a.provider) ?? 0) - (primaryIndex.get(b.provider) ?? 0))
      .map((member) => new CheckpointSignature({ signer: member.provider, signature: member.signature }, true))

  const challengeCandidates: Array<ChallengeEvidence> = []
  if (best !== undefined) {
    for (const conflict of conflicts) {
      if (conflict._tag !== "DataDivergence") continue
      const answer = eligible.find((o): o is AnsweredOutcome =>
        o._tag === "Answered" && o.provider === conflict.provider
      )
      if (answer === undefined) continue
      challengeCandidates.push({
        bucketId: input.bucketId,
        provider: answer.provider,
        providerCommitment: answer.commitment,
        providerSignature: answer.signature as MultiSignature,
        majorityCommitment: best.commitment,
        majoritySigners: signatures.map((s) => s.signer)
      })
    }
  }

  const agreeing = signatures.length
  // At a threshold of 50 % or less two commitments can both gather enough signatures; choosing one
  // would depend on who answered first, so that is for a person to settle.
  const runnerUp = groups[1]
  const resolution: Resolution = runnerUp !== undefined && agreeing >= required &&
      runnerUp.members.length >= required
    ? {
      _tag: "ManualIntervention",
      reason:
        `two different commitments each have at least ${required} signatures (${agreeing} and ${runnerUp.members.length})`
    }
    : resolve({ total, required, majoritySize: agreeing, conflicts, challengeCandidates })
  return new Decision({
    bucketId: input.bucketId,
    totalProviders: total,
    minProviders: input.minProviders,
    thresholdPercent: input.thresholdPercent,
    required,
    agreeing,
    majority: best === undefined
      ? Option.none()
      : Option.some(new Majority({ commitment: best.commitment, signatures }, true)),
    conflicts,
    challengeCandidates,
    resolution,
    outcomes: input.outcomes
  }, true)
}

// ---------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface ConsensusService {
  readonly decide: (input: DecisionInput) => Decision
}

/**
 * The decision policy. The default is `decide` above; a caller may supply another.
 *
 * @since 0.1.0
 * @category tags
 */
export class Consensus extends Context.Tag("@checkpointer/core/Consensus")<Consensus, ConsensusService>() {
  static readonly layer: Layer.Layer<Consensus> = Layer.succeed(Consensus, { decide })
}

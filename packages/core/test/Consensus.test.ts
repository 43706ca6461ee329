import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Option, Schema } from "effect"
import * as Consensus from "../src/Consensus.js"
import * as Domain from "../src/Domain.js"

const accounts = Array.from(
  { length: 7 },
  (_, i) => Domain.accountIdFromBytes(new Uint8Array(32).fill(i + 1))!
)
const [P1, P2, P3, P4, P5] = accounts
const bucketId = Schema.decodeSync(Domain.BucketId)(9n)
const root = (byte: number) => Schema.decodeSync(Domain.H256)("0x" + byte.toString(16).padStart(2, "0").repeat(32))
const commitment = (rootByte: number, leafCount: number, startSeq = 0) =>
  Schema.decodeSync(Domain.Commitment)({ mmrRoot: root(rootByte), startSeq, leafCount })
const signature: Domain.MultiSignature = { _tag: "Sr25519", bytes: new Uint8Array(64).fill(7) }

const answered = (provider: Domain.AccountId, c: Domain.Commitment): Consensus.ProviderOutcome => ({
  _tag: "Answered",
  provider,
  commitment: c,
  signature,
  latencyMillis: 10,
  attempts: 1
})
const unreachable = (provider: Domain.AccountId): Consensus.ProviderOutcome => ({
  _tag: "Unreachable",
  provider,
  reason: "Request",
  detail: "connection refused",
  attempts: 4
})
const badSignature = (provider: Domain.AccountId, c: Domain.Commitment): Consensus.ProviderOutcome => ({
  _tag: "BadSignature",
  provider,
  commitment: c,
  reason: "Mismatch",
  detail: "signed by a different key",
  latencyMillis: 5,
  attempts: 1
})

const decide = (
  outcomes: ReadonlyArray<Consensus.ProviderOutcome>,
  options: { primaries?: ReadonlyArray<Domain.AccountId>; minProviders?: number; thresholdPercent?: number } = {}
) =>
  Consensus.decide({
    bucketId,
    primaries: options.primaries ?? accounts.slice(0, outcomes.length),
    minProviders: options.minProviders ?? 1,
    thresholdPercent: options.thresholdPercent ?? 51,
    outcomes
  })

// The specification the collector's running tally (`GroupTally`) is checked against: computed from
// scratch by regrouping every answer so far.
const groupSizes = (outcomes: ReadonlyArray<Consensus.ProviderOutcome>) =>
  Consensus.groupByCommitment(outcomes).map((g) => g.members.length)
const bestGroupSize = (outcomes: ReadonlyArray<Consensus.ProviderOutcome>) => groupSizes(outcomes)[0] ?? 0
const canStillMeet = (outcomes: ReadonlyArray<Consensus.ProviderOutcome>, pending: number, required: number) =>
  bestGroupSize(outcomes) + pending >= required
/** The best group has `required`, and no other group could reach it with every pending answer. */
const settled = (outcomes: ReadonlyArray<Consensus.ProviderOutcome>, pending: number, required: number) => {
  const [best = 0, others = 0] = groupSizes(outcomes)
  return best >= required && others + pending < required
}

const A = commitment(0xaa, 10)

describe("majority and threshold", () => {
  it("all agree: proceed, with every signature in primary order", () => {
    const decision = decide([answered(P3, A), answered(P1, A), answered(P2, A)])
    assert.isTrue(decision.thresholdMet)
    assert.strictEqual(decision.resolution._tag, "ProceedWithMajority")
    assert.strictEqual(decision.required, 2)
    assert.deepStrictEqual(Option.getOrThrow(decision.majority).signatures.map((s) => s.signer), [P1, P2, P3])
    assert.deepStrictEqual(decision.conflicts, [])
  })

  it("below threshold: 1 of 3 agreeing with 2 unreachable is not enough", () => {
    const decision = decide([answered(P1, A), unreachable(P2), unreachable(P3)])
    assert.isFalse(decision.thresholdMet)
    assert.strictEqual(decision.agreeing, 1)
    assert.strictEqual(decision.required, 2)
  })

  it("unreachable providers count in the total (the denominator)", () => {
    const decision = decide([answered(P1, A), answered(P2, A), unreachable(P3), unreachable(P4)])
    assert.strictEqual(decision.totalProviders, 4)
    assert.strictEqual(decision.required, 3)
    assert.isFalse(decision.thresholdMet)
  })

  it("67% of 3 requires all three", () => {
    const decision = decide([answered(P1, A), answered(P2, A), unreachable(P3)], { thresholdPercent: 67 })
    assert.strictEqual(decision.required, 3)
    assert.isFalse(decision.thresholdMet)
  })

  it("min_providers overrides a lower percentage", () => {
    const decision = decide([answered(P1, A), answered(P2, A), unreachable(P3), unreachable(P4)], {
      thresholdPercent: 1,
      minProviders: 3
    })
    assert.strictEqual(decision.required, 3)
    assert.isFalse(decision.thresholdMet)
  })

  it("a provider answering twice is counted once", () => {
    const decision = decide([answered(P1, A), answered(P1, A), unreachable(P2), unreachable(P3)], {
      primaries: [P1, P2, P3]
    })
    assert.strictEqual(decision.agreeing, 1)
  })

  it("answers from accounts that are not primaries are ignored", () => {
    const decision = decide([answered(P1, A), answered(P5, A)], { primaries: [P1, P2] })
    assert.strictEqual(decision.agreeing, 1)
    assert.deepStrictEqual(Option.getOrThrow(decision.majority).signatures.map((s) => s.signer), [P1])
  })
})

describe("one outcome per provider, and no contested majority", () => {
  it("a provider's first outcome is the one that counts, for the majority and the conflicts alike", () => {
    const decision = decide([unreachable(P1), answered(P1, A), answered(P2, A), answered(P3, A)], {
      primaries: [P1, P2, P3]
    })
    const signers = Option.getOrThrow(decision.majority).signatures.map((s) => s.signer)
    assert.deepStrictEqual(signers, [P2, P3])
    assert.deepStrictEqual(decision.conflicts.map((c) => [c.provider, c._tag]), [[P1, "Unreachable"]])
  })

  it("duplicate primaries count once in the total", () => {
    const decision = decide([answered(P1, A), answered(P2, A)], { primaries: [P1, P2, P2] })
    assert.strictEqual(decision.totalProviders, 2)
  })

  it("at 50 % or less, the threshold met is not settled while another commitment could still reach it", () => {
    const B = commitment(0xbb, 12)
    const tally = new Consensus.GroupTally()
    // 40 % of 5: 2 required. Two agree on A; the three pending could still agree on B.
    tally.add(answered(P1, A))
    tally.add(answered(P2, A))
    assert.isFalse(tally.settled(3, 2))
    // One of them answers A too: the two still pending could still both sign B.
    tally.add(answered(P3, A))
    assert.isFalse(tally.settled(2, 2))
    // One answers B: B has 1, one more pending could make it 2.
    tally.add(answered(P4, B))
    assert.isFalse(tally.settled(1, 2))
    // Nobody left: settled.
    tally.add(answered(P5, A))
    assert.isTrue(tally.settled(0, 2))
  })

  it("two commitments that both have the threshold are never settled: the best group is not alone", () => {
    const B = commitment(0xbb, 12)
    const tally = new Consensus.GroupTally()
    for (const outcome of [answered(P1, A), answered(P2, B), answered(P3, A), answered(P4, B)]) tally.add(outcome)
    assert.isFalse(tally.settled(1, 2))
    assert.isFalse(tally.settled(0, 2))
    tally.add(answered(P5, A))
    assert.isFalse(tally.settled(0, 2), "B still has 2 of 2 required")
    assert.isTrue(tally.settled(0, 3), "3 of A against 2 of B, 3 required")
  })

  it("at 50 %, two commitments that both reach the threshold need a person, not a coin toss", () => {
    const B = commitment(0xbb, 10)
    const decision = decide([answered(P1, A), answered(P2, A), answered(P3, B), answered(P4, B)], {
      thresholdPercent: 50
    })
    assert.strictEqual(decision.required, 2)
    assert.strictEqual(decision.resolution._tag, "ManualIntervention")
    assert.isFalse(decision.thresholdMet)
  })
})

describe("deterministic tie-breaking", () => {
  it("more signatures win", () => {
    const decision = decide([answered(P1, commitment(0x01, 5)), answered(P2, A), answered(P3, A)])
    assert.deepStrictEqual(Option.getOrThrow(decision.majority).commitment, A)
  })

  it("on a tie, the higher leaf count wins", () => {
    const low = commitment(0x01, 9)
    const high = commitment(0xff, 10)
    for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]]) {
      const outcomes = [answered(P1, low), answered(P2, low), answered(P3, high), answered(P4, high)]
      const decision = decide(order.map((i) => outcomes[i]), { primaries: [P1, P2, P3, P4] })
      assert.deepStrictEqual(Option.getOrThrow(decision.majority).commitment, high)
    }
  })

  it("on a tie at the same leaf count, the lower root bytes win", () => {
    const lower = commitment(0x10, 10)
    const higher = commitment(0x20, 10)
    const decision = decide([answered(P1, higher), answered(P2, lower)], { primaries: [P1, P2] })
    assert.deepStrictEqual(Option.getOrThrow(decision.majority).commitment, lower)
  })

  const outcomeArb = (provider: Domain.AccountId) =>
    fc.oneof(
      fc.record({ root: fc.constantFrom(0x01, 0x02, 0x03), leaves: fc.integer({ min: 8, max: 10 }) }).map((
        { leaves, root: r }
      ) => answered(provider, commitment(r, leaves))),
      fc.constant(unreachable(provider)),
      fc.constant(badSignature(provider, A))
    )
  const roundArb = fc.integer({ min: 1, max: 7 }).chain((n) =>
    fc.tuple(...accounts.slice(0, n).map(outcomeArb)).chain((outcomes) =>
      fc.tuple(fc.constant(outcomes), fc.shuffledSubarray(outcomes, { minLength: n, maxLength: n }))
    )
  )

  it.prop(
    "the decision is invariant under permutation of provider answers (anchor §5.5)",
    [roundArb],
    ([[outcomes, shuffled]]) => {
      const a = decide(outcomes)
      const b = decide(shuffled, { primaries: accounts.slice(0, outcomes.length) })
      assert.deepStrictEqual(Option.map(a.majority, (m) => m.commitment), Option.map(b.majority, (m) => m.commitment))
      assert.deepStrictEqual(
        Option.map(a.majority, (m) => m.signatures.map((s) => s.signer)),
        Option.map(b.majority, (m) => m.signatures.map((s) => s.signer))
      )
      assert.strictEqual(a.agreeing, b.agreeing)
      assert.strictEqual(a.resolution._tag, b.resolution._tag)
      const conflictKey = (c: Consensus.Conflict) => `${c.provider}:${c._tag}`
      assert.deepStrictEqual(a.conflicts.map(conflictKey).sort(), b.conflicts.map(conflictKey).sort())
    }
  )

  it.prop("the threshold counts only the majority group", [roundArb], ([[outcomes]]) => {
    const decision = decide(outcomes)
    const majority = Option.map(decision.majority, (m) => m.commitment)
    const inGroup = outcomes.filter((o) =>
      o._tag === "Answered" && Option.isSome(majority) &&
      Schema.equivalence(Domain.Commitment)(o.commitment, majority.value)
    )
    assert.strictEqual(decision.agreeing, inGroup.length)
  })

  it.prop("a provider never appears in two classes", [roundArb], ([[outcomes]]) => {
    const decision = decide(outcomes)
    const signers = Option.match(decision.majority, {
      onNone: () => [],
      onSome: (m) => m.signatures.map((s) => s.signer)
    })
    const conflicted = decision.conflicts.map((c) => c.provider)
    assert.strictEqual(new Set(conflicted).size, conflicted.length)
    for (const signer of signers) assert.notInclude(conflicted, signer)
    assert.strictEqual(signers.length + conflicted.length, outcomes.length)
  })

  it.prop(
    "required never drops below min_providers",
    [roundArb, fc.integer({ min: 0, max: 9 })],
    ([[outcomes], min]) => {
      assert.isAtLeast(decide(outcomes, { minProviders: min }).required, min)
    }
  )

  it.prop(
    "the collector's running tally agrees with regrouping after every answer, repeats included",
    [roundArb, fc.array(fc.nat(6), { maxLength: 4 })],
    ([[, shuffled], repeats]) => {
      const arrivals = [...shuffled, ...repeats.flatMap((i) => (i < shuffled.length ? [shuffled[i]!] : []))]
      const tally = new Consensus.GroupTally()
      for (let i = 0; i < arrivals.length; i++) {
        tally.add(arrivals[i]!)
        const soFar = arrivals.slice(0, i + 1)
        assert.strictEqual(tally.best, bestGroupSize(soFar))
        for (const pending of [0, 1, 2, 3]) {
          for (const required of [1, 2, 3, 4]) {
            assert.strictEqual(tally.canStillMeet(pending, required), canStillMeet(soFar, pending, required))
            assert.strictEqual(
              tally.settled(pending, required),
              settled(soFar, pending, required),
              `pending ${pending}, required ${required}`
            )
          }
        }
      }
    }
  )

  it.prop(
    "above 50 %, a round is settled as soon as the threshold is met",
    [roundArb, fc.integer({ min: 51, max: 100 }), fc.integer({ min: 0, max: 7 })],
    ([[outcomes], percent, min]) => {
      // Some answers in, the rest pending; every primary either answered or pending.
      const primaries = accounts.slice(0, outcomes.length)
      for (let answered = 0; answered <= outcomes.length; answered++) {
        const soFar = outcomes.slice(0, answered)
        const required = decide(outcomes, { thresholdPercent: percent, minProviders: min, primaries }).required
        const met = bestGroupSize(soFar) >= required
        assert.strictEqual(settled(soFar, outcomes.length - answered, required), met)
      }
    }
  )

  it.prop(
    "adding an agreeing signature never turns success into failure",
    [roundArb],
    ([[outcomes]]) => {
      const before = decide(outcomes, { primaries: accounts })
      if (!before.thresholdMet) return
      const majority = Option.getOrThrow(before.majority).commitment
      const newcomer = accounts.find((a) => !outcomes.some((o) => o.provider === a))
      if (newcomer === undefined) return
      const after = decide([...outcomes, answered(newcomer, majority)], { primaries: accounts })
      assert.isTrue(after.thresholdMet)
      assert.deepStrictEqual(Option.getOrThrow(after.majority).commitment, majority)
    }
  )
})

describe("conflict classes", () => {
  it("behind, ahead and divergent come from real leaf counts", () => {
    const decision = decide([
      answered(P1, A),
      answered(P2, A),
      answered(P3, commitment(0xbb, 7)),
      answered(P4, commitment(0xcc, 12)),
      answered(P5, commitment(0xdd, 10))
    ])
    assert.deepStrictEqual(decision.conflicts.map((c) => c._tag), ["SyncDelay", "Ahead", "DataDivergence"])
    const [behind, ahead] = decision.conflicts
    assert.strictEqual(behind._tag === "SyncDelay" ? behind.behindBy : -1n, 3n)
    assert.strictEqual(ahead._tag === "Ahead" ? ahead.aheadBy : -1n, 2n)
  })

  it("a different start sequence at the same leaf count is divergence", () => {
    const decision = decide([answered(P1, A), answered(P2, A), answered(P3, commitment(0xaa, 10, 3))])
    assert.deepStrictEqual(decision.conflicts.map((c) => c._tag), ["DataDivergence"])
  })

  it("bad signatures, invalid responses and unreachable providers have their own classes", () => {
    const decision = decide([
      answered(P1, A),
      answered(P2, A),
      badSignature(P3, A),
      {
        _tag: "InvalidResponse",
        provider: P4,
        reason: "WrongBucket",
        detail: "bucket 8",
        latencyMillis: 1,
        attempts: 1
      },
      unreachable(P5)
    ])
    assert.deepStrictEqual(decision.conflicts.map((c) => c._tag), [
      "InvalidSignature",
      "InvalidResponse",
      "Unreachable"
    ])
  })

  it("a provider not awaited because the threshold was met is no conflict", () => {
    const decision = decide([
      answered(P1, A),
      answered(P2, A),
      { _tag: "NotAwaited", provider: P3, reason: "ThresholdMet", attempts: 1 }
    ])
    assert.deepStrictEqual(decision.conflicts, [])
  })
})

describe("resolutions", () => {
  it("WaitForSync when laggards would complete the threshold", () => {
    const decision = decide([answered(P1, A), answered(P2, commitment(0xbb, 8)), answered(P3, commitment(0xcc, 9))], {
      minProviders: 3
    })
    assert.isFalse(decision.thresholdMet)
    assert.deepStrictEqual(decision.resolution, {
      _tag: "WaitForSync",
      providers: [P2, P3],
      maxBehindBy: Schema.decodeSync(Domain.U64)(2n)
    })
  })

  it("ConsiderChallenge for a lone divergent provider, with its own signed commitment as evidence", () => {
    const theirs = commitment(0xdd, 10)
    const decision = decide([answered(P1, A), answered(P2, A), answered(P3, theirs)], { minProviders: 3 })
    assert.strictEqual(decision.resolution._tag, "ConsiderChallenge")
    if (decision.resolution._tag !== "ConsiderChallenge") return
    assert.strictEqual(decision.resolution.provider, P3)
    assert.deepStrictEqual(decision.resolution.evidence.providerCommitment, theirs)
    assert.deepStrictEqual(decision.resolution.evidence.providerSignature, signature)
    assert.deepStrictEqual(decision.resolution.evidence.majorityCommitment, A)
    assert.deepStrictEqual(decision.resolution.evidence.majoritySigners, [P1, P2])
  })

  it("divergent providers are challenge candidates even when the majority proceeds", () => {
    const decision = decide([answered(P1, A), answered(P2, A), answered(P3, commitment(0xdd, 10))])
    assert.strictEqual(decision.resolution._tag, "ProceedWithMajority")
    assert.deepStrictEqual(decision.challengeCandidates.map((c) => c.provider), [P3])
  })

  it("ManualIntervention when several providers diverge", () => {
    const decision = decide([
      answered(P1, A),
      answered(P2, commitment(0xdd, 10)),
      answered(P3, commitment(0xee, 10))
    ])
    assert.strictEqual(decision.resolution._tag, "ManualIntervention")
  })

  it("ManualIntervention when nobody answered usably", () => {
    const decision = decide([unreachable(P1), badSignature(P2, A)])
    assert.isTrue(Option.isNone(decision.majority))
    assert.strictEqual(decision.resolution._tag, "ManualIntervention")
    assert.include((decision.resolution as { reason: string }).reason, "no provider")
  })

  it("ManualIntervention when the bucket asks for more signatures than it has primaries", () => {
    const decision = decide([answered(P1, A), answered(P2, A)], { minProviders: 3 })
    assert.include((decision.resolution as { reason: string }).reason, "only 2 primary providers")
  })
})

describe("the decision record", () => {
  it("encodes to JSON-safe values and decodes back", () => {
    const decision = decide([answered(P1, A), answered(P2, commitment(0xbb, 8)), unreachable(P3)])
    const encoded = Schema.encodeSync(Consensus.Decision)(decision)
    const json = JSON.parse(JSON.stringify(encoded))
    const decoded = Schema.decodeUnknownSync(Consensus.Decision)(json)
    assert.deepStrictEqual(decoded.conflicts, decision.conflicts)
    assert.strictEqual(decoded.required, decision.required)
  })
})

/**
 * How the commands print a decision, an event and an age for people.
 *
 * @internal
 */
import { CheckpointEvents, Consensus, SpendGuard } from "@checkpointer/core"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Units } from "./chainFacts.js"
import { bold, clean, dim, green, type Output, short, table, yellow } from "./output.js"

export const outcomeRow = (out: Output, outcome: Consensus.ProviderOutcome, classes: Map<string, string>) => {
  const latency = "latencyMillis" in outcome ? `${outcome.latencyMillis} ms` : "-"
  // A provider's words (its error code, an echoed multiaddr) are hostile text: escaped before printing.
  const answer = outcome._tag === "Answered"
    ? `${outcome.commitment.leafCount} leaves, root ${short(outcome.commitment.mmrRoot)}`
    : clean("detail" in outcome ? outcome.detail : outcome.reason)
  const klass = classes.get(outcome.provider) ?? (outcome._tag === "Answered" ? "Majority" : outcome._tag)
  const painted = klass === "Majority"
    ? green(out, klass)
    : klass === "NotAwaited"
    ? dim(out, klass)
    : yellow(out, klass)
  return [short(outcome.provider), painted, latency, String(outcome.attempts), answer]
}

export const renderDecision = (out: Output, decision: Consensus.Decision) => {
  const classes = new Map<string, string>(decision.conflicts.map((c) => [c.provider, c._tag]))
  const rows = [
    [bold(out, "provider"), bold(out, "class"), bold(out, "latency"), bold(out, "tries"), bold(out, "answer")],
    ...decision.outcomes.map((o) => outcomeRow(out, o, classes))
  ]
  const majority = Option.match(decision.majority, {
    onNone: () => "no majority",
    onSome: (m) =>
      `majority ${m.commitment.leafCount} leaves, root ${
        short(m.commitment.mmrRoot)
      }, ${m.signatures.length} signatures`
  })
  return [
    table(rows),
    "",
    `${majority}; required max(ceil(${decision.totalProviders} × ${decision.thresholdPercent}%), min_providers ${decision.minProviders}) = ${decision.required}; agreeing ${decision.agreeing}`,
    `resolution: ${
      decision.thresholdMet ? green(out, decision.resolution._tag) : yellow(out, decision.resolution._tag)
    }`
  ].join("\n")
}

export const encodeDecision = (decision: Consensus.Decision) => Schema.encodeSync(Consensus.Decision)(decision)

export const describeEvent = (event: CheckpointEvents.CheckpointEvent, units: Units): string =>
  CheckpointEvents.CheckpointEvent.$match(event, {
    CheckpointSubmitted: ({ receipt, settled }) =>
      `bucket ${receipt.bucketId}: checkpoint in block #${receipt.blockNumber}, ${receipt.commitment.leafCount} leaves, ${receipt.signers.length} signers${
        settled
          ? " (sent earlier, settled from the journal: not paid again)"
          : receipt.fee === undefined
          ? ""
          : `, fee ${units.format(receipt.fee)}`
      }`,
    CheckpointFailed: ({ bucketId, reason, spend, willRetry }) =>
      `bucket ${bucketId}: ${clean(reason)}${
        spend === undefined ? "" : ` (${SpendGuard.describe(spend, { format: units.format })})`
      }${willRetry ? " (will retry)" : ""}`,
    ProviderConflict: ({ bucketId, disagreeing }) =>
      `bucket ${bucketId}: ${disagreeing.map((d) => `${short(d.provider)} ${d.conflict}`).join(", ")}`,
    LoopPaused: ({ bucketId, reason, spend }) =>
      `${bucketId === undefined ? "loop" : `bucket ${bucketId}`} paused: ${
        // The balance and the minimum in the chain's unit, not the planck of the core's reason.
        spend === undefined ? reason : `${spend._tag} (${SpendGuard.describe(spend, { format: units.format })})`}`,
    LoopResumed: () => "loop resumed",
    ProviderStatusChanged: ({ provider, to }) => `provider ${short(provider)} is ${to}`,
    ChallengeSubmitted: ({ challenge }) => `challenged ${short(challenge.provider)}`,
    CheckpointOverdue: ({ bucketId }) => `bucket ${bucketId}: checkpoint overdue`
  })

export const age = (now: number, atMillis: number) => {
  const seconds = Math.max(0, Math.round((now - atMillis) / 1000))
  return seconds < 120
    ? `${seconds} s ago`
    : seconds < 7200
    ? `${Math.round(seconds / 60)} min ago`
    : `${Math.round(seconds / 3600)} h ago`
}

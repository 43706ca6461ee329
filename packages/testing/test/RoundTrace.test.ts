/**
 * A round's trace and logs, as an operator sees them: one `checkpointer.round` span per round, with the
 * discovery, every provider request, the decision and the submission under it, each with its attributes;
 * every log line of the round annotated with its bucket and round.
 */
import * as RoundTrace from "@checkpointer/core/RoundTrace"
import { assert, describe, it } from "@effect/vitest"
import { Effect, HashMap, Logger, LogLevel, Option } from "effect"
import { FakeProviders, SpanRecorder } from "../src/index.js"
import { account, after, inWorld, submit } from "./helpers.js"

const { Behaviour } = FakeProviders
const { SpanName } = RoundTrace
const NAMES = ["Alice", "Bob", "Charlie"] as const

interface LogLine {
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** Runs one round of bucket 1 with spans recorded and every log line (debug included) kept. */
const traced = (behaviours: Partial<Record<(typeof NAMES)[number], FakeProviders.Behaviour>>) =>
  inWorld(
    {
      providers: NAMES.map((name) => ({ name, behaviour: behaviours[name] })),
      buckets: [{ id: 1, primaries: [...NAMES], minProviders: 2 }],
      // Long enough for a provider's one retry (after 2 s) to be awaited.
      config: { graceWindow: "5 seconds" }
    },
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const keep = Logger.make<unknown, void>(({ annotations, message }) => {
        lines.push({
          message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
          annotations: Object.fromEntries(HashMap.toEntries(annotations))
        })
      })
      const result = yield* after("1 minute", submit(1)).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, keep)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      const spans = yield* Effect.flatMap(SpanRecorder.SpanRecorder, (recorder) => recorder.ended)
      const accounts = yield* Effect.forEach(NAMES, account)
      return { result, spans, lines, accounts }
    }).pipe(Effect.provide(SpanRecorder.layer))
  )

const named = (spans: ReadonlyArray<SpanRecorder.RecordedSpan>, name: string) => spans.filter((s) => s.name === name)

/** The `checkpointer.*` span a span belongs to (its nearest such ancestor). */
const outlineParent = (spans: ReadonlyArray<SpanRecorder.RecordedSpan>, span: SpanRecorder.RecordedSpan) =>
  Option.getOrUndefined(
    Option.map(SpanRecorder.nearestAncestor(spans, span, (a) => a.name.startsWith("checkpointer.")), (a) => a.name)
  )

describe("a round's trace", () => {
  it.effect("a landed checkpoint: the round, its discovery, each provider request, the decision and the submission", () =>
    Effect.gen(function*() {
      const { accounts, result, spans } = yield* traced({ Charlie: Behaviour.failTimes(1, "Status503") })
      assert.strictEqual(result._tag, "Submitted")
      if (result._tag !== "Submitted") return
      const { receipt } = result

      const [round, ...otherRounds] = named(spans, SpanName.round)
      assert.isDefined(round)
      assert.lengthOf(otherRounds, 0)
      assert.strictEqual(round.attributes.get("bucket"), "1")
      assert.strictEqual(round.attributes.get("outcome"), "Submitted")
      assert.isTrue(Option.isNone(round.parentSpanId) || outlineParent(spans, round) === undefined)

      // Every step's span sits under the round, in its trace.
      const steps = spans.filter((s) => s.name.startsWith("checkpointer.") && s !== round)
      assert.deepStrictEqual(
        [...new Set(steps.map((s) => s.name))].sort(),
        [SpanName.decide, SpanName.discover, SpanName.providerRequest, SpanName.submit].sort()
      )
      for (const step of steps) {
        assert.strictEqual(outlineParent(spans, step), SpanName.round, step.name)
        assert.strictEqual(step.traceId, round.traceId)
      }

      const [discover] = named(spans, SpanName.discover)
      assert.strictEqual(discover.attributes.get("providers"), 3)
      assert.strictEqual(discover.attributes.get("undiscoverable"), 0)

      // One span per attempt: Charlie's first answer was a 503, retried once.
      const requests = named(spans, SpanName.providerRequest).map((s) => ({
        provider: s.attributes.get("provider"),
        attempt: s.attributes.get("attempt"),
        status: s.attributes.get("status"),
        httpStatus: s.attributes.get("http_status")
      }))
      const [alice, bob, charlie] = accounts
      assert.sameDeepMembers(requests, [
        { provider: alice, attempt: 1, status: "Ok", httpStatus: undefined },
        { provider: bob, attempt: 1, status: "Ok", httpStatus: undefined },
        { provider: charlie, attempt: 1, status: "Status", httpStatus: 503 },
        { provider: charlie, attempt: 2, status: "Ok", httpStatus: undefined }
      ])

      const [decide] = named(spans, SpanName.decide)
      assert.strictEqual(decide.attributes.get("result"), "ProceedWithMajority")
      assert.strictEqual(decide.attributes.get("threshold_met"), true)
      assert.strictEqual(decide.attributes.get("agreeing"), 3)
      assert.strictEqual(decide.attributes.get("required"), 2)
      assert.strictEqual(decide.attributes.get("threshold_percent"), 51)
      assert.strictEqual(decide.attributes.get("total"), 3)
      assert.deepStrictEqual(decide.attributes.get("outcomes"), accounts.map((a) => `${a}=Answered`))

      const [submitted] = named(spans, SpanName.submit)
      assert.strictEqual(submitted.attributes.get("outcome"), "Submitted")
      assert.strictEqual(submitted.attributes.get("extrinsic_hash"), receipt.extrinsicHash)
      assert.strictEqual(submitted.attributes.get("block"), receipt.blockNumber)
      assert.strictEqual(submitted.attributes.get("block_hash"), receipt.blockHash)
      assert.strictEqual(submitted.attributes.get("fee"), receipt.fee?.toString())
    }))

  it.effect("no consensus: the round's outcome, the decision's arithmetic, and no submission", () =>
    Effect.gen(function*() {
      const { accounts, result, spans } = yield* traced({
        Bob: Behaviour.malformed(),
        Charlie: Behaviour.wrongBucket()
      })
      assert.strictEqual(result._tag, "InsufficientConsensus")

      const [round] = named(spans, SpanName.round)
      assert.strictEqual(round.attributes.get("outcome"), "InsufficientConsensus")
      assert.lengthOf(named(spans, SpanName.submit), 0)
      for (const step of spans.filter((s) => s.name.startsWith("checkpointer.") && s !== round)) {
        assert.strictEqual(outlineParent(spans, step), SpanName.round, step.name)
      }

      // Bob's answer did not decode (not retried); Charlie's arrived, for another bucket.
      const [alice, bob, charlie] = accounts
      assert.sameDeepMembers(
        named(spans, SpanName.providerRequest).map((s) => [s.attributes.get("provider"), s.attributes.get("status")]),
        [[alice, "Ok"], [bob, "Decode"], [charlie, "Ok"]]
      )

      const [decide] = named(spans, SpanName.decide)
      assert.strictEqual(decide.attributes.get("threshold_met"), false)
      assert.strictEqual(decide.attributes.get("agreeing"), 1)
      assert.strictEqual(decide.attributes.get("required"), 2)
      assert.deepStrictEqual(decide.attributes.get("outcomes"), [
        `${alice}=Answered`,
        `${bob}=InvalidResponse`,
        `${charlie}=InvalidResponse`
      ])
    }))
})

describe("a round's logs", () => {
  it.effect("every line written in a round carries its bucket and the round's id (its span's)", () =>
    Effect.gen(function*() {
      const { lines, spans } = yield* traced({ Charlie: Behaviour.failTimes(1, "Status503") })
      const [round] = named(spans, SpanName.round)
      assert.isAbove(lines.length, 4)
      for (const line of lines) {
        assert.strictEqual(line.annotations.bucket, "1", line.message)
        assert.strictEqual(line.annotations.round, round.spanId, line.message)
      }
      assert.isTrue(lines.some((l) => l.message.startsWith("decided ProceedWithMajority")))
      assert.isTrue(lines.some((l) => l.message.startsWith("attempt 1 failed") && l.annotations.provider !== undefined))
    }))
})

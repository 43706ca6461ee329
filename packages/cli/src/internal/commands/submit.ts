/**
 * The `submit` command: one round and at most one checkpoint (`--dry-run`: what it would do).
 *
 * @internal
 */
import { CheckpointConfig, CheckpointManager, CheckpointResult, ReceiptJournal } from "@checkpointer/core"
import { Command, Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { describeSpend, dryRunVerdict, preflightSigner, spendFields } from "../checks.js"
import { chainUnits, resolveSettings } from "../live.js"
import { emit, encodeReceipt, green, makeOutput, withProgress } from "../output.js"

import { EXIT_INTERRUPTED, EXIT_OUTCOME_UNKNOWN, exitCode } from "../exitCodes.js"
import {
  bucket,
  bucketId,
  chain,
  client,
  config,
  flags,
  journal,
  json,
  minimumBalanceOf,
  noJournal,
  parseBucket,
  requireSigner,
  set,
  suri,
  threshold,
  warnNoJournal,
  withLive
} from "../options.js"
import { encodeDecision, renderDecision } from "../render.js"
import { logFormat, withTelemetry } from "../telemetry.js"

export const submitCommand = Command.make("submit", {
  chain,
  client,
  config,
  suri,
  journal,
  noJournal,
  bucket,
  threshold,
  set,
  json,
  logFormat,
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("collect and decide, send nothing; say what submit would do, with its exit code")
  )
}, (options) =>
  Effect.gen(function*() {
    const o = { ...options, bucket: yield* parseBucket(options.bucket) }
    const out = makeOutput(o.json)
    const settings = yield* resolveSettings(flags({ ...o, buckets: [o.bucket] }))
    if (!o.dryRun) {
      yield* requireSigner(settings, "submit")
      yield* warnNoJournal(settings, o.logFormat)
    }
    yield* withLive(
      settings,
      Effect.gen(function*() {
        const manager = yield* CheckpointManager.CheckpointManager
        const journalService = yield* ReceiptJournal.ReceiptJournal
        const units = yield* chainUnits
        if (o.dryRun) {
          const report = yield* withProgress(
            out,
            `collecting bucket ${o.bucket}`,
            manager.collectWithConflicts(bucketId(o.bucket))
          )
          const verdict = yield* dryRunVerdict(report.decision, units.format)
          yield* emit(
            out,
            () => `${renderDecision(out, report.decision)}\n\ndry run: ${verdict.detail} (exit ${verdict.exitCode})`,
            {
              type: "DryRun",
              would: verdict.would,
              detail: verdict.detail,
              exitCode: verdict.exitCode,
              ...(verdict.spend === undefined ? {} : { spend: spendFields(verdict.spend, units.format) }),
              decision: encodeDecision(report.decision)
            }
          )
          if (verdict.exitCode !== 0) process.exitCode = verdict.exitCode
          return
        }
        yield* preflightSigner([bucketId(o.bucket)], {
          minimumBalance: minimumBalanceOf(settings),
          format: units.format
        })
        const result = yield* withProgress(
          out,
          `checkpointing bucket ${o.bucket}`,
          manager.submitCheckpoint(bucketId(o.bucket))
        ).pipe(
          // Stopped by a signal: say whether a transaction is out there, and never exit 0.
          Effect.onInterrupt(() =>
            journalService.read(bucketId(o.bucket)).pipe(
              Effect.map(Option.flatMap((j) => j.unresolved)),
              Effect.orElseSucceed(() => Option.none<ReceiptJournal.SubmissionAttempt>()),
              Effect.flatMap(Option.match({
                onNone: () =>
                  Effect.zipRight(
                    Console.error("checkpointer: interrupted before anything was sent"),
                    Effect.sync(() => void (process.exitCode = EXIT_INTERRUPTED))
                  ),
                onSome: (attempt) =>
                  Effect.zipRight(
                    Console.error(
                      `checkpointer: interrupted: extrinsic ${attempt.prepared.extrinsicHash} for bucket ${o.bucket} was sent and its outcome is not known yet; ${
                        settings.journal._tag === "Off"
                          ? "without a journal it cannot be settled here: check the chain before submitting again"
                          : "rerun the same command (same journal) to settle it: nothing is paid twice"
                      }`
                    ),
                    Effect.sync(() => void (process.exitCode = EXIT_OUTCOME_UNKNOWN))
                  )
              }))
            )
          ),
          // Refused before anything was signed: amounts in the chain's unit, and for programs a record.
          Effect.catchTag("SubmissionRefused", (refused) =>
            Effect.gen(function*() {
              const { budgetPeriod } = yield* CheckpointConfig.CheckpointConfig
              const said = refused.spend === undefined
                ? refused
                : new CheckpointResult.SubmissionRefused({
                  bucketId: refused.bucketId,
                  reason: refused.reason,
                  detail: describeSpend(refused.spend, units.format, budgetPeriod),
                  spend: refused.spend
                })
              if (o.json) {
                yield* emit(out, "", {
                  type: "Refused",
                  bucket: o.bucket,
                  reason: said.reason,
                  exitCode: exitCode(said),
                  detail: said.detail,
                  ...(said.spend === undefined ? {} : { spend: spendFields(said.spend, units.format) })
                })
              }
              return yield* said
            }))
        )
        if (result._tag === "AlreadyCheckpointed") {
          return yield* emit(
            out,
            () =>
              `${renderDecision(out, result.decision)}\n\nthe chain already holds ${
                result.relation === "Same" ? "this" : "a later"
              } checkpoint: nothing sent`,
            {
              type: "AlreadyCheckpointed",
              relation: result.relation,
              decision: encodeDecision(result.decision)
            }
          )
        }
        const { receipt } = result
        yield* emit(out, () =>
          [
            renderDecision(out, result.decision),
            "",
            `${green(out, "✓")} ${
              result.settled ? "settled an earlier submission: " : ""
            }checkpoint in block #${receipt.blockNumber} (${receipt.blockHash}), extrinsic ${receipt.extrinsicIndex} (${receipt.extrinsicHash})`,
            `  ${receipt.commitment.leafCount} leaves, root ${receipt.commitment.mmrRoot}, signed by ${receipt.signers.length}${
              receipt.fee === undefined ? "" : `, fee ${units.format(receipt.fee)}`
            }`
          ].join("\n"), {
          type: "Submitted",
          settled: result.settled,
          fee: receipt.fee === undefined ? null : units.format(receipt.fee),
          receipt: encodeReceipt(receipt),
          decision: encodeDecision(result.decision)
        })
      })
    )
  }).pipe(
    // Stopped before the round (connecting, discovering): nothing was sent, and it did not succeed.
    Effect.onInterrupt(() =>
      process.exitCode === undefined || process.exitCode === 0
        ? Effect.zipRight(
          Console.error("checkpointer: interrupted before anything was sent"),
          Effect.sync(() => void (process.exitCode = EXIT_INTERRUPTED))
        )
        : Effect.void
    ),
    withTelemetry(options.logFormat)
  )).pipe(Command.withDescription("one round and (unless --dry-run) one checkpoint"))

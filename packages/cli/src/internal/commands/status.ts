/**
 * The `status` command: the chain's last checkpoint, the journal's view, recorded health, the providers asked now.
 *
 * @internal
 */
import {
  ChainClient,
  CheckpointConfig,
  CheckpointManager,
  type Domain,
  LoopStore,
  ReceiptJournal
} from "@checkpointer/core"
import { Command } from "@effect/cli"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { chainUnits, resolveSettings } from "../live.js"
import { bold, dim, emit, encodeReceipt, makeOutput, red, short, table, withProgress, yellow } from "../output.js"

import {
  bucketId,
  buckets,
  chain,
  client,
  config,
  flags,
  journal,
  json,
  noJournal,
  parseBuckets,
  requireBuckets,
  set,
  suri,
  threshold,
  withLive
} from "../options.js"
import { age, encodeDecision, renderDecision } from "../render.js"

export const statusCommand = Command.make(
  "status",
  { chain, client, config, suri, journal, noJournal, buckets, threshold, set, json },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: yield* parseBuckets(o.buckets) }))
      yield* requireBuckets(settings)
      yield* withLive(
        settings,
        Effect.gen(function*() {
          const client = yield* ChainClient.ChainClient
          const manager = yield* CheckpointManager.CheckpointManager
          const loopStore = yield* LoopStore.LoopStore
          const journalService = yield* ReceiptJournal.ReceiptJournal
          const units = yield* chainUnits
          const now = Date.now()
          // What `run` recorded (its loop state and provider health), when there is a journal to read.
          const recorded = settings.journal._tag === "Off"
            ? Option.none<LoopStore.LoopState>()
            : yield* loopStore.read.pipe(Effect.orElseSucceed(() => Option.none<LoopStore.LoopState>()))
          const history = new Map(
            Option.match(recorded, { onNone: () => [], onSome: (r) => r.health.map((h) => [h.provider, h] as const) })
          )
          const round = yield* CheckpointConfig.CheckpointConfig
          const periodStart = now - Duration.toMillis(round.budgetPeriod)
          // Each signer's balance against the minimum the settings keep: the process's signer and every
          // bucket's own (`signerEnv`), each once, with the buckets it signs for.
          const signers = new Map<Domain.AccountId, Array<number>>()
          for (const n of settings.buckets) {
            const account = client.signerFor(bucketId(n))
            if (Option.isSome(account)) signers.set(account.value, [...(signers.get(account.value) ?? []), n])
          }
          yield* Effect.forEach(signers, ([account, signed]) =>
            Effect.gen(function*() {
              const balance = yield* client.freeBalance(account)
              const below = Option.isSome(round.minimumBalance) && balance < round.minimumBalance.value
              const forText = signers.size === 1
                ? ""
                : ` (bucket${signed.length === 1 ? "" : "s"} ${signed.join(", ")})`
              yield* emit(
                out,
                () =>
                  `signer ${account}${forText}: balance ${
                    below ? red(out, units.format(balance)) : units.format(balance)
                  }${
                    Option.match(round.minimumBalance, {
                      onNone: () => "",
                      onSome: (min) =>
                        `, minimum ${units.format(min)}${
                          below ? red(out, ` (below: run pauses${signers.size === 1 ? "" : " these buckets"})`) : ""
                        }`
                    })
                  }`,
                {
                  type: "Signer",
                  account,
                  buckets: signed,
                  balance: units.format(balance),
                  balancePlanck: balance,
                  minimumBalance: Option.match(round.minimumBalance, { onNone: () => null, onSome: units.format }),
                  belowMinimum: below
                }
              )
            }), { discard: true })
          yield* Effect.forEach(settings.buckets, (n) =>
            Effect.gen(function*() {
              const info = yield* client.bucket(bucketId(n))
              const stored = settings.journal._tag === "Off"
                ? Option.none<ReceiptJournal.BucketJournal>()
                : yield* journalService.read(bucketId(n)).pipe(
                  Effect.orElseSucceed(() => Option.none<ReceiptJournal.BucketJournal>())
                )
              const lastReceipt = Option.flatMap(stored, (j) => Option.fromNullable(j.receipts[j.receipts.length - 1]))
              // Fees this bucket paid in the budget's window, from the journal's receipts.
              const recent = Option.match(stored, {
                onNone: () => [],
                onSome: (j) => j.receipts.filter((r) => r.fee !== undefined && r.finalizedAtMillis >= periodStart)
              })
              const spent = recent.reduce((sum, r) => sum + (r.fee ?? 0n), 0n)
              const spendText = `fees in the last ${Duration.format(round.budgetPeriod)}: ${
                units.format(spent)
              } (${recent.length} checkpoint${recent.length === 1 ? "" : "s"})${
                Option.match(round.bucketBudget, { onNone: () => "", onSome: (b) => ` of a ${units.format(b)} budget` })
              }`
              const inDoubt = Option.flatMap(stored, (j) => j.unresolved)
              // The providers asked now, judged exactly as `collect` judges them (nothing is sent).
              const report = yield* withProgress(
                out,
                `asking the providers of bucket ${n}`,
                manager.collectCommitments(bucketId(n))
              ).pipe(Effect.option)
              const dirty = Option.map(recorded, (r) => r.dirtyBuckets.some((b) => b === bucketId(n)))
              const snapshot = Option.map(info.snapshot, (s) => ({
                leafCount: s.commitment.leafCount.toString(),
                mmrRoot: s.commitment.mmrRoot,
                block: s.checkpointBlock,
                signers: s.signers
              }))
              const healthRows = info.primaryProviders.map((account) => {
                const h = history.get(account)
                return {
                  provider: account,
                  recorded: h !== undefined,
                  requests: h?.requests ?? 0,
                  successRate: h === undefined || h.requests === 0 ? null : h.successes / h.requests,
                  consecutiveFailures: h?.consecutiveFailures ?? 0,
                  latencyEwmaMillis: h === undefined ? null : Option.getOrNull(h.latencyEwmaMillis),
                  lastSuccessMillis: h === undefined ? null : Option.getOrNull(h.lastSuccessMillis)
                }
              })
              const noHistory = settings.journal._tag === "Off"
                ? "no journal, so no recorded history"
                : "no history recorded yet (`checkpointer run` records it in the journal)"
              yield* emit(out, () =>
                [
                  bold(out, `bucket ${n}`) +
                  `: ${info.primaryProviders.length} primaries, min_providers ${info.minProviders}${
                    Option.isSome(info.frozenStartSeq) ? ", frozen" : ""
                  }`,
                  `  last checkpoint on chain: ${
                    Option.match(snapshot, {
                      onNone: () => "none",
                      onSome: (s) =>
                        `block #${s.block}, ${s.leafCount} leaves, root ${
                          short(s.mmrRoot)
                        }, ${s.signers.length} signers`
                    })
                  }`,
                  `  journal: ${
                    settings.journal._tag === "Off"
                      ? dim(out, "off")
                      : Option.match(lastReceipt, {
                        onNone: () => "no receipt yet",
                        onSome: (r) =>
                          `last receipt block #${r.blockNumber}, ${age(now, r.finalizedAtMillis)}${
                            r.fee === undefined ? "" : `, fee ${units.format(r.fee)}`
                          }`
                      }) +
                        Option.match(inDoubt, {
                          onNone: () => "",
                          onSome: (a) => `; ${yellow(out, `in doubt: ${a.prepared.extrinsicHash}`)}`
                        })
                  }`,
                  `  spend: ${settings.journal._tag === "Off" ? dim(out, "unknown (no journal)") : spendText}`,
                  `  dirty: ${
                    Option.match(dirty, {
                      onNone: () =>
                        dim(out, settings.journal._tag === "Off" ? "unknown (no journal)" : "no loop state recorded"),
                      onSome: (d) => (d ? yellow(out, "yes") : "no")
                    })
                  }`,
                  `  provider health, as recorded by run:${history.size === 0 ? ` ${dim(out, noHistory)}` : ""}`,
                  ...(history.size === 0 ? [] : [
                    table([
                      [
                        bold(out, "provider"),
                        bold(out, "requests"),
                        bold(out, "ok"),
                        bold(out, "failing"),
                        bold(out, "latency"),
                        bold(out, "last ok")
                      ],
                      ...healthRows.map((r) => [
                        short(r.provider),
                        String(r.requests),
                        r.successRate === null ? "-" : `${Math.round(r.successRate * 100)}%`,
                        r.consecutiveFailures === 0 ? "-" : yellow(out, `${r.consecutiveFailures} in a row`),
                        r.latencyEwmaMillis === null ? "-" : `${Math.round(r.latencyEwmaMillis)} ms`,
                        r.lastSuccessMillis === null ? "-" : age(now, r.lastSuccessMillis)
                      ])
                    ]).replace(/^/gm, "    ")
                  ]),
                  "  asked now:",
                  Option.match(report, {
                    onNone: () => dim(out, "    the round could not run"),
                    onSome: (r) => renderDecision(out, r.decision).replace(/^/gm, "    ")
                  })
                ].join("\n"), {
                type: "Status",
                bucket: n,
                minProviders: info.minProviders,
                snapshot: Option.getOrNull(snapshot),
                lastReceipt: Option.match(lastReceipt, {
                  onNone: () => null,
                  onSome: (r) => ({ ...encodeReceipt(r), fee: r.fee === undefined ? null : units.format(r.fee) })
                }),
                inDoubt: Option.match(inDoubt, { onNone: () => null, onSome: (a) => a.prepared.extrinsicHash }),
                spend: settings.journal._tag === "Off"
                  ? null
                  : {
                    periodMillis: Duration.toMillis(round.budgetPeriod),
                    fees: units.format(spent),
                    feesPlanck: spent,
                    checkpoints: recent.length,
                    budget: Option.match(round.bucketBudget, { onNone: () => null, onSome: units.format })
                  },
                dirty: Option.getOrNull(dirty),
                health: healthRows.filter((r) => r.recorded),
                decision: Option.match(report, { onNone: () => null, onSome: (r) => encodeDecision(r.decision) })
              })
            }))
        })
      )
    })
).pipe(
  Command.withDescription(
    "the last checkpoint, the journal's view, provider health as recorded by run, and the providers asked now"
  )
)

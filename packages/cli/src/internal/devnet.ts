/**
 * The embedded devnet: the devchain and N simulated providers over loopback HTTP, a bucket with them as
 * primaries, data written continuously, and the checkpoint loop running against it all through the
 * live chain client, with a live view of what happens.
 *
 * @internal
 */
import { CheckpointEvents, CheckpointLoop, type Domain, ReceiptJournal, SpendGuard } from "@checkpointer/core"
import { Devchain } from "@checkpointer/devchain"
import { DevSetup, PolkadotApi } from "@checkpointer/polkadot"
import { Chopsticks, ProviderSimulator } from "@checkpointer/testing"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Console from "effect/Console"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { spendFields } from "./checks.js"
import { DEFAULT_HOST, type ListenAddress, operatorModules, serveOperator, urlOf } from "./listen.js"
import { BadConfig, chainUnits, liveLayer } from "./live.js"
import { bold, clean, dim, emit, encodeReceipt, green, type Output, red, short, yellow } from "./output.js"
import { describeEvent } from "./render.js"
import * as Tuning from "./tuning.js"

/** How often the devnet's loop probes its providers on `GET /health` (jittered 0.8–1.2×). */
export const DEVNET_PROBE_INTERVAL = Duration.seconds(5)

export interface DevnetOptions {
  readonly providers: number
  readonly lagging: number
  readonly flaky: number
  /**
   * After this many checkpoints, one honest provider fails every request (HTTP 404 `bucket_not_found`, as a
   * provider that lost the bucket): an error the collector does not retry, so each round records it in
   * the provider's health while the others keep checkpointing.
   */
  readonly failingAfter: Option.Option<number>
  readonly blockTime: Duration.Duration
  readonly intervalBlocks: number
  readonly writeEvery: Duration.Duration
  readonly port: number
  /** Stop after this many checkpoints (default: run until interrupted). */
  readonly rounds: Option.Option<number>
  /** Run no checkpoint loop of its own: the checkpoints are left to `checkpointer run` (or `submit`). */
  readonly noLoop: boolean
  /** Run on this chain spec's runtime under Chopsticks instead of the devchain. */
  readonly chainSpec: Option.Option<string>
  /** Where to serve the operator's endpoints (default: a free port on loopback; none with `noLoop`). */
  readonly listen: Option.Option<ListenAddress>
  readonly out: Output
}

const PROVIDER_NAMES = ["Bob", "Charlie", "Dave", "Eve", "Ferdie"]
const LEAVES_PER_WRITE = 3
const MAX_PRIMARIES = 5

export const devnet = (options: DevnetOptions) =>
  Effect.gen(function*() {
    const { out } = options
    if (options.providers < 1 || options.providers > MAX_PRIMARIES) {
      return yield* new BadConfig({
        message:
          `providers: expected 1 to ${MAX_PRIMARIES} (the pallet's MaxPrimaryProviders), got ${options.providers}`
      })
    }
    if (options.noLoop && Option.isSome(options.rounds)) {
      return yield* new BadConfig({ message: "rounds: --no-loop makes no checkpoints to count" })
    }
    if (options.noLoop && Option.isSome(options.listen)) {
      return yield* new BadConfig({ message: "listen: --no-loop runs no loop to report on" })
    }
    if (options.lagging + options.flaky >= options.providers) {
      return yield* new BadConfig({ message: "lagging + flaky: at least one provider must be honest" })
    }
    if (Option.isSome(options.failingAfter) && options.lagging + options.flaky + 1 >= options.providers) {
      return yield* new BadConfig({
        message: "failing-after: one honest provider starts failing, and at least one other must stay honest"
      })
    }
    const names = PROVIDER_NAMES.slice(0, options.providers)
    const simulators = yield* Effect.forEach(names, (name, i) => ProviderSimulator.start({ name, seed: 17 + i }))
    const roles = names.map((_, i) => (i >= 1 && i <= options.lagging
      ? "lagging"
      : i > options.lagging && i <= options.lagging + options.flaky
      ? "flaky"
      : Option.isSome(options.failingAfter) && i === names.length - 1
      ? "failing"
      : "honest")
    )
    const minProviders = Math.max(1, Math.ceil(options.providers / 2))
    const { bucketId, url, runtime } = Option.isSome(options.chainSpec)
      ? yield* onChainSpec(options.chainSpec.value, options, names, simulators, minProviders)
      : yield* Devchain.start({
        port: options.port,
        blockMode: "interval",
        blockTime: options.blockTime,
        finalityLag: 1,
        providers: simulators.map((s, i) => ({ account: `//${names[i]}`, multiaddr: s.multiaddr })),
        buckets: [{ admin: "//Alice", minProviders, primaries: names.map((n) => `//${n}`) }]
      }).pipe(
        Effect.map((c) => ({ bucketId: 0n as Domain.BucketId, url: c.url, runtime: "the devchain" })),
        Effect.mapError((e) => new BadConfig({ message: e.message }))
      )
    const chain = { url }

    // Printed once the loop and its operator endpoints are up (their address is in it).
    const banner = (listening: Option.Option<ListenAddress>) =>
      emit(out, () =>
        [
          bold(out, `Checkpointer devnet: ${runtime} and simulated providers on loopback`),
          `  chain     ${chain.url}   (a Substrate JSON-RPC node; point @polkadot/api or 'checkpointer --chain' at it)`,
          ...simulators.map((s, i) =>
            `  provider  ${names[i]!.padEnd(8)} ${s.endpoint.padEnd(24)} ${
              roles[i] === "honest"
                ? ""
                : roles[i] === "failing"
                ? yellow(
                  out,
                  `fails every request after ${Option.getOrElse(options.failingAfter, () => 0)} checkpoints`
                )
                : yellow(out, roles[i]!)
            }`
          ),
          ...Option.match(listening, {
            onNone: () => [],
            onSome: (at) => [`  operator  ${urlOf(at)}   (the status page; /metrics for Prometheus, /healthz, /readyz)`]
          }),
          `  bucket ${bucketId}  admin Alice; primaries ${
            names.join(", ")
          }; at least ${minProviders} signatures per checkpoint`,
          dim(
            out,
            `  try:      npx checkpointer collect --chain ${chain.url} --bucket ${bucketId}    (Ctrl-C stops the devnet)` +
              (options.noLoop
                ? `\n            npx checkpointer run --chain ${chain.url} --bucket ${bucketId} --interval-blocks 2 --suri //Alice`
                : "")
          ),
          ""
        ].join("\n"), {
        type: "DevnetStarted",
        chain: chain.url,
        runtime,
        bucket: Number(bucketId),
        minProviders,
        providers: simulators.map((s, i) => ({
          name: names[i],
          endpoint: s.endpoint,
          account: s.account,
          role: roles[i]
        })),
        listen: Option.getOrNull(Option.map(listening, urlOf))
      })

    // `--failing-after`: the provider whose role is "failing" answers every request with an error from
    // then on. Not a dead socket: a retried failure is cut short when the others meet the threshold first
    // (NotAwaited), and would not show in the provider's health until probes find it.
    const failing = Effect.gen(function*() {
      const i = roles.indexOf("failing")
      if (i < 0) return
      yield* simulators[i]!.setFaults({ status: { code: 404, errorCode: "bucket_not_found" } })
      yield* emit(out, () => yellow(out, `✗ provider ${names[i]} now fails every request (404 bucket_not_found)`), {
        type: "ProviderFailing",
        name: names[i],
        account: simulators[i]!.account
      })
    })

    const checkpoints = yield* Ref.make(0)
    const enough = yield* Deferred.make<void>()
    yield* Effect.gen(function*() {
      const units = yield* chainUnits
      const bus = yield* CheckpointEvents.CheckpointEvents
      const events = yield* bus.subscribe
      const who = (account: string) => names[simulators.findIndex((s) => s.account === account)] ?? short(account)
      const journal = yield* ReceiptJournal.ReceiptJournal
      // What each provider did in the round that just landed: retries, laggards, who was not awaited.
      const roundSummary = journal.read(bucketId).pipe(
        Effect.map(Option.flatMap((j) => Option.fromNullable(j.rounds.at(-1)))),
        Effect.flatMap(Option.match({
          onNone: () => Effect.void,
          onSome: (round) => {
            const conflicts = new Map<string, string>(round.decision.conflicts.map((c) => [c.provider, c._tag]))
            const parts = round.decision.outcomes.map((o) => {
              const tries = o.attempts > 1 ? ` after ${o.attempts} tries` : ""
              const conflict = conflicts.get(o.provider)
              if (conflict !== undefined) return yellow(out, `${who(o.provider)} ${conflict}${tries}`)
              if (o._tag === "Answered") return `${who(o.provider)} ✓${tries}`
              if (o._tag === "NotAwaited") return dim(out, `${who(o.provider)} not awaited`)
              return yellow(out, `${who(o.provider)} ${o._tag}${tries}`)
            })
            return emit(out, () => `  round: ${parts.join(" · ")}`, {
              type: "Round",
              outcomes: round.decision.outcomes.map((o) => ({
                provider: o.provider,
                outcome: o._tag,
                attempts: o.attempts,
                conflict: conflicts.get(o.provider) ?? null
              }))
            })
          }
        })),
        Effect.ignore
      )
      yield* events.pipe(
        Stream.runForEach((event) =>
          CheckpointEvents.CheckpointEvent.$match(event, {
            CheckpointSubmitted: ({ receipt, settled }) =>
              Effect.zipRight(
                Effect.zipRight(
                  roundSummary,
                  emit(
                    out,
                    () =>
                      `${
                        green(out, "✓")
                      } checkpoint: bucket ${receipt.bucketId}, ${receipt.commitment.leafCount} leaves, root ${
                        short(receipt.commitment.mmrRoot)
                      }, block #${receipt.blockNumber}, signed by ${receipt.signers.map(who).join(", ")}${
                        receipt.fee === undefined ? "" : dim(out, `, fee ${units.format(receipt.fee)}`)
                      }`,
                    {
                      type: "CheckpointSubmitted",
                      settled,
                      fee: receipt.fee === undefined ? null : units.format(receipt.fee),
                      receipt: encodeReceipt(receipt)
                    }
                  )
                ),
                Ref.updateAndGet(checkpoints, (n) => n + 1).pipe(
                  Effect.tap((n) =>
                    Option.isSome(options.failingAfter) && n === options.failingAfter.value ? failing : Effect.void
                  ),
                  Effect.flatMap((n) =>
                    Option.isSome(options.rounds) && n >= options.rounds.value
                      ? Deferred.succeed(enough, undefined)
                      : Effect.void
                  )
                )
              ),
            CheckpointFailed: ({ reason, spend, willRetry }) =>
              emit(
                out,
                () =>
                  `${red(out, "✗")} checkpoint failed: ${clean(reason)}${
                    spend === undefined ? "" : ` (${SpendGuard.describe(spend, { format: units.format })})`
                  }${willRetry ? dim(out, " (will retry)") : ""}`,
                {
                  type: "CheckpointFailed",
                  reason,
                  willRetry,
                  ...(spend === undefined ? {} : { spend: spendFields(spend, units.format) })
                }
              ),
            ProviderConflict: ({ disagreeing }) =>
              emit(
                out,
                () =>
                  `${yellow(out, "!")} providers differ: ${
                    disagreeing.map((d) => `${who(d.provider)} ${d.conflict}`).join(", ")
                  }`,
                {
                  type: "ProviderConflict",
                  disagreeing: disagreeing.map((d) => ({ provider: d.provider, conflict: d.conflict }))
                }
              ),
            ProviderStatusChanged: ({ provider, to }) =>
              emit(out, () => dim(out, `  provider ${who(provider)} is now ${to}`), {
                type: "ProviderStatusChanged",
                provider,
                status: to
              }),
            LoopPaused: (event) =>
              emit(out, `‖ ${describeEvent(event, units)}`, {
                type: "LoopPaused",
                reason: event.reason,
                ...(event.spend === undefined ? {} : { spend: spendFields(event.spend, units.format) })
              }),
            LoopResumed: () => emit(out, "▶ loop resumed", { type: "LoopResumed" }),
            ChallengeSubmitted: () => Effect.void,
            CheckpointOverdue: () => Effect.void
          })
        ),
        Effect.forkScoped
      )

      // Loaded before the loop starts: the loop's first finalized head must find the first data written
      // (a bucket clean at its due block waits `--interval-blocks` for the next one).
      if (!options.noLoop) yield* operatorModules
      const loop = options.noLoop
        ? undefined
        : yield* CheckpointLoop.make([bucketId], {
          interval: CheckpointLoop.Blocks(options.intervalBlocks),
          // Probe results on the status page within seconds of opening it (run's default is a minute).
          probeInterval: Option.some(DEVNET_PROBE_INTERVAL)
        })
      yield* banner(
        loop === undefined
          ? Option.none()
          : Option.some(
            yield* serveOperator(Option.getOrElse(options.listen, () => ({ host: DEFAULT_HOST, port: 0 })), loop)
          )
      )
      const written = yield* Ref.make(0)
      // The data: every `writeEvery`, a few more leaves on every provider; the lagging ones fall
      // behind for a moment each time and catch up (a sync delay the round waits out).
      const write = Effect.gen(function*() {
        const before = yield* Ref.getAndUpdate(written, (x) => x + LEAVES_PER_WRITE)
        // Only the new leaves: `commit` appends to what each provider already holds.
        const roots = Array.from(
          { length: LEAVES_PER_WRITE },
          (_, i) => blake2AsU8a(`devnet leaf ${before + i}`, 256)
        )
        const held = new Set<bigint>()
        for (const [i, simulator] of simulators.entries()) {
          if (roles[i] === "lagging") {
            yield* simulator.setFaults({ lag: { leaves: 2, catchUpAfter: Duration.times(options.blockTime, 3) } })
          }
          if (roles[i] === "flaky") {
            yield* simulator.setFaults({ flaky: { failureProbability: 0.35, seed: 7 + before } })
          }
          held.add((yield* simulator.commit(bucketId, roots)).leafCount)
        }
        // What the providers now hold (all the same: lagging ones only answer late), as they report it.
        const leaves = Array.from(held).reduce((a, b) => (a > b ? a : b))
        yield* emit(out, () => dim(out, `  wrote ${LEAVES_PER_WRITE} leaves (now ${leaves}) to every provider`), {
          type: "DataWritten",
          added: LEAVES_PER_WRITE,
          leaves: Number(leaves)
        })
        if (loop !== undefined) yield* loop.markDirty(bucketId)
      })
      yield* write.pipe(Effect.repeat(Schedule.spaced(options.writeEvery)), Effect.forkScoped)
      yield* Option.isSome(options.rounds) ? Deferred.await(enough) : Effect.never
      if (loop !== undefined) yield* loop.stop
      yield* emit(out, `Done: ${yield* Ref.get(checkpoints)} checkpoints.`, {
        type: "DevnetStopped",
        checkpoints: yield* Ref.get(checkpoints)
      })
    }).pipe(
      Effect.provide(
        liveLayer({
          chain: [chain.url],
          signer: Option.some(Redacted.make("//Alice")),
          buckets: [Number(bucketId)],
          journal: { _tag: "Off" },
          bucketIntervals: [],
          bucketSigners: [],
          interval: { _tag: "Blocks", blocks: options.intervalBlocks },
          allowLocalProviders: true,
          client: "polkadot-js",
          // Fixed settings: the devnet's simulated providers answer at once.
          tuned: Either.getOrThrow(
            Tuning.resolve({ flags: [["providerTimeout", "2 seconds", "--devnet"]], file: {}, env: {} })
          ),
          signerSource: Option.some("--devnet")
        }, { journal: "memory" }).pipe(Layer.orDie)
      )
    )
    yield* Console.log("")
  })

/** The real runtime of a chain spec under Chopsticks: providers endowed, registered and made primaries by transactions. */
const onChainSpec = (
  chainSpec: string,
  options: DevnetOptions,
  names: ReadonlyArray<string>,
  simulators: ReadonlyArray<{ readonly multiaddr: string; readonly account: string }>,
  minProviders: number
) =>
  Effect.gen(function*() {
    const node = yield* Chopsticks.start({
      chainSpec,
      port: options.port === 9944 ? 0 : options.port,
      buildBlockMode: "Instant"
    }).pipe(
      Effect.mapError((e) => new BadConfig({ message: `chain spec ${chainSpec}: ${e.message}` }))
    )
    // The runtime's genesis may not endow every provider: give them (and the admin) funds for stakes and fees.
    yield* node.endow([...names, "Alice"].map((n) => DevSetup.devKey(n).publicKey), 10n ** 21n).pipe(Effect.orDie)
    yield* node.newBlock().pipe(Effect.orDie)
    // Blocks on a timer too (Instant mode alone only builds on transactions): the loop counts finalized blocks.
    yield* node.newBlock().pipe(Effect.ignore, Effect.repeat(Schedule.spaced(options.blockTime)), Effect.forkScoped)
    const { api } = yield* PolkadotApi.make({ endpoints: [node.url], connectTimeout: "30 seconds" }).pipe(
      Effect.mapError((e) => new BadConfig({ message: e.message }))
    )
    const bucketId = yield* DevSetup.setupBucket(
      api,
      simulators.map((s, i) => ({ name: names[i]!, multiaddr: s.multiaddr })),
      minProviders
    ).pipe(
      Effect.mapError((e) => new BadConfig({ message: `bucket setup on ${chainSpec}: ${e.message}` }))
    )
    return { bucketId: bucketId as Domain.BucketId, url: node.url, runtime: `the runtime of ${chainSpec} (Chopsticks)` }
  })

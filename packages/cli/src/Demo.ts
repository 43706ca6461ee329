/**
 * What `npm start` runs until the embedded devnet exists: the real checkpointing machinery on a small
 * simulated network. Four storage providers run as HTTP servers on loopback ports (each keeping a real
 * MMR of the bucket's data and signing like the real node), reached by the live HTTP client; the
 * checkpoint loop decides, submits and journals receipts to a temporary directory. The chain is the
 * in-memory one from `@checkpointer/testing` — it enforces the pallet's checkpoint rules, but it is not
 * a node: the devchain (a real JSON-RPC node for `@polkadot/api`) is still to come, and the output says so.
 *
 * @since 0.1.0
 */
import type { Domain } from "@checkpointer/core"
import { CheckpointEvents, CheckpointLoop, ReceiptJournal } from "@checkpointer/core"
import { FakeProviders, TestNetwork } from "@checkpointer/testing"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const { Behaviour } = FakeProviders

const short = (hex: string) => `${hex.slice(0, 10)}…`

/**
 * The demo: three rounds of writes and checkpoints, one with a divergent provider, one with a provider
 * down. `pause` is the time given to each round (real time).
 *
 * @since 0.1.0
 * @category programs
 */
export const demo = (options: { readonly pause?: Duration.DurationInput } = {}): Effect.Effect<void> =>
  Effect.gen(function*() {
    const pause = Duration.decode(options.pause ?? Duration.seconds(2))
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "checkpointer-demo-"))
    const names = ["Alice", "Bob", "Charlie", "Dave"]
    const world = TestNetwork.layer({
      transport: "http",
      providers: names.map((name) => ({ name })),
      buckets: [{ id: 1, primaries: names, minProviders: 3, leafCount: 0 }],
      journal: { directory },
      // Chain-scale settings (retries in seconds) run 50x faster here.
      timeScale: 0.02
    })

    yield* Effect.gen(function*() {
      const network = yield* TestNetwork.TestNetwork
      const bucket = network.bucketId(1)
      const nameOf = new Map(names.map((name) => [network.account(name) as string, name]))
      const who = (account: Domain.AccountId) => nameOf.get(account) ?? account.slice(0, 8)

      yield* Console.log("Checkpointer demo: simulated providers over HTTP, in-memory chain")
      yield* Console.log("=".repeat(72))
      for (const provider of network.network.providers) {
        yield* Console.log(`  provider ${provider.name.padEnd(8)} ${provider.endpoint}  (${provider.multiaddr})`)
      }
      yield* Console.log(`  bucket 1: primaries ${names.join(", ")}; at least 3 signatures per checkpoint`)
      yield* Console.log(`  journal: ${directory}`)
      yield* Console.log("")

      const bus = yield* CheckpointEvents.CheckpointEvents
      const events = yield* bus.subscribe
      yield* events.pipe(
        Stream.runForEach((event) =>
          CheckpointEvents.CheckpointEvent.$match(event, {
            CheckpointSubmitted: ({ receipt }) =>
              Console.log(
                `  ✓ checkpoint of bucket ${receipt.bucketId}: ${receipt.commitment.leafCount} leaves, root ${
                  short(receipt.commitment.mmrRoot)
                }, in block #${receipt.blockNumber} (extrinsic ${short(receipt.extrinsicHash)}), signed by ${
                  receipt.signers.map(who).join(", ")
                }`
              ),
            CheckpointFailed: ({ reason, willRetry }) =>
              Console.log(`  ✗ checkpoint failed: ${reason}${willRetry ? " (will retry)" : ""}`),
            ProviderConflict: ({ disagreeing }) =>
              Console.log(
                `  ! providers disagree: ${disagreeing.map((d) => `${who(d.provider)} ${d.conflict}`).join(", ")}`
              ),
            LoopPaused: ({ reason }) => Console.log(`  ‖ loop paused: ${reason}`),
            LoopResumed: () => Console.log("  ▶ loop resumed"),
            ProviderStatusChanged: () => Effect.void,
            ChallengeSubmitted: () => Effect.void,
            CheckpointOverdue: () => Effect.void
          })
        ),
        Effect.forkScoped
      )

      const loop = yield* CheckpointLoop.make([bucket], { interval: CheckpointLoop.Every(Duration.millis(250)) })
      const step = (title: string, arrange: Effect.Effect<void>) =>
        Effect.gen(function*() {
          yield* Console.log(title)
          yield* arrange
          const data = yield* network.network.append(bucket, 5)
          yield* Console.log(
            `  wrote 5 more leaves: the providers now hold ${data.leafCount}, root ${short(data.mmrRoot)}`
          )
          yield* loop.markDirty(bucket)
          yield* Effect.sleep(pause)
          yield* Console.log("")
        })

      yield* step("1. Everyone honest", Effect.void)
      yield* step("2. Dave's data diverges", network.network.setBehaviour("Dave", Behaviour.divergent()))
      yield* step(
        "3. Dave is back; Charlie is down",
        Effect.zipRight(
          network.network.setBehaviour("Dave", Behaviour.honest()),
          network.network.setBehaviour("Charlie", Behaviour.unreachable())
        )
      )
      yield* loop.stop

      const recorded = yield* network.chain.submissions
      const journal = yield* Effect.serviceOption(ReceiptJournal.ReceiptJournal)
      const stored = Option.isSome(journal) ? yield* Effect.option(journal.value.read(bucket)) : Option.none()
      const receipts = Option.match(Option.flatten(stored), { onNone: () => 0, onSome: (j) => j.receipts.length })
      yield* Console.log(`Checkpoints on chain: ${recorded.length}; receipts in the journal: ${receipts}.`)
      yield* Console.log("")
      yield* Console.log("Not built yet: the devchain (a node @polkadot/api connects to), the live chain layer,")
      yield* Console.log("the checkpointer commands and the benchmarks. `npm start` becomes the embedded devnet")
      yield* Console.log("doing these checkpoints on a real node when they land (see README).")
    }).pipe(Effect.provide(world), Effect.scoped, Effect.orDie)
    fs.rmSync(directory, { recursive: true, force: true })
  })

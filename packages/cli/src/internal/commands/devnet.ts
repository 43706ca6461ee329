/**
 * The `devnet` command: the devchain and simulated providers, checkpointing live.
 *
 * @internal
 */
import { Command, Options } from "@effect/cli"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { listenOption, parseListen } from "../listen.js"
import { BadConfig } from "../live.js"
import { json } from "../options.js"
import { makeOutput } from "../output.js"
import { logFormat, withTelemetry } from "../telemetry.js"

export const devnetCommand = Command.make("devnet", {
  providers: Options.integer("providers").pipe(
    Options.withDefault(5),
    Options.withDescription("simulated providers (1-5)")
  ),
  lagging: Options.integer("lagging").pipe(
    Options.withDefault(1),
    Options.withDescription("providers that lag behind")
  ),
  flaky: Options.integer("flaky").pipe(
    Options.withDefault(1),
    Options.withDescription("providers that fail requests at random")
  ),
  failingAfter: Options.integer("failing-after").pipe(
    Options.withDescription(
      "after this many checkpoints, one honest provider fails every request (HTTP 404: it lost the bucket)"
    ),
    Options.optional
  ),
  blockTime: Options.integer("block-time").pipe(Options.withDefault(1000), Options.withDescription("block time in ms")),
  intervalBlocks: Options.integer("interval-blocks").pipe(Options.withDefault(3)),
  writeEvery: Options.integer("write-every").pipe(
    Options.withDefault(4000),
    Options.withDescription("ms between data writes")
  ),
  port: Options.integer("port").pipe(
    Options.withDefault(9944),
    Options.withDescription("devchain port (0: any free port)")
  ),
  rounds: Options.integer("rounds").pipe(Options.withDescription("stop after this many checkpoints"), Options.optional),
  noLoop: Options.boolean("no-loop").pipe(
    Options.withDescription("write data but make no checkpoints of its own (leave them to `checkpointer run`)")
  ),
  chainSpec: Options.file("chain-spec", { exists: "yes" }).pipe(
    Options.withDescription("run on this chain spec's runtime under Chopsticks instead of the devchain"),
    Options.optional
  ),
  json,
  logFormat,
  listen: listenOption(
    "serve /metrics, /healthz and /readyz on [HOST:]PORT (default: a free port on 127.0.0.1; a port alone: 127.0.0.1)"
  )
}, (o) =>
  validateDevnet(o).pipe(
    Effect.zipRight(Effect.transposeOption(Option.map(o.listen, parseListen))),
    Effect.flatMap((listen) =>
      // The devchain, Chopsticks and the simulators load when the devnet starts, never for another command.
      Effect.flatMap(Effect.promise(() => import("../devnet.js")), ({ devnet }) =>
        devnet({
          providers: o.providers,
          lagging: o.lagging,
          flaky: o.flaky,
          failingAfter: o.failingAfter,
          blockTime: Duration.millis(o.blockTime),
          intervalBlocks: o.intervalBlocks,
          writeEvery: Duration.millis(o.writeEvery),
          port: o.port,
          rounds: o.rounds,
          noLoop: o.noLoop,
          chainSpec: o.chainSpec,
          listen,
          out: makeOutput(o.json)
        }))
    ),
    Effect.scoped,
    // Its rounds traced over OTLP when the OpenTelemetry variables name a collector, as `run`'s are.
    withTelemetry(o.logFormat)
  )).pipe(Command.withDescription("the devchain and simulated providers, checkpointing live"))

/** Every number the devnet takes, checked before anything starts. */
export const validateDevnet = (o: {
  readonly providers: number
  readonly lagging: number
  readonly flaky: number
  readonly blockTime: number
  readonly intervalBlocks: number
  readonly writeEvery: number
  readonly port: number
  readonly rounds: Option.Option<number>
  readonly failingAfter?: Option.Option<number> | undefined
}) => {
  const problems = [
    o.providers < 1 || o.providers > 5 ? `providers: expected 1 to 5, got ${o.providers}` : undefined,
    o.lagging < 0 || o.lagging > o.providers ? `lagging: expected 0 to ${o.providers}, got ${o.lagging}` : undefined,
    o.flaky < 0 || o.flaky > o.providers ? `flaky: expected 0 to ${o.providers}, got ${o.flaky}` : undefined,
    o.blockTime < 100 || o.blockTime > 60_000
      ? `block-time: expected 100 to 60000 ms, got ${o.blockTime}`
      : undefined,
    o.intervalBlocks < 1 ? `interval-blocks: expected a positive number, got ${o.intervalBlocks}` : undefined,
    o.writeEvery < 100 ? `write-every: expected at least 100 ms, got ${o.writeEvery}` : undefined,
    o.port < 0 || o.port > 65_535 ? `port: expected 0 to 65535, got ${o.port}` : undefined,
    Option.isSome(o.rounds) && o.rounds.value < 1
      ? `rounds: expected a positive number, got ${o.rounds.value}`
      : undefined,
    o.failingAfter !== undefined && Option.isSome(o.failingAfter) && o.failingAfter.value < 1
      ? `failing-after: expected a positive number of checkpoints, got ${o.failingAfter.value}`
      : undefined
  ].filter((p) => p !== undefined)
  return problems.length === 0 ? Effect.void : Effect.fail(new BadConfig({ message: problems.join("; ") }))
}

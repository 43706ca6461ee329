/**
 * The `checkpointer` executable (`npm start` runs `checkpointer devnet`).
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { CLI_ERRORS, exitCode, run } from "./Cli.js"
import { normalizeArgs } from "./internal/args.js"
import { BadConfig } from "./internal/live.js"
import { logsOnStderr } from "./internal/logs.js"
import { clean, plain } from "./internal/output.js"
import { polkadotAsJson, quietPolkadot, wantsDebug, wantsJsonLogs } from "./internal/quiet.js"
import { strayNearSecret } from "./internal/secretArgs.js"

const args = normalizeArgs(process.argv.slice(2))
const jsonLogs = wantsJsonLogs(args)
if (!wantsDebug(args)) quietPolkadot()
else if (jsonLogs) polkadotAsJson()
const stray = strayNearSecret(args)
// Colour only on a terminal, and never with NO_COLOR: the help and @effect/cli's messages included.
const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
/** One line on stderr: plain and escaped (a message may quote a provider or the chain), or a JSON log line. */
const report = (message: string) =>
  Console.error(
    jsonLogs
      ? JSON.stringify({
        timestamp: new Date().toISOString(),
        level: "ERROR",
        message: `checkpointer: ${message}`,
        annotations: {}
      })
      : `checkpointer: ${clean(message)}`
  )
NodeRuntime.runMain(
  (stray === undefined ? run([...process.argv.slice(0, 2), ...args]) : Effect.fail(new BadConfig({ message: stray })))
    .pipe(
      Effect.catchAll((failure: unknown) =>
        Effect.gen(function*() {
          const error = failure as { readonly _tag: string; readonly message?: string }
          // @effect/cli has already printed its own validation errors; everything else is one line here.
          if (!CLI_ERRORS.has(error._tag)) {
            yield* report(error.message ?? error._tag)
          }
          process.exitCode = exitCode(error)
        })
      ),
      // A defect (a bug, ours or a library's) is one line too, never a silent exit 1.
      Effect.catchAllDefect((defect) =>
        Effect.zipRight(
          report(`unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`),
          Effect.sync(() => (process.exitCode = 1))
        )
      ),
      (effect) => colour ? effect : Console.consoleWith((console) => Effect.withConsole(effect, plain(console))),
      Effect.provide(NodeContext.layer),
      // Log lines on stderr, once (runMain's own pretty logger would write them to stdout).
      Effect.provide(logsOnStderr(jsonLogs ? "json" : "pretty"))
    ),
  {
    disableErrorReporting: true,
    disablePrettyLogger: true,
    // An exit code a command set (an interrupted `submit` whose outcome is unknown) survives a signal,
    // which otherwise ends the process with 0.
    teardown: (exit, onExit) =>
      onExit(
        typeof process.exitCode === "number" && process.exitCode !== 0
          ? process.exitCode
          : Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
          ? 1
          : 0
      )
  }
)

/**
 * `checkpointer-devchain`: runs a devchain until Ctrl-C.
 *
 * ```
 * checkpointer-devchain [--port 9944] [--era C|A] [--block-mode interval|instant|manual]
 *                       [--block-time 1000] [--finality-lag 1] [--config devchain.json] [--quiet]
 * ```
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { cliProgram } from "./internal/cli.js"

NodeRuntime.runMain(
  cliProgram(process.argv.slice(2)).pipe(
    Effect.catchTag("DevchainError", (error) =>
      Console.error(`checkpointer-devchain: ${error.message}`).pipe(
        Effect.zipRight(Effect.sync(() => (process.exitCode = 2)))
      ))
  ),
  { disableErrorReporting: false }
)

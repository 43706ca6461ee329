/**
 * The `checkpointer` command: `devnet`, `run`, `submit`, `collect`, `status`.
 *
 * Exit codes: 0 done; 2 bad flags or configuration; 3 no consensus (or no provider answered);
 * 4 the checkpoint transaction failed; 5 the chain could not be reached or read; 1 anything else.
 *
 * @since 0.1.0
 */
import { Command, HelpDoc } from "@effect/cli"

import { bucketCommand } from "./internal/commands/bucket.js"
import { collectCommand } from "./internal/commands/collect.js"
import { configCommand } from "./internal/commands/config.js"
import { devnetCommand } from "./internal/commands/devnet.js"
import { runCommand } from "./internal/commands/run.js"
import { statusCommand } from "./internal/commands/status.js"
import { submitCommand } from "./internal/commands/submit.js"

export { CLI_ERRORS, EXIT_INTERRUPTED, EXIT_OUTCOME_UNKNOWN, EXIT_SPEND_LIMIT, exitCode } from "./internal/exitCodes.js"

const row = (name: string, text: string) => HelpDoc.p(`${name.padEnd(30)} ${text}`)

/** The root's help: what it is, the exit codes, the environment (every setting also has its variable). */
const ROOT_DESCRIPTION = HelpDoc.blocks([
  HelpDoc.p("automated checkpoints for Scalable Web3 Storage"),
  HelpDoc.h2("EXIT CODES"),
  HelpDoc.blocks([
    row(
      "0",
      "done, or nothing to do (the chain already holds the checkpoint); run stopped by a signal; --dry-run that would submit or has nothing to do"
    ),
    row(
      "2",
      "bad flags, configuration, signer (none, invalid, or not a Writer/Admin of the bucket), journal or cluster database"
    ),
    row("3", "no consensus: too few providers agree, or too few valid signatures"),
    row(
      "4",
      "refused before sending (conflicts with the chain's snapshot, range regression, ...) or the transaction failed"
    ),
    row("5", "the chain could not be reached or read"),
    row("6", "submit interrupted after sending: outcome not known yet (rerun with the same journal)"),
    row(
      "7",
      "a spend guardrail refused it: fee above maxFeePerCheckpoint, budget exhausted, balance below minimumBalance"
    ),
    row("130", "interrupted before anything was sent"),
    row("1", "anything else (a bug: please report it)")
  ]),
  HelpDoc.h2("ENVIRONMENT"),
  HelpDoc.blocks([
    row("CHECKPOINTER_CHAIN_ENDPOINTS", "comma-separated node URLs (default ws://127.0.0.1:9944)"),
    row("CHECKPOINTER_SIGNER_SURI", "the signer's secret URI (never printed)"),
    row(
      "CHECKPOINTER_JOURNAL_DIR",
      "the journal directory (else $XDG_STATE_HOME/checkpointer, else ~/.local/state/checkpointer)"
    ),
    row(
      "CHECKPOINTER_<SETTING>",
      "any setting, e.g. CHECKPOINTER_ROUND_DEADLINE=\"90 seconds\" (list: checkpointer config check)"
    ),
    row(
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "run, submit: export traces over OTLP/HTTP to this collector (off when unset; OTEL_EXPORTER_OTLP_* honoured)"
    ),
    row("OTEL_SERVICE_NAME", "the traces' service.name (default checkpointer)"),
    row("NO_COLOR", "no colour (colour is used on a terminal only)")
  ]),
  HelpDoc.p(
    "Precedence: flags (--set key=value), then the config file (--config), then the environment, then defaults."
  )
])

const root = Command.make("checkpointer").pipe(
  Command.withDescription(ROOT_DESCRIPTION),
  Command.withSubcommands([
    devnetCommand,
    runCommand,
    submitCommand,
    collectCommand,
    statusCommand,
    configCommand,
    bucketCommand
  ])
)

/**
 * Runs the command line (`process.argv`).
 *
 * @since 0.1.0
 * @category entry
 */
export const run = Command.run(root, { name: "checkpointer", version: "0.1.0" })

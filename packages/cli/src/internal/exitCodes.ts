/**
 * The exit codes of the command, and the code of each failure.
 *
 * @internal
 */

/**
 * Exit code of a `submit` stopped by a signal after its transaction was sent: the outcome is not known
 * yet (rerunning with the same journal settles it).
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_OUTCOME_UNKNOWN = 6

/**
 * Exit code of a checkpoint refused by a spend guardrail (fee above the cap, budget exhausted, balance
 * below the minimum): nothing was signed or paid.
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_SPEND_LIMIT = 7

/**
 * Exit code of a command stopped by a signal before it sent anything (128 + SIGINT's number).
 *
 * @since 0.1.0
 * @category entry
 */
export const EXIT_INTERRUPTED = 130

/**
 * The errors of the command line itself (an unknown subcommand or flag, a missing or bad value), which
 * `@effect/cli` has already explained on stderr. All exit with 2, but a request for help.
 *
 * @since 0.1.0
 * @category entry
 */
export const CLI_ERRORS: ReadonlySet<string> = new Set([
  "CommandMismatch",
  "CorrectedFlag",
  "HelpRequested",
  "InvalidArgument",
  "InvalidValue",
  "MissingFlag",
  "MissingValue",
  "MissingSubcommand",
  "MultipleValuesDetected",
  "NoBuiltInMatch",
  "UnclusteredFlag"
])

/**
 * The process exit code of a failure.
 *
 * @since 0.1.0
 * @category entry
 */
export const exitCode = (error: { readonly _tag: string; readonly reason?: unknown }): number => {
  if (CLI_ERRORS.has(error._tag)) return error._tag === "HelpRequested" ? 0 : 2
  switch (error._tag) {
    case "BadConfig":
    case "SignerCannotSubmit":
    case "BucketNotFound":
    case "JournalFailed":
    case "RegistryError":
      return 2
    case "SpendLimit":
      return EXIT_SPEND_LIMIT
    case "SubmissionRefused":
      // Nothing was sent: a signer that cannot submit is configuration; too few signatures is consensus;
      // a spend guardrail has its own code; the rest (the snapshot, an earlier extrinsic in doubt, a call
      // the runtime lacks, signing or preparing the extrinsic failed: `PrepareFailed`) exit as a failed
      // transaction would.
      return error.reason === "NoSigner" || error.reason === "NotBucketWriter"
        ? 2
        : error.reason === "NoConsensus" || error.reason === "InsufficientSignatures"
        ? 3
        : error.reason === "FeeAboveCap" || error.reason === "BudgetExhausted" || error.reason === "BalanceBelowMinimum"
        ? EXIT_SPEND_LIMIT
        : 4
    case "InsufficientConsensus":
    case "ProvidersUnreachable":
    case "NoProviders":
      return 3
    case "TransactionFailed":
      return 4
    case "ChainUnavailable":
    case "ConnectionFailed":
    case "ChainSpecUnreadable":
      return 5
    default:
      return 1
  }
}

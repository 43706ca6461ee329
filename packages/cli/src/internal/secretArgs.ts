/**
 * A secret given on the command line must never be echoed back. @effect/cli repeats an argument it does
 * not understand (`Received unknown argument: 'winner'`): with a mnemonic passed to `--suri` unquoted,
 * that is one of its words. So when `--suri` is present, arguments are checked here first, and one that
 * is not understood is reported without repeating it.
 *
 * @internal
 */

/** Options that take a value (the next argument, or `--name=value`). */
const VALUED = new Set([
  "--chain",
  "--client",
  "--config",
  "--suri",
  "--journal",
  "--cluster",
  "--runner-address",
  "--bucket",
  "--interval-blocks",
  "--interval-seconds",
  "--threshold",
  "--providers",
  "--lagging",
  "--flaky",
  "--failing-after",
  "--block-time",
  "--write-every",
  "--port",
  "--rounds",
  "--chain-spec",
  "--log-level",
  "--log-format",
  "--set",
  "--listen"
])

/**
 * With `--suri` among the arguments (after the program and script), whether one of them is a stray
 * word: neither the subcommand, nor an option, nor an option's value. `undefined` when there is none.
 */
export const strayNearSecret = (args: ReadonlyArray<string>): string | undefined => {
  if (!args.some((a) => a === "--suri" || a.startsWith("--suri="))) return undefined
  // The words a command line may hold besides options: the subcommand, and `config check FILE`.
  let words = 0
  let allowed = 1
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg.startsWith("-")) {
      if (VALUED.has(arg)) i++
      continue
    }
    words++
    if (words === 1 && arg === "config") allowed = 3
    if (words <= allowed) continue
    return "an argument was not understood (not repeated here: it may be part of the secret given to --suri; " +
      "quote a mnemonic as one argument, or use CHECKPOINTER_SIGNER_SURI)"
  }
  return undefined
}

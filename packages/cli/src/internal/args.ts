/**
 * The command line before `@effect/cli` reads it: its built-in `--log-level` is accepted anywhere (it
 * reads it only right after the subcommand's name).
 *
 * @internal
 */

const SUBCOMMANDS = new Set(["devnet", "run", "submit", "collect", "status", "config"])

/** Moves `--log-level X` / `--log-level=X` to just after the (first) subcommand, keeping everything else in order. */
export const normalizeArgs = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const moved: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === "--log-level" && i + 1 < args.length) {
      moved.push(arg, args[i + 1])
      i++
    } else if (arg.startsWith("--log-level=")) {
      moved.push(arg)
    } else {
      rest.push(arg)
    }
  }
  if (moved.length === 0) return args
  const at = rest.findIndex((a) => SUBCOMMANDS.has(a))
  if (at < 0) return [...moved, ...rest]
  // `config check`: after the nested subcommand's name.
  const end = rest[at] === "config" && rest[at + 1] === "check" ? at + 2 : at + 1
  return [...rest.slice(0, end), ...moved, ...rest.slice(end)]
}

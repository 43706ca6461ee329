/**
 * The command line before `@effect/cli` reads it, so that flags are accepted in any position:
 * `@effect/cli` reads a subcommand's flags only after the subcommand's name, and its built-in
 * `--log-level` only right after it. Flags given before the subcommand (`checkpointer --json status …`)
 * and `--log-level` anywhere are moved to just after the subcommand's name; the root's own `--help`,
 * `-h`, `--version` and `--wizard` stay where they are.
 *
 * @internal
 */

const SUBCOMMANDS = new Set(["devnet", "run", "submit", "collect", "status", "config", "bucket"])
/** The subcommands with subcommands of their own, and those. */
const NESTED: Readonly<Record<string, ReadonlySet<string>>> = {
  config: new Set(["check"]),
  bucket: new Set(["add", "remove", "pause", "resume", "list"])
}
const ROOT_FLAGS = new Set(["--help", "-h", "--version", "--wizard", "--completions"])

export const normalizeArgs = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const at = args.findIndex((a) => SUBCOMMANDS.has(a))
  if (at < 0) return args
  const before = args.slice(0, at)
  const movedBefore = before.filter((a) => !ROOT_FLAGS.has(a))
  const keptBefore = before.filter((a) => ROOT_FLAGS.has(a))
  const after = args.slice(at + 1)
  const moved: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < after.length; i++) {
    const arg = after[i]
    if (arg === "--log-level" && i + 1 < after.length) {
      moved.push(arg, after[i + 1])
      i++
    } else if (arg.startsWith("--log-level=")) {
      moved.push(arg)
    } else {
      rest.push(arg)
    }
  }
  // `config check`, `bucket add`: after the nested subcommand's name.
  const nested = rest[0] !== undefined && NESTED[args[at]!]?.has(rest[0]) === true ? [rest.shift()!] : []
  return [...keptBefore, args[at], ...nested, ...moved, ...movedBefore, ...rest]
}

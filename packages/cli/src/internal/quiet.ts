/**
 * `@polkadot/api` logs on the console by itself (`API-WS: disconnected from ws://…` every second while a
 * node is down, `RPC-CORE: …` for a failed call). The command reports what matters in its own words
 * (chain connection lost and regained, typed errors), so those lines are kept out of stdout and stderr
 * unless the operator asks for them with `--log-level debug` (or `trace`, `all`).
 *
 * @internal
 */

/** The date `@polkadot/util`'s logger puts first, then its padded `ORIGIN:` prefix. */
const DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/
const PREFIX = /^\s*[A-Z][A-Z0-9/_-]*:$/

/** Whether a console call is one of `@polkadot/util`'s logger lines. */
export const isPolkadotLog = (args: ReadonlyArray<unknown>): boolean =>
  args.length >= 2 && typeof args[0] === "string" && DATE.test(args[0]) && typeof args[1] === "string" &&
  PREFIX.test(args[1])

/** Whether the command line asks for debug output. */
export const wantsDebug = (args: ReadonlyArray<string>): boolean =>
  args.some((a, i) =>
    (a === "--log-level" && ["debug", "trace", "all"].includes(args[i + 1] ?? "")) ||
    ["--log-level=debug", "--log-level=trace", "--log-level=all"].includes(a)
  )

/** Whether the command line asks for JSON log lines (`--log-format json`). */
export const wantsJsonLogs = (args: ReadonlyArray<string>): boolean =>
  args.some((a, i) => (a === "--log-format" && args[i + 1] === "json") || a === "--log-format=json")

/**
 * With JSON logs, `@polkadot/util`'s logger lines (shown at debug level) become JSON log lines on stderr
 * like the command's own (`timestamp`, `level`, `message`, `annotations.origin`), so that stderr stays
 * one JSON object per line.
 */
export const polkadotAsJson = (): void => {
  /* eslint-disable no-console */
  for (const method of ["log", "info", "warn", "error"] as const) {
    const original = console[method].bind(console)
    console[method] = (...args: Array<unknown>) => {
      if (!isPolkadotLog(args)) return original(...args)
      const [, origin, ...rest] = args as [string, string, ...Array<unknown>]
      process.stderr.write(
        `${
          JSON.stringify({
            timestamp: new Date().toISOString(),
            level: method === "error" ? "ERROR" : method === "warn" ? "WARN" : "DEBUG",
            message: rest.map((part) => typeof part === "string" ? part : String(part)).join(" "),
            annotations: { origin: origin.trim().replace(/:$/, "") }
          })
        }\n`
      )
    }
  }
  /* eslint-enable no-console */
}

/** Drops `@polkadot/util`'s logger lines from the console (for the life of the process). */
export const quietPolkadot = (): void => {
  // The one place this command touches the global console: to filter another library's output.
  /* eslint-disable no-console */
  for (const method of ["log", "info", "warn", "error"] as const) {
    const original = console[method].bind(console)
    console[method] = (...args: Array<unknown>) => {
      if (!isPolkadotLog(args)) original(...args)
    }
  }
  /* eslint-enable no-console */
}

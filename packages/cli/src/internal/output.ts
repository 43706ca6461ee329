/**
 * Output for people (tables, colour on a TTY) and for programs (`--json`: one JSON object per line).
 *
 * @internal
 */
import { ChainClient } from "@checkpointer/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export interface Output {
  readonly json: boolean
  readonly color: boolean
}

export const makeOutput = (json: boolean): Output => ({
  json,
  color: !json && process.stdout.isTTY === true && process.env.NO_COLOR === undefined
})

/** A checkpoint receipt as a `--json` record's field. */
export const encodeReceipt = (receipt: ChainClient.CheckpointReceipt) =>
  Schema.encodeSync(ChainClient.CheckpointReceipt)(receipt)

const paint = (code: number) => (out: Output, text: string) => out.color ? `\u001b[${code}m${text}\u001b[0m` : text
export const green = paint(32)
export const red = paint(31)
export const yellow = paint(33)
export const dim = paint(2)
export const bold = paint(1)

/**
 * Text that came from a provider or the chain, made safe to print on a terminal: control characters
 * (C0, DEL, C1), line and paragraph separators and bidirectional overrides are shown as `\xNN` /
 * `\uNNNN` escapes, so a hostile string can neither move the cursor, retitle the terminal nor
 * overwrite what was printed before it. (`--json` output is exact: JSON escapes them itself.)
 */
export const clean = (text: string): string =>
  text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      const code = c.charCodeAt(0)
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
    }
  )

/** JSON with bigints as decimal strings and byte arrays as hex. */
export const toJson = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    typeof v === "bigint"
      ? v.toString()
      : v instanceof Uint8Array
      ? `0x${Buffer.from(v).toString("hex")}`
      : v)

/** One line for people, or one JSON object for programs (with `at`, the ISO time it was written). */
export const emit = (out: Output, human: string | (() => string), record: Record<string, unknown>) =>
  out.json
    ? Console.log(toJson({ at: new Date().toISOString(), ...record }))
    : Console.log(typeof human === "string" ? human : human())

/** A table: columns padded to their widest cell. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "")
  const widths = rows.reduce<Array<number>>(
    (w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, strip(cell).length)),
    []
  )
  return rows.map((row) =>
    row.map((cell, i) => cell + " ".repeat((widths[i] ?? 0) - strip(cell).length)).join("  ").trimEnd()
  )
    .join("\n")
}

/** A progress line on stderr while `effect` runs (TTY only; nothing for programs). */
export const withProgress = <A, E, R>(out: Output, label: string, effect: Effect.Effect<A, E, R>) => {
  if (out.json || process.stderr.isTTY !== true) return effect
  return Effect.acquireUseRelease(
    Effect.sync(() => process.stderr.write(`… ${label}`)),
    () => effect,
    () => Effect.sync(() => process.stderr.write("\r\u001b[2K"))
  )
}

export const short = (hex: string) => `${hex.slice(0, 10)}…`

const ANSI = /\u001b\[[0-9;]*m/g

/** A console with colour codes removed (for `@effect/cli`'s help and messages off a terminal). */
export const plain = (console: Console.Console): Console.Console => {
  const strip = (args: ReadonlyArray<unknown>) => args.map((a) => typeof a === "string" ? a.replace(ANSI, "") : a)
  return {
    ...console,
    log: (...args) => console.log(...strip(args)),
    error: (...args) => console.error(...strip(args))
  }
}

/**
 * Benchmarks write their figures into `bench/results.json` (one key per benchmark), machine-readable.
 */
import * as Effect from "effect/Effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const FILE = fileURLToPath(new URL("./results.json", import.meta.url))

export const recordResults = (name: string, figures: Record<string, unknown>) =>
  Effect.sync(() => {
    const all = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, "utf8")) as Record<string, unknown>) : {}
    all[name] = { ...figures, measuredAt: new Date().toISOString(), node: process.version }
    writeFileSync(FILE, JSON.stringify(all, null, 2) + "\n")
  })

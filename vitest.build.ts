/**
 * Global setup of every project: brings the compiled JavaScript up to date when a package's sources are
 * newer than its last build. Vitest loads the TypeScript sources (the `@checkpointer/source` export
 * condition), but the processes the tests spawn do not: the `checkpointer` and `checkpointer-devchain`
 * bins, and tsx children importing a package by name, run `build/esm`. Without this, a test run after an
 * edit would check the edited sources in process and the previous build in its children.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.dirname(fileURLToPath(import.meta.url))
const packagesDir = path.join(root, "packages")
const TSC = path.join(root, "node_modules", "typescript", "bin", "tsc")

const newestIn = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const file = path.join(dir, entry.name)
    return Math.max(newest, entry.isDirectory() ? newestIn(file) : statSync(file).mtimeMs)
  }, 0)

const stalePackages = () =>
  readdirSync(packagesDir).filter((name) => {
    const src = path.join(packagesDir, name, "src")
    const buildInfo = path.join(packagesDir, name, "build", "tsbuildinfo", "src.tsbuildinfo")
    return existsSync(src) && (!existsSync(buildInfo) || newestIn(src) > statSync(buildInfo).mtimeMs)
  })

// Projects run their global setups one after another in one process: the first builds, the rest find
// the build current (or share the attempt, when type errors leave the build information behind).
const BUILT = Symbol.for("checkpointer.vitest.build")

export default function setup() {
  const state = globalThis as { [BUILT]?: true }
  if (state[BUILT]) return
  state[BUILT] = true
  const stale = stalePackages()
  if (stale.length > 0) compile(stale)
  // The `checkpointer` bin runs the one-file bundle when it is newer than every build: made again here
  // when it is not, so that the spawned commands start in under a second.
  if (!bundleIsFresh()) {
    const bundled = spawnSync(process.execPath, [path.join(root, "scripts", "bundle-cli.mjs")], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000
    })
    if (bundled.status !== 0) console.warn(`bundle-cli: ${bundled.stderr || bundled.error}; the bin runs build/esm`)
  }
}

const BUNDLE = path.join(packagesDir, "cli", "build", "bundle", "checkpointer.mjs")

const bundleIsFresh = () =>
  existsSync(BUNDLE) && readdirSync(packagesDir).every((name) => {
    const buildInfo = path.join(packagesDir, name, "build", "tsbuildinfo", "src.tsbuildinfo")
    return !existsSync(buildInfo) || statSync(buildInfo).mtimeMs <= statSync(BUNDLE).mtimeMs
  })

const compile = (stale: ReadonlyArray<string>) => {
  console.log(`Building ${stale.join(", ")} (tsc -b tsconfig.build.json): the tests spawn the compiled bins`)
  const tsc = spawnSync(process.execPath, [TSC, "-b", "tsconfig.build.json"], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000
  })
  if (tsc.error !== undefined) throw tsc.error
  if (tsc.status !== 0) {
    const errors = tsc.stdout.split("\n").filter((line) => line.includes("error TS")).length
    // Type errors are the typecheck step's to report; tsc has emitted the JavaScript all the same.
    console.warn(`tsc -b: ${errors} type error(s); the spawned processes run the JavaScript it emitted`)
  }
}

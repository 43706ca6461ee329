#!/usr/bin/env node
// Runs the compiled JavaScript: the bundle (build/bundle, from `npm run build`: an entry that holds what
// parsing the command line needs, and chunks loaded when a command needs them) when it is newer than every
// package's build, else the modules `tsc -b` writes to build/esm (a few seconds to load ~1,900 modules).
// In a working copy not built yet, one line says so instead of a stack trace. No fallback to the sources through tsx: that
// start-up takes seconds, and a published package has no tsx.
import { existsSync, readdirSync, statSync } from "node:fs"
import * as module from "node:module"

// Node 22.1+ keeps the compiled code of the modules it loads on disk and reuses it at the next start
// (what is left of start-up is mostly compiling and evaluating the bundle); Node 20 has no such cache and
// this does nothing there.
module.enableCompileCache?.()

// A module missing from the build/esm of this package or of one it imports.
const UNBUILT = /Cannot find module '([^']*[/\\]build[/\\]esm[/\\][^']*)'/

const bundle = new URL("../build/bundle/checkpointer.mjs", import.meta.url)

/** The bundle exists and no package was compiled after it (a rebuild without bundling makes it stale). */
const bundleIsFresh = () => {
  if (!existsSync(bundle)) return false
  const bundled = statSync(bundle).mtimeMs
  const packages = new URL("../../", import.meta.url)
  return readdirSync(packages).every((name) => {
    const info = new URL(`${name}/build/tsbuildinfo/src.tsbuildinfo`, packages)
    return !existsSync(info) || statSync(info).mtimeMs <= bundled
  })
}

try {
  await import(bundleIsFresh() ? bundle.href : "../build/esm/bin.js")
} catch (error) {
  const missing = error?.code === "ERR_MODULE_NOT_FOUND" ? UNBUILT.exec(error.message) : null
  if (missing === null) throw error
  console.error(`checkpointer: not built (${missing[1]} is missing); run \`npm run build\` first`)
  process.exitCode = 1
}

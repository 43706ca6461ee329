#!/usr/bin/env node
// Runs the compiled JavaScript (`tsc -b` writes it to build/esm; a published package ships it). In a
// working copy not built yet, one line says so instead of a stack trace. No fallback to the sources
// through tsx: that start-up takes seconds, the sources import the other packages' compiled exports
// anyway, and a published package has no tsx.

// A module missing from the build/esm of this package or of one it imports.
const UNBUILT = /Cannot find module '([^']*[/\\]build[/\\]esm[/\\][^']*)'/

try {
  await import("../build/esm/bin.js")
} catch (error) {
  const missing = error?.code === "ERR_MODULE_NOT_FOUND" ? UNBUILT.exec(error.message) : null
  if (missing === null) throw error
  console.error(`checkpointer-devchain: not built (${missing[1]} is missing); run \`npm run build\` first`)
  process.exitCode = 1
}

// Bundles the compiled `checkpointer` command (packages/cli/build/esm/bin.js, from `tsc -b`) into one
// file, packages/cli/build/bundle/checkpointer.mjs: Node then loads one module instead of ~1,900, and
// the command starts in well under a second instead of about three. Chopsticks stays outside the bundle
// (it starts a worker from a file beside its own module), as do the optional native helpers of `ws`.
// The bin uses the bundle only when it is newer than every package's build, so a stale bundle is never
// run after the sources were rebuilt.
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["packages/cli/build/esm/bin.js"],
  outfile: "packages/cli/build/bundle/checkpointer.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@acala-network/*", "bufferutil", "utf-8-validate", "pg-native"],
  // Some dependencies are CommonJS and call `require`: give the ES module bundle one.
  banner: {
    js:
      "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
  },
  logLevel: "warning"
})

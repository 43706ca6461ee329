// Bundles the compiled `checkpointer` command (packages/cli/build/esm/bin.js, from `tsc -b`) into
// packages/cli/build/bundle: checkpointer.mjs, the entry, and chunks/ that it imports when a command
// needs them. Node then loads a few modules instead of ~1,900. The entry holds only what parsing the
// command line needs (effect, @effect/cli, the settings); the chain clients (@polkadot/api,
// polkadot-api), the PostgreSQL journal and cluster, the operator's endpoints and OpenTelemetry, the
// devnet are chunks the command imports (`import()`) when it gets to them, so `--help` and
// `config check` never load them and `status` loads them only once its settings are valid.
// Chopsticks stays outside the bundle (it starts a worker from a file beside its own module), as do the
// optional native helpers of `ws`. The bin uses the bundle only when it is newer than every package's
// build, so a stale bundle is never run after the sources were rebuilt.
import * as esbuild from "esbuild"
import { rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const outdir = "packages/cli/build/bundle"

// Chunks are named by their content's hash: a rebuild would otherwise leave the previous ones beside it.
rmSync(new URL(`../${outdir}`, import.meta.url), { recursive: true, force: true })

await esbuild.build({
  absWorkingDir: root,
  entryPoints: { checkpointer: "packages/cli/build/esm/bin.js" },
  outdir,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@acala-network/*", "bufferutil", "utf-8-validate", "pg-native"],
  // Some dependencies are CommonJS and call `require`: give each module of the bundle one.
  banner: {
    js:
      "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
  },
  logLevel: "warning"
})

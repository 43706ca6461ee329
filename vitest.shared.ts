import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))

// Packages export their compiled JavaScript (build/esm) to consumers; the `@checkpointer/source` export
// condition has the workspace's tests load the TypeScript sources instead (Vitest adds these conditions
// to its defaults).
const conditions = ["@checkpointer/source"]

const config: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: [path.join(root, "vitest.build.ts")],
    setupFiles: [path.join(root, "vitest.setup.ts")],
    sequence: { concurrent: true },
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
}

export default config

import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))

const config: ViteUserConfig = {
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [path.join(root, "vitest.setup.ts")],
    sequence: { concurrent: true },
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
}

export default config

import { defineWorkspace } from "vitest/config"

// vitest 3.2 still reads a workspace file (it prints a deprecation notice); vitest 4+ moves this list
// into the root config's `test.projects`. Each package merges `vitest.shared.ts` into its own config.
export default defineWorkspace(["packages/*/vitest.config.ts"])

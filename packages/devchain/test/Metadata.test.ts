import { describe, expect, it } from "@effect/vitest"
import { Metadata, TypeRegistry } from "@polkadot/types"
import { buildMetadata } from "../src/internal/runtime.js"

describe("metadata", () => {
  it("decodes with polkadot.js", () => {
    const registry = new TypeRegistry()
    const metadata = new Metadata(registry, buildMetadata("C"))
    registry.setMetadata(metadata)
    const tx = registry.findMetaCall(new Uint8Array([50, 30]))
    expect(tx.method).toBe("checkpoint")
    expect(metadata.asLatest.pallets.map((p) => p.name.toString())).toContain("StorageProvider")
  })
})

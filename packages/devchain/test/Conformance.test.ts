/**
 * The devchain's era-A profile against the real runtime's metadata (../shared/fixtures): every
 * StorageProvider call, storage item, event and error the devchain defines must match the real one
 * in name, index and structure (field names and resolved types). Skipped, with the reason printed,
 * without the fixtures.
 */
import { describe, expect, it } from "@effect/vitest"
import { Metadata, TypeRegistry } from "@polkadot/types"
import type { Si1Field, Si1LookupTypeId } from "@polkadot/types/interfaces"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { buildMetadata } from "../src/internal/runtime.js"

const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/storage-local.metadata.hex", import.meta.url))
const present = existsSync(FIXTURE)
if (!present) {
  console.warn(`devchain conformance skipped: ${FIXTURE} not found (the fixtures sit beside the project in CI)`)
}

/** The StorageProvider pallet of a metadata, every type spelled out structurally. */
const describePallet = (bytes: Uint8Array | `0x${string}`) => {
  const registry = new TypeRegistry()
  const metadata = new Metadata(registry, bytes)
  registry.setMetadata(metadata)
  const lookup = registry.lookup
  const latest = metadata.asLatest
  const pallet = latest.pallets.find((p) => p.name.toString() === "StorageProvider")
  if (pallet === undefined) throw new Error("no StorageProvider pallet")

  const typeOf = (id: Si1LookupTypeId | number, depth = 0): string => {
    if (depth > 12) return "…"
    const def = lookup.getSiType(id).def
    const fields = (list: ReadonlyArray<Si1Field>) =>
      list.map((f) => `${f.name.isSome ? `${f.name.unwrap().toString()}: ` : ""}${typeOf(f.type, depth + 1)}`).join(
        ", "
      )
    if (def.isPrimitive) return def.asPrimitive.type.toLowerCase()
    if (def.isCompact) return `Compact<${typeOf(def.asCompact.type, depth + 1)}>`
    if (def.isSequence) return `Vec<${typeOf(def.asSequence.type, depth + 1)}>`
    if (def.isArray) return `[${typeOf(def.asArray.type, depth + 1)}; ${def.asArray.len.toNumber()}]`
    if (def.isTuple) return `(${def.asTuple.map((t) => typeOf(t, depth + 1)).join(", ")})`
    if (def.isComposite) return `{${fields(def.asComposite.fields)}}`
    if (def.isVariant) {
      return `enum{${
        def.asVariant.variants.map((v) => `${v.index.toNumber()}:${v.name.toString()}(${fields(v.fields)})`).join(" | ")
      }}`
    }
    return def.type
  }
  const variants = (id: Si1LookupTypeId | undefined) =>
    id === undefined ? [] : lookup.getSiType(id).def.asVariant.variants.map((v) => ({
      index: v.index.toNumber(),
      name: v.name.toString(),
      fields: v.fields.map((f) => `${f.name.unwrapOr("").toString()}: ${typeOf(f.type)}`)
    }))
  const storage = new Map(
    (pallet.storage.isSome ? pallet.storage.unwrap().items : []).map((item) => {
      const type = item.type
      const shape = type.isPlain
        ? { kind: "Plain", value: typeOf(type.asPlain) }
        : {
          kind: "Map",
          hashers: type.asMap.hashers.map((h) => h.toString()),
          key: typeOf(type.asMap.key),
          value: typeOf(type.asMap.value)
        }
      return [item.name.toString(), { modifier: item.modifier.toString(), ...shape }] as const
    })
  )
  return {
    calls: variants(pallet.calls.isSome ? pallet.calls.unwrap().type : undefined),
    events: variants(pallet.events.isSome ? pallet.events.unwrap().type : undefined),
    errors: variants(pallet.errors.isSome ? pallet.errors.unwrap().type : undefined).map((e) => `${e.index}:${e.name}`),
    storage,
    index: pallet.index.toNumber()
  }
}

describe.skipIf(!present)("the devchain's era-A profile conforms to the real runtime's StorageProvider", () => {
  const real = present ? describePallet(readFileSync(FIXTURE, "utf8").trim() as `0x${string}`) : undefined
  const ours = describePallet(buildMetadata("A"))

  it("sits at the same pallet index", () => {
    expect(ours.index).toBe(real!.index)
  })

  it("has every call it defines at the real index, with the real argument names and types", () => {
    for (const call of ours.calls) {
      const theirs = real!.calls.find((c) => c.name === call.name)
      expect(theirs, call.name).toBeDefined()
      expect(call, call.name).toEqual(theirs)
    }
  })

  it("has every storage item it defines with the real hashers, key and value types", () => {
    for (const [name, item] of ours.storage) {
      expect(item, name).toEqual(real!.storage.get(name))
    }
  })

  it("has every event it defines at the real index, with the real fields", () => {
    for (const event of ours.events) {
      expect(event, event.name).toEqual(real!.events.find((e) => e.name === event.name))
    }
  })

  it("has the real errors, in the real order", () => {
    expect(ours.errors).toEqual(real!.errors)
  })
})

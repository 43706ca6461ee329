/**
 * Storage items under their real keys (`twox128(pallet) ++ twox128(item) ++ hasher(key)...`), and the
 * layered state the runtime writes through: a block's state is a map of raw keys to SCALE values, as a
 * node stores it, so `state_getKeysPaged` and `api.at(hash)` see exactly what the runtime wrote.
 *
 * @internal
 */
import { stringToU8a, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a, xxhashAsU8a } from "@polkadot/util-crypto"
import * as S from "./scale.js"
import type { Hex } from "./types.js"

export type Hasher = "Blake2_128Concat" | "Twox64Concat" | "Identity" | "Blake2_128" | "Blake2_256" | "Twox128"

const hashKey = (hasher: Hasher, key: Uint8Array): Uint8Array => {
  switch (hasher) {
    case "Blake2_128Concat":
      return u8aConcat(blake2AsU8a(key, 128), key)
    case "Twox64Concat":
      return u8aConcat(xxhashAsU8a(key, 64), key)
    case "Identity":
      return key
    case "Blake2_128":
      return blake2AsU8a(key, 128)
    case "Blake2_256":
      return blake2AsU8a(key, 256)
    case "Twox128":
      return xxhashAsU8a(key, 128)
  }
}

export interface StorageItem<K extends ReadonlyArray<unknown>, V> {
  readonly pallet: string
  readonly name: string
  readonly modifier: "Optional" | "Default"
  readonly keys: { readonly [I in keyof K]: readonly [Hasher, S.Codec<K[I]>] }
  readonly value: S.Codec<V>
  /** The value a `Default` item reads as when absent. */
  readonly fallback: V | undefined
  readonly docs: ReadonlyArray<string>
  readonly prefix: Hex
  readonly key: (...keys: K) => Hex
}

/** What the metadata needs of any storage item, whatever its key and value types. */
export interface DescribedItem {
  readonly name: string
  readonly modifier: "Optional" | "Default"
  readonly keys: ReadonlyArray<readonly [Hasher, S.Registrable]>
  readonly value: S.Registrable
  /** The SCALE encoding of the default value (`Default` items). */
  readonly fallbackEncoded: Uint8Array | undefined
  readonly docs: ReadonlyArray<string>
}

/** A storage item as the metadata describes it. */
export const describe = <K extends ReadonlyArray<unknown>, V>(item: StorageItem<K, V>): DescribedItem => ({
  name: item.name,
  modifier: item.modifier,
  keys: item.keys as ReadonlyArray<readonly [Hasher, S.Registrable]>,
  value: item.value,
  fallbackEncoded: item.fallback === undefined ? undefined : S.encode(item.value, item.fallback),
  docs: item.docs
})

export const storageItem = <K extends ReadonlyArray<unknown>, V>(
  pallet: string,
  name: string,
  spec: {
    readonly keys: { readonly [I in keyof K]: readonly [Hasher, S.Codec<K[I]>] }
    readonly value: S.Codec<V>
    readonly fallback?: V
    readonly docs?: ReadonlyArray<string>
  }
): StorageItem<K, V> => {
  const prefixBytes = u8aConcat(xxhashAsU8a(stringToU8a(pallet), 128), xxhashAsU8a(stringToU8a(name), 128))
  const keySpecs = spec.keys as ReadonlyArray<readonly [Hasher, S.Codec<unknown>]>
  return {
    pallet,
    name,
    modifier: spec.fallback === undefined ? "Optional" : "Default",
    keys: spec.keys,
    value: spec.value,
    fallback: spec.fallback,
    docs: spec.docs ?? [],
    prefix: u8aToHex(prefixBytes),
    key: (...keys: K) =>
      u8aToHex(
        u8aConcat(prefixBytes, ...keySpecs.map(([hasher, codec], i) => hashKey(hasher, S.encode(codec, keys[i]))))
      )
  }
}

/** Raw storage: lowercase hex keys to SCALE values. A block keeps one of these, never mutated after sealing. */
export type RawStorage = ReadonlyMap<Hex, Uint8Array>

/**
 * The state a block is built on: reads fall through the open layers to the parent block's storage;
 * `transactional` discards a failed call's writes, as FRAME does for every dispatch.
 */
export class State {
  private layers: Array<Map<Hex, Uint8Array | null>> = [new Map()]

  constructor(readonly base: RawStorage) {}

  readRaw(key: Hex): Uint8Array | undefined {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]!
      if (layer.has(key)) return layer.get(key) ?? undefined
    }
    return this.base.get(key)
  }
  writeRaw(key: Hex, value: Uint8Array | null): void {
    this.layers[this.layers.length - 1]!.set(key, value)
  }

  get<K extends ReadonlyArray<unknown>, V>(item: StorageItem<K, V>, ...keys: K): V | undefined {
    const raw = this.readRaw(item.key(...keys))
    return raw === undefined ? item.fallback : S.decode(item.value, raw)
  }
  /** For `Default` items: the stored value or the default. */
  getOr<K extends ReadonlyArray<unknown>, V>(item: StorageItem<K, V>, ...keys: K): V {
    const value = this.get(item, ...keys)
    if (value === undefined) throw new Error(`${item.pallet}.${item.name} is absent and has no default`)
    return value
  }
  put<K extends ReadonlyArray<unknown>, V>(item: StorageItem<K, V>, keys: K, value: V): void {
    this.writeRaw(item.key(...keys), S.encode(item.value, value))
  }
  remove<K extends ReadonlyArray<unknown>, V>(item: StorageItem<K, V>, ...keys: K): void {
    this.writeRaw(item.key(...keys), null)
  }
  /** Every (raw key, value) currently visible under a prefix. */
  entries(prefix: Hex): Array<[Hex, Uint8Array]> {
    const merged = new Map<Hex, Uint8Array | null>()
    for (const [k, v] of this.base) if (k.startsWith(prefix)) merged.set(k, v)
    for (const layer of this.layers) for (const [k, v] of layer) if (k.startsWith(prefix)) merged.set(k, v)
    return [...merged].filter((e): e is [Hex, Uint8Array] => e[1] !== null)
  }

  /** Runs `body`; its writes are kept only if it returns `true`. */
  transactional<A>(body: () => A, keep: (result: A) => boolean): A {
    this.layers.push(new Map())
    let result: A
    try {
      result = body()
    } catch (error) {
      this.layers.pop()
      throw error
    }
    const layer = this.layers.pop()!
    if (keep(result)) { for (const [k, v] of layer) this.writeRaw(k, v) }
    return result
  }

  /** The keys changed since `base`, and the sealed storage of the new block. */
  commit(): { readonly storage: RawStorage; readonly changed: ReadonlyArray<Hex> } {
    if (this.layers.length !== 1) throw new Error("commit inside a transactional layer")
    const storage = new Map(this.base)
    const changed: Array<Hex> = []
    for (const [k, v] of this.layers[0]!) {
      const before = this.base.get(k)
      if (v === null) {
        if (before !== undefined) changed.push(k)
        storage.delete(k)
      } else {
        if (before === undefined || u8aToHex(before) !== u8aToHex(v)) changed.push(k)
        storage.set(k, v)
      }
    }
    return { storage, changed }
  }
}

/**
 * A small SCALE type language: each definition both encodes/decodes values and registers itself in a
 * V14 portable type registry. The devchain's metadata and its storage/event/call codecs come from the
 * same definitions, so what `@polkadot/api` decodes from the metadata is what the runtime wrote, and
 * the runtime's validation does not borrow polkadot.js' decoders (whose blind spots it would share).
 *
 * @internal
 */
import { compactToU8a, u8aConcat, u8aToHex } from "@polkadot/util"

/** Thrown by a decoder on malformed input; the RPC layer turns it into a "could not decode" error. */
export class ScaleError extends Error {
  readonly _tag = "ScaleError"
}

export class Writer {
  private chunks: Array<Uint8Array> = []
  bytes(bytes: Uint8Array): void {
    this.chunks.push(bytes)
  }
  u8(value: number): void {
    this.chunks.push(Uint8Array.of(value & 0xff))
  }
  uint(value: bigint | number, size: number): void {
    const out = new Uint8Array(size)
    let v = BigInt(value)
    if (v < 0n || v >= 1n << BigInt(size * 8)) throw new ScaleError(`integer ${v} out of range for ${size} bytes`)
    for (let i = 0; i < size; i++) {
      out[i] = Number(v & 0xffn)
      v >>= 8n
    }
    this.chunks.push(out)
  }
  compact(value: bigint | number): void {
    this.chunks.push(compactToU8a(BigInt(value)))
  }
  finish(): Uint8Array {
    return u8aConcat(...this.chunks)
  }
}

export class Reader {
  offset = 0
  constructor(readonly input: Uint8Array) {}
  take(length: number): Uint8Array {
    if (length < 0 || this.offset + length > this.input.length) {
      throw new ScaleError(`unexpected end of input at ${this.offset} (wanted ${length} bytes)`)
    }
    const out = this.input.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }
  u8(): number {
    return this.take(1)[0]!
  }
  uint(size: number): bigint {
    const bytes = this.take(size)
    let v = 0n
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!)
    return v
  }
  compact(): bigint {
    const first = this.u8()
    switch (first & 0b11) {
      case 0:
        return BigInt(first >> 2)
      case 1:
        return BigInt((first | (this.u8() << 8)) >> 2)
      case 2: {
        const rest = this.take(3)
        return BigInt(((first | (rest[0]! << 8) | (rest[1]! << 16)) >>> 2) + rest[2]! * 2 ** 22)
      }
      default: {
        const length = (first >> 2) + 4
        if (length > 16) throw new ScaleError(`compact of ${length} bytes`)
        return this.uint(length)
      }
    }
  }
  /** A length prefix, bounded by what is left so a hostile prefix cannot make us allocate. */
  length(): number {
    const n = this.compact()
    if (n > BigInt(this.input.length - this.offset)) throw new ScaleError(`length ${n} exceeds the input`)
    return Number(n)
  }
  done(): void {
    if (this.offset !== this.input.length) {
      throw new ScaleError(`${this.input.length - this.offset} trailing bytes`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The portable registry builder

interface Field {
  name?: string
  type: number
  typeName?: string
  docs: Array<string>
}
type TypeDef =
  | { Composite: { fields: Array<Field> } }
  | { Variant: { variants: Array<{ name: string; fields: Array<Field>; index: number; docs: Array<string> }> } }
  | { Sequence: { type: number } }
  | { Array: { len: number; type: number } }
  | { Tuple: Array<number> }
  | { Primitive: string }
  | { Compact: { type: number } }

export interface PortableType {
  id: number
  type: { path: Array<string>; params: Array<{ name: string; type: number | null }>; def: TypeDef; docs: Array<string> }
}

export class TypeBuilder {
  readonly types: Array<PortableType> = []
  private readonly memo = new Map<unknown, number>()
  private readonly structural = new Map<string, number>()

  /** Registers a definition once; recursion is allowed because the id is reserved before `build` runs. */
  register(key: unknown, build: (id: number) => PortableType["type"]): number {
    const known = this.memo.get(key)
    if (known !== undefined) return known
    const id = this.types.length
    this.memo.set(key, id)
    const placeholder: PortableType = { id, type: { path: [], params: [], def: { Tuple: [] }, docs: [] } }
    this.types.push(placeholder)
    placeholder.type = build(id)
    return id
  }

  /** Structural types (primitives, sequences, tuples...) are shared by shape. */
  shape(def: TypeDef): number {
    const key = JSON.stringify(def)
    const known = this.structural.get(key)
    if (known !== undefined) return known
    const id = this.types.length
    this.types.push({ id, type: { path: [], params: [], def, docs: [] } })
    this.structural.set(key, id)
    return id
  }
}

// ---------------------------------------------------------------------------------------------
// Codecs

/** Codecs whose absent value (`undefined`) is meaningful: `Option`'s `None`. */
const optionalCodecs = new WeakSet<object>()
const isOptional = (codec: object) => optionalCodecs.has(codec)

/** Anything the metadata can describe. */
export interface Registrable {
  readonly register: (b: TypeBuilder) => number
}

export interface Codec<A> extends Registrable {
  readonly encodeTo: (w: Writer, value: A) => void
  readonly decodeFrom: (r: Reader) => A
}

/**
 * A codec of some value type. `Codec` is invariant (it encodes and decodes), so no `unknown`
 * instantiation accepts every codec; this alias is the one place that needs `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCodec = Codec<any>

export type TypeOf<C> = C extends Codec<infer A> ? A : never

export const encode = <A>(codec: Codec<A>, value: A): Uint8Array => {
  const w = new Writer()
  codec.encodeTo(w, value)
  return w.finish()
}

/** Decodes the whole input; trailing bytes are an error. */
export const decode = <A>(codec: Codec<A>, input: Uint8Array): A => {
  const r = new Reader(input)
  const value = codec.decodeFrom(r)
  r.done()
  return value
}

const uint = (bytes: number, primitive: string): Codec<bigint> => ({
  encodeTo: (w, v) => w.uint(v, bytes),
  decodeFrom: (r) => r.uint(bytes),
  register: (b) => b.shape({ Primitive: primitive })
})
const smallUint = (bytes: number, primitive: string): Codec<number> => ({
  encodeTo: (w, v) => w.uint(v, bytes),
  decodeFrom: (r) => Number(r.uint(bytes)),
  register: (b) => b.shape({ Primitive: primitive })
})

export const u8 = smallUint(1, "U8")
export const u16 = smallUint(2, "U16")
export const u32 = smallUint(4, "U32")
export const u64 = uint(8, "U64")
export const u128 = uint(16, "U128")
export const bool: Codec<boolean> = {
  encodeTo: (w, v) => w.u8(v ? 1 : 0),
  decodeFrom: (r) => {
    const byte = r.u8()
    if (byte > 1) throw new ScaleError(`bool byte ${byte}`)
    return byte === 1
  },
  register: (b) => b.shape({ Primitive: "Bool" })
}

export const compact = <A extends bigint | number>(inner: Codec<A>): Codec<bigint> => ({
  encodeTo: (w, v) => w.compact(v),
  decodeFrom: (r) => r.compact(),
  register: (b) => b.shape({ Compact: { type: inner.register(b) } })
})

/** `Vec<u8>`; with `max`, a `BoundedVec<u8, max>`. */
export const boundedBytes = (max?: number): Codec<Uint8Array> => ({
  encodeTo: (w, v) => {
    w.compact(v.length)
    w.bytes(v)
  },
  decodeFrom: (r) => {
    const n = r.length()
    if (max !== undefined && n > max) throw new ScaleError(`${n} bytes exceed the bound ${max}`)
    return r.take(n).slice()
  },
  register: (b) => b.shape({ Sequence: { type: u8.register(b) } })
})
export const bytes: Codec<Uint8Array> = boundedBytes()

/** `str` (UTF-8, length-prefixed). */
export const str: Codec<string> = {
  encodeTo: (w, v) => bytes.encodeTo(w, new TextEncoder().encode(v)),
  decodeFrom: (r) => new TextDecoder("utf-8", { fatal: true }).decode(bytes.decodeFrom(r)),
  register: (b) => b.shape({ Primitive: "Str" })
}

export const fixed = (len: number): Codec<Uint8Array> => ({
  encodeTo: (w, v) => {
    if (v.length !== len) throw new ScaleError(`expected ${len} bytes, got ${v.length}`)
    w.bytes(v)
  },
  decodeFrom: (r) => r.take(len).slice(),
  register: (b) => b.shape({ Array: { len, type: u8.register(b) } })
})

/** `Vec<A>`; with `max`, a `BoundedVec` whose decoding fails beyond the bound, as in FRAME. */
export const vec = <A>(item: Codec<A>, max?: number): Codec<ReadonlyArray<A>> => ({
  encodeTo: (w, v) => {
    w.compact(v.length)
    for (const x of v) item.encodeTo(w, x)
  },
  decodeFrom: (r) => {
    const n = r.length()
    if (max !== undefined && n > max) throw new ScaleError(`${n} items exceed the bound ${max}`)
    const out: Array<A> = []
    for (let i = 0; i < n; i++) out.push(item.decodeFrom(r))
    return out
  },
  register: (b) => b.shape({ Sequence: { type: item.register(b) } })
})

export const array = <A>(len: number, item: Codec<A>): Codec<ReadonlyArray<A>> => ({
  encodeTo: (w, v) => {
    if (v.length !== len) throw new ScaleError(`expected ${len} items, got ${v.length}`)
    for (const x of v) item.encodeTo(w, x)
  },
  decodeFrom: (r) => Array.from({ length: len }, () => item.decodeFrom(r)),
  register: (b) => b.shape({ Array: { len, type: item.register(b) } })
})

export const tuple = <T extends ReadonlyArray<AnyCodec>>(
  ...items: T
): Codec<{ readonly [K in keyof T]: TypeOf<T[K]> }> => ({
  encodeTo: (w, v) => items.forEach((c, i) => c.encodeTo(w, v[i])),
  decodeFrom: (r) => items.map((c) => c.decodeFrom(r)) as { readonly [K in keyof T]: TypeOf<T[K]> },
  register: (b) => b.shape({ Tuple: items.map((c) => c.register(b)) })
})

export const option = <A>(inner: Codec<A>): Codec<A | undefined> => {
  const self: Codec<A | undefined> = {
    encodeTo: (w, v) => {
      if (v === undefined) w.u8(0)
      else {
        w.u8(1)
        inner.encodeTo(w, v)
      }
    },
    decodeFrom: (r) => {
      const tag = r.u8()
      if (tag === 0) return undefined
      if (tag === 1) return inner.decodeFrom(r)
      throw new ScaleError(`Option tag ${tag}`)
    },
    register: (b) => {
      const t = inner.register(b)
      return b.register(`Option<${t}>`, () => ({
        path: ["Option"],
        params: [{ name: "T", type: t }],
        def: {
          Variant: {
            variants: [
              { name: "None", fields: [], index: 0, docs: [] },
              { name: "Some", fields: [{ type: t, docs: [] }], index: 1, docs: [] }
            ]
          }
        },
        docs: []
      }))
    }
  }
  optionalCodecs.add(self)
  return self
}

/** A struct field: a codec with the Rust type name the metadata shows. */
export interface FieldSpec<A> {
  readonly codec: Codec<A>
  readonly typeName?: string
}
type AnyFieldSpec = FieldSpec<TypeOf<AnyCodec>>
type FieldInput = AnyCodec | AnyFieldSpec
type FieldValue<F> = F extends FieldSpec<infer A> ? A : F extends Codec<infer A> ? A : never
export type StructValue<F extends Record<string, FieldInput>> = { readonly [K in keyof F]: FieldValue<F[K]> }

export const field = <A>(codec: Codec<A>, typeName: string): FieldSpec<A> => ({ codec, typeName })

const asSpec = (f: FieldInput): AnyFieldSpec => ("codec" in f ? f : { codec: f })

const registerFields = (b: TypeBuilder, fields: Record<string, FieldInput>): Array<Field> =>
  Object.entries(fields).map(([name, f]) => {
    const spec = asSpec(f)
    const type = spec.codec.register(b)
    return spec.typeName === undefined ? { name, type, docs: [] } : { name, type, typeName: spec.typeName, docs: [] }
  })

interface TypeMeta {
  readonly path: ReadonlyArray<string>
  readonly params?: ReadonlyArray<{ readonly name: string; readonly type: Registrable | null }>
  readonly docs?: ReadonlyArray<string>
}

const registerParams = (b: TypeBuilder, meta: TypeMeta) =>
  (meta.params ?? []).map((p) => ({ name: p.name, type: p.type === null ? null : p.type.register(b) }))

export const struct = <F extends Record<string, FieldInput>>(meta: TypeMeta, fields: F): Codec<StructValue<F>> => {
  const entries = Object.entries(fields).map(([name, f]) => [name, asSpec(f).codec] as const)
  const self: Codec<StructValue<F>> = {
    encodeTo: (w, v) => {
      for (const [name, codec] of entries) {
        const value = (v as Record<string, unknown>)[name]
        // A missing field must not silently encode as zero (devchain-notes §3.3).
        if (value === undefined && !isOptional(codec)) throw new ScaleError(`missing field ${name}`)
        codec.encodeTo(w, value)
      }
    },
    decodeFrom: (r) => {
      const out: Record<string, unknown> = {}
      for (const [name, codec] of entries) out[name] = codec.decodeFrom(r)
      return out as StructValue<F>
    },
    register: (b) =>
      b.register(self, () => ({
        path: [...meta.path],
        params: registerParams(b, meta),
        def: { Composite: { fields: registerFields(b, fields) } },
        docs: [...(meta.docs ?? [])]
      }))
  }
  return self
}

/** A newtype over one unnamed field (H256, AccountId32, Perbill...). */
export const newtype = <A>(meta: TypeMeta, inner: Codec<A>, typeName?: string): Codec<A> => {
  const self: Codec<A> = {
    encodeTo: inner.encodeTo,
    decodeFrom: inner.decodeFrom,
    register: (b) =>
      b.register(self, () => {
        const type = inner.register(b)
        return {
          path: [...meta.path],
          params: registerParams(b, meta),
          def: { Composite: { fields: [typeName === undefined ? { type, docs: [] } : { type, typeName, docs: [] }] } },
          docs: [...(meta.docs ?? [])]
        }
      })
  }
  return self
}

/** A variant's payload: named fields, one unnamed field, or nothing. */
export type VariantSpec =
  | { readonly index: number; readonly docs?: ReadonlyArray<string> }
  | { readonly index: number; readonly fields: Record<string, FieldInput>; readonly docs?: ReadonlyArray<string> }
  | { readonly index: number; readonly value: FieldInput; readonly docs?: ReadonlyArray<string> }

export type EnumValue<V extends Record<string, VariantSpec>> = {
  [K in keyof V & string]: V[K] extends { fields: infer F extends Record<string, FieldInput> }
    ? { readonly _tag: K } & StructValue<F>
    : V[K] extends { value: infer X } ? { readonly _tag: K; readonly value: FieldValue<X> }
    : { readonly _tag: K }
}[keyof V & string]

export const enumOf = <V extends Record<string, VariantSpec>>(meta: TypeMeta, variants: V): Codec<EnumValue<V>> => {
  const byIndex = new Map<number, [string, VariantSpec]>()
  for (const [name, spec] of Object.entries(variants)) {
    if (byIndex.has(spec.index)) throw new Error(`duplicate variant index ${spec.index} in ${meta.path.join("::")}`)
    byIndex.set(spec.index, [name, spec])
  }
  const self: Codec<EnumValue<V>> = {
    encodeTo: (w, v) => {
      const spec = variants[v._tag]
      if (spec === undefined) throw new ScaleError(`unknown variant ${v._tag}`)
      w.u8(spec.index)
      if ("fields" in spec) {
        for (const [name, f] of Object.entries(spec.fields)) {
          const value = (v as Record<string, unknown>)[name]
          if (value === undefined && !isOptional(asSpec(f).codec)) {
            throw new ScaleError(`missing field ${v._tag}.${name}`)
          }
          asSpec(f).codec.encodeTo(w, value)
        }
      } else if ("value" in spec) {
        asSpec(spec.value).codec.encodeTo(w, (v as unknown as { value: unknown }).value)
      }
    },
    decodeFrom: (r) => {
      const index = r.u8()
      const found = byIndex.get(index)
      if (found === undefined) throw new ScaleError(`${meta.path.join("::")}: no variant ${index}`)
      const [name, spec] = found
      if ("fields" in spec) {
        const out: Record<string, unknown> = { _tag: name }
        for (const [fieldName, f] of Object.entries(spec.fields)) out[fieldName] = asSpec(f).codec.decodeFrom(r)
        return out as EnumValue<V>
      }
      if ("value" in spec) return { _tag: name, value: asSpec(spec.value).codec.decodeFrom(r) } as EnumValue<V>
      return { _tag: name } as EnumValue<V>
    },
    register: (b) =>
      b.register(self, () => ({
        path: [...meta.path],
        params: registerParams(b, meta),
        def: {
          Variant: {
            variants: Object.entries(variants).map(([name, spec]) => {
              let fields: Array<Field> = []
              if ("fields" in spec) fields = registerFields(b, spec.fields)
              else if ("value" in spec) {
                const s = asSpec(spec.value)
                const type = s.codec.register(b)
                fields = [s.typeName === undefined ? { type, docs: [] } : { type, typeName: s.typeName, docs: [] }]
              }
              return { name, fields, index: spec.index, docs: [...(spec.docs ?? [])] }
            })
          }
        },
        docs: [...(meta.docs ?? [])]
      }))
  }
  return self
}

/** A codec defined later (for recursive types such as `Sudo::sudo(Box<RuntimeCall>)`). */
export const lazy = <A>(get: () => Codec<A>): Codec<A> => ({
  encodeTo: (w, v) => get().encodeTo(w, v),
  decodeFrom: (r) => get().decodeFrom(r),
  register: (b) => get().register(b)
})

/** Registers a type for the metadata only; values are handled elsewhere (e.g. `Era`, which the extrinsic parser reads). */
export const describeOnly = <A>(register: (b: TypeBuilder) => number): Codec<A> => ({
  encodeTo: () => {
    throw new ScaleError("describe-only type")
  },
  decodeFrom: () => {
    throw new ScaleError("describe-only type")
  },
  register
})

/** Maps a codec's value type (e.g. raw 32 bytes to a hex string) without changing its encoding. */
export const transform = <A, B>(inner: Codec<A>, to: (a: A) => B, from: (b: B) => A): Codec<B> => ({
  encodeTo: (w, v) => inner.encodeTo(w, from(v)),
  decodeFrom: (r) => to(inner.decodeFrom(r)),
  register: (b) => inner.register(b)
})

export const hex = (bytes: Uint8Array): `0x${string}` => u8aToHex(bytes)

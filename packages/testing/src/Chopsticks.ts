/**
 * The storage chain's real runtime, run offline under Chopsticks (pinned `@acala-network/chopsticks`
 * 1.5.1), as a scoped resource on a loopback port.
 *
 * Two things a plain `chopsticks --genesis` does not do, and this launcher does
 * (../shared/fixtures/README.md):
 *
 * - **Patch-form chain specs** (`genesis.runtimeGenesis.{code, patch}`) are turned into raw genesis by
 *   running the spec's own wasm: `GenesisBuilder_get_preset` for the defaults, the patch merged in,
 *   `GenesisBuilder_build_state` for the storage, plus `:code`.
 * - **`RelayParentOffset`** > 0: parachain-system then requires the validation-data inherent to carry
 *   the relay parent header and that many descendants, chained, each with a BABE pre-runtime digest
 *   and a BABE seal by an authority listed in the relay state proof. Chopsticks' mocked validation data
 *   carries none, so every block would panic. The launcher adds a relay-state override setting
 *   `Babe::Authorities` to a dev key and rebuilds the descendants, sealed by that key, in Chopsticks'
 *   `SetValidationData` inherent. This reaches into Chopsticks internals: the version is pinned.
 *
 * @since 0.1.0
 */
import type { Block, InherentProvider } from "@acala-network/chopsticks-core"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import { GenericExtrinsic } from "@polkadot/types"
import type { Codec } from "@polkadot/types/types"
import { compactStripLength, hexToU8a, stringToHex, u8aConcat, u8aToHex, u8aToString } from "@polkadot/util"
import { blake2AsU8a, cryptoWaitReady, xxhashAsU8a } from "@polkadot/util-crypto"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { readFile } from "node:fs/promises"

/**
 * @since 0.1.0
 * @category errors
 */
export class ChopsticksError extends Data.TaggedError("ChopsticksError")<{
  readonly stage: "ChainSpec" | "Genesis" | "Start" | "Ready"
  readonly detail: string
}> {
  override get message(): string {
    return `chopsticks ${this.stage}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ChopsticksOptions {
  /** A chain spec file: raw genesis (`genesis.raw.top`) or patch form (`genesis.runtimeGenesis`). */
  readonly chainSpec: string
  /** Loopback port (0 = any free port). */
  readonly port?: number
  /**
   * Relay-parent descendants each block's validation data must carry: "auto" reads the runtime's
   * `ParachainSystem.RelayParentOffset` constant, and without one tries 0, then 1 if no block can be
   * built otherwise; a number forces it.
   */
  readonly relayParentOffset?: number | "auto"
  /** Default "Instant": a block per submitted extrinsic. */
  readonly buildBlockMode?: "Instant" | "Batch" | "Manual"
  /** Chopsticks' own log level (default "error"). */
  readonly logLevel?: "error" | "warn" | "info" | "debug"
  /** Bound on start-up (default 60 s). */
  readonly startTimeout?: Duration.DurationInput
}

/**
 * A running Chopsticks node.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChopsticksHandle {
  readonly url: string
  readonly port: number
  /** The current head's number. */
  readonly headNumber: () => number
  /** Builds `count` blocks now. */
  readonly newBlock: (count?: number) => Effect.Effect<void, ChopsticksError>
  /** Rewinds (or moves) the head to block `number`: tests share one instance and rewind between them. */
  readonly setHead: (number: number) => Effect.Effect<void, ChopsticksError>
  /** Gives each account `free` balance (a standard `System.Account` record), at the head. */
  readonly endow: (accounts: ReadonlyArray<Uint8Array>, free: bigint) => Effect.Effect<void, ChopsticksError>
  /** Writes raw storage at the head (e.g. to endow an account), as `dev_setStorage` does. */
  readonly setStorage: (
    entries: ReadonlyArray<readonly [`0x${string}`, `0x${string}` | null]>
  ) => Effect.Effect<void, ChopsticksError>
}

// ---------------------------------------------------------------------------------------------------
// Patch-form chain specs to raw genesis

interface ChainSpecJson {
  readonly genesis?: {
    readonly raw?: { readonly top?: Record<string, string> }
    readonly runtimeGenesis?: { readonly code?: string; readonly patch?: unknown; readonly config?: unknown }
  }
  readonly [key: string]: unknown
}

const CODE_KEY = stringToHex(":code")

/** RFC 7386-style merge, as `GenesisBuilder` patches are applied: objects merge, everything else replaces. */
const mergePatch = (base: unknown, patch: unknown): unknown => {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch
  const out: Record<string, unknown> = typeof base === "object" && base !== null && !Array.isArray(base)
    ? { ...(base as Record<string, unknown>) }
    : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

// Chopsticks' loggers read LOG_LEVEL when its modules load: they are loaded on first use, after it is set.
const chopsticks = Effect.promise(async () => {
  process.env.LOG_LEVEL ??= "error"
  const [server, core] = await Promise.all([
    import("@acala-network/chopsticks"),
    import("@acala-network/chopsticks-core")
  ])
  return { setupWithServer: server.setupWithServer, ...core }
}).pipe(Effect.cached, Effect.runSync)

const call = (wasm: `0x${string}`, method: string, args: ReadonlyArray<`0x${string}`>) =>
  Effect.flatMap(chopsticks, ({ runTask }) =>
    Effect.tryPromise({
      try: () =>
        runTask(
          {
            wasm,
            calls: [[method, [...args]]],
            mockSignatureHost: false,
            allowUnresolvedImports: false,
            runtimeLogLevel: 0
          },
          // An empty state: genesis is built from nothing.
          {
            getStorage: async () => undefined,
            getNextKey: async () => undefined,
            offchainGetStorage: async () => undefined,
            offchainTimestamp: async () => Date.now(),
            offchainRandomSeed: async () => u8aToHex(new Uint8Array(32)),
            offchainSubmitTransaction: async () => false
          } as never
        ),
      catch: (error) => new ChopsticksError({ stage: "Genesis", detail: `${method}: ${String(error)}` })
    })).pipe(
      Effect.flatMap((response) =>
        "Call" in response
          ? Effect.succeed(response.Call)
          : Effect.fail(new ChopsticksError({ stage: "Genesis", detail: `${method}: ${response.Error}` }))
      )
    )

/**
 * Raw genesis storage for a chain spec: the spec's own `genesis.raw.top`, or, for a patch-form spec,
 * the storage its runtime's `GenesisBuilder` builds from the default preset with the patch applied.
 *
 * @since 0.1.0
 * @category genesis
 */
export const rawGenesis = (spec: ChainSpecJson): Effect.Effect<Record<string, string>, ChopsticksError> =>
  Effect.gen(function*() {
    const raw = spec.genesis?.raw?.top
    if (raw !== undefined) return raw
    const runtimeGenesis = spec.genesis?.runtimeGenesis
    const code = runtimeGenesis?.code
    if (runtimeGenesis === undefined || typeof code !== "string" || !code.startsWith("0x")) {
      return yield* new ChopsticksError({
        stage: "ChainSpec",
        detail: "neither genesis.raw.top nor genesis.runtimeGenesis.code"
      })
    }
    const wasm = code as `0x${string}`
    // `get_preset(None)`: the runtime's default genesis config, as JSON.
    const preset = yield* call(wasm, "GenesisBuilder_get_preset", ["0x00"])
    const presetBytes = hexToU8a(preset.result)
    if (presetBytes[0] !== 1) {
      return yield* new ChopsticksError({ stage: "Genesis", detail: "GenesisBuilder_get_preset returned None" })
    }
    const defaults = JSON.parse(u8aToString(compactStripLength(presetBytes.subarray(1))[1])) as unknown
    const config = runtimeGenesis.patch !== undefined
      ? mergePatch(defaults, runtimeGenesis.patch)
      : runtimeGenesis.config ?? defaults
    const json = new TextEncoder().encode(JSON.stringify(config))
    const built = yield* call(wasm, "GenesisBuilder_build_state", [
      u8aToHex(u8aConcat(compactLength(json.length), json))
    ])
    // `Result<(), String>`: 0x00 is Ok.
    if (!built.result.startsWith("0x00")) {
      const message = u8aToString(compactStripLength(hexToU8a(built.result).subarray(1))[1])
      return yield* new ChopsticksError({ stage: "Genesis", detail: `GenesisBuilder_build_state: ${message}` })
    }
    const top: Record<string, string> = {}
    for (const [key, value] of built.storageDiff) if (value !== null) top[key] = value
    top[CODE_KEY] = wasm
    return top
  })

const compactLength = (n: number): Uint8Array =>
  n < 1 << 6
    ? Uint8Array.of(n << 2)
    : n < 1 << 14
    ? Uint8Array.of(((n << 2) | 1) & 0xff, n >> 6)
    : Uint8Array.of(((n << 2) | 2) & 0xff, (n >> 6) & 0xff, (n >> 14) & 0xff, (n >> 22) & 0xff)

// ---------------------------------------------------------------------------------------------------
// Sealed relay-parent descendants

const BABE = "0x42414245"
const BABE_AUTHORITIES = "0x1cb6f36e027abb2091cfb5110ab5087f5e0621c4869aa60c02be9adcc98a0d1d"

/** Offsets by chain (set per launch) and for the chain being set up (its first block is built during setup). */
const offsets = new WeakMap<object, number | "auto">()
let settingUp: number | "auto" = "auto"
let authority: KeyringPair | undefined

const u64le = (n: number) => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true)
  return out
}

const offsetFor = async (block: Block, setting: number | "auto"): Promise<number> => {
  if (setting !== "auto") return setting
  const meta = await block.meta
  const constant = (meta.consts as Record<string, Record<string, Codec | undefined> | undefined>).parachainSystem
    ?.relayParentOffset
  return constant === undefined ? 0 : Number(constant.toString())
}

/** Wraps Chopsticks' validation-data inherent so that it carries sealed relay-parent descendants. */
class SealedValidationData implements InherentProvider {
  constructor(readonly inner: InherentProvider) {}

  async createInherents(newBlock: Block, params: Parameters<InherentProvider["createInherents"]>[1]) {
    const parent = await newBlock.parentBlock
    const offset = parent === undefined ? 0 : await offsetFor(parent, offsets.get(newBlock.chain) ?? settingUp)
    if (offset === 0 || authority === undefined || parent === undefined) {
      return this.inner.createInherents(newBlock, params)
    }
    const key = authority
    const authorities = u8aToHex(u8aConcat([4], key.publicKey, u64le(1)))
    const extended = {
      ...params,
      relayChainStateOverrides: [...(params.relayChainStateOverrides ?? []), [BABE_AUTHORITIES, authorities]]
    } as typeof params
    const [inherent] = await this.inner.createInherents(newBlock, extended)
    if (inherent === undefined) return []
    const meta = await parent.meta
    const extrinsic = meta.registry.createType("GenericExtrinsic", inherent) as GenericExtrinsic
    const [first, ...rest] = extrinsic.method.args
    const data = first!.toJSON() as {
      validationData: { relayParentStorageRoot: string; relayParentNumber: number }
      relayParentDescendants?: unknown
    }
    const { relayParentStorageRoot, relayParentNumber } = data.validationData
    const headers: Array<unknown> = []
    let parentHash = u8aToHex(new Uint8Array(32))
    for (let i = 0; i <= offset; i++) {
      const number = relayParentNumber + i
      // BABE PreDigest::SecondaryPlain { authority_index: 0, slot }
      const preDigest = u8aToHex(u8aConcat([2], new Uint8Array(4), u64le(number)))
      const fields = {
        parentHash,
        number,
        // The first is the relay parent itself: its state root is the proof's root.
        stateRoot: i === 0 ? relayParentStorageRoot : u8aToHex(u64le(number)).padEnd(66, "0"),
        extrinsicsRoot: u8aToHex(new Uint8Array(32))
      }
      const unsealed = meta.registry.createType("Header", {
        ...fields,
        digest: { logs: [{ PreRuntime: [BABE, preDigest] }] }
      })
      const seal = u8aToHex(key.sign(unsealed.hash.toU8a()))
      const sealed = meta.registry.createType("Header", {
        ...fields,
        digest: { logs: [{ PreRuntime: [BABE, preDigest] }, { Seal: [BABE, seal] }] }
      })
      headers.push(sealed.toJSON())
      parentHash = sealed.hash.toHex()
    }
    data.relayParentDescendants = headers
    const setValidationData = meta.tx.parachainSystem?.setValidationData
    if (setValidationData === undefined) return [inherent]
    return [new GenericExtrinsic(meta.registry, setValidationData(data, ...rest.map((a) => a.toJSON()))).toHex()]
  }
}

const installSealing = (inherentProviders: Array<InherentProvider>) => {
  const index = inherentProviders.findIndex((p) => p.constructor.name === "SetValidationData")
  if (index >= 0) inherentProviders[index] = new SealedValidationData(inherentProviders[index]!)
}

/** Chopsticks instances alive in this process. */
let running = 0

/** One setup at a time: the offset of the chain being set up is process-global until setup returns. */
const setupLock = Effect.unsafeMakeSemaphore(1)

/** `System.Account(id)` holding `free` (nonce 0, one provider reference), as FRAME lays it out. */
const accountRecord = (id: Uint8Array, free: bigint): [string, string] => {
  const key = u8aConcat(xxhashAsU8a("System", 128), xxhashAsU8a("Account", 128), blake2AsU8a(id, 128), id)
  const value = new Uint8Array(16 + 64)
  const view = new DataView(value.buffer)
  view.setUint32(8, 1, true) // providers
  view.setBigUint64(16, free & ((1n << 64n) - 1n), true)
  view.setBigUint64(24, free >> 64n, true)
  value[79] = 0x80 // ExtraFlags: the new reserve logic
  return [u8aToHex(key), u8aToHex(value)]
}

// ---------------------------------------------------------------------------------------------------
// The launcher

/**
 * Starts Chopsticks on the chain spec; it stops (server closed, worker terminated) with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: ChopsticksOptions): Effect.Effect<ChopsticksHandle, ChopsticksError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Effect.promise(() => cryptoWaitReady())
    if (options.logLevel !== undefined) process.env.LOG_LEVEL = options.logLevel
    const { setupWithServer, inherentProviders, BuildBlockMode, defaultLogger, destroyWorker } = yield* chopsticks
    if (authority === undefined) {
      authority = new Keyring({ type: "sr25519" }).addFromUri("//checkpointer//relay-authority")
      installSealing(inherentProviders)
    }
    // Quiet while the runtime's needs are probed (a failed first block is expected there), then as asked.
    defaultLogger.level = "fatal"
    const text = yield* Effect.tryPromise({
      try: () => readFile(options.chainSpec, "utf8"),
      catch: (error) => new ChopsticksError({ stage: "ChainSpec", detail: String(error) })
    })
    const spec = yield* Effect.try({
      try: () => JSON.parse(text) as ChainSpecJson,
      catch: (error) => new ChopsticksError({ stage: "ChainSpec", detail: `not JSON: ${String(error)}` })
    })
    const top = yield* rawGenesis(spec)
    const genesis = { ...spec, genesis: { raw: { top, childrenDefault: {} } } }
    const setting = options.relayParentOffset ?? "auto"
    const context = yield* Effect.acquireRelease(
      setupLock.withPermits(1)(
        Effect.suspend(() => {
          settingUp = setting
          return Effect.tryPromise({
            try: () =>
              setupWithServer({
                genesis,
                port: options.port ?? 0,
                host: "127.0.0.1",
                "build-block-mode": BuildBlockMode[options.buildBlockMode ?? "Instant"]
              } as never).then((context) => {
                running++
                return context
              }),
            catch: (error) => new ChopsticksError({ stage: "Start", detail: String(error) })
          })
        }).pipe(Effect.ensuring(Effect.sync(() => (settingUp = "auto"))))
      ),
      (context) =>
        Effect.promise(async () => {
          await context.close()
          // The wasm executor is one worker thread per process; the last instance out stops it, or it
          // would keep the process alive.
          if (--running === 0) await destroyWorker()
        }).pipe(Effect.timeoutOption(Duration.seconds(10)))
    ).pipe(
      Effect.timeoutFail({
        duration: options.startTimeout ?? Duration.seconds(60),
        onTimeout: () => new ChopsticksError({ stage: "Start", detail: "not started in time" })
      })
    )
    offsets.set(context.chain, setting)
    const port = Number(context.addr.split(":").at(-1))
    const chain = context.chain
    if (chain.head.number === 0) {
      // Setup builds block #1 from genesis; if it could not, the runtime wants relay-parent
      // descendants it does not declare as a constant (the fixture's runtime: RelayParentOffset = 1).
      if (setting === "auto") offsets.set(chain, 1)
      yield* Effect.tryPromise(() => chain.newBlock()).pipe(
        Effect.ignore,
        Effect.zipRight(Effect.suspend(() => (chain.head.number > 0 ? Effect.void : Effect.fail("no block")))),
        Effect.retry(
          Schedule.spaced("200 millis").pipe(Schedule.intersect(Schedule.recurs(setting === "auto" ? 10 : 2)))
        ),
        Effect.mapError(() =>
          new ChopsticksError({
            stage: "Ready",
            detail: "the runtime builds no block (set relayParentOffset if it checks relay-parent descendants)"
          })
        )
      )
    }
    defaultLogger.level = options.logLevel ?? "error"
    const attempt = <A>(stage: ChopsticksError["stage"], run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (error) => new ChopsticksError({ stage, detail: String(error) }) })
    return {
      url: `ws://127.0.0.1:${port}`,
      port,
      headNumber: () => chain.head.number,
      newBlock: (count = 1) =>
        attempt("Ready", async () => {
          for (let i = 0; i < count; i++) await chain.newBlock()
        }),
      setHead: (number) =>
        attempt("Ready", async () => {
          // A block still being built would land on the old head after the rewind: let it finish, and
          // drop whatever the pool still holds for the old branch.
          await chain.upcomingBlocks()
          chain.txPool.clear()
          const block = await chain.getBlockAt(number)
          if (block === undefined) throw new Error(`no block #${number}`)
          await chain.setHead(block)
        }),
      endow: (accounts, free) =>
        attempt("Ready", async () => {
          chain.head.pushStorageLayer().setAll(accounts.map((id): [string, string] => accountRecord(id, free)))
        }),
      setStorage: (entries) =>
        attempt("Ready", async () => {
          chain.head.pushStorageLayer().setAll(entries.map(([k, v]): [string, string | null] => [k, v]))
        })
    } satisfies ChopsticksHandle
  })

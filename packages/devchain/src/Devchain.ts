/**
 * A local Substrate-compatible node for development and tests: JSON-RPC over WebSocket on loopback,
 * real SCALE metadata (V14) for System, Timestamp, Balances, TransactionPayment, Sudo and the
 * `StorageProvider` pallet, real signed extrinsics, blocks, events and finality. It speaks both
 * JSON-RPC interfaces: the legacy methods (`chain_*`, `state_*`, `author_*`) that `@polkadot/api`
 * uses, and the new spec (`chainHead_v1_*`, `transaction_v1_*`, `chainSpec_v1_*`) that polkadot-api
 * uses; both connect to it unchanged.
 *
 * ```ts
 * const url = yield* Devchain.start({ blockMode: "instant" }).pipe(Effect.map((chain) => chain.url))
 * ```
 *
 * @since 0.1.0
 */
import { Keyring } from "@polkadot/keyring"
import { u8aToHex } from "@polkadot/util"
import { cryptoWaitReady, decodeAddress } from "@polkadot/util-crypto"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { type RawData, type WebSocket, WebSocketServer } from "ws"
import { Chain, type GenesisConfig } from "./internal/chain.js"
import { Connection, handleRequest, makeHandlers } from "./internal/rpc.js"
import type { Hex } from "./internal/types.js"

/** The well-known development accounts, endowed at genesis. */
export const DEV_ACCOUNTS = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"] as const

/** One unit of the native token (12 decimals). */
export const UNIT = 1_000_000_000_000n

/**
 * An account in a config: an SS58 address, 32-byte hex, or a development URI such as `//Alice`
 * (sr25519, as `@polkadot/keyring` derives it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AccountRef = Schema.String.annotations({
  identifier: "AccountRef",
  description: "an SS58 address, 0x-hex of 32 bytes, or a dev URI such as //Alice"
})

const Amount = Schema.Union(
  Schema.BigIntFromSelf,
  Schema.BigInt,
  Schema.transform(Schema.NonNegativeInt, Schema.BigIntFromSelf, {
    strict: true,
    decode: (n) => BigInt(n),
    encode: (b) => Number(b)
  })
)

/**
 * The devchain's configuration; every field has a default.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DevchainConfig = Schema.Struct({
  /** Loopback port; 0 picks a free one. */
  port: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 65535)), { default: () => 0 }),
  host: Schema.optionalWith(Schema.Literal("127.0.0.1", "::1", "localhost"), { default: () => "127.0.0.1" as const }),
  /** Pallet era: "C" (newest, default) or "A" (the oldest: flat `checkpoint`, no public keys). */
  era: Schema.optionalWith(Schema.Literal("C", "A"), { default: () => "C" as const }),
  /**
   * - `interval`: a block every `blockTime`, with or without transactions;
   * - `instant`: a block as soon as transactions are ready (submissions in one tick share a block);
   * - `manual`: only on `newBlock` (or the `dev_newBlock` RPC).
   */
  blockMode: Schema.optionalWith(Schema.Literal("interval", "instant", "manual"), {
    default: () => "interval" as const
  }),
  blockTime: Schema.optionalWith(Schema.Union(Schema.DurationFromSelf, Schema.DurationFromMillis), {
    default: () => Duration.seconds(1)
  }),
  /** Finality trails the best block by this many blocks (0: at once). */
  finalityLag: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 1 }),
  /** Recent blocks whose state `api.at(hash)` can read. */
  stateRetention: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(16)), { default: () => 256 }),
  maxExtrinsicsPerBlock: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100_000)), { default: () => 2_000 }),
  /** Endowed at genesis; by default the six dev accounts with 1,000,000 UNIT each. */
  endowed: Schema.optionalWith(Schema.Array(Schema.Struct({ account: AccountRef, free: Amount })), {
    default: () => DEV_ACCOUNTS.map((account) => ({ account, free: 1_000_000n * UNIT }))
  }),
  sudo: Schema.optionalWith(AccountRef, { default: () => "//Alice" }),
  /** Providers registered at genesis (their stake is reserved from their endowment). */
  providers: Schema.optionalWith(
    Schema.Array(Schema.Struct({
      account: AccountRef,
      multiaddr: Schema.String,
      /** The provider's signing key; defaults to the account's own key (sr25519 / ed25519). */
      publicKey: Schema.optional(Schema.String),
      stake: Schema.optionalWith(Amount, { default: () => 1_000n * UNIT })
    })),
    { default: () => [] }
  ),
  /** Buckets created at genesis, ids from 0 in order (unlike the real pallet, with primaries). */
  buckets: Schema.optionalWith(
    Schema.Array(Schema.Struct({
      admin: AccountRef,
      minProviders: Schema.NonNegativeInt,
      primaries: Schema.optionalWith(Schema.Array(AccountRef), { default: () => [] }),
      members: Schema.optionalWith(
        Schema.Array(Schema.Struct({ account: AccountRef, role: Schema.Literal("Admin", "Writer", "Reader") })),
        { default: () => [] }
      )
    })),
    { default: () => [] }
  ),
  /** Timestamp (ms) of genesis; by default the wall clock at start. */
  genesisTime: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type DevchainConfig = typeof DevchainConfig.Type

/**
 * @since 0.1.0
 * @category models
 */
export type DevchainConfigInput = typeof DevchainConfig.Encoded

/**
 * The devchain could not start: bad configuration or the port could not be bound.
 *
 * @since 0.1.0
 * @category errors
 */
export class DevchainError extends Data.TaggedError("DevchainError")<{
  readonly reason: "Config" | "Listen"
  readonly message: string
}> {}

/**
 * A running devchain.
 *
 * @since 0.1.0
 * @category models
 */
export interface DevchainHandle {
  /** `ws://host:port`, for `WsProvider`. */
  readonly url: string
  readonly port: number
  readonly genesisHash: Hex
  readonly era: "C" | "A"
  readonly bestNumber: () => number
  readonly finalizedNumber: () => number
  /** Builds `count` blocks now (any mode); returns their hashes. */
  readonly newBlock: (count?: number) => Effect.Effect<ReadonlyArray<Hex>>
  /**
   * Upgrades the runtime to `era` (a new spec version), as `set_code` would: a block is built now
   * holding the new code, and the next block runs it, migrating the pallet's storage first.
   * Connected clients are told through `state_subscribeRuntimeVersion` and refetch the metadata.
   */
  readonly upgradeRuntime: (era: "C" | "A") => Effect.Effect<void>
  /** Evicts a transaction from the pool; its watchers see `dropped`. */
  readonly dropExtrinsic: (hash: Hex) => Effect.Effect<boolean>
  /** Closes every client connection (the server keeps listening): a network cut, for fault tests. */
  readonly disconnectAll: () => Effect.Effect<void>
  /** Holds back responses and notifications by `delay` (0 to stop): a slow node, for fault tests. */
  readonly setResponseDelay: (delay: Duration.DurationInput) => Effect.Effect<void>
  /**
   * The events named `pallet.name` (e.g. `StorageProvider`, `BucketCheckpointed`) in the canonical
   * chain so far, oldest first, with their block numbers and fields.
   */
  readonly eventsNamed: (
    pallet: string,
    name: string
  ) => ReadonlyArray<{ readonly block: number; readonly fields: unknown }>
  /** Open client connections. */
  readonly connections: () => number
  /** The chain itself (internal API: for tools in this repository). */
  readonly chain: Chain
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Devchain extends Context.Tag("@checkpointer/devchain/Devchain")<Devchain, DevchainHandle>() {}

const resolveAccount = (keyring: Keyring, ref: string): Hex => {
  if (ref.startsWith("//")) return u8aToHex(keyring.addFromUri(ref).publicKey)
  return u8aToHex(decodeAddress(ref))
}

const toGenesis = (config: DevchainConfig): Effect.Effect<GenesisConfig, DevchainError> =>
  Effect.try({
    try: () => {
      const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
      const account = (ref: string) => resolveAccount(keyring, ref)
      return {
        era: config.era,
        endowments: config.endowed.map((e) => ({ account: account(e.account), free: e.free })),
        sudo: account(config.sudo),
        providers: config.providers.map((p) => ({
          account: account(p.account),
          multiaddr: p.multiaddr,
          publicKey: p.publicKey === undefined ? account(p.account) : (p.publicKey.toLowerCase() as Hex),
          stake: p.stake
        })),
        buckets: config.buckets.map((b) => ({
          admin: account(b.admin),
          minProviders: b.minProviders,
          primaries: b.primaries.map(account),
          members: b.members.map((m) => ({ account: account(m.account), role: m.role }))
        })),
        genesisTime: BigInt(Math.floor(config.genesisTime ?? Date.now()))
      }
    },
    catch: (error) => new DevchainError({ reason: "Config", message: `bad genesis: ${(error as Error).message}` })
  })

/** `era: expected "C" or "A", got "X"`: one entry per bad field, alternatives joined. */
const formatIssues = (issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>): string => {
  const byPath = new Map<string, { expected: Array<string>; actual: string | undefined; other: Array<string> }>()
  for (const issue of issues) {
    const path = issue.path.length === 0 ? "config" : issue.path.join(".")
    const entry = byPath.get(path) ?? { expected: [], actual: undefined, other: [] }
    const match = /^Expected (.*), actual (.*)$/s.exec(issue.message)
    if (match === null) entry.other.push(issue.message)
    else if (match[1] !== "undefined") {
      entry.expected.push(match[1]!)
      entry.actual = match[2]
    }
    byPath.set(path, entry)
  }
  return [...byPath].map(([path, e]) =>
    e.expected.length > 0
      ? `${path}: expected ${e.expected.join(" or ")}, got ${e.actual}`
      : `${path}: ${e.other.join("; ")}`
  ).join("; ")
}

const decodeConfig = (input: DevchainConfigInput | undefined) =>
  Schema.decodeUnknown(DevchainConfig, { errors: "all" })(input ?? {}).pipe(
    Effect.mapError((error) =>
      new DevchainError({
        reason: "Config",
        // One line naming each bad field, e.g. `era: Expected "C", actual "X"`.
        message: formatIssues(ParseResult.ArrayFormatter.formatErrorSync(error))
      })
    )
  )

/**
 * Starts a devchain; it stops (every socket closed, timers cleared) when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (
  input?: DevchainConfigInput
): Effect.Effect<DevchainHandle, DevchainError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Effect.promise(() => cryptoWaitReady())
    const config = yield* decodeConfig(input)
    const genesis = yield* toGenesis(config)
    const blockTimeMs = Duration.toMillis(config.blockTime)
    const chain = yield* Effect.try({
      try: () =>
        new Chain(genesis, {
          finalityLag: config.finalityLag,
          blockTimeMs,
          stateRetention: config.stateRetention,
          maxExtrinsicsPerBlock: config.maxExtrinsicsPerBlock
        }),
      catch: (error) => new DevchainError({ reason: "Config", message: `bad genesis: ${(error as Error).message}` })
    })

    // A block that cannot be built is reported, not thrown into a timer callback (which would crash
    // the process hosting the devchain).
    const guarded = (build: () => void) => {
      try {
        build()
      } catch (error) {
        process.stderr.write(`checkpointer-devchain: block production failed: ${String(error)}\n`)
      }
    }
    let instantScheduled = false
    // `dev_setBlockBuildMode` changes it at run time (a test holding transactions in the pool).
    let blockMode = config.blockMode
    const newBlocks = (count: number) => Array.from({ length: count }, () => chain.produceBlock().hash)
    const setBuildMode = (mode: "Instant" | "Manual") => {
      // Back from `Manual`, a chain that builds blocks on an interval does so again.
      blockMode = mode === "Manual" ? "manual" : config.blockMode === "interval" ? "interval" : "instant"
      if (blockMode === "instant" && chain.hasReady) onReady()
    }
    const onReady = () => {
      if (blockMode !== "instant" || instantScheduled) return
      instantScheduled = true
      // Submissions made in the same tick share one block.
      setImmediate(() => {
        instantScheduled = false
        guarded(() => {
          while (chain.hasReady) chain.produceBlock()
        })
      })
    }
    const handlers = makeHandlers(chain, { onReady, newBlocks, setBuildMode })

    let responseDelayMs = 0
    let nextSubscription = 0
    const connections = new Set<Connection>()
    const server = yield* Effect.async<WebSocketServer, DevchainError>((resume) => {
      const wss = new WebSocketServer({ host: config.host, port: config.port, maxPayload: 16 * 1024 * 1024 })
      wss.once("listening", () => resume(Effect.succeed(wss)))
      wss.once("error", (error) =>
        resume(Effect.fail(new DevchainError({ reason: "Listen", message: `cannot listen: ${error.message}` }))))
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        // A clean close handshake first (clients see 1001 "going away"), bounded: whatever lingers is cut.
        const clients = [...server.clients]
        let open = clients.length
        const finish = () => {
          clearTimeout(cut)
          for (const client of server.clients) {
            client.terminate()
          }
          server.close(() =>
            resume(Effect.void)
          )
        }
        const cut = setTimeout(finish, 500)
        if (open === 0) return finish()
        for (const client of clients) {
          client.once("close", () => {
            if (--open === 0) finish()
          })
          client.close(1001, "devchain stopped")
        }
      })
    )
    server.on("connection", (socket: WebSocket) => {
      const conn = new Connection(socket, () => `dc${(++nextSubscription).toString(36)}`)
      const delayed = (send: () => void) => (responseDelayMs > 0 ? setTimeout(send, responseDelayMs) : send())
      const rawSend = conn.send.bind(conn)
      conn.send = (message) => delayed(() => rawSend(message))
      connections.add(conn)
      socket.on("message", (data: RawData) => {
        let request: unknown
        try {
          request = JSON.parse(data.toString())
        } catch {
          conn.send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } })
          return
        }
        if (Array.isArray(request)) {
          conn.send(request.map((r) => handleRequest(handlers, conn, r)))
        } else {
          conn.send(handleRequest(handlers, conn, request))
        }
      })
      socket.on("close", () => {
        conn.close()
        connections.delete(conn)
      })
      socket.on("error", () => socket.terminate())
    })

    if (config.blockMode === "interval") {
      const timer = setInterval(() => guarded(() => blockMode === "interval" && chain.produceBlock()), blockTimeMs)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(timer)))
    }
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : config.port
    const host = config.host === "::1" ? "[::1]" : config.host

    return {
      url: `ws://${host}:${port}`,
      port,
      genesisHash: chain.genesisHash,
      era: config.era,
      bestNumber: () => chain.best.number,
      finalizedNumber: () => chain.finalized.number,
      newBlock: (count = 1) => Effect.sync(() => newBlocks(count)),
      upgradeRuntime: (era) => Effect.sync(() => void chain.upgradeRuntime(era)),
      dropExtrinsic: (hash) => Effect.sync(() => chain.drop(hash)),
      disconnectAll: () =>
        Effect.sync(() => {
          for (const client of server.clients) client.terminate()
        }),
      setResponseDelay: (delay) => Effect.sync(() => void (responseDelayMs = Duration.toMillis(delay))),
      eventsNamed: (pallet, name) =>
        chain.canonical.flatMap((hash, block) =>
          (chain.events.get(hash) ?? [])
            .filter(({ event }) => event._tag === pallet && event.value._tag === name)
            .map(({ event }) => ({ block, fields: event.value }))
        ),
      connections: () => connections.size,
      chain
    } satisfies DevchainHandle
  })

/**
 * A devchain for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config?: DevchainConfigInput): Layer.Layer<Devchain, DevchainError> =>
  Layer.scoped(Devchain, start(config))

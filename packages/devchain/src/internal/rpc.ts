/**
 * Substrate's legacy JSON-RPC (what `@polkadot/api` 16 speaks) over WebSocket: every method listed in
 * `rpc_methods` is served, and only those (devchain-notes §1.2: the api deletes unlisted methods),
 * subscriptions push what a node pushes, errors carry Substrate's codes.
 *
 * @internal
 */
import { compactToU8a, hexToU8a, isHex, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a, decodeAddress } from "@polkadot/util-crypto"
import type { WebSocket } from "ws"
import { type Block, type Chain, RpcError, type TxStatus } from "./chain.js"
import { type InvalidReason, parseExtrinsic } from "./extrinsic.js"
import * as System from "./pallets/system.js"
import { CALL_WEIGHT, feeFor } from "./pallets/transactionPayment.js"
import { makeSpecHandlers } from "./rpcSpec.js"
import type { RuntimeVersion } from "./runtime.js"
import * as S from "./scale.js"
import type { Hex } from "./types.js"

export interface NodeHooks {
  /** Called after a transaction entered the ready queue (instant-seal mode builds a block). */
  readonly onReady: () => void
  /** `dev_newBlock`: builds `count` blocks now. */
  readonly newBlocks: (count: number) => ReadonlyArray<Hex>
  /** `dev_setBlockBuildMode` (Chopsticks' names): `Instant` builds a block per ready transaction, `Manual` none. */
  readonly setBuildMode: (mode: "Instant" | "Manual") => void
}

export const CHAIN_NAME = "Checkpointer Devchain"
const PROPERTIES = { ss58Format: 42, tokenDecimals: 12, tokenSymbol: "UNIT" }

/** `sp_runtime::transaction_validity::InvalidTransaction`'s variant indexes. */
const INVALID_TRANSACTION_INDEX: Record<Exclude<InvalidReason, "CannotLookup">, number> = {
  Call: 0,
  Payment: 1,
  Future: 2,
  Stale: 3,
  BadProof: 4,
  AncientBirthBlock: 5,
  ExhaustsResources: 6,
  BadSigner: 10
}

export type Params = ReadonlyArray<unknown>
export type Handler = (params: Params, conn: Connection) => unknown

const badParams = (message: string) => new RpcError(-32602, `Invalid params: ${message}`)
const stateError = (message: string) => new RpcError(4003, `Client error: ${message}`)

const hexParam = (value: unknown, what: string): Hex => {
  if (typeof value !== "string" || !isHex(value)) throw badParams(`${what} must be 0x-prefixed hex`)
  return value.toLowerCase() as Hex
}
const optionalHash = (value: unknown): Hex | undefined =>
  value === undefined || value === null ? undefined : hexParam(value, "block hash")

const versionJson = (v: RuntimeVersion) => ({ ...v, apis: v.apis.map(([id, ver]) => [id, ver]) })

/** One WebSocket client: its subscriptions end with it. */
export class Connection {
  private readonly subscriptions = new Map<string, () => void>()
  constructor(readonly socket: WebSocket, private readonly nextId: () => string) {}

  send(message: unknown): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message))
  }
  notify(method: string, subscription: string, result: unknown): void {
    this.send({ jsonrpc: "2.0", method, params: { subscription, result } })
  }
  subscribe(method: string, setup: (id: string, push: (result: unknown) => void) => () => void): string {
    const id = this.nextId()
    // The subscription id must reach the client before the first notification.
    queueMicrotask(() => {
      if (this.socket.readyState !== this.socket.OPEN) return
      const cleanup = setup(id, (result) => this.notify(method, id, result))
      this.subscriptions.set(id, cleanup)
    })
    return id
  }
  unsubscribe(id: unknown): boolean {
    const cleanup = typeof id === "string" ? this.subscriptions.get(id) : undefined
    if (cleanup === undefined) return false
    cleanup()
    this.subscriptions.delete(id as string)
    return true
  }
  close(): void {
    for (const cleanup of this.subscriptions.values()) cleanup()
    this.subscriptions.clear()
  }
}

export const makeHandlers = (chain: Chain, hooks: NodeHooks): Record<string, Handler> => {
  const blockOrNull = (hash: unknown) => chain.blockAt(optionalHash(hash))
  const stateOf = (hash: unknown) => {
    const at = optionalHash(hash)
    const block = chain.blockAt(at)
    if (block === undefined) throw stateError(`UnknownBlock: Header was not found in the database: ${at}`)
    const state = chain.stateAt(block.hash)
    if (state === undefined) throw stateError(`State already discarded for ${block.hash}`)
    return { block, state }
  }
  const readKey = (hash: unknown, key: unknown): Hex | null => {
    const { state } = stateOf(hash)
    const raw = state.readRaw(hexParam(key, "storage key"))
    return raw === undefined ? null : u8aToHex(raw)
  }
  const headerOf = (block: Block) => block.header
  const metadataOf = (hash: unknown) => stateOf(hash).block.code.metadata

  const stateCall = (method: unknown, data: unknown, at: unknown): Hex => {
    const { block, state } = stateOf(at)
    const input = hexToU8a(hexParam(data, "call data"))
    const metadata = block.code.metadata
    switch (method) {
      case "Metadata_metadata_versions":
        return u8aToHex(S.encode(S.vec(S.u32), [14]))
      case "Metadata_metadata_at_version": {
        const version = S.decode(S.u32, input)
        return version === 14 ? u8aToHex(u8aConcat([1], compactToU8a(metadata.length), metadata)) : "0x00"
      }
      case "Metadata_metadata":
        return u8aToHex(u8aConcat(compactToU8a(metadata.length), metadata))
      case "AccountNonceApi_account_nonce": {
        const account = u8aToHex(S.decode(S.fixed(32), input))
        return u8aToHex(S.encode(S.u32, state.getOr(System.storage.Account, account).nonce))
      }
      case "TransactionPaymentApi_query_info": {
        if (input.length < 4) throw stateError("Execution failed: input too short")
        const length = Number(S.decode(S.u32, input.subarray(input.length - 4)))
        let tip = 0n
        try {
          tip = parseExtrinsic(block.code.profile, input.subarray(0, input.length - 4)).signed?.tip ?? 0n
        } catch (error) {
          throw stateError(`Execution failed: Could not decode extrinsic: ${(error as Error).message}`)
        }
        const w = new S.Writer()
        w.compact(CALL_WEIGHT)
        w.compact(0)
        w.u8(0) // DispatchClass::Normal
        w.uint(feeFor(length, tip), 16)
        return u8aToHex(w.finish())
      }
      case "TaggedTransactionQueue_validate_transaction": {
        // (TransactionSource, the extrinsic as broadcast, the block hash) -> TransactionValidity.
        if (input.length < 1 + 32) throw stateError("Execution failed: input too short")
        const validity = chain.validateAt(block, input.subarray(1, input.length - 32))
        const w = new S.Writer()
        if (validity === undefined) {
          w.u8(1) // Err
          w.u8(1) // TransactionValidityError::Unknown
          w.u8(0) // UnknownTransaction::CannotLookup
        } else if (validity._tag === "Invalid") {
          w.u8(1)
          if (validity.reason === "CannotLookup") {
            w.u8(1)
            w.u8(0)
          } else {
            w.u8(0) // TransactionValidityError::Invalid
            w.u8(INVALID_TRANSACTION_INDEX[validity.reason])
          }
        } else {
          const tag = (nonce: number) => u8aConcat(hexToU8a(validity.sender), S.encode(S.u32, nonce))
          w.u8(0) // Ok(ValidTransaction)
          w.uint(0, 8) // priority
          const requires = validity.nonce > validity.stateNonce ? [tag(validity.nonce - 1)] : []
          w.bytes(S.encode(S.vec(S.bytes), requires))
          w.bytes(S.encode(S.vec(S.bytes), [tag(validity.nonce)]))
          w.uint(64, 8) // longevity
          w.u8(1) // propagate
        }
        return u8aToHex(w.finish())
      }
      default:
        throw stateError(`Execution failed: Exported method ${String(method)} is not found`)
    }
  }

  const watchStatus = (status: TxStatus): unknown => status

  const handlers: Record<string, Handler> = {
    rpc_methods: () => ({ version: 1, methods: Object.keys(handlers).filter((m) => !m.startsWith("dev_")).sort() }),
    system_chain: () => CHAIN_NAME,
    system_name: () => "checkpointer-devchain",
    system_version: () => "0.1.0",
    system_chainType: () => "Development",
    system_properties: () => PROPERTIES,
    system_health: () => ({ peers: 0, isSyncing: false, shouldHavePeers: false }),
    system_accountNextIndex: ([account]) => {
      let id: Uint8Array
      try {
        id = decodeAddress(String(account))
      } catch {
        throw badParams("account must be an SS58 address or 32-byte hex")
      }
      return chain.nextIndex(u8aToHex(id))
    },

    chain_getBlockHash: ([n]) => {
      if (n === undefined || n === null) return chain.best.hash
      const number = typeof n === "number" ? n : typeof n === "string" && isHex(n) ? parseInt(n, 16) : NaN
      if (!Number.isSafeInteger(number) || number < 0) throw badParams("block number")
      return chain.hashAt(number) ?? null
    },
    chain_getHeader: ([hash]) => {
      const block = blockOrNull(hash)
      return block === undefined ? null : headerOf(block)
    },
    chain_getBlock: ([hash]) => {
      const block = blockOrNull(hash)
      return block === undefined
        ? null
        : {
          block: { header: headerOf(block), extrinsics: block.extrinsics.map((e) => u8aToHex(e)) },
          justifications: null
        }
    },
    chain_getFinalizedHead: () => chain.finalized.hash,
    chain_getFinalisedHead: () => chain.finalized.hash,
    chain_subscribeNewHeads: (_, conn) =>
      conn.subscribe("chain_newHead", (_id, push) => {
        push(headerOf(chain.best))
        return chain.listen({ onBlock: (b) => push(headerOf(b)) })
      }),
    chain_unsubscribeNewHeads: ([id], conn) => conn.unsubscribe(id),
    chain_subscribeAllHeads: (_, conn) =>
      conn.subscribe("chain_allHead", (_id, push) => {
        push(headerOf(chain.best))
        return chain.listen({ onBlock: (b) => push(headerOf(b)) })
      }),
    chain_unsubscribeAllHeads: ([id], conn) => conn.unsubscribe(id),
    chain_subscribeFinalizedHeads: (_, conn) =>
      conn.subscribe("chain_finalizedHead", (_id, push) => {
        push(headerOf(chain.finalized))
        return chain.listen({ onFinalized: (b) => push(headerOf(b)) })
      }),
    chain_unsubscribeFinalizedHeads: ([id], conn) => conn.unsubscribe(id),

    state_getRuntimeVersion: ([hash]) => versionJson(stateOf(hash).block.code.version),
    chain_getRuntimeVersion: ([hash]) => versionJson(stateOf(hash).block.code.version),
    state_subscribeRuntimeVersion: (_, conn) =>
      conn.subscribe("state_runtimeVersion", (_id, push) => {
        push(versionJson(chain.best.code.version))
        return chain.listen({ onRuntime: (b) => push(versionJson(b.code.version)) })
      }),
    state_unsubscribeRuntimeVersion: ([id], conn) => conn.unsubscribe(id),
    state_getMetadata: ([hash]) => u8aToHex(metadataOf(hash)),
    state_call: ([method, data, hash]) => stateCall(method, data, hash),

    state_getStorage: ([key, hash]) => readKey(hash, key),
    state_getStorageHash: ([key, hash]) => {
      const value = readKey(hash, key)
      return value === null
        ? null
        : u8aToHex(hexToU8a(value).length === 0 ? new Uint8Array(32) : blake2(hexToU8a(value)))
    },
    state_getStorageSize: ([key, hash]) => {
      const value = readKey(hash, key)
      return value === null ? null : hexToU8a(value).length
    },
    state_queryStorageAt: ([keys, hash]) => {
      if (!Array.isArray(keys)) throw badParams("keys must be an array")
      const { block } = stateOf(hash)
      return [{ block: block.hash, changes: keys.map((k) => [hexParam(k, "storage key"), readKey(block.hash, k)]) }]
    },
    state_getKeysPaged: ([prefix, count, startKey, hash]) => {
      const p = prefix === undefined || prefix === null ? "0x" : hexParam(prefix, "prefix")
      const n = Number(count)
      if (!Number.isSafeInteger(n) || n < 0 || n > 1000) throw badParams("count must be 0..1000")
      const start = startKey === undefined || startKey === null ? undefined : hexParam(startKey, "start key")
      const { block } = stateOf(hash)
      return [...block.storage!.keys()]
        .filter((k) => k.startsWith(p) && (start === undefined || k > start))
        .sort()
        .slice(0, n)
    },
    state_getKeys: ([prefix, hash]) => {
      const p = hexParam(prefix, "prefix")
      return [...stateOf(hash).block.storage!.keys()].filter((k) => k.startsWith(p)).sort()
    },
    state_subscribeStorage: ([keys], conn) => {
      const watched = keys === undefined || keys === null
        ? undefined
        : Array.isArray(keys)
        ? new Set(keys.map((k) => hexParam(k, "storage key")))
        : (() => {
          throw badParams("keys must be an array")
        })()
      return conn.subscribe("state_storage", (_id, push) => {
        if (watched !== undefined && watched.size > 0) {
          const best = chain.best
          push({ block: best.hash, changes: [...watched].map((k) => [k, readKey(best.hash, k)]) })
        }
        return chain.listen({
          onBlock: (b) => {
            const changed = watched === undefined || watched.size === 0
              ? b.changed
              : b.changed.filter((k) => watched.has(k))
            if (changed.length === 0) return
            push({ block: b.hash, changes: changed.map((k) => [k, readKey(b.hash, k)]) })
          }
        })
      })
    },
    state_unsubscribeStorage: ([id], conn) => conn.unsubscribe(id),

    author_submitExtrinsic: ([ext]) => {
      const { hash, status } = chain.submit(hexToU8a(hexParam(ext, "extrinsic")))
      if (status === "ready") hooks.onReady()
      return hash
    },
    author_submitAndWatchExtrinsic: ([ext], conn) => {
      const bytes = hexToU8a(hexParam(ext, "extrinsic"))
      // Validate now so that an invalid transaction is an error response, not a subscription.
      const buffered: Array<TxStatus> = []
      let push: ((status: TxStatus) => void) | undefined
      const { status } = chain.submit(bytes, (s) => (push === undefined ? buffered.push(s) : push(s)))
      const id = conn.subscribe("author_extrinsicUpdate", (_id, p) => {
        push = (s) => p(watchStatus(s))
        for (const s of buffered.splice(0)) push(s)
        return () => {
          push = () => {}
        }
      })
      if (status === "ready") hooks.onReady()
      return id
    },
    author_unwatchExtrinsic: ([id], conn) => conn.unsubscribe(id),
    author_pendingExtrinsics: () => chain.pending().map((e) => u8aToHex(e)),

    dev_newBlock: ([options]) => {
      const count = typeof options === "object" && options !== null && "count" in options
        ? Number((options as { count: unknown }).count)
        : 1
      if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) throw badParams("count must be 1..10000")
      return hooks.newBlocks(count).at(-1)
    },
    // As Chopsticks: `Batch` (a block per batch of transactions) is `Instant` here, which already batches a tick's.
    dev_setBlockBuildMode: ([mode]) => {
      if (mode !== "Instant" && mode !== "Batch" && mode !== "Manual") {
        throw badParams("mode must be Instant, Batch or Manual")
      }
      hooks.setBuildMode(mode === "Manual" ? "Manual" : "Instant")
      return null
    },

    ...makeSpecHandlers(chain, hooks, { stateCall, chainName: CHAIN_NAME, properties: PROPERTIES })
  }
  return handlers
}

const blake2 = (bytes: Uint8Array) => blake2AsU8a(bytes, 256)

/** Handles one JSON-RPC request object; returns the response object. */
export const handleRequest = (handlers: Record<string, Handler>, conn: Connection, request: unknown): unknown => {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid request" } }
  }
  const { id, method, params } = request as { id?: unknown; method?: unknown; params?: unknown }
  const reply = (body: object) => ({ jsonrpc: "2.0", id: id ?? null, ...body })
  if (typeof method !== "string") return reply({ error: { code: -32600, message: "Invalid request" } })
  const handler = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined
  if (handler === undefined) return reply({ error: { code: -32601, message: "Method not found" } })
  if (params !== undefined && !Array.isArray(params)) {
    return reply({ error: { code: -32602, message: "Invalid params: positional parameters expected" } })
  }
  try {
    return reply({ result: handler((params ?? []) as Params, conn) ?? null })
  } catch (error) {
    if (error instanceof RpcError) {
      return reply({
        error: error.data === undefined
          ? { code: error.code, message: error.message }
          : { code: error.code, message: error.message, data: error.data }
      })
    }
    if (error instanceof S.ScaleError) {
      return reply({ error: { code: -32602, message: `Invalid params: ${error.message}` } })
    }
    return reply({ error: { code: -32603, message: `Internal error: ${(error as Error).message}` } })
  }
}

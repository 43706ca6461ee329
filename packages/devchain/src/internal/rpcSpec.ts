/**
 * The new JSON-RPC interface spec (paritytech/json-rpc-interface-spec, the `_v1` groups), what
 * polkadot-api speaks: `chainHead_v1_*` (one follow subscription reports every block, pinned until the
 * client unpins it; body, call and storage are operations whose results arrive as events on the follow
 * subscription), `transaction_v1_broadcast`/`stop`, `chainSpec_v1_*` and `archive_v1_*` (any block
 * still held, by hash or height). Served beside the legacy methods, on the same chain.
 *
 * The limits are the spec's: at least 16 operations per follow subscription (each storage item counts as
 * one; beyond that `limitReached` or `discardedItems`), a bounded number of pinned blocks (beyond it the
 * subscription gets `stop`), a bounded number of follow subscriptions per connection (`-32800`), and
 * descendant storage queries paused with `operationWaitingForContinue` after each page.
 *
 * @internal
 */
import { compactToU8a, hexToU8a, isHex, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import { type Block, type Chain, RpcError, type Runtime } from "./chain.js"
import type { Connection, Handler, NodeHooks } from "./rpc.js"
import type { Hex } from "./types.js"

/** The spec's limits, as this node applies them. */
export interface SpecLimits {
  /** Concurrent operations per follow subscription (the spec's minimum is 16). */
  readonly operations: number
  /** Blocks one follow subscription may hold pinned before the node stops it. */
  readonly pinnedBlocks: number
  /** Follow subscriptions per connection. */
  readonly follows: number
  /** Storage items per `operationStorageItems` event; the rest waits for `chainHead_v1_continue`. */
  readonly storagePage: number
}

export const DEFAULT_LIMITS: SpecLimits = { operations: 16, pinnedBlocks: 512, follows: 4, storagePage: 64 }

interface SpecContext {
  readonly stateCall: (method: unknown, data: unknown, at: unknown) => Hex
  readonly chainName: string
  readonly properties: object
  readonly limits?: SpecLimits
}

// Error codes as Substrate's chainHead server returns them.
const REACHED_LIMITS = -32800
const INVALID_BLOCK = -32801
const INVALID_DUPLICATE_HASHES = -32803
const badParams = (message: string) => new RpcError(-32602, `Invalid params: ${message}`)
const invalidBlock = (hash: string) => new RpcError(INVALID_BLOCK, `Invalid block hash: ${hash} is not pinned`)

const hexParam = (value: unknown, what: string): Hex => {
  if (typeof value !== "string" || !isHex(value)) throw badParams(`${what} must be 0x-prefixed hex`)
  return value.toLowerCase() as Hex
}
const stringParam = (value: unknown, what: string): string => {
  if (typeof value !== "string") throw badParams(`${what} must be a string`)
  return value
}

const blake2 = (bytes: Uint8Array) => blake2AsU8a(bytes, 256)

/** `:code`, the well-known key of the runtime's Wasm blob. */
const CODE_KEY = "0x3a636f6465" as Hex
const codes = new WeakMap<Runtime, Uint8Array>()
/**
 * The devchain's stand-in for a runtime's Wasm blob: its name, spec version and metadata, so two
 * runtimes have the same `:code` exactly when they are the same runtime.
 */
const codeOf = (runtime: Runtime): Uint8Array => {
  let code = codes.get(runtime)
  if (code === undefined) {
    const v = runtime.version
    code = u8aConcat(new TextEncoder().encode(`${v.specName}/${v.specVersion}/`), runtime.metadata)
    codes.set(runtime, code)
  }
  return code
}

/** The runtime as the spec reports it (`finalizedBlockRuntime`, `newRuntime`). */
const runtimeJson = (runtime: Runtime) => ({
  type: "valid",
  spec: {
    specName: runtime.version.specName,
    implName: runtime.version.implName,
    specVersion: runtime.version.specVersion,
    implVersion: runtime.version.implVersion,
    transactionVersion: runtime.version.transactionVersion,
    apis: Object.fromEntries(runtime.version.apis)
  }
})

/** The SCALE header (`chainHead_v1_header`): the bytes whose blake2-256 is the block hash. */
const encodeHeader = (block: Block): Hex => {
  const h = block.header
  return u8aToHex(u8aConcat(
    hexToU8a(h.parentHash),
    compactToU8a(block.number),
    hexToU8a(h.stateRoot),
    hexToU8a(h.extrinsicsRoot),
    compactToU8a(h.digest.logs.length),
    ...h.digest.logs.map((log) => hexToU8a(log))
  ))
}

type StorageType = "value" | "hash" | "closestDescendantMerkleValue" | "descendantsValues" | "descendantsHashes"
const STORAGE_TYPES: ReadonlySet<string> = new Set<StorageType>([
  "value",
  "hash",
  "closestDescendantMerkleValue",
  "descendantsValues",
  "descendantsHashes"
])
type StorageItem = { readonly key: Hex } & Partial<Record<"value" | "hash" | "closestDescendantMerkleValue", Hex>>

interface Operation {
  /** Slots this operation holds against the follow subscription's operation limit. */
  readonly slots: number
  /** Set while a storage operation waits for `chainHead_v1_continue`. */
  resume: (() => void) | undefined
}

interface Follow {
  readonly id: string
  readonly withRuntime: boolean
  readonly pinned: Set<Hex>
  readonly operations: Map<string, Operation>
  nextOperation: number
  readonly push: (event: object) => void
}

export const makeSpecHandlers = (
  chain: Chain,
  hooks: NodeHooks,
  context: SpecContext
): Record<string, Handler> => {
  const limits = context.limits ?? DEFAULT_LIMITS
  const followsOf = new WeakMap<Connection, Map<string, Follow>>()
  const broadcastsOf = new WeakMap<Connection, Set<string>>()
  let nextBroadcast = 0

  const follows = (conn: Connection) => {
    let map = followsOf.get(conn)
    if (map === undefined) followsOf.set(conn, map = new Map())
    return map
  }
  const followOf = (conn: Connection, id: unknown): Follow | undefined =>
    typeof id === "string" ? follows(conn).get(id) : undefined
  const usedSlots = (follow: Follow) => [...follow.operations.values()].reduce((n, op) => n + op.slots, 0)

  /** The pinned block `hash` of `follow`, or a JSON-RPC error. */
  const pinnedBlock = (follow: Follow, hash: unknown): Block => {
    const at = hexParam(hash, "block hash")
    const block = follow.pinned.has(at) ? chain.blocks.get(at) : undefined
    if (block === undefined) throw invalidBlock(at)
    return block
  }

  /** Starts an operation of `slots` slots; its events are sent after the response that names it. */
  const startOperation = (
    follow: Follow,
    slots: number,
    run: (operationId: string, operation: Operation, done: () => void) => void
  ): string => {
    const operationId = `op${(follow.nextOperation++).toString(36)}`
    const operation: Operation = { slots, resume: undefined }
    follow.operations.set(operationId, operation)
    queueMicrotask(() => {
      if (follow.operations.get(operationId) !== operation) return // stopped, or the follow ended
      run(operationId, operation, () => follow.operations.delete(operationId))
    })
    return operationId
  }

  const storageItems = (block: Block, key: Hex, type: StorageType): ReadonlyArray<StorageItem> => {
    const raw = block.storage
    if (raw === undefined) return []
    // The state as a node holds it: with the runtime's code at `:code`, whose hash clients compare to
    // tell runtimes apart (polkadot-api does at every announced runtime).
    const storage = {
      get: (k: Hex) => (k === CODE_KEY ? codeOf(block.code) : raw.get(k))
    }
    const descendants = () =>
      [...raw.keys(), ...(CODE_KEY.startsWith(key) ? [CODE_KEY] : [])].filter((k) => k.startsWith(key)).sort()
    switch (type) {
      case "value": {
        const value = storage.get(key)
        return value === undefined ? [] : [{ key, value: u8aToHex(value) }]
      }
      case "hash": {
        const value = storage.get(key)
        return value === undefined ? [] : [{ key, hash: u8aToHex(blake2(value)) }]
      }
      case "descendantsValues":
        return descendants().map((k) => ({ key: k, value: u8aToHex(storage.get(k)!) }))
      case "descendantsHashes":
        return descendants().map((k) => ({ key: k, hash: u8aToHex(blake2(storage.get(k)!)) }))
      case "closestDescendantMerkleValue": {
        // Not a trie node's Merkle value (the devchain has no trie): a digest of every descendant, which
        // changes exactly when one of them does, which is what a client watching a prefix needs.
        const keys = descendants()
        if (keys.length === 0) return []
        const digest = blake2(u8aConcat(...keys.flatMap((k) => [hexToU8a(k), storage.get(k)!])))
        return [{ key, closestDescendantMerkleValue: u8aToHex(digest) }]
      }
    }
  }

  const handlers: Record<string, Handler> = {
    chainSpec_v1_chainName: () => context.chainName,
    chainSpec_v1_genesisHash: () => chain.genesisHash,
    chainSpec_v1_properties: () => context.properties,

    chainHead_v1_follow: ([withRuntime], conn) => {
      if (typeof withRuntime !== "boolean") throw badParams("withRuntime must be a boolean")
      if (follows(conn).size >= limits.follows) {
        throw new RpcError(REACHED_LIMITS, "Maximum number of chainHead_follow has been reached")
      }
      let stopped = false
      const id = conn.subscribe("chainHead_v1_followEvent", (id, push) => {
        const follow: Follow = { id, withRuntime, pinned: new Set(), operations: new Map(), nextOperation: 0, push }
        follows(conn).set(id, follow)
        const stop = () => {
          if (stopped) return
          stopped = true
          push({ event: "stop" })
          // Unsubscribing runs the cleanup below: listener off, pins released, operations dropped.
          queueMicrotask(() => conn.unsubscribe(id))
        }
        const pin = (block: Block): boolean => {
          if (follow.pinned.size >= limits.pinnedBlocks) {
            stop()
            return false
          }
          follow.pinned.add(block.hash)
          chain.retain(block.hash)
          return true
        }
        const announce = (block: Block) => {
          if (stopped || !pin(block)) return
          const parent = chain.blocks.get(block.header.parentHash)
          push({
            event: "newBlock",
            blockHash: block.hash,
            parentBlockHash: block.header.parentHash,
            ...(withRuntime ? { newRuntime: parent?.code === block.code ? null : runtimeJson(block.code) } : {})
          })
        }

        const finalized = chain.finalized
        pin(finalized)
        push({
          event: "initialized",
          finalizedBlockHashes: [finalized.hash],
          ...(withRuntime ? { finalizedBlockRuntime: runtimeJson(finalized.code) } : {})
        })
        for (let n = finalized.number + 1; n <= chain.best.number; n++) announce(chain.blocks.get(chain.canonical[n]!)!)
        if (!stopped) push({ event: "bestBlockChanged", bestBlockHash: chain.best.hash })
        const unlisten = chain.listen({
          onBlock: (block) => {
            announce(block)
            if (!stopped) push({ event: "bestBlockChanged", bestBlockHash: block.hash })
          },
          onFinalized: (block) => {
            if (!stopped) push({ event: "finalized", finalizedBlockHashes: [block.hash], prunedBlockHashes: [] })
          }
        })
        return () => {
          stopped = true
          unlisten()
          for (const hash of follow.pinned) chain.release(hash)
          follow.pinned.clear()
          follow.operations.clear()
          follows(conn).delete(id)
        }
      })
      return id
    },
    chainHead_v1_unfollow: ([followId], conn) => {
      if (followOf(conn, followId) !== undefined) conn.unsubscribe(followId)
      return null
    },

    chainHead_v1_header: ([followId, hash], conn) => {
      const follow = followOf(conn, followId)
      if (follow === undefined) return null
      return encodeHeader(pinnedBlock(follow, hash))
    },

    chainHead_v1_body: ([followId, hash], conn) => {
      const follow = followOf(conn, followId)
      if (follow === undefined) return { result: "limitReached" }
      const block = pinnedBlock(follow, hash)
      if (usedSlots(follow) + 1 > limits.operations) return { result: "limitReached" }
      const value = block.extrinsics.map((e) => u8aToHex(e))
      const operationId = startOperation(follow, 1, (operationId, _, done) => {
        done()
        follow.push({ event: "operationBodyDone", operationId, value })
      })
      return { result: "started", operationId }
    },

    chainHead_v1_call: ([followId, hash, fn, params], conn) => {
      const follow = followOf(conn, followId)
      if (follow === undefined) return { result: "limitReached" }
      const block = pinnedBlock(follow, hash)
      const name = stringParam(fn, "function")
      // An empty parameter list may come as "" (polkadot-api sends it so).
      const data = params === "" ? "0x" : hexParam(params, "call parameters")
      if (usedSlots(follow) + 1 > limits.operations) return { result: "limitReached" }
      // Run now, against the block as it is; report after the response.
      let outcome: { event: "operationCallDone"; output: Hex } | { event: "operationError"; error: string }
      try {
        outcome = { event: "operationCallDone", output: context.stateCall(name, data, block.hash) }
      } catch (error) {
        outcome = { event: "operationError", error: (error as Error).message }
      }
      const operationId = startOperation(follow, 1, (operationId, _, done) => {
        done()
        follow.push({ ...outcome, operationId })
      })
      return { result: "started", operationId }
    },

    chainHead_v1_storage: ([followId, hash, items, childTrie], conn) => {
      const follow = followOf(conn, followId)
      if (follow === undefined) return { result: "limitReached" }
      const block = pinnedBlock(follow, hash)
      if (!Array.isArray(items)) throw badParams("items must be an array")
      const queries = items.map((item: unknown, i) => {
        if (typeof item !== "object" || item === null) throw badParams(`items[${i}] must be an object`)
        const { key, type } = item as { key?: unknown; type?: unknown }
        if (typeof type !== "string" || !STORAGE_TYPES.has(type)) throw badParams(`items[${i}].type`)
        return { key: hexParam(key, `items[${i}].key`), type: type as StorageType }
      })
      if (childTrie !== undefined && childTrie !== null) hexParam(childTrie, "childTrie")
      const free = limits.operations - usedSlots(follow)
      if (free <= 0) return { result: "limitReached" }
      const accepted = queries.slice(0, free)
      // No child tries on the devchain: a child trie query finds nothing.
      const found = childTrie === undefined || childTrie === null
        ? accepted.flatMap((q) => storageItems(block, q.key, q.type))
        : []
      const operationId = startOperation(follow, accepted.length, (operationId, operation, done) => {
        let offset = 0
        const page = () => {
          operation.resume = undefined
          if (follow.operations.get(operationId) !== operation) return
          const items = found.slice(offset, offset + limits.storagePage)
          offset += items.length
          if (items.length > 0) follow.push({ event: "operationStorageItems", operationId, items })
          if (offset < found.length) {
            operation.resume = page
            follow.push({ event: "operationWaitingForContinue", operationId })
            return
          }
          done()
          follow.push({ event: "operationStorageDone", operationId })
        }
        page()
      })
      return { result: "started", operationId, discardedItems: queries.length - accepted.length }
    },

    chainHead_v1_continue: ([followId, operationId], conn) => {
      const follow = followOf(conn, followId)
      if (follow === undefined) return null
      const operation = typeof operationId === "string" ? follow.operations.get(operationId) : undefined
      if (operation?.resume === undefined) throw badParams("no operation waiting for continue with this id")
      const resume = operation.resume
      queueMicrotask(resume)
      return null
    },

    chainHead_v1_stopOperation: ([followId, operationId], conn) => {
      const follow = followOf(conn, followId)
      if (follow !== undefined && typeof operationId === "string") follow.operations.delete(operationId)
      return null
    },

    chainHead_v1_unpin: ([followId, hashOrHashes], conn) => {
      const follow = followOf(conn, followId)
      if (follow === undefined) return null
      const hashes = (Array.isArray(hashOrHashes) ? hashOrHashes : [hashOrHashes]).map((h) => hexParam(h, "block hash"))
      if (new Set(hashes).size !== hashes.length) {
        throw new RpcError(INVALID_DUPLICATE_HASHES, "Received duplicate hashes for the chainHead_unpin method")
      }
      // All or nothing: one unknown hash leaves every block pinned.
      for (const hash of hashes) if (!follow.pinned.has(hash)) throw invalidBlock(hash)
      for (const hash of hashes) {
        follow.pinned.delete(hash)
        chain.release(hash)
      }
      return null
    },

    // archive_v1: any block the devchain still holds (its state while within the retention window), by
    // hash; what polkadot-api falls back to for a block its follow subscription no longer pins.
    archive_v1_finalizedHeight: () => chain.finalized.number,
    archive_v1_genesisHash: () => chain.genesisHash,
    archive_v1_hashByHeight: ([height]) => {
      if (typeof height !== "number" || !Number.isSafeInteger(height) || height < 0) throw badParams("height")
      const hash = chain.hashAt(height)
      return hash === undefined ? [] : [hash]
    },
    archive_v1_header: ([hash]) => {
      const block = chain.blocks.get(hexParam(hash, "block hash"))
      return block === undefined ? null : encodeHeader(block)
    },
    archive_v1_body: ([hash]) => {
      const block = chain.blocks.get(hexParam(hash, "block hash"))
      return block === undefined ? null : block.extrinsics.map((e) => u8aToHex(e))
    },
    archive_v1_call: ([hash, fn, params]) => {
      const block = chain.blocks.get(hexParam(hash, "block hash"))
      if (block === undefined) return null
      const name = stringParam(fn, "function")
      const data = params === "" ? "0x" : hexParam(params, "call parameters")
      try {
        return { success: true, value: context.stateCall(name, data, block.hash) }
      } catch (error) {
        return { success: false, error: (error as Error).message }
      }
    },
    archive_v1_storage: ([hash, items, childTrie], conn) => {
      const at = hexParam(hash, "block hash")
      if (!Array.isArray(items)) throw badParams("items must be an array")
      const queries = items.map((item: unknown, i) => {
        if (typeof item !== "object" || item === null) throw badParams(`items[${i}] must be an object`)
        const { key, type } = item as { key?: unknown; type?: unknown }
        if (typeof type !== "string" || !STORAGE_TYPES.has(type)) throw badParams(`items[${i}].type`)
        return { key: hexParam(key, `items[${i}].key`), type: type as StorageType }
      })
      const block = chain.blocks.get(at)
      const childless = childTrie === undefined || childTrie === null
      return conn.subscribe("archive_v1_storageEvent", (_id, push) => {
        if (block === undefined || block.storage === undefined) {
          push({ event: "storageError", error: `block ${at} is unknown or its state was discarded` })
          return () => {}
        }
        for (const q of childless ? queries : []) {
          for (const item of storageItems(block, q.key, q.type)) push({ event: "storage", ...item })
        }
        push({ event: "storageDone" })
        return () => {}
      })
    },
    archive_v1_stopStorage: ([operationId], conn) => {
      conn.unsubscribe(operationId)
      return null
    },

    transaction_v1_broadcast: ([transaction], conn) => {
      const bytes = hexToU8a(hexParam(transaction, "transaction"))
      const operationId = `tx${(nextBroadcast++).toString(36)}`
      let ids = broadcastsOf.get(conn)
      if (ids === undefined) broadcastsOf.set(conn, ids = new Set())
      ids.add(operationId)
      // The spec gives no feedback: an invalid or already known transaction is simply not (re)included.
      try {
        if (chain.submit(bytes).status === "ready") hooks.onReady()
      } catch (error) {
        if (!(error instanceof RpcError)) throw error
      }
      return operationId
    },
    transaction_v1_stop: ([operationId], conn) => {
      const ids = broadcastsOf.get(conn)
      if (typeof operationId !== "string" || ids?.delete(operationId) !== true) {
        throw badParams("unknown operationId")
      }
      return null
    }
  }
  return handlers
}

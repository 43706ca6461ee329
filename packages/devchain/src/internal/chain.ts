/**
 * The chain: genesis, blocks (header hashing as Substrate does, so the api's own `header.hash` agrees),
 * a transaction pool with ready and future queues, block production, finality after a lag, runtime
 * upgrades, and listeners for the RPC layer's subscriptions.
 *
 * @internal
 */
import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import { Executive, type Validity } from "./executive.js"
import { type Extrinsic, INVALID_MESSAGE, type InvalidReason, parseExtrinsic } from "./extrinsic.js"
import * as Balances from "./pallets/balances.js"
import * as StorageProvider from "./pallets/storageProvider/model.js"
import type { Era } from "./pallets/storageProvider/pallet.js"
import * as Sudo from "./pallets/sudo.js"
import * as System from "./pallets/system.js"
import * as Timestamp from "./pallets/timestamp.js"
import {
  buildMetadata,
  type EventRecord,
  type Profile,
  profile as profileOf,
  type RuntimeCall,
  type RuntimeVersion,
  runtimeVersion
} from "./runtime.js"
import { type RawStorage, State } from "./storage.js"
import type { Hex } from "./types.js"

export interface GenesisConfig {
  readonly era: Era
  readonly endowments: ReadonlyArray<{ readonly account: Hex; readonly free: bigint }>
  readonly sudo: Hex | undefined
  readonly providers: ReadonlyArray<StorageProvider.ProviderGenesis>
  readonly buckets: ReadonlyArray<StorageProvider.BucketGenesis>
  readonly genesisTime: bigint
}

export interface ChainOptions {
  /** Blocks behind best that finality trails (0: every block is finalized as soon as it is built). */
  readonly finalityLag: number
  /** Block time: the timestamp step per block, in ms. */
  readonly blockTimeMs: number
  /** How many recent blocks keep their full state for `api.at(hash)`; older state is discarded. */
  readonly stateRetention: number
  readonly maxExtrinsicsPerBlock: number
}

/** A loaded runtime: its profile, version, metadata and logic. */
export interface Runtime {
  readonly profile: Profile
  readonly version: RuntimeVersion
  readonly metadata: Uint8Array
  readonly executive: Executive
}

export const loadRuntime = (era: Era, specVersion?: number): Runtime => {
  const profile = profileOf(era)
  const version = runtimeVersion(era, specVersion)
  return { profile, version, metadata: buildMetadata(era, version), executive: new Executive(profile, version) }
}

export interface HeaderJson {
  readonly parentHash: Hex
  readonly number: Hex
  readonly stateRoot: Hex
  readonly extrinsicsRoot: Hex
  readonly digest: { readonly logs: ReadonlyArray<Hex> }
}

export interface Block {
  readonly number: number
  readonly hash: Hex
  readonly header: HeaderJson
  readonly extrinsics: ReadonlyArray<Uint8Array>
  /** Discarded (undefined) once the block is older than the retention window. */
  storage: RawStorage | undefined
  readonly changed: ReadonlyArray<Hex>
  /** The runtime that executed this block (its events are that runtime's). */
  readonly runtime: Runtime
  /**
   * The runtime code in this block's state (`:code`): what `state_getRuntimeVersion` and
   * `state_getMetadata` report at this block, and what executes its child. It differs from `runtime`
   * only in the block that performed an upgrade.
   */
  readonly code: Runtime
}

export type TxStatus =
  | "ready"
  | "future"
  | { readonly inBlock: Hex }
  | { readonly finalized: Hex }
  | "invalid"
  | "dropped"
  | { readonly usurped: Hex }

/** A JSON-RPC error a node returns for a submission (1010 invalid, 1013 already imported, 1014 priority...). */
export class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: string) {
    super(message)
  }
}

interface PoolTx {
  readonly ext: Extrinsic<RuntimeCall>
  readonly sender: Hex
  readonly nonce: number
}

export interface ChainListener {
  readonly onBlock?: (block: Block) => void
  readonly onFinalized?: (block: Block) => void
  readonly onRuntime?: (block: Block) => void
}

const hashHeader = (h: { parentHash: Hex; number: number; stateRoot: Hex; extrinsicsRoot: Hex }): Hex =>
  u8aToHex(
    blake2AsU8a(
      u8aConcat(
        hexToU8a(h.parentHash),
        compactToU8a(h.number),
        hexToU8a(h.stateRoot),
        hexToU8a(h.extrinsicsRoot),
        new Uint8Array([0]) // empty digest
      ),
      256
    )
  )

const stateRootOf = (previous: Hex, storage: RawStorage, changed: ReadonlyArray<Hex>): Hex =>
  // Not a trie root (the devchain serves no proofs): a digest chaining every change, so equal
  // states reached by different histories differ, as block hashes do anyway.
  u8aToHex(
    blake2AsU8a(
      u8aConcat(
        hexToU8a(previous),
        ...[...changed].sort().flatMap((k) => [hexToU8a(k), storage.get(k) ?? new Uint8Array()])
      ),
      256
    )
  )

export class Chain {
  readonly blocks = new Map<Hex, Block>()
  /** Canonical chain by number. */
  readonly canonical: Array<Hex> = []
  genesisHash: Hex
  private finalizedNumber = 0
  private runtime: Runtime
  private readonly ready: Array<PoolTx> = []
  private readonly future: Array<PoolTx> = []
  private readonly listeners = new Set<ChainListener>()
  private readonly watchers = new Map<Hex, Set<(status: TxStatus) => void>>()
  /** Every included transaction's block (a resubmission is "already imported"). */
  private readonly txBlock = new Map<Hex, Hex>()
  /** Included transactions by block, until the block is finalized (their watchers then see `finalized`). */
  private readonly unfinalizedTxs = new Map<Hex, ReadonlyArray<Hex>>()
  /** Hashes of the transactions in the pool, for duplicate detection. */
  private readonly pooled = new Set<Hex>()
  /** Blocks whose state outlives the retention window: pin counts by hash. */
  private readonly retained = new Map<Hex, number>()
  /** Each block's events, decoded (by block hash). */
  readonly events = new Map<Hex, ReadonlyArray<EventRecord>>()

  constructor(genesis: GenesisConfig, readonly options: ChainOptions) {
    this.runtime = loadRuntime(genesis.era)
    const state = new State(new Map())
    buildGenesis(state, genesis, this.runtime)
    const { storage, changed } = state.commit()
    const header = {
      parentHash: `0x${"00".repeat(32)}` as Hex,
      number: 0,
      stateRoot: stateRootOf(`0x${"00".repeat(32)}`, storage, changed),
      extrinsicsRoot: u8aToHex(blake2AsU8a(new Uint8Array(), 256))
    }
    const hash = hashHeader(header)
    this.genesisHash = hash
    this.addBlock({
      number: 0,
      hash,
      header: { ...header, number: "0x0", digest: { logs: [] } },
      extrinsics: [],
      storage,
      changed,
      runtime: this.runtime,
      code: this.runtime
    }, [])
    this.finalizedNumber = 0
  }

  // ------------------------------------------------------------------------- reads

  get best(): Block {
    return this.blocks.get(this.canonical[this.canonical.length - 1]!)!
  }
  get finalized(): Block {
    return this.blocks.get(this.canonical[this.finalizedNumber]!)!
  }
  get currentRuntime(): Runtime {
    return this.runtime
  }
  blockAt(hashOrUndefined: Hex | undefined | null): Block | undefined {
    return hashOrUndefined == null ? this.best : this.blocks.get(hashOrUndefined.toLowerCase() as Hex)
  }
  hashAt(n: number): Hex | undefined {
    return this.canonical[n]
  }
  /** State of a block, for reads; `undefined` when the block is unknown or its state discarded. */
  stateAt(hash: Hex | undefined | null): State | undefined {
    const block = this.blockAt(hash)
    return block?.storage === undefined ? undefined : new State(block.storage)
  }
  pending(): ReadonlyArray<Uint8Array> {
    return [...this.ready, ...this.future].map((t) => t.ext.bytes)
  }
  /** The next nonce for an account, counting its transactions in the pool (`system_accountNextIndex`). */
  nextIndex(account: Hex): number {
    const state = new State(this.best.storage!)
    let nonce = state.getOr(System.storage.Account, account).nonce
    const queued = new Set([...this.ready, ...this.future].filter((t) => t.sender === account).map((t) => t.nonce))
    while (queued.has(nonce)) nonce++
    return nonce
  }

  listen(listener: ChainListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // ------------------------------------------------------------------------- pool

  /** Validates and queues a transaction; throws `RpcError` as a node would. Returns its hash and status. */
  submit(bytes: Uint8Array, watch?: (status: TxStatus) => void): { hash: Hex; status: "ready" | "future" } {
    let ext: Extrinsic<RuntimeCall>
    try {
      ext = parseExtrinsic(this.runtime.profile, bytes)
    } catch (error) {
      throw new RpcError(
        1002,
        "Verification Error: Runtime error: Execution failed",
        `Could not decode: ${String((error as Error).message)}`
      )
    }
    if (this.pooled.has(ext.hash) || this.txBlock.has(ext.hash)) {
      throw new RpcError(1013, "Transaction Already Imported")
    }
    const best = this.best
    const validity = this.runtime.executive.validate(new State(best.storage!), ext, best.number + 1, {
      genesisHash: this.genesisHash,
      blockHash: (n) => this.canonical[n]
    })
    if (validity._tag === "Invalid") throw invalid(validity.reason)
    const clash = [...this.ready, ...this.future].find((t) =>
      t.sender === validity.sender && t.nonce === validity.nonce
    )
    if (clash !== undefined) {
      // Same sender and nonce, same fee model: the newcomer cannot outbid the queued one.
      throw new RpcError(
        1014,
        "Priority is too low: (0 vs 0)",
        "The transaction has too low priority to replace another transaction already in the pool."
      )
    }
    const tx: PoolTx = { ext, sender: validity.sender, nonce: validity.nonce }
    this.pooled.add(ext.hash)
    if (watch !== undefined) this.watch(ext.hash, watch)
    const expected = this.poolNonce(validity.sender, validity.stateNonce)
    if (validity.nonce === expected) {
      this.ready.push(tx)
      this.notify(ext.hash, "ready")
      this.promote(validity.sender, validity.stateNonce)
      return { hash: ext.hash, status: "ready" }
    }
    this.future.push(tx)
    this.notify(ext.hash, "future")
    return { hash: ext.hash, status: "future" }
  }

  /**
   * `TaggedTransactionQueue_validate_transaction` at `block`: the pool's check against that block's
   * state and code, as if the transaction were to go into its child. `undefined`: the bytes do not decode.
   */
  validateAt(block: Block, bytes: Uint8Array): Validity | undefined {
    let ext: Extrinsic<RuntimeCall>
    try {
      ext = parseExtrinsic(block.code.profile, bytes)
    } catch {
      return undefined
    }
    if (block.storage === undefined) return undefined
    return block.code.executive.validate(new State(block.storage), ext, block.number + 1, {
      genesisHash: this.genesisHash,
      blockHash: (n) => (n <= block.number ? this.canonical[n] : undefined)
    })
  }

  /** Removes a transaction from the pool (as a pool eviction would); its watchers see `dropped`. */
  drop(hash: Hex): boolean {
    for (const queue of [this.ready, this.future]) {
      const index = queue.findIndex((t) => t.ext.hash === hash)
      if (index >= 0) {
        queue.splice(index, 1)
        this.pooled.delete(hash)
        this.notify(hash, "dropped")
        this.watchers.delete(hash)
        return true
      }
    }
    return false
  }

  get hasReady(): boolean {
    return this.ready.length > 0
  }

  watch(hash: Hex, watcher: (status: TxStatus) => void): () => void {
    const set = this.watchers.get(hash) ?? new Set()
    set.add(watcher)
    this.watchers.set(hash, set)
    return () => set.delete(watcher)
  }

  private notify(hash: Hex, status: TxStatus): void {
    for (const watcher of this.watchers.get(hash) ?? []) watcher(status)
  }

  private poolNonce(sender: Hex, stateNonce: number): number {
    let nonce = stateNonce
    const readyNonces = new Set(this.ready.filter((t) => t.sender === sender).map((t) => t.nonce))
    while (readyNonces.has(nonce)) nonce++
    return nonce
  }

  private promote(sender: Hex, stateNonce: number): void {
    for (;;) {
      const expected = this.poolNonce(sender, stateNonce)
      const index = this.future.findIndex((t) => t.sender === sender && t.nonce === expected)
      if (index < 0) return
      const [tx] = this.future.splice(index, 1)
      this.ready.push(tx!)
      this.notify(tx!.ext.hash, "ready")
    }
  }

  // ------------------------------------------------------------------------- blocks

  /**
   * A runtime upgrade, as `set_code` performs it: a block is built now whose state holds the new code
   * (a new spec version for `era`; `System.CodeUpdated` in its events); the next block runs the new
   * runtime, starting with its storage migration.
   */
  upgradeRuntime(era: Era): Block {
    return this.produceBlock(undefined, loadRuntime(era, this.runtime.version.specVersion + 1))
  }

  /** Builds, imports and (after the lag) finalizes one block from the ready queue. */
  produceBlock(timestamp?: bigint, setCode?: Runtime): Block {
    const parent = this.best
    const state = new State(parent.storage!)
    if (parent.code !== parent.runtime) {
      // The first block of a new runtime runs its migration: the pallet's storage re-encoded for the new era.
      StorageProvider.migrate(state, parent.runtime.profile.era, parent.code.profile.era)
    }
    const runtime = parent.code
    const number = parent.number + 1
    const executive = runtime.executive
    executive.initializeBlock(state, number, parent.hash)
    const parentTime = new State(parent.storage!).getOr(Timestamp.storage.Now)
    const now = timestamp ?? parentTime + BigInt(this.options.blockTimeMs)
    executive.applyInherent(state, now)
    const inherent = u8aConcat(
      compactToU8a(1 + 2 + compactToU8a(now).length),
      new Uint8Array([4, 2, 0]),
      compactToU8a(now)
    )
    const included: Array<PoolTx> = []
    const invalidated: Array<PoolTx> = []
    const queue = [...this.ready]
    this.ready.length = 0
    for (const tx of queue) {
      if (included.length >= this.options.maxExtrinsicsPerBlock) {
        this.ready.push(tx)
        continue
      }
      const applied = executive.applyExtrinsic(state, tx.ext, included.length + 1, number)
      if (applied) included.push(tx)
      else invalidated.push(tx)
    }
    if (setCode !== undefined) executive.codeUpdated()
    const events = executive.finalizeBlock(state)
    const { storage, changed } = state.commit()
    const extrinsics = [inherent, ...included.map((t) => t.ext.bytes)]
    const headerFields = {
      parentHash: parent.hash,
      number,
      stateRoot: stateRootOf(parent.header.stateRoot, storage, changed),
      extrinsicsRoot: u8aToHex(blake2AsU8a(u8aConcat(...extrinsics), 256))
    }
    const hash = hashHeader(headerFields)
    const block: Block = {
      number,
      hash,
      header: { ...headerFields, number: `0x${number.toString(16)}`, digest: { logs: [] } },
      extrinsics,
      storage,
      changed,
      runtime,
      code: setCode ?? runtime
    }
    this.addBlock(block, events)
    for (const tx of included) {
      this.txBlock.set(tx.ext.hash, hash)
      this.pooled.delete(tx.ext.hash)
      this.notify(tx.ext.hash, { inBlock: hash })
    }
    this.unfinalizedTxs.set(hash, included.map((tx) => tx.ext.hash))
    for (const tx of invalidated) {
      this.pooled.delete(tx.ext.hash)
      this.notify(tx.ext.hash, "invalid")
      this.watchers.delete(tx.ext.hash)
    }
    this.revalidatePool(block)
    if (block.code !== parent.code) {
      this.runtime = block.code
      for (const l of this.listeners) l.onRuntime?.(block)
    }
    this.advanceFinality(Math.max(0, number - this.options.finalityLag))
    return block
  }

  /** Finalizes up to block `n` (at most the best block); emits each newly finalized block in order. */
  advanceFinality(n: number): void {
    const target = Math.min(n, this.best.number)
    while (this.finalizedNumber < target) {
      this.finalizedNumber++
      const block = this.blocks.get(this.canonical[this.finalizedNumber]!)!
      for (const tx of this.unfinalizedTxs.get(block.hash) ?? []) {
        this.notify(tx, { finalized: block.hash })
        this.watchers.delete(tx)
      }
      this.unfinalizedTxs.delete(block.hash)
      for (const l of this.listeners) l.onFinalized?.(block)
    }
  }

  /**
   * Keeps a block's state past the retention window while a `chainHead_v1_follow` subscription has it
   * pinned (the spec promises reads at every pinned block); `release` undoes one `retain`.
   */
  retain(hash: Hex): void {
    this.retained.set(hash, (this.retained.get(hash) ?? 0) + 1)
  }
  release(hash: Hex): void {
    const count = (this.retained.get(hash) ?? 0) - 1
    if (count > 0) {
      this.retained.set(hash, count)
      return
    }
    this.retained.delete(hash)
    const block = this.blocks.get(hash)
    if (block !== undefined && block.number < this.canonical.length - this.options.stateRetention) {
      block.storage = undefined
    }
  }

  private addBlock(block: Block, events: ReadonlyArray<EventRecord>): void {
    this.blocks.set(block.hash, block)
    this.canonical.push(block.hash)
    this.events.set(block.hash, events)
    const stale = this.canonical.length - 1 - this.options.stateRetention
    if (stale > 0) {
      const old = this.blocks.get(this.canonical[stale]!)
      if (old !== undefined && !this.retained.has(old.hash)) old.storage = undefined
    }
    for (const l of this.listeners) l.onBlock?.(block)
  }

  /** After a block: drop transactions that became stale; promote futures whose turn came. */
  private revalidatePool(block: Block): void {
    const state = new State(block.storage!)
    const keep = (tx: PoolTx) => {
      if (tx.nonce >= state.getOr(System.storage.Account, tx.sender).nonce) return true
      this.pooled.delete(tx.ext.hash)
      this.notify(tx.ext.hash, "invalid")
      this.watchers.delete(tx.ext.hash)
      return false
    }
    const ready = this.ready.filter(keep)
    const future = this.future.filter(keep)
    this.ready.length = 0
    this.future.length = 0
    for (const tx of future) this.future.push(tx)
    // Re-derive readiness per sender from the new state nonce.
    for (const tx of ready.sort((a, b) => a.nonce - b.nonce)) {
      const expected = this.poolNonce(tx.sender, state.getOr(System.storage.Account, tx.sender).nonce)
      if (tx.nonce === expected) this.ready.push(tx)
      else this.future.push(tx)
    }
    for (const sender of new Set(this.future.map((t) => t.sender))) {
      this.promote(sender, state.getOr(System.storage.Account, sender).nonce)
    }
  }
}

const invalid = (reason: InvalidReason) =>
  new RpcError(
    reason === "CannotLookup" ? 1011 : 1010,
    reason === "CannotLookup" ? "Unknown Transaction Validity" : "Invalid Transaction",
    INVALID_MESSAGE[reason]
  )

const buildGenesis = (state: State, genesis: GenesisConfig, runtime: Runtime): void => {
  let issuance = 0n
  for (const { account, free } of genesis.endowments) {
    const info = state.getOr(System.storage.Account, account)
    state.put(System.storage.Account, [account], {
      ...info,
      providers: 1,
      data: { ...info.data, free: info.data.free + free }
    })
    issuance += free
  }
  state.put(Balances.storage.TotalIssuance, [], issuance)
  if (genesis.sudo !== undefined) state.put(Sudo.storage.Key, [], genesis.sudo)
  state.put(Timestamp.storage.Now, [], genesis.genesisTime)
  StorageProvider.buildGenesis(state, runtime.profile.era, genesis.providers, genesis.buckets)
}

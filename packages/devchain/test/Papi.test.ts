/**
 * The new JSON-RPC spec (`chainHead_v1_*`, `transaction_v1_*`, `chainSpec_v1_*`) checked by the real
 * polkadot-api client over a real WebSocket. The client is built on the raw provider (no
 * `@polkadot-api/ws-middleware`): nothing translates to the legacy methods or patches a server's
 * mistakes, so every read, signature, submission and event below went through the new methods only,
 * and the node counts them to show it. The spec's limits (pins, operations, paging, all-or-nothing
 * unpin) are checked on the wire.
 */
import { describe, expect, it } from "@effect/vitest"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import { u8aToHex } from "@polkadot/util"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createClient, type PolkadotClient } from "polkadot-api"
import { getPolkadotSigner } from "polkadot-api/signer"
import { getWsRawProvider } from "polkadot-api/ws"
import { type RawData, WebSocket } from "ws"
import * as Devchain from "../src/Devchain.js"
import { eventually } from "./helpers.js"

const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
const dev = (name: string): KeyringPair => keyring.addFromUri(`//${name}`)
const signerOf = (pair: KeyringPair) => getPolkadotSigner(pair.publicKey, "Sr25519", (message) => pair.sign(message))

/**
 * A polkadot-api client speaking only the new spec to `url`, destroyed with the scope; `asked` lists the
 * methods it sent.
 */
const papi = (
  url: string
): Effect.Effect<{ client: PolkadotClient; asked: ReadonlyArray<string> }, never, Scope.Scope> => {
  const asked: Array<string> = []
  return Effect.acquireRelease(
    Effect.sync(() => createClient(getWsRawProvider(url, { websocketClass: spySocket(asked) as never }))),
    (client) => Effect.sync(() => client.destroy())
  ).pipe(Effect.map((client) => ({ client, asked })))
}

/** A WebSocket class recording every method its connections send (a spy on the client's side). */
const spySocket = (asked: Array<string>) =>
  class SpyWebSocket extends WebSocket {
    override send(data: unknown, ...rest: Array<never>): void {
      const method = (JSON.parse(String(data)) as { method?: unknown }).method
      if (typeof method === "string") asked.push(method)
      ;(super.send as (data: unknown, ...rest: Array<never>) => void)(data, ...rest)
    }
  }

/** Methods outside the new spec's groups. */
const legacyIn = (asked: ReadonlyArray<string>) =>
  asked.filter((m) => !/^(chainHead|chainSpec|transaction)_v1_/.test(m))

/** `count` endowed accounts beyond the dev accounts (System.Account's entries over several storage pages). */
const manyAccounts = (count: number) => [
  ...Devchain.DEV_ACCOUNTS.map((account) => ({ account, free: 1_000n * Devchain.UNIT })),
  ...Array.from({ length: count }, (_, i) => ({
    account: u8aToHex(new Uint8Array(32).fill(i + 1)),
    free: Devchain.UNIT + BigInt(i)
  }))
]

/** A raw JSON-RPC connection: requests by id, notifications collected. */
interface Reply {
  readonly result?: unknown
  readonly error?: { readonly code: number }
}
interface RawSocket {
  readonly request: (method: string, params: ReadonlyArray<unknown>) => Effect.Effect<Reply>
  readonly notifications: Array<{ subscription: string; result: Record<string, unknown> }>
  readonly socket: WebSocket
}
const rawSocket = (url: string): Effect.Effect<RawSocket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<RawSocket>((resume) => {
      const socket = new WebSocket(url)
      let nextId = 0
      const pending = new Map<number, (reply: Reply) => void>()
      const notifications: Array<{ subscription: string; result: Record<string, unknown> }> = []
      socket.on("message", (data: RawData) => {
        const message = JSON.parse(data.toString())
        if (message.id !== undefined && message.id !== null) pending.get(message.id)?.(message)
        else notifications.push(message.params)
      })
      socket.once("open", () =>
        resume(Effect.succeed({
          socket,
          notifications,
          request: (method, params) =>
            Effect.async<Reply>((done) => {
              const id = ++nextId
              pending.set(id, (reply) => done(Effect.succeed(reply)))
              socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }))
            })
        })))
    }),
    ({ socket }) => Effect.sync(() => socket.close())
  )

const eventsOf = (
  notifications: ReadonlyArray<{ subscription: string; result: Record<string, unknown> }>,
  subscription: unknown,
  event?: string
) => notifications.filter((n) => n.subscription === subscription && (event === undefined || n.result.event === event))

describe("the new JSON-RPC spec, driven by polkadot-api", () => {
  it.scopedLive("lists the spec's methods beside the legacy ones", () =>
    Effect.gen(function*() {
      const chain = yield* Devchain.start({ blockMode: "manual" })
      const ws = yield* rawSocket(chain.url)
      const { result } = yield* ws.request("rpc_methods", [])
      const methods = (result as { methods: ReadonlyArray<string> }).methods
      for (
        const m of [
          "chainHead_v1_follow",
          "chainHead_v1_unfollow",
          "chainHead_v1_header",
          "chainHead_v1_body",
          "chainHead_v1_storage",
          "chainHead_v1_call",
          "chainHead_v1_unpin",
          "chainHead_v1_continue",
          "chainHead_v1_stopOperation",
          "transaction_v1_broadcast",
          "transaction_v1_stop",
          "chainSpec_v1_chainName",
          "chainSpec_v1_genesisHash",
          "chainSpec_v1_properties",
          "archive_v1_body",
          "archive_v1_storage",
          "archive_v1_call",
          "chain_getFinalizedHead",
          "author_submitAndWatchExtrinsic"
        ]
      ) expect(methods).toContain(m)
    }))

  it.scopedLive(
    "reads chain spec, blocks, storage (paged descendants) and constants through chainHead",
    () =>
      Effect.gen(function*() {
        // 150 accounts: System.Account's entries span three storage pages (64 items each).
        const chain = yield* Devchain.start({ blockMode: "manual", finalityLag: 1, endowed: manyAccounts(144) })
        yield* chain.newBlock(3)
        const { asked, client } = yield* papi(chain.url)
        const spec = yield* Effect.promise(() => client.getChainSpecData())
        expect(spec).toEqual({
          name: "Checkpointer Devchain",
          genesisHash: chain.genesisHash,
          properties: { ss58Format: 42, tokenDecimals: 12, tokenSymbol: "UNIT" }
        })
        const finalized = yield* Effect.promise(() => client.getFinalizedBlock())
        expect(finalized).toMatchObject({ number: 2, hash: chain.chain.hashAt(2) })
        const best = yield* Effect.promise(() => client.getBestBlocks())
        expect(best[0]).toMatchObject({ number: 3, hash: chain.chain.hashAt(3) })
        const header = yield* Effect.promise(() => client.getBlockHeader(chain.chain.hashAt(3)!))
        expect(header.number).toBe(3)
        expect(header.parentHash).toBe(chain.chain.hashAt(2))
        const body = yield* Effect.promise(() => client.getBlockBody(chain.chain.hashAt(3)!))
        expect(body).toHaveLength(1) // the timestamp inherent

        const api = client.getUnsafeApi()
        const alice = (yield* Effect.promise(() => api.query.System.Account.getValue(dev("Alice").address))) as {
          data: { free: bigint }
        }
        expect(alice.data.free).toBe(1_000n * Devchain.UNIT)
        const entries = yield* Effect.promise(() => api.query.System.Account.getEntries())
        expect(entries).toHaveLength(150)
        const number = yield* Effect.promise(() => api.query.System.Number.getValue({ at: "best" }))
        expect(number).toBe(3)
        expect(yield* Effect.promise(() => api.constants.System.Version())).toMatchObject({
          spec_version: 4,
          transaction_version: 2
        })
        expect(asked).toContain("chainHead_v1_storage")
        expect(legacyIn(asked)).toEqual([])
      }),
    30_000
  )

  it.scopedLive(
    "signs, broadcasts and follows a transfer to finality, events and index included",
    () =>
      Effect.gen(function*() {
        // A block every 50 ms, finality one block behind: inclusion, then finality, as on a live chain.
        const chain = yield* Devchain.start({ blockMode: "interval", blockTime: 50, finalityLag: 1 })
        const { asked, client } = yield* papi(chain.url)
        const api = client.getUnsafeApi()
        const tx = api.tx.Balances.transfer_keep_alive({
          dest: { type: "Id", value: dev("Bob").address },
          value: 5n * Devchain.UNIT
        })
        const result = yield* Effect.promise(() => tx.signAndSubmit(signerOf(dev("Alice"))))
        expect(result.ok).toBe(true)
        expect(result.block.hash).toBe(chain.chain.hashAt(result.block.number))
        expect(result.block.index).toBe(1) // after the timestamp inherent
        const transfer = result.events.find((e) => e.type === "Balances" && e.value.type === "Transfer")
        expect(transfer?.value.value).toMatchObject({ amount: 5n * Devchain.UNIT })
        expect(chain.eventsNamed("Balances", "Transfer")).toHaveLength(1)
        expect(chain.finalizedNumber()).toBeGreaterThanOrEqual(result.block.number)

        // The nonce came from the chain (AccountNonceApi over chainHead_v1_call): a second one follows it.
        const second = yield* Effect.promise(() => tx.signAndSubmit(signerOf(dev("Alice"))))
        expect(second.ok).toBe(true)
        expect(chain.eventsNamed("Balances", "Transfer")).toHaveLength(2)
        expect(asked).toContain("transaction_v1_broadcast")
        expect(asked).toContain("chainHead_v1_unpin")
        expect(legacyIn(asked)).toEqual([])
      }),
    30_000
  )

  it.scopedLive(
    "reports a failed dispatch with the pallet's error, and rejects an invalid transaction before sending",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "instant", finalityLag: 0 })
        const { client } = yield* papi(chain.url)
        const api = client.getUnsafeApi()
        const failed = yield* Effect.promise(() =>
          api.tx.StorageProvider.add_stake({ amount: Devchain.UNIT }).signAndSubmit(signerOf(dev("Bob")))
        )
        expect(failed.ok).toBe(false)
        expect(failed.dispatchError).toEqual({
          type: "Module",
          value: { type: "StorageProvider", value: { type: "ProviderNotFound" } }
        })
        // A stale nonce: TaggedTransactionQueue_validate_transaction says Invalid::Stale, nothing is broadcast.
        const stale = yield* Effect.promise(() =>
          api.tx.System.remark({ remark: new Uint8Array([1]) }).signAndSubmit(signerOf(dev("Bob")), { nonce: 0 })
            .then(() => "included", (error: unknown) => error)
        )
        expect(stale).toMatchObject({
          name: "InvalidTxError",
          error: { type: "InvalidTransaction", value: { type: "Stale" } }
        })
        expect(chain.bestNumber()).toBe(1)
      }),
    30_000
  )

  it.scopedLive(
    "follows a runtime upgrade: the new runtime is announced and its metadata used",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "manual", finalityLag: 0, era: "C" })
        yield* chain.newBlock(1)
        const { client } = yield* papi(chain.url)
        const api = client.getUnsafeApi()
        expect(yield* Effect.promise(() => api.constants.System.Version())).toMatchObject({ spec_version: 4 })
        yield* chain.upgradeRuntime("A")
        yield* chain.newBlock(1)
        yield* eventually(() => chain.finalizedNumber() === 3)
        const upgraded = yield* Effect.promise(() =>
          eventuallyPromise(async () => {
            const v = (await api.constants.System.Version()) as { spec_version: number }
            return v.spec_version === 5 ? v : undefined
          })
        )
        expect(upgraded.spec_version).toBe(5)
        // The metadata the client decodes with is the new runtime's (era A), not the one it started with;
        // block 1, unpinned by now, is read through archive_v1.
        const before = yield* Effect.promise(() => client.getMetadata(chain.chain.hashAt(1)!))
        const after = yield* Effect.promise(() => client.getMetadata(chain.chain.hashAt(3)!))
        expect(u8aToHex(before)).toBe(u8aToHex(chain.chain.blocks.get(chain.chain.hashAt(1)!)!.code.metadata))
        expect(u8aToHex(after)).toBe(u8aToHex(chain.chain.blocks.get(chain.chain.hashAt(3)!)!.code.metadata))
        expect(u8aToHex(after)).not.toBe(u8aToHex(before))
      }),
    30_000
  )
})

/** Retries `attempt` every 20 ms for at most 10 s until it yields a value. */
const eventuallyPromise = async <A>(attempt: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + 10_000
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("timed out")
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("the new JSON-RPC spec on the wire", () => {
  it.scopedLive(
    "a follower that never unpins is stopped at the pin limit; polkadot-api, which unpins, is not",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "manual", finalityLag: 0 })
        const { asked, client } = yield* papi(chain.url)
        yield* Effect.promise(() => client.getFinalizedBlock())
        const ws = yield* rawSocket(chain.url)
        const { result: id } = yield* ws.request("chainHead_v1_follow", [false])
        yield* eventually(() => eventsOf(ws.notifications, id, "initialized").length === 1)
        // 600 blocks in batches the client sees finalized (it unpins what it no longer needs as it goes).
        for (let batch = 1; batch <= 6; batch++) {
          yield* chain.newBlock(100)
          yield* Effect.promise(() =>
            eventuallyPromise(
              async () => ((await client.getFinalizedBlock()).number === batch * 100 ? true : undefined)
            )
          )
        }
        // The raw follower pinned the finalized block and 511 more, then was stopped at the 513th.
        yield* eventually(() => eventsOf(ws.notifications, id, "stop").length === 1, "stop")
        expect(eventsOf(ws.notifications, id, "newBlock")).toHaveLength(511)
        // The client's one follow subscription lived through all of it.
        expect(asked.filter((m) => m === "chainHead_v1_follow")).toHaveLength(1)
        expect(asked).toContain("chainHead_v1_unpin")
        // A dead subscription: header is null, operations are refused, unpin has no effect.
        expect((yield* ws.request("chainHead_v1_header", [id, chain.genesisHash])).result).toBeNull()
        expect((yield* ws.request("chainHead_v1_body", [id, chain.genesisHash])).result).toEqual({
          result: "limitReached"
        })
        expect((yield* ws.request("chainHead_v1_unpin", [id, chain.genesisHash])).result).toBeNull()
      }),
    60_000
  )

  it.scopedLive(
    "unpin is all or nothing; operations past the limit are refused; storage pages wait for continue",
    () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.start({ blockMode: "manual", finalityLag: 0, endowed: manyAccounts(100) })
        yield* chain.newBlock(2)
        const ws = yield* rawSocket(chain.url)
        const { result: id } = yield* ws.request("chainHead_v1_follow", [true])
        yield* eventually(() => eventsOf(ws.notifications, id, "initialized").length === 1)
        const head = chain.chain.hashAt(2)!
        expect(eventsOf(ws.notifications, id, "initialized")[0]!.result).toMatchObject({
          finalizedBlockHashes: [head],
          finalizedBlockRuntime: { type: "valid", spec: { specVersion: 4, transactionVersion: 2 } }
        })
        // Unknown hash: an error, and the known one stays pinned.
        const bad = yield* ws.request("chainHead_v1_unpin", [id, [head, `0x${"11".repeat(32)}`]])
        expect(bad.error?.code).toBe(-32801)
        expect((yield* ws.request("chainHead_v1_header", [id, head])).result).toMatch(/^0x/)
        // Not reported to this subscription: not pinned.
        expect((yield* ws.request("chainHead_v1_header", [id, chain.chain.hashAt(1)!])).error?.code).toBe(-32801)

        // Every key of the state (over 100), paged by 64.
        const started = yield* ws.request("chainHead_v1_storage", [
          id,
          head,
          [{ key: "0x", type: "descendantsValues" }],
          null
        ])
        const { operationId } = started.result as { operationId: string }
        yield* eventually(() =>
          ws.notifications.some((n) =>
            n.result.operationId === operationId && n.result.event === "operationWaitingForContinue"
          )
        )
        // While it waits, it holds one of 16 slots: 16 more storage items are cut to 15.
        const crowded = yield* ws.request("chainHead_v1_storage", [
          id,
          head,
          Array.from({ length: 16 }, () => ({ key: "0x00", type: "value" })),
          null
        ])
        expect(crowded.result).toMatchObject({ result: "started", discardedItems: 1 })
        expect((yield* ws.request("chainHead_v1_continue", [id, operationId])).result).toBeNull()
        yield* eventually(() =>
          ws.notifications.some((n) =>
            n.result.operationId === operationId && n.result.event === "operationStorageDone"
          )
        )
        const items = ws.notifications
          .filter((n) => n.result.operationId === operationId && n.result.event === "operationStorageItems")
          .flatMap((n) => n.result.items as ReadonlyArray<unknown>)
        expect(items.length).toBe(chain.chain.blocks.get(head)!.storage!.size + 1) // and `:code`

        yield* ws.request("chainHead_v1_unpin", [id, head])
        expect((yield* ws.request("chainHead_v1_header", [id, head])).error?.code).toBe(-32801)
        expect((yield* ws.request("chainHead_v1_unfollow", [id])).result).toBeNull()
        expect((yield* ws.request("chainHead_v1_header", [id, head])).result).toBeNull()
      }),
    30_000
  )
})

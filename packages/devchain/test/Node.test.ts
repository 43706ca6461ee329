import { describe, expect, it } from "@effect/vitest"
import { Keyring } from "@polkadot/keyring"
import { u8aToHex } from "@polkadot/util"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import WebSocket from "ws"
import * as Devchain from "../src/Devchain.js"
import { commitmentPayload, connect, dev, eventJson, eventually, send, world } from "./helpers.js"

const UNIT = 1_000_000_000_000n
const P_TIMESTAMP_NOW = "0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb"

/** One raw JSON-RPC call over a fresh socket (what the api hides). */
const rawCall = (url: string, method: string, params: ReadonlyArray<unknown> = []) =>
  Effect.async<{ result?: unknown; error?: { code: number; message: string } }, Error>((resume) => {
    const socket = new WebSocket(url)
    socket.on("open", () => socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })))
    socket.on("message", (data) => {
      socket.close()
      resume(Effect.succeed(JSON.parse(data.toString())))
    })
    socket.on("error", (e) => resume(Effect.fail(e)))
  })

describe("devchain node", () => {
  it.scoped("lists exactly the methods it serves and answers unknown ones with -32601", () =>
    Effect.gen(function*() {
      const { api, chain } = yield* world()
      const methods = (yield* Effect.promise(() => api.rpc.rpc.methods())).methods.map(String)
      for (
        const m of ["chain_getFinalizedHead", "author_submitAndWatchExtrinsic", "state_getKeysPaged", "state_call"]
      ) {
        expect(methods).toContain(m)
      }
      expect(typeof api.rpc.chain.getFinalizedHead).toBe("function")
      for (const m of methods) {
        const reply = yield* rawCall(chain.url, m, [])
        expect(reply.error?.code, m).not.toBe(-32601)
      }
      expect((yield* rawCall(chain.url, "chainHead_unstable_follow", [true])).error).toEqual({
        code: -32601,
        message: "Method not found"
      })
      expect((yield* Effect.promise(() => api.rpc.system.chain())).toString()).toBe("Checkpointer Devchain")
      const properties = yield* Effect.promise(() => api.rpc.system.properties())
      expect(properties.ss58Format.unwrap().toNumber()).toBe(42)
      expect(properties.tokenDecimals.unwrap()[0]!.toNumber()).toBe(12)
    }), 30_000)

  it.scoped("transfers balance; the fee charged is what paymentInfo quoted", () =>
    Effect.gen(function*() {
      const { api } = yield* world()
      const alice = dev("Alice")
      const zed = dev("Zed")
      const tx = api.tx.balances.transferKeepAlive(zed.address, 5n * UNIT)
      const quoted = (yield* Effect.promise(() => tx.paymentInfo(alice))).partialFee.toBigInt()
      const out = yield* send(api, tx, alice)
      expect(out.events).toEqual([
        "balances.Withdraw",
        "system.NewAccount",
        "balances.Endowed",
        "balances.Transfer",
        "transactionPayment.TransactionFeePaid",
        "system.ExtrinsicSuccess"
      ])
      expect(BigInt(eventJson(out, "balances.Withdraw")[1] as number)).toBe(quoted)
      const account = yield* Effect.promise(() => api.query.system.account(zed.address))
      expect((account.toJSON() as { data: { free: number } }).data.free).toBe(Number(5n * UNIT))
      // Consecutive transactions take their nonces from the pushed System.Account updates.
      for (let i = 0; i < 3; i++) {
        expect((yield* send(api, api.tx.system.remark(`0x0${i}`), alice)).error).toBeUndefined()
      }
      const failed = yield* send(api, api.tx.balances.transferKeepAlive(alice.address, 10n ** 30n), zed)
      expect(failed.error).toBe("Token.FundsUnavailable")
    }), 30_000)

  it.scoped(
    "block hashes are what the api computes from the header; old state stays readable with api.at",
    () =>
      Effect.gen(function*() {
        const { api, chain } = yield* world({ blockMode: "manual", finalityLag: 2 })
        const header = yield* Effect.promise(() => api.rpc.chain.getHeader())
        expect(header.hash.toHex()).toBe(chain.genesisHash)
        yield* chain.newBlock(3)
        expect(chain.bestNumber()).toBe(3)
        expect(chain.finalizedNumber()).toBe(1)
        const best = yield* Effect.promise(() => api.rpc.chain.getHeader())
        expect(best.hash.toHex()).toBe(chain.chain.best.hash)
        const finalized = yield* Effect.promise(() => api.rpc.chain.getFinalizedHead())
        expect(finalized.toHex()).toBe(chain.chain.hashAt(1))
        const before = yield* Effect.promise(() => api.at(chain.chain.hashAt(1)!))
        const now1 = (yield* Effect.promise(() => before.query.timestamp.now())).toJSON()
        const now3 = (yield* Effect.promise(() => api.query.timestamp.now())).toJSON()
        expect(Number(now3) - Number(now1)).toBe(2_000)
      }),
    30_000
  )

  it.scopedLive("a transaction is in a block before it is final, with finality lagging", () =>
    Effect.gen(function*() {
      const { api, chain } = yield* world({ blockMode: "instant", finalityLag: 2 })
      const statuses: Array<string> = []
      yield* Effect.promise(() =>
        api.tx.system.remark("0x01").signAndSend(dev("Alice"), (r) => void statuses.push(r.status.type))
      )
      yield* eventually(() => statuses.length === 2, "InBlock")
      expect(statuses).toEqual(["Ready", "InBlock"])
      yield* chain.newBlock(1)
      expect(chain.finalizedNumber()).toBe(0)
      yield* chain.newBlock(1)
      yield* eventually(() => statuses.length === 3, "Finalized")
      expect(statuses).toEqual(["Ready", "InBlock", "Finalized"])
    }), 30_000)

  it.scoped("queues future nonces and lands 20 concurrent transactions from one account", () =>
    Effect.gen(function*() {
      const { api } = yield* world()
      const alice = dev("Alice")
      const base = (yield* Effect.promise(() => api.rpc.system.accountNextIndex(alice.address))).toNumber()
      // Nonce base+1 first: it waits in the future queue until base arrives.
      const outcomes = yield* Effect.all(
        [1, 0, ...Array.from({ length: 18 }, (_, i) => i + 2)].map((offset) =>
          send(api, api.tx.system.remarkWithEvent(`0x${offset.toString(16).padStart(2, "0")}`), alice, {
            nonce: base + offset
          })
        ),
        { concurrency: "unbounded" }
      )
      expect(outcomes.every((o) => o.error === undefined && o.events.includes("system.Remarked"))).toBe(true)
      expect((yield* Effect.promise(() => api.rpc.system.accountNextIndex(alice.address))).toNumber()).toBe(base + 20)
    }), 30_000)

  it.scoped(
    "nonce -1 asks the runtime (AccountNonceApi, a little-endian u32) and is right",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world()
        for (let i = 0; i < 3; i++) {
          expect((yield* send(api, api.tx.system.remark("0x01"), dev("Bob"), { nonce: -1 })).error).toBeUndefined()
        }
        const account = (yield* Effect.promise(() => api.query.system.account(dev("Bob").address))).toJSON()
        expect(account).toMatchObject({ nonce: 3 })
      }),
    30_000
  )

  it.scoped("state older than the retention window is discarded, as on a pruned node", () =>
    Effect.gen(function*() {
      const { api, chain } = yield* world({ blockMode: "manual", stateRetention: 16 })
      yield* chain.newBlock(20)
      const old = chain.chain.hashAt(2)!
      const error = yield* Effect.flip(Effect.tryPromise(() => api.rpc.state.getStorage(P_TIMESTAMP_NOW, old)))
      expect(String(error.cause)).toContain("State already discarded")
      const recent = yield* Effect.promise(() => api.at(chain.chain.hashAt(10)!))
      expect(Number((yield* Effect.promise(() => recent.query.timestamp.now())).toJSON())).toBeGreaterThan(0)
    }), 30_000)

  it.scoped(
    "a second transaction with a nonce already queued is rejected: Priority is too low",
    () =>
      Effect.gen(function*() {
        const { api, chain } = yield* world({ blockMode: "manual" })
        const alice = dev("Alice")
        const first = api.tx.system.remark("0x01")
        yield* Effect.promise(() => first.signAsync(alice, { nonce: 0 }))
        const hash = yield* Effect.promise(() => api.rpc.author.submitExtrinsic(first))
        const second = yield* Effect.flip(send(api, api.tx.system.remark("0x02"), alice, { nonce: 0 }))
        expect(second).toContain("1014: Priority is too low")
        expect(yield* chain.dropExtrinsic(hash.toHex() as `0x${string}`)).toBe(true)
        expect((yield* Effect.promise(() => api.rpc.author.pendingExtrinsics())).length).toBe(0)
      }),
    30_000
  )

  it.scopedLive("a dropped transaction's watcher sees Dropped", () =>
    Effect.gen(function*() {
      const { api, chain } = yield* world({ blockMode: "manual" })
      const statuses: Array<string> = []
      const tx = api.tx.system.remark("0x01")
      yield* Effect.promise(() => tx.signAndSend(dev("Alice"), (r) => void statuses.push(r.status.type)))
      yield* eventually(() => statuses.length === 1, "Ready")
      expect(yield* chain.dropExtrinsic(tx.hash.toHex() as `0x${string}`)).toBe(true)
      yield* eventually(() => statuses.length === 2, "Dropped")
      expect(statuses).toEqual(["Ready", "Dropped"])
    }), 30_000)

  it.scopedLive(
    "a runtime upgrade to era A: CodeUpdated, a new spec version, flat checkpoint, migrated storage",
    () =>
      Effect.gen(function*() {
        const { api, chain } = yield* world({
          providers: [{ account: "//Bob", multiaddr: "/ip4/127.0.0.1/tcp/4001" }],
          buckets: [{ admin: "//Alice", minProviders: 1, primaries: ["//Bob"] }]
        })
        expect(api.tx.storageProvider.checkpoint.meta.args.length).toBe(3)
        const upgradeBlock = chain.chain.best.number + 1
        yield* chain.upgradeRuntime("A")
        yield* eventually(() => api.runtimeVersion.specVersion.toNumber() === 5, "the new runtime version")
        yield* eventually(() => api.tx.storageProvider.checkpoint.meta.args.length === 5, "the new metadata")
        const events = yield* Effect.promise(async () =>
          (await api.at(chain.chain.hashAt(upgradeBlock)!)).query.system.events()
        )
        const names = (events as unknown as ReadonlyArray<{ event: { section: string; method: string } }>)
          .map(({ event }) => `${event.section}.${event.method}`)
        expect(names).toContain("system.CodeUpdated")
        expect((yield* send(api, api.tx.system.remark("0x01"), dev("Alice"))).error).toBeUndefined()
        // The bucket and provider written in era C's layout read back in era A's after the migration.
        expect((yield* Effect.promise(() => api.query.storageProvider.buckets(0))).toJSON()).toMatchObject({
          minProviders: 1,
          primaryProviders: [dev("Bob").address]
        })
        expect((yield* Effect.promise(() => api.query.storageProvider.providers(dev("Bob").address))).toJSON())
          .not.toHaveProperty("publicKey")
        const root = new Uint8Array(32).fill(4)
        const sig = { Sr25519: u8aToHex(dev("Bob").sign(commitmentPayload(0n, root, 0n, 2n))) }
        const out = yield* send(
          api,
          api.tx.storageProvider.checkpoint(0, u8aToHex(root), 0, 2, [[dev("Bob").address, sig]]),
          dev("Alice")
        )
        expect(out.error).toBeUndefined()
      }),
    30_000
  )

  it.scoped("ed25519 and ecdsa accounts sign extrinsics too", () =>
    Effect.gen(function*() {
      const { api } = yield* world()
      for (const type of ["ed25519", "ecdsa"] as const) {
        const pair = new Keyring({ type, ss58Format: 42 }).addFromUri("//Signer")
        const funded = yield* send(api, api.tx.balances.transferKeepAlive(pair.address, 10n * UNIT), dev("Alice"))
        expect(funded.error).toBeUndefined()
        const out = yield* send(api, api.tx.system.remarkWithEvent("0xbeef"), pair)
        expect(out.events, type).toContain("system.Remarked")
      }
    }), 30_000)

  it.scoped("sudo dispatches as root; anyone else gets RequireSudo", () =>
    Effect.gen(function*() {
      const { api } = yield* world()
      const call = api.tx.balances.forceSetBalance(dev("Zed").address, 42n * UNIT)
      const ok = yield* send(api, api.tx.sudo.sudo(call), dev("Alice"))
      expect(eventJson(ok, "sudo.Sudid")).toEqual([{ ok: null }])
      expect(
        ((yield* Effect.promise(() => api.query.system.account(dev("Zed").address))).toJSON() as {
          data: { free: number }
        }).data.free
      )
        .toBe(Number(42n * UNIT))
      expect((yield* send(api, api.tx.sudo.sudo(call), dev("Bob"))).error).toBe("sudo.RequireSudo")
      expect((yield* send(api, call, dev("Bob"))).error).toBe("BadOrigin")
    }), 30_000)

  it.scoped("genesis can pre-register providers and buckets; entries() lists them", () =>
    Effect.gen(function*() {
      const { api, chain } = yield* world({
        providers: [
          { account: "//Bob", multiaddr: "/ip4/127.0.0.1/tcp/4001" },
          { account: "//Charlie", multiaddr: "/ip4/127.0.0.1/tcp/4002" }
        ],
        buckets: [{
          admin: "//Alice",
          minProviders: 2,
          primaries: ["//Bob", "//Charlie"],
          members: [{ account: "//Dave", role: "Writer" }]
        }]
      })
      const providers = yield* Effect.promise(() => api.query.storageProvider.providers.entries())
      expect(providers.length).toBe(2)
      const bucket = (yield* Effect.promise(() => api.query.storageProvider.buckets(0))).toJSON()
      expect(bucket).toMatchObject({
        minProviders: 2,
        primaryProviders: [dev("Bob").address, dev("Charlie").address],
        members: [{ account: dev("Alice").address, role: "Admin" }, { account: dev("Dave").address, role: "Writer" }]
      })
      const root = new Uint8Array(32).fill(1)
      const sigs = [dev("Bob"), dev("Charlie")].map((
        p
      ) => [p.address, { Sr25519: u8aToHex(p.sign(commitmentPayload(0n, root, 0n, 3n))) }])
      const out = yield* send(
        api,
        api.tx.storageProvider.checkpoint(0, { mmrRoot: u8aToHex(root), startSeq: 0, leafCount: 3 }, sigs),
        dev("Dave")
      )
      expect(out.error).toBeUndefined()
      expect(chain.eventsNamed("StorageProvider", "BucketCheckpointed").map((e) => e.fields)).toMatchObject([
        { bucket_id: 0n, commitment: { leaf_count: 3n } }
      ])
    }), 30_000)

  it.scoped("a provider registered with an ecdsa key signs commitments with it", () =>
    Effect.gen(function*() {
      const ecdsa = new Keyring({ type: "ecdsa" }).addFromUri("//Bob//provider")
      const { api } = yield* world({
        providers: [{ account: "//Bob", multiaddr: "/ip4/127.0.0.1/tcp/4001", publicKey: u8aToHex(ecdsa.publicKey) }],
        buckets: [{ admin: "//Alice", minProviders: 1, primaries: ["//Bob"] }]
      })
      const root = new Uint8Array(32).fill(7)
      const commitment = { mmrRoot: u8aToHex(root), startSeq: 0, leafCount: 1 }
      const signature = { Ecdsa: u8aToHex(ecdsa.sign(commitmentPayload(0n, root, 0n, 1n))) }
      const out = yield* send(
        api,
        api.tx.storageProvider.checkpoint(0, commitment, [[dev("Bob").address, signature]]),
        dev("Alice")
      )
      expect(out.error).toBeUndefined()
      // Bob's account key does not stand in for the registered ecdsa key.
      const sr = { Sr25519: u8aToHex(dev("Bob").sign(commitmentPayload(0n, root, 0n, 1n))) }
      const rejected = yield* send(
        api,
        api.tx.storageProvider.checkpoint(0, commitment, [[dev("Bob").address, sr]]),
        dev("Alice")
      )
      expect(rejected.error).toBe("storageProvider.InvalidPublicKey")
    }), 30_000)

  it.scoped(
    "extend_checkpoint adds late signers; challenge_offchain takes a deposit and returns the challenge id",
    () =>
      Effect.gen(function*() {
        const { api } = yield* world({
          providers: [
            { account: "//Bob", multiaddr: "/ip4/127.0.0.1/tcp/4001" },
            { account: "//Charlie", multiaddr: "/ip4/127.0.0.1/tcp/4002" },
            { account: "//Dave", multiaddr: "/ip4/127.0.0.1/tcp/4003" }
          ],
          buckets: [{ admin: "//Alice", minProviders: 1, primaries: ["//Bob", "//Charlie", "//Dave"] }]
        })
        const root = new Uint8Array(32).fill(2)
        const sig = (
          name: string,
          leafCount = 4n,
          r = root
        ) => [dev(name).address, { Sr25519: u8aToHex(dev(name).sign(commitmentPayload(0n, r, 0n, leafCount))) }]
        const commitment = { mmrRoot: u8aToHex(root), startSeq: 0, leafCount: 4 }
        expect((yield* send(api, api.tx.storageProvider.checkpoint(0, commitment, [sig("Bob")]), dev("Alice"))).error)
          .toBeUndefined()
        const extended = yield* send(
          api,
          api.tx.storageProvider.extendCheckpoint(0, [sig("Bob"), sig("Dave")]),
          dev("Alice")
        )
        expect(eventJson(extended, "storageProvider.BucketCheckpointed")[2]).toEqual([dev("Dave").address])
        const bucket = (yield* Effect.promise(() => api.query.storageProvider.buckets(0))).toJSON()
        expect(bucket).toMatchObject({ snapshot: { primarySigners: "0x05" } })

        // Charlie signed a divergent root: anyone can challenge it with that signature.
        const other = new Uint8Array(32).fill(3)
        const divergent = { mmrRoot: u8aToHex(other), startSeq: 0, leafCount: 4 }
        const bad = sig("Charlie", 4n, root)[1]
        expect(
          (yield* send(
            api,
            api.tx.storageProvider.challengeOffchain(0, dev("Charlie").address, divergent, {
              leafIndex: 3,
              chunkIndex: 0
            }, bad),
            dev("Eve")
          )).error
        )
          .toBe("storageProvider.InvalidSignature")
        const good = sig("Charlie", 4n, other)[1]
        const out = yield* send(
          api,
          api.tx.storageProvider.challengeOffchain(0, dev("Charlie").address, divergent, {
            leafIndex: 3,
            chunkIndex: 0
          }, good),
          dev("Eve")
        )
        expect(out.events).toContain("balances.Reserved")
        const [id, bucketId, provider, challenger] = eventJson(out, "storageProvider.ChallengeCreated") as [
          { deadline: number; index: number },
          number,
          string,
          string
        ]
        expect({ bucketId, provider, challenger, index: id.index }).toEqual({
          bucketId: 0,
          provider: dev("Charlie").address,
          challenger: dev("Eve").address,
          index: 0
        })
        const stored = (yield* Effect.promise(() => api.query.storageProvider.challenges(id.deadline, id.index)))
          .toJSON()
        expect(stored).toMatchObject({ bucketId: 0, mmrRoot: u8aToHex(other), authorized: false })
      }),
    30_000
  )

  it.live("stops cleanly: its clients are disconnected and the port is released", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const chain = yield* Devchain.start({ blockMode: "interval", blockTime: 50 }).pipe(Scope.extend(scope))
      const apiScope = yield* Scope.make()
      const api = yield* connect(chain.url).pipe(Scope.extend(apiScope))
      expect(chain.connections()).toBe(1)
      yield* eventually(() => chain.bestNumber() > 1, "interval blocks")
      yield* Scope.close(scope, Exit.void)
      yield* eventually(() => !api.isConnected, "the client to see the close")
      const refused = yield* Effect.either(rawCall(chain.url, "system_health"))
      expect(refused._tag).toBe("Left")
      yield* Scope.close(apiScope, Exit.void)
    }), 30_000)
})

describe("Devchain.layer", () => {
  it.layer(Devchain.layer({ blockMode: "manual" }))((it) => {
    it.effect("provides a running devchain for the layer's lifetime", () =>
      Effect.gen(function*() {
        const chain = yield* Devchain.Devchain
        expect(chain.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
        yield* chain.newBlock(2)
        expect(chain.bestNumber()).toBe(2)
      }))
  })

  it.effect("a bad config is a typed error naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Devchain.start({ finalityLag: -1, era: "B" as "C" })))
      expect(error.reason).toBe("Config")
      expect(error.message).toBe(
        `era: expected "C" or "A", got "B"; finalityLag: expected a non-negative number, got -1`
      )
    }))
})

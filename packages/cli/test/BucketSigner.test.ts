/**
 * A bucket with a signer of its own (`signerEnv` in a config file's bucket entry): `config check` names it
 * by address, `run` signs that bucket's checkpoints with it and the other buckets' with the process's
 * signer, and a bucket whose signer may not submit is refused before any provider is asked. Child
 * processes against a devchain and simulated providers in this process.
 */
import { Devchain } from "@checkpointer/devchain"
import { describe, expect, it } from "@effect/vitest"
import { Keyring } from "@polkadot/keyring"
import { u8aToHex } from "@polkadot/util"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually, jsonLines, run, start } from "./process.js"
import { world } from "./world.js"

const lines = (text: string) => text.trim().split("\n").filter((l) => l.trim() !== "")

describe("a bucket's own signer", () => {
  it.scopedLive(
    "config check names it by address; run signs bucket 1's checkpoints as Eve and bucket 0's as Alice; a bucket signer that is not a member is exit 2 before any round",
    () =>
      Effect.gen(function*() {
        yield* Effect.promise(() => cryptoWaitReady())
        const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
        const alice = keyring.addFromUri("//Alice")
        const eve = keyring.addFromUri("//Eve")
        const dir = mkdtempSync(join(tmpdir(), "checkpointer-bucket-signer-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const { chain, checkpointsOf, write } = yield* world("interval", { secondBucketAdmin: "//Eve" })
        const file = join(dir, "config.json")
        writeFileSync(
          file,
          JSON.stringify({ chain: chain.url, buckets: [0, { id: 1, signerEnv: "EVE_SURI" }], intervalBlocks: 2 })
        )
        const env = { EVE_SURI: "//Eve" }

        const checked = yield* run(["config", "check", file, "--suri", "//Alice", "--json"], env)
        expect(checked.exit, checked.stderr).toBe(0)
        const [record] = jsonLines(checked.stdout)
        expect(record!.bucketSigners).toEqual([{ bucket: 1, address: eve.address, source: "env EVE_SURI" }])
        expect(checked.stdout).not.toContain("//Eve")
        const unset = yield* run(["config", "check", file])
        expect(unset.exit).toBe(2)
        expect(lines(unset.stderr)).toEqual([
          "checkpointer: buckets: bucket 1: signerEnv names EVE_SURI, which is not set in the environment"
        ])

        yield* write(4)
        const daemon = yield* start(["run", "--config", file, "--suri", "//Alice", "--json"], env)
        yield* eventually(
          () => checkpointsOf(0).some((c) => c.leafCount === 4) && checkpointsOf(1).some((c) => c.leafCount === 4),
          "both buckets' checkpoints",
          90
        )
        // Who paid: the fee of each bucket's checkpoint was paid in its block by that bucket's signer.
        const payersIn = (block: number) =>
          chain.eventsNamed("TransactionPayment", "TransactionFeePaid").filter((e) => e.block === block).map((e) => {
            const who = (e.fields as { who: Uint8Array | string }).who
            return typeof who === "string" ? who : u8aToHex(who)
          })
        for (const [bucket, pair] of [[0, alice], [1, eve]] as const) {
          for (const c of checkpointsOf(bucket)) expect(payersIn(c.block)).toContain(u8aToHex(pair.publicKey))
        }
        daemon.child.kill("SIGTERM")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop", 20)
        expect(daemon.output.exit).toBe(0)

        // status shows each signer's balance with the buckets it signs for: its endowment less the fees
        // the chain says it paid.
        const status = yield* run(["status", "--config", file, "--suri", "//Alice", "--json"], env)
        expect(status.exit, status.stderr).toBe(0)
        const finalized = chain.finalizedNumber()
        const feesPaidBy = (publicKey: Uint8Array) =>
          chain.eventsNamed("TransactionPayment", "TransactionFeePaid").filter((e) => e.block <= finalized).reduce(
            (sum, e) => {
              // The actual fee includes the tip.
              const fields = e.fields as { who: Uint8Array | string; actual_fee: bigint }
              const who = typeof fields.who === "string" ? fields.who : u8aToHex(fields.who)
              return who === u8aToHex(publicKey) ? sum + BigInt(fields.actual_fee) : sum
            },
            0n
          )
        const endowment = 1_000_000n * Devchain.UNIT
        expect(
          jsonLines(status.stdout).filter((l) => l.type === "Signer").map((l) => ({
            account: l.account,
            buckets: l.buckets,
            balance: String(l.balancePlanck)
          }))
        ).toEqual([
          { account: alice.address, buckets: [0], balance: String(endowment - feesPaidBy(alice.publicKey)) },
          { account: eve.address, buckets: [1], balance: String(endowment - feesPaidBy(eve.publicKey)) }
        ])
        expect(feesPaidBy(eve.publicKey)).toBeGreaterThan(0n)

        // Bucket 0's signer is Alice; Eve is not a member of it: refused before any provider is asked.
        writeFileSync(file, JSON.stringify({ chain: chain.url, buckets: [{ id: 0, signerEnv: "EVE_SURI" }] }))
        const refused = yield* run(["run", "--config", file, "--suri", "//Alice"], env)
        expect(refused.exit).toBe(2)
        expect(lines(refused.stderr)).toEqual([
          `checkpointer: signer: ${eve.address} is not a member of bucket 0; checkpoints need a Writer or Admin`
        ])
      }),
    240_000
  )
})

/**
 * A lean cluster for the command's child-process tests: a devchain whose buckets each have a signer of
 * their own, simulated providers in this process, and `run --cluster` runners as child processes on a
 * database the test gives. Every wait is bounded; everything is on loopback.
 */
import { Devchain } from "@checkpointer/devchain"
import { ProviderSimulator } from "@checkpointer/testing"
import { expect } from "@effect/vitest"
import { Keyring } from "@polkadot/keyring"
import { u8aToHex } from "@polkadot/util"
import { blake2AsU8a, cryptoWaitReady } from "@polkadot/util-crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually, jsonLines, type Run, start } from "./process.js"

const NAMES = ["Bob", "Charlie", "Dave"]
/** The dev account that administers (and signs for) a bucket. */
export const signerOf = (bucket: number) => `//Bucket${bucket}`

/**
 * A devchain with `count` buckets (0…count-1), each administered by an account of its own, and `spare`
 * more after them administered by `//Alice` (the runners' default signer), in no config: buckets to add
 * at run time.
 */
export const clusterWorld = (count: number, options: { readonly seed?: number; readonly spare?: number } = {}) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => cryptoWaitReady())
    const seed = options.seed ?? 90
    const simulators = yield* Effect.forEach(NAMES, (name, i) => ProviderSimulator.start({ name, seed: seed + i }))
    const buckets = Array.from({ length: count }, (_, i) => i)
    const spare = Array.from({ length: options.spare ?? 0 }, (_, i) => count + i)
    const chain = yield* Devchain.start({
      blockMode: "interval",
      blockTime: Duration.millis(400),
      finalityLag: 1,
      endowed: [...Devchain.DEV_ACCOUNTS, ...buckets.map(signerOf)].map((account) => ({
        account,
        free: 1_000_000n * Devchain.UNIT
      })),
      providers: simulators.map((s, i) => ({ account: `//${NAMES[i]}`, multiaddr: s.multiaddr })),
      buckets: [...buckets.map(signerOf), ...spare.map(() => "//Alice")].map((admin) => ({
        admin,
        minProviders: 2,
        primaries: NAMES.map((n) => `//${n}`)
      }))
    })
    let written = 0
    /** New leaves for every bucket, at every provider. */
    const write = (leaves: number) =>
      Effect.gen(function*() {
        const roots = Array.from({ length: leaves }, (_, i) => blake2AsU8a(`cluster leaf ${written + i}`, 256))
        for (const bucket of [...buckets, ...spare]) {
          yield* Effect.forEach(simulators, (s) => s.commit(BigInt(bucket) as never, roots))
        }
        written += leaves
      })
    /** A bucket's checkpoints on chain, in order: the leaf count of each. */
    const checkpointsOf = (bucket: number) =>
      chain.eventsNamed("StorageProvider", "BucketCheckpointed").filter((e) =>
        Number((e.fields as { bucket_id: bigint }).bucket_id) === bucket
      ).map((e) => Number((e.fields as { commitment: { leaf_count: bigint } }).commitment.leaf_count))
    const everyBucketAt = (leafCount: number) => buckets.every((b) => checkpointsOf(b).at(-1) === leafCount)
    const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
    const bucketSigners = new Set<string>(buckets.map((b) => u8aToHex(keyring.addFromUri(signerOf(b)).publicKey)))
    /** Fees paid by the buckets' signers: one per extrinsic they sent, landed or failed. */
    const feesPaid = () =>
      chain.eventsNamed("TransactionPayment", "TransactionFeePaid").filter((e) => {
        const who = (e.fields as { who: Uint8Array | string }).who
        return bucketSigners.has(typeof who === "string" ? who : u8aToHex(who))
      }).length
    /** Each commitment of each bucket landed once, and the signers paid a fee for each and no more. */
    const expectEachCommitmentPaidOnce = () => {
      let commitments = 0
      for (const bucket of buckets) {
        const landed = checkpointsOf(bucket)
        expect(new Set(landed).size, `bucket ${bucket}: ${landed}`).toBe(landed.length)
        commitments += landed.length
      }
      expect(feesPaid()).toBe(commitments)
    }
    return { chain, buckets, spare, write, checkpointsOf, everyBucketAt, feesPaid, expectEachCommitmentPaidOnce }
  })

/** A world of `clusterWorld`. */
export type ClusterWorld = Effect.Effect.Success<ReturnType<typeof clusterWorld>>

/**
 * Waits (bounded) until every bucket's last checkpoint is at `leafCount`; on timeout the failure names the
 * buckets behind, their checkpoints, and the runners' last log lines about them — what a CI log needs to
 * tell a slow machine from a stuck round.
 */
export const everyBucketReaches = (
  world: ClusterWorld,
  leafCount: number,
  what: string,
  seconds: number,
  runners: ReadonlyArray<Run>
) =>
  eventually(() => world.everyBucketAt(leafCount), what, seconds).pipe(
    Effect.mapError(() => {
      const behind = world.buckets.filter((b) => world.checkpointsOf(b).at(-1) !== leafCount)
      const about = (text: string) =>
        text.split("\n").filter((line) => behind.some((b) => line.includes(`bucket ${b}`))).slice(-8)
      return [
        `timed out waiting for ${what}: bucket(s) ${
          behind.map((b) => `${b} at ${JSON.stringify(world.checkpointsOf(b))}`).join(", ")
        } (finalized #${world.chain.finalizedNumber()})`,
        ...runners.map((r, i) => `runner ${i} (exit ${r.output.exit}):\n  ${about(r.output.stderr).join("\n  ")}`)
      ].join("\n")
    })
  )

/** A free loopback port. */
export const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A config file for the world's buckets (each signed for by its own account, from the environment
 * `env` gives), due every `intervalBlocks` finalized blocks.
 */
export const clusterConfig = (world: ClusterWorld, intervalBlocks = 2) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "checkpointer-cluster-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const config = join(dir, "config.json")
    writeFileSync(
      config,
      JSON.stringify({
        chain: world.chain.url,
        buckets: world.buckets.map((b) => ({ id: b, signerEnv: `BUCKET_SIGNER_${b}` })),
        intervalBlocks
      })
    )
    const env = Object.fromEntries(world.buckets.map((b) => [`BUCKET_SIGNER_${b}`, signerOf(b)]))
    return { config, env }
  })

/** Whether a runner has said it runs. */
export const running = (r: Run) => jsonLines(r.output.stdout).some((l) => l.type === "Running")

/**
 * Starts a runner of the cluster on `databaseUrl` for the world's buckets (JSON output, logs at info),
 * `extra` flags after the others; waits for it to run, a timeout quoting what it said by then.
 */
export const startRunner = (
  world: ClusterWorld,
  databaseUrl: string,
  extra: ReadonlyArray<string> = [],
  options: { readonly port?: number; readonly intervalBlocks?: number } = {}
) =>
  Effect.gen(function*() {
    const { config, env } = yield* clusterConfig(world, options.intervalBlocks)
    const port = options.port ?? (yield* freePort)
    const runner = yield* start([
      "run",
      "--config",
      config,
      "--suri",
      "//Alice",
      "--cluster",
      databaseUrl,
      "--runner-address",
      `127.0.0.1:${port}`,
      "--json",
      "--log-level",
      "info",
      ...extra
    ], env)
    yield* eventually(() => running(runner), "the runner to start", 90).pipe(
      Effect.mapError(() =>
        `timed out waiting for the runner to start: exit ${runner.output.exit}: ${runner.output.stdout.slice(-1500)} ${
          runner.output.stderr.slice(-800)
        }`
      )
    )
    return { runner, port }
  })

/** Stops runners with SIGTERM and expects each to exit 0. */
export const stopRunners = (runners: ReadonlyArray<Run>) =>
  Effect.gen(function*() {
    for (const r of runners) r.child.kill("SIGTERM")
    yield* eventually(() => runners.every((r) => r.output.exit !== undefined), "the runners to stop", 30)
    expect(runners.map((r) => r.output.exit)).toEqual(runners.map(() => 0))
  })

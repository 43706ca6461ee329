/**
 * A live world for the command's child-process tests: a devchain and simulated providers in this process,
 * with bucket 0 (admin Alice, primaries Bob, Charlie and Dave, at least 2 signatures).
 */
import { Devchain } from "@checkpointer/devchain"
import { ProviderSimulator } from "@checkpointer/testing"
import { expect } from "@effect/vitest"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

export const NAMES = ["Bob", "Charlie", "Dave"]

/** A devchain with bucket 0 (admin Alice, primaries Bob, Charlie, Dave, at least 2 signatures). */
export const world = (
  blockMode: "interval" | "manual",
  options: {
    /** A second bucket (1), with the same primaries, administered by this dev account (`//Eve`). */
    readonly secondBucketAdmin?: string | undefined
  } = {}
) =>
  Effect.gen(function*() {
    const simulators = yield* Effect.forEach(NAMES, (name, i) => ProviderSimulator.start({ name, seed: 40 + i }))
    const chain = yield* Devchain.start({
      blockMode,
      blockTime: Duration.millis(400),
      finalityLag: blockMode === "manual" ? 0 : 1,
      providers: simulators.map((s, i) => ({ account: `//${NAMES[i]}`, multiaddr: s.multiaddr })),
      buckets: [
        { admin: "//Alice", minProviders: 2, primaries: NAMES.map((n) => `//${n}`) },
        ...(options.secondBucketAdmin === undefined
          ? []
          : [{ admin: options.secondBucketAdmin, minProviders: 2, primaries: NAMES.map((n) => `//${n}`) }])
      ]
    })
    let written = 0
    /** Leaf totals the providers have held, in order. */
    const totals: Array<number> = []
    const write = (count: number) =>
      Effect.gen(function*() {
        const roots = Array.from({ length: count }, (_, i) => blake2AsU8a(`daemon leaf ${written + i}`, 256))
        if (options.secondBucketAdmin !== undefined) {
          yield* Effect.forEach(simulators, (s) => s.commit(1n as never, roots))
        }
        const held = yield* Effect.forEach(simulators, (s) => s.commit(0n as never, roots))
        written += count
        for (const state of held) expect(Number(state.leafCount)).toBe(written)
        totals.push(written)
      })
    /** The leaf counts the chain checkpointed, in order (from its `BucketCheckpointed` events). */
    const checkpointed = () =>
      chain.eventsNamed("StorageProvider", "BucketCheckpointed").map((e) =>
        Number((e.fields as { commitment: { leaf_count: bigint } }).commitment.leaf_count)
      )
    /** A bucket's checkpoints on chain: the block and leaf count of each (its `BucketCheckpointed` events). */
    const checkpointsOf = (bucket: number) =>
      chain.eventsNamed("StorageProvider", "BucketCheckpointed").filter((e) =>
        Number((e.fields as { bucket_id: bigint }).bucket_id) === bucket
      ).map((e) => ({
        block: e.block,
        leafCount: Number((e.fields as { commitment: { leaf_count: bigint } }).commitment.leaf_count)
      }))
    return { chain, simulators, write, totals, checkpointed, checkpointsOf }
  })

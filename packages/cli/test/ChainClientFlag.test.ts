/**
 * `--client papi`: the command reads and submits through polkadot-api (the new JSON-RPC spec) instead
 * of `@polkadot/api`, with the same outcome on chain. One `run` covers the path (finalized heads, a
 * round, a submission, its receipt) to keep the suite's time small.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { eventually, run, start } from "./process.js"
import { world } from "./world.js"

describe("checkpointer --client", () => {
  it.scopedLive(
    "run --client papi: the loop follows finalized heads through polkadot-api and checkpoints new data",
    () =>
      Effect.gen(function*() {
        const { chain, checkpointed, write } = yield* world("interval")
        yield* write(3)
        const daemon = yield* start([
          "run",
          "--client",
          "papi",
          "--chain",
          chain.url,
          "--bucket",
          "0",
          "--interval-blocks",
          "2",
          "--suri",
          "//Alice",
          "--json"
        ])
        const records = () =>
          daemon.output.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
            JSON.parse(l) as { type: string; journal?: string }
          )
        yield* eventually(() => checkpointed().includes(3), "the first checkpoint")
        // One connection: the command's own chain facts (the journal's genesis-hash directory, the units,
        // the connection state) come from the polkadot-api client, not from a @polkadot/api one beside it.
        expect(chain.connections()).toBe(1)
        const running = records().find((r) => r.type === "Running")
        expect(running?.journal, daemon.output.stdout).toMatch(new RegExp(`${chain.genesisHash}$`))
        // A network cut is reported from polkadot-api's socket, and the loop goes on after it.
        yield* chain.disconnectAll()
        yield* eventually(() => records().some((r) => r.type === "ChainDisconnected"), "the cut reported")
        yield* eventually(() => records().some((r) => r.type === "ChainReconnected"), "the reconnect reported")
        // New data, and the loop (driven by finalized heads from chainHead_v1_follow) checkpoints it.
        yield* write(2)
        yield* eventually(() => checkpointed().includes(5), "the second checkpoint")
        expect(checkpointed()).toEqual([3, 5])
        daemon.child.kill("SIGINT")
        yield* eventually(() => daemon.output.exit !== undefined, "run to stop")
        expect(daemon.output.exit, daemon.output.stderr).toBe(0)
      }),
    90_000
  )

  it.scopedLive("an unknown client is one clear line, exit code 2", () =>
    Effect.gen(function*() {
      const bad = yield* run(["collect", "--client", "dedot", "--bucket", "0"])
      expect(bad.exit).toBe(2)
      expect(bad.stdout + bad.stderr).toContain("Expected one of the following cases: polkadot-js, papi")
    }), 60_000)
})

import { assert, describe, it } from "@effect/vitest"
import { Console, Effect } from "effect"
import { demo } from "../src/Demo.js"

/** Runs the demo with a console that records every line instead of printing it. */
const captured = Effect.gen(function*() {
  const lines: Array<string> = []
  const record = (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
  const console = { ...(yield* Console.consoleWith(Effect.succeed)), log: record }
  yield* demo({ pause: "1500 millis" }).pipe(Effect.withConsole(console as Console.Console))
  return lines.join("\n")
})

describe("the npm start demo", () => {
  it.live(
    "makes three real checkpoints through simulated providers, and shows the disagreement",
    () =>
      Effect.gen(function*() {
        const output = yield* captured
        assert.match(output, /provider Alice\s+http:\/\/127\.0\.0\.1:\d+/)
        assert.strictEqual(output.match(/✓ checkpoint of bucket 1/g)?.length, 3, output)
        assert.include(output, "signed by Alice, Bob, Charlie, Dave")
        assert.include(output, "Dave DataDivergence")
        assert.include(output, "Checkpoints on chain: 3; receipts in the journal: 3.")
        assert.include(output, "Not built yet")
      }),
    60_000
  )
})

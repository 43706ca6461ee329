import { SignatureVerifier } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect } from "effect"
import { demo } from "../src/Demo.js"

/** Runs the demo with a console that records every line instead of printing it. */
const captured = Effect.gen(function*() {
  const lines: Array<string> = []
  const record = (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
  const console = { ...(yield* Console.consoleWith(Effect.succeed)), log: record }
  yield* demo.pipe(Effect.withConsole(console as Console.Console))
  return lines
}).pipe(Effect.provide(SignatureVerifier.SignatureVerifier.layer))

describe("the npm start demo", () => {
  it.effect("maps every on-chain multiaddr to its provider URL", () =>
    Effect.gen(function*() {
      const output = (yield* captured).join("\n")
      assert.include(output, "/ip4/127.0.0.1/tcp/3333  ->  http://127.0.0.1:3333")
      assert.include(output, "->  https://bob.example/provider")
      assert.include(output, "->  http://[::1]:3335")
      assert.include(output, "/dns/eve.example/tcp/80/http  ->  http://eve.example")
    }))

  it.effect("verifies the agreeing signatures and catches the divergent and broken ones", () =>
    Effect.gen(function*() {
      const output = (yield* captured).join("\n")
      assert.match(output, /Alice\s+Sr25519 signature verifies/)
      assert.match(output, /Bob\s+Sr25519 signature verifies/)
      assert.match(output, /Charlie\s+signature does not verify \(Mismatch\)/)
      assert.match(output, /Eve\s+Sr25519 signature verifies/)
      assert.match(output, /Dave\s+signature rejected at decode: .*63 bytes/)
    }))

  it.effect("applies the threshold: 3 of 5 needed, 3 valid, so the commitment could be checkpointed", () =>
    Effect.gen(function*() {
      const output = (yield* captured).join("\n")
      assert.include(output, "required = max(ceil(5 x 51 / 100), 2) = 3; valid signatures on the agreed root: 3")
      assert.include(output, "Enough signatures")
    }))

  it.effect("says plainly what is not built yet", () =>
    Effect.gen(function*() {
      const output = (yield* captured).join("\n")
      assert.include(output, "Not built yet")
    }))
})

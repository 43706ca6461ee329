/**
 * Chain storage values as the api hands them over (plain values after `toPlain`), random and mutated:
 * each decodes to the domain or to a ParseError (which the client reports as ChainUnavailable), never
 * an exception. 10,000 cases each.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { BucketWire, CheckpointedWire, ProviderWire } from "../src/internal/wire.js"

const RUNS = { fastCheck: { numRuns: 10_000 } }
const anyValue = fc.oneof(fc.anything({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), fc.bigInt().map(String))

const account = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
const validBucket = {
  members: [{ account, role: "Admin" }],
  frozenStartSeq: null,
  minProviders: "2",
  primaryProviders: [account],
  snapshot: {
    commitment: { mmrRoot: `0x${"ab".repeat(32)}`, startSeq: "0", leafCount: "10" },
    checkpointBlock: "5",
    primarySigners: "0x01"
  }
}

const mutate = (valid: Record<string, unknown>) =>
  fc.tuple(fc.constantFrom(...Object.keys(valid)), fc.oneof(anyValue, fc.constant(undefined))).map(([key, value]) => {
    const out: Record<string, unknown> = { ...valid }
    if (value === undefined) delete out[key]
    else out[key] = value
    return out
  })

const decodes = (schema: Schema.Schema<unknown, unknown>, input: unknown) => {
  const result = Schema.decodeUnknownEither(schema)(input)
  if (Either.isLeft(result)) expect(result.left._tag).toBe("ParseError")
}

describe("fuzzing the chain-value decoders (10,000 cases each)", () => {
  it("the valid bucket used for mutation decodes", () => {
    expect(Either.isRight(Schema.decodeUnknownEither(BucketWire)(validBucket))).toBe(true)
  })
  it.prop("Buckets values", [fc.oneof(anyValue, mutate(validBucket))], ([value]) => {
    decodes(BucketWire as Schema.Schema<unknown, unknown>, value)
  }, RUNS)
  it.prop("Providers values", [
    fc.oneof(anyValue, mutate({ multiaddr: "0x2f6970342f31", publicKey: `0x${"11".repeat(32)}` }))
  ], ([value]) => {
    decodes(ProviderWire as Schema.Schema<unknown, unknown>, value)
  }, RUNS)
  it.prop("BucketCheckpointed fields", [fc.oneof(anyValue, fc.array(anyValue, { maxLength: 6 }))], ([value]) => {
    decodes(CheckpointedWire as Schema.Schema<unknown, unknown>, value)
  }, RUNS)
})

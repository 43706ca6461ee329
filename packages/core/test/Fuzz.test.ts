/**
 * Every decoder at the edge, fed 10,000 generated inputs each (random values, and valid inputs
 * mutated): each ends in a value or a typed error — never an exception or a defect.
 */
import { describe, expect, it } from "@effect/vitest"
import { blake2AsHex } from "@polkadot/util-crypto"
import { FastCheck as fc } from "effect"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { Domain, Multiaddr, ProviderApi, ReceiptJournal } from "../src/index.js"
import { parseJsonLossless } from "../src/internal/losslessJson.js"

const RUNS = { fastCheck: { numRuns: 10_000 } }

/** A JSON-ish value, including the awkward ones (huge numbers, unicode, deep nesting). */
const anyValue = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.bigInt().map((n) => n.toString()),
  fc.double(),
  fc.string({ unit: "binary", maxLength: 80 })
)

const validBody = {
  bucket_id: 7,
  mmr_root: `0x${"ab".repeat(32)}`,
  start_seq: 0,
  leaf_count: 10,
  provider_signature: `0x01${"11".repeat(64)}`
}

/** A valid body with one field replaced, removed, or retyped. */
const mutatedBody = fc.tuple(fc.constantFrom(...Object.keys(validBody)), fc.oneof(anyValue, fc.constant(undefined)))
  .map(
    ([key, value]) => {
      const body: Record<string, unknown> = { ...validBody }
      if (value === undefined) delete body[key]
      else body[key] = value
      return body
    }
  )

/** Hex of any length, with or without `0x`, sometimes with a stray character. */
const hexish = fc.tuple(fc.uint8Array({ maxLength: 70 }), fc.boolean(), fc.option(fc.constantFrom("g", " ", "0x", "Z")))
  .map(
    ([bytes, prefix, stray]) => `${prefix ? "0x" : ""}${Buffer.from(bytes).toString("hex")}${stray ?? ""}`
  )

const typedFailure = (exit: Exit.Exit<unknown, { readonly _tag: string }>, tag: string) => {
  if (Exit.isSuccess(exit)) return
  expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : `defect: ${String(exit.cause)}`)
    .toBe(tag)
}

describe("fuzzing the decoders at the edge (10,000 cases each)", () => {
  it.prop("provider /commitment bodies: random and mutated", [fc.oneof(anyValue, mutatedBody)], ([body]) => {
    typedFailure(Effect.runSyncExit(ProviderApi.decodeSignedCommitment("http://p", body)), "ProviderRequestError")
  }, RUNS)

  it.prop("provider /health and /info bodies", [anyValue], ([body]) => {
    typedFailure(Effect.runSyncExit(ProviderApi.decodeHealth("http://p", body)), "ProviderRequestError")
    typedFailure(Effect.runSyncExit(ProviderApi.decodeInfo("http://p", body)), "ProviderRequestError")
  }, RUNS)

  it.prop("provider response text: lossless JSON parsing", [
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 120 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.nat(60), fc.string({ maxLength: 3 })).map(([at, junk]) => {
        const text = JSON.stringify({ ...validBody, leaf_count: "18446744073709551615" })
        return text.slice(0, at) + junk + text.slice(at + junk.length)
      })
    )
  ], ([text]) => {
    expect(Either.isEither(parseJsonLossless(text))).toBe(true)
  }, RUNS)

  it.prop("multiaddr text", [
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 100 }),
      fc.tuple(
        fc.constantFrom("/ip4/127.0.0.1/tcp/3333", "/dns4/host/tcp/443/tls/http/http-path/p", "/ip6/::1/tcp/80"),
        fc.nat(40),
        fc.string({ maxLength: 4 })
      )
        .map(([valid, at, junk]) => valid.slice(0, at) + junk + valid.slice(at))
    )
  ], ([text]) => {
    const result = Multiaddr.multiaddrToUrl(text)
    if (Either.isLeft(result)) expect(result.left._tag).toBe("InvalidMultiaddr")
  }, RUNS)

  it.prop("SS58 and hex inputs: accounts, hashes, keys, signatures", [fc.oneof(anyValue, hexish)], ([input]) => {
    for (
      const schema of [
        Domain.AccountId,
        Domain.H256,
        Domain.PublicKey,
        Domain.MultiSignatureFromHex,
        Domain.BucketId,
        Domain.U64
      ]
    ) {
      const result = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)(input)
      if (Either.isLeft(result)) expect(result.left._tag).toBe("ParseError")
    }
  }, RUNS)

  const validFile = (() => {
    const body = Schema.encodeSync(ReceiptJournal.BucketJournal)(ReceiptJournal.empty(3n as Domain.BucketId))
    return JSON.stringify({ version: 1, checksum: blake2AsHex(JSON.stringify(body), 256), body }, null, 1)
  })()

  it("the valid journal file used for mutation decodes", () => {
    expect(Either.isRight(ReceiptJournal.decodeFile(ReceiptJournal.BucketJournal, validFile))).toBe(true)
  })

  it.prop("journal files: random, truncated and altered", [
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.nat(validFile.length).map((n) => validFile.slice(0, n)),
      fc.tuple(fc.nat(validFile.length - 1), fc.string({ minLength: 1, maxLength: 3 })).map(([at, junk]) =>
        validFile.slice(0, at) + junk + validFile.slice(at + junk.length)
      )
    )
  ], ([text]) => {
    const result = ReceiptJournal.decodeFile(ReceiptJournal.BucketJournal, text)
    if (Either.isLeft(result)) expect(["Corrupt", "FutureVersion"]).toContain(result.left.reason)
  }, RUNS)
})

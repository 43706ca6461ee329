import { assert, describe, it } from "@effect/vitest"
import { signatureVerify } from "@polkadot/util-crypto"
import { Effect, Schema, TestClock } from "effect"
import { authMessage, buildAuthHeader, makeAuthHeader } from "../src/AuthHeader.js"
import * as Domain from "../src/Domain.js"
import { devKey } from "./keys.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const parseHeader = (header: string) => {
  const match = /^Web3Storage 0x([0-9a-f]{64}):0x([0-9a-f]{128}):(\d+)$/.exec(header)
  assert.isNotNull(match, header)
  const [, publicKey, signature, timestamp] = match!
  return { publicKey, signature, timestamp }
}

describe("authMessage", () => {
  it("matches the protocol-facts vector for web3storage:POST:7:1700000000", () => {
    assert.strictEqual(
      hex(authMessage({ method: "POST", bucketId: 7n, timestamp: 1_700_000_000 })),
      "7765623373746f726167653a504f53543a373a31373030303030303030"
    )
  })

  it("upper-cases the method", () => {
    assert.deepStrictEqual(
      authMessage({ method: "put", bucketId: 1n, timestamp: 5 }),
      authMessage({ method: "PUT", bucketId: 1n, timestamp: 5 })
    )
  })
})

describe("buildAuthHeader", () => {
  it("is Web3Storage 0x<pub>:0x<sig>:<ts>, and the signature verifies over the message", () => {
    const alice = devKey("Alice")
    const header = buildAuthHeader({ method: "POST", bucketId: 7n, timestamp: 1_700_000_000, signer: alice })
    const { publicKey, signature, timestamp } = parseHeader(header)
    assert.strictEqual(publicKey, hex(alice.publicKey))
    assert.strictEqual(timestamp, "1700000000")
    const message = authMessage({ method: "POST", bucketId: 7n, timestamp: 1_700_000_000 })
    assert.isTrue(signatureVerify(message, `0x${signature}`, alice.publicKey).isValid)
  })

  it("a header for another bucket does not verify for this one", () => {
    const alice = devKey("Alice")
    const { signature } = parseHeader(buildAuthHeader({ method: "POST", bucketId: 8n, timestamp: 1, signer: alice }))
    const message = authMessage({ method: "POST", bucketId: 7n, timestamp: 1 })
    assert.isFalse(signatureVerify(message, `0x${signature}`, alice.publicKey).isValid)
  })
})

describe("makeAuthHeader", () => {
  it.effect("stamps the header with the current time in whole seconds from the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_999)
      const bucket = Schema.decodeSync(Domain.BucketId)("7")
      const header = yield* makeAuthHeader("DELETE", bucket, devKey("Alice"))
      assert.strictEqual(parseHeader(header).timestamp, "1700000000")
    }))
})

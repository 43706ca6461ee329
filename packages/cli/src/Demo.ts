/**
 * What `npm start` runs until the embedded devnet exists: a short, honest walk through the parts of
 * Checkpointer that are built — decoding on-chain provider records, turning multiaddrs into URLs,
 * the exact bytes providers sign, local signature verification and the threshold rule — on three
 * dev providers, one of which disagrees and one of which sends a broken signature. Nothing here
 * talks to a chain or a network; the output says so.
 *
 * @since 0.1.0
 */
import {
  Domain,
  encodeCommitmentPayload,
  multiaddrToUrl,
  requiredSignatures,
  SignatureVerifier
} from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import { cryptoWaitReady } from "@polkadot/util-crypto"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/** A provider record as the chain stores it (hex bytes), and what this provider answers. */
interface DemoProvider {
  readonly name: string
  readonly multiaddrHex: string
  readonly answer: "agrees" | "divergent" | "broken-signature"
}

const utf8Hex = (text: string) => "0x" + Buffer.from(text, "utf8").toString("hex")

const PROVIDERS: ReadonlyArray<DemoProvider> = [
  { name: "Alice", multiaddrHex: utf8Hex("/ip4/127.0.0.1/tcp/3333"), answer: "agrees" },
  { name: "Bob", multiaddrHex: utf8Hex("/dns4/bob.example/tcp/443/tls/http/http-path/provider"), answer: "agrees" },
  { name: "Charlie", multiaddrHex: utf8Hex("/ip6/::1/tcp/3335"), answer: "divergent" },
  { name: "Dave", multiaddrHex: utf8Hex("/ip4/127.0.0.1/tcp/3336"), answer: "broken-signature" },
  { name: "Eve", multiaddrHex: utf8Hex("/dns/eve.example/tcp/80/http"), answer: "agrees" }
]

const BUCKET = 7n
const MIN_PROVIDERS = 2
const THRESHOLD_PERCENT = 51

const hexOf = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex")

/**
 * The demo as an Effect: prints to the `Console` service, needs a `SignatureVerifier`.
 *
 * @since 0.1.0
 * @category programs
 */
export const demo: Effect.Effect<void, never, SignatureVerifier.SignatureVerifier> = Effect.gen(function*() {
  yield* Effect.promise(() => cryptoWaitReady())
  const verifier = yield* SignatureVerifier.SignatureVerifier
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
  const bucketId = Schema.decodeSync(Domain.BucketId)(BUCKET)
  const agreed = Schema.decodeSync(Domain.Commitment)({ mmrRoot: "0x" + "ab".repeat(32), startSeq: 0, leafCount: 10 })
  const divergent = Schema.decodeSync(Domain.Commitment)({
    mmrRoot: "0x" + "cd".repeat(32),
    startSeq: 0,
    leafCount: 10
  })

  yield* Console.log("Checkpointer demo: the foundation (no chain, no network yet)")
  yield* Console.log("=".repeat(64))
  yield* Console.log(`Bucket ${bucketId}: ${PROVIDERS.length} primary providers, min_providers ${MIN_PROVIDERS}`)
  yield* Console.log("")
  yield* Console.log("1. Provider records from chain state, decoded at the edge")

  const payload = encodeCommitmentPayload({ bucketId, ...agreed })
  let valid = 0
  const lines: Array<string> = []
  for (const provider of PROVIDERS) {
    const pair = keyring.addFromUri(`//${provider.name}`)
    const account = Schema.decodeSync(Domain.AccountId)(hexOf(pair.publicKey))
    const multiaddr = Buffer.from(Schema.decodeSync(Domain.BytesFromHex)(provider.multiaddrHex)).toString("utf8")
    const endpoint = Either.match(multiaddrToUrl(multiaddr), {
      onLeft: (e) => `(refused: ${e.detail})`,
      onRight: (u) => u
    })
    yield* Console.log(`   ${provider.name.padEnd(8)} ${account}`)
    yield* Console.log(`            ${multiaddr}  ->  ${endpoint}`)

    // What the provider would answer on GET /checkpoint-signature (64 raw bytes, or 65 SCALE bytes).
    const signed = provider.answer === "divergent" ? encodeCommitmentPayload({ bucketId, ...divergent }) : payload
    const raw = pair.sign(signed)
    const sentHex = provider.answer === "broken-signature" ? hexOf(raw.subarray(1)) : hexOf(raw)
    const decoded = Schema.decodeEither(Domain.MultiSignatureFromHex)(sentHex)
    if (Either.isLeft(decoded)) {
      const reason = decoded.left.message.split("\n").pop()?.replace(/^[\s└─]+/, "") ?? "malformed"
      lines.push(`   ${provider.name.padEnd(8)} signature rejected at decode: ${reason}`)
      continue
    }
    const publicKey = Schema.decodeSync(Domain.PublicKey)(hexOf(pair.publicKey))
    const verdict = yield* Effect.either(verifier.verify({ signature: decoded.right, message: payload, publicKey }))
    if (Either.isRight(verdict)) {
      valid += 1
      lines.push(`   ${provider.name.padEnd(8)} ${decoded.right._tag} signature verifies against its registered key`)
    } else {
      lines.push(
        `   ${provider.name.padEnd(8)} signature does not verify (${verdict.left.reason}): signed another root`
      )
    }
  }

  yield* Console.log("")
  yield* Console.log("2. The 57-byte payload every provider signs for the agreed commitment")
  yield* Console.log(`   ${hexOf(payload)}`)
  yield* Console.log("")
  yield* Console.log("3. Each provider's signature, verified locally before any fee is paid")
  for (const line of lines) yield* Console.log(line)

  const required = requiredSignatures({
    total: PROVIDERS.length,
    thresholdPercent: THRESHOLD_PERCENT,
    minProviders: MIN_PROVIDERS
  })
  yield* Console.log("")
  yield* Console.log("4. The threshold")
  yield* Console.log(
    `   required = max(ceil(${PROVIDERS.length} x ${THRESHOLD_PERCENT} / 100), ${MIN_PROVIDERS}) = ${required}; ` +
      `valid signatures on the agreed root: ${valid}`
  )
  yield* Console.log(
    valid >= required
      ? "   Enough signatures: this commitment could be checkpointed."
      : "   Not enough signatures: no checkpoint would be submitted."
  )
  yield* Console.log("")
  yield* Console.log("Not built yet: the round engine, the devchain, the HTTP client, the journal and the loop.")
  yield* Console.log("`npm start` becomes the embedded devnet doing real checkpoints when they land (see README).")
})

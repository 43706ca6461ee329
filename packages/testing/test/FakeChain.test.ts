import { ChainClient, Domain, encodeCommitmentPayload } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestNetwork } from "../src/index.js"
import { inWorld } from "./helpers.js"

const providers = [{ name: "Alice" }, { name: "Bob" }, { name: "Charlie" }]
const bucket = { id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }

describe("the fake chain enforces the pallet's checkpoint rules", () => {
  const submitRaw = (signatures: ReadonlyArray<{ name: string; signAs?: string }>, minProviders = 2) =>
    inWorld(
      { providers: [...providers, { name: "Dave" }], buckets: [{ ...bucket, minProviders }] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const client = yield* ChainClient.ChainClient
        const bucketId = world.bucketId(1)
        const commitment = new Domain.Commitment({
          mmrRoot: TestNetwork.initialRoot(1),
          startSeq: 0n as Domain.U64,
          leafCount: 10n as Domain.U64
        }, true)
        const payload = encodeCommitmentPayload({ bucketId, ...commitment })
        const submission = new ChainClient.CheckpointSubmission({
          bucketId,
          commitment,
          signatures: signatures.map(({ name, signAs }) =>
            new ChainClient.CheckpointSignature({
              signer: world.account(name),
              signature: { _tag: "Sr25519", bytes: world.network.provider(signAs ?? name).pair.sign(payload) }
            }, true)
          )
        }, true)
        return yield* Effect.either(ChainClient.submitCheckpoint(client, submission))
      })
    )

  const errorOf = (result: Effect.Effect.Success<ReturnType<typeof submitRaw>>) =>
    result._tag === "Left" && result.left._tag === "DispatchFailed" ? result.left.error : "accepted"

  it.effect("valid signatures from enough primaries are accepted", () =>
    Effect.map(submitRaw([{ name: "Alice" }, { name: "Bob" }]), (r) => assert.strictEqual(errorOf(r), "accepted")))

  it.effect("too few signatures: InsufficientSignatures", () =>
    Effect.map(submitRaw([{ name: "Alice" }]), (r) => assert.strictEqual(errorOf(r), "InsufficientSignatures")))

  it.effect("a signer that is not a primary: ProviderNotInSnapshot", () =>
    Effect.map(
      submitRaw([{ name: "Alice" }, { name: "Dave" }]),
      (r) => assert.strictEqual(errorOf(r), "ProviderNotInSnapshot")
    ))

  it.effect("a signature by the wrong key: InvalidSignature", () =>
    Effect.map(
      submitRaw([{ name: "Alice" }, { name: "Bob", signAs: "Charlie" }]),
      (r) => assert.strictEqual(errorOf(r), "InvalidSignature")
    ))

  it.effect("the same signer twice counts twice, as in the pallet", () =>
    Effect.map(submitRaw([{ name: "Alice" }, { name: "Alice" }]), (r) => assert.strictEqual(errorOf(r), "accepted")))

  it.effect("a caller who is not a Writer or Admin: NotBucketWriter", () =>
    inWorld(
      { providers, buckets: [bucket], submitterRole: "Reader" },
      Effect.gen(function*() {
        const client = yield* ChainClient.ChainClient
        const world = yield* TestNetwork.TestNetwork
        const result = yield* Effect.either(ChainClient.submitCheckpoint(
          client,
          new ChainClient.CheckpointSubmission({
            bucketId: world.bucketId(1),
            commitment: new Domain.Commitment({
              mmrRoot: TestNetwork.initialRoot(1),
              startSeq: 0n as Domain.U64,
              leafCount: 10n as Domain.U64
            }, true),
            signatures: []
          }, true)
        ))
        assert.strictEqual(
          result._tag === "Left" && result.left._tag === "DispatchFailed" && result.left.error,
          "NotBucketWriter"
        )
      })
    ))
})

import { ChainClient, Domain, encodeCommitmentPayload } from "@checkpointer/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FakeChain, RemoteChain, TestNetwork } from "../src/index.js"
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

describe("verifySignatures: false (benchmarks, where the chain is another machine)", () => {
  it.effect("accepts any signature bytes, and still applies every other rule", () =>
    Effect.gen(function*() {
      const account = (seed: number) => Domain.accountIdFromBytes(new Uint8Array(32).fill(seed))!
      const [alice, bob, carol] = [account(1), account(2), account(3)]
      const bucketId = 7n as Domain.BucketId
      const commitment = new Domain.Commitment({
        mmrRoot: `0x${"11".repeat(32)}` as Domain.H256,
        startSeq: 0n as Domain.U64,
        leafCount: 3n as Domain.U64
      }, true)
      const garbage = (signer: Domain.AccountId) =>
        new ChainClient.CheckpointSignature({ signer, signature: { _tag: "Sr25519", bytes: new Uint8Array(64) } }, true)
      const run = (verifySignatures: boolean, signers: ReadonlyArray<Domain.AccountId>) =>
        Effect.gen(function*() {
          const chain = yield* FakeChain.make({ signer: alice, verifySignatures })
          for (const provider of [alice, bob]) {
            yield* chain.registerProvider(
              new ChainClient.ProviderRecord({
                accountId: provider,
                multiaddr: "/ip4/127.0.0.1/tcp/1",
                publicKey: Option.none()
              })
            )
          }
          yield* chain.putBucket({
            bucketId,
            primaryProviders: [alice, bob],
            minProviders: 2,
            members: [new ChainClient.BucketMember({ account: alice, role: "Admin" })],
            snapshot: Option.none(),
            frozenStartSeq: Option.none()
          })
          const result = yield* Effect.either(ChainClient.submitCheckpoint(
            chain.client,
            new ChainClient.CheckpointSubmission({ bucketId, commitment, signatures: signers.map(garbage) }, true)
          ))
          return result._tag === "Left" && result.left._tag === "DispatchFailed" ? result.left.error : result._tag
        })
      assert.strictEqual(yield* run(true, [alice, bob]), "InvalidSignature")
      assert.strictEqual(yield* run(false, [alice, bob]), "Right")
      assert.strictEqual(yield* run(false, [alice]), "InsufficientSignatures")
      assert.strictEqual(yield* run(false, [alice, carol]), "ProviderNotInSnapshot")
    }))
})

describe("fees on the fake chain", () => {
  /** A checkpoint of bucket 1 over `leafCount` leaves, signed by Alice and Bob. */
  const checkpoint = (leafCount: number) =>
    Effect.gen(function*() {
      const world = yield* TestNetwork.TestNetwork
      const bucketId = world.bucketId(1)
      const commitment = new Domain.Commitment({
        mmrRoot: TestNetwork.initialRoot(leafCount),
        startSeq: 0n as Domain.U64,
        leafCount: BigInt(leafCount) as Domain.U64
      }, true)
      const payload = encodeCommitmentPayload({ bucketId, ...commitment })
      return new ChainClient.CheckpointSubmission({
        bucketId,
        commitment,
        signatures: ["Alice", "Bob"].map((name) =>
          new ChainClient.CheckpointSignature({
            signer: world.account(name),
            signature: { _tag: "Sr25519", bytes: world.network.provider(name).pair.sign(payload) }
          }, true)
        )
      }, true)
    })

  it.effect("every included extrinsic pays the quoted fee from its signer's balance, and its receipt says so", () =>
    inWorld(
      { providers, buckets: [bucket] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const client = yield* ChainClient.ChainClient
        const signer = Option.getOrThrow(world.submitter)
        yield* world.chain.setFee(3_000n)
        yield* world.chain.setBalance(signer, 10_000n)
        const submission = yield* checkpoint(10)
        assert.strictEqual(yield* client.estimateFee(submission), 3_000n)
        const receipt = yield* ChainClient.submitCheckpoint(client, submission)
        assert.strictEqual(receipt.fee, 3_000n)
        assert.strictEqual(yield* client.freeBalance(signer), 7_000n)
        // A rejected extrinsic pays too.
        yield* world.chain.injectFailure(
          new ChainClient.DispatchFailed({
            module: "StorageProvider",
            error: "X",
            detail: "",
            blockHash: Option.none()
          })
        )
        yield* Effect.flip(ChainClient.submitCheckpoint(client, yield* checkpoint(11)))
        assert.strictEqual(yield* world.chain.balance(signer), 4_000n)
        assert.strictEqual(yield* world.chain.prepared, 2)
        assert.strictEqual(yield* world.chain.estimates, 1)
      })
    ))

  it.effect("a signer that cannot pay the fee is refused by the pool: nothing included, nothing paid", () =>
    inWorld(
      { providers, buckets: [bucket] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const client = yield* ChainClient.ChainClient
        const signer = Option.getOrThrow(world.submitter)
        yield* world.chain.setBalance(signer, FakeChain.DEFAULT_FEE - 1n)
        const error = yield* Effect.flip(ChainClient.submitCheckpoint(client, yield* checkpoint(10)))
        assert.strictEqual(error._tag === "SubmissionFailed" && error.stage, "Pool")
        assert.strictEqual(error._tag === "SubmissionFailed" && error.maybeIncluded, false)
        assert.strictEqual((yield* world.chain.submissions).length, 0)
        assert.strictEqual(yield* world.chain.balance(signer), FakeChain.DEFAULT_FEE - 1n)
      })
    ))

  it.scoped("a chain served to another process quotes the same fee and balance", () =>
    inWorld(
      { providers, buckets: [bucket] },
      Effect.gen(function*() {
        const world = yield* TestNetwork.TestNetwork
        const signer = Option.getOrThrow(world.submitter)
        yield* world.chain.setFee(42n)
        yield* world.chain.setBalance(signer, 12_345_678_901_234_567_890n)
        const remote = yield* RemoteChain.connect(yield* RemoteChain.serve(world.chain))
        assert.strictEqual(yield* remote.estimateFee(yield* checkpoint(10)), 42n)
        assert.strictEqual(yield* remote.freeBalance(signer), 12_345_678_901_234_567_890n)
      })
    ))
})

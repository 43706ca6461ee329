/**
 * What the connected runtime's metadata says the `StorageProvider` pallet looks like, and the calls
 * built accordingly. The eras (protocol-facts §0): `checkpoint` flat (A), with a `Commitment` (C), or
 * with a `Commitment` and a `nonce` (B, not supported: its payload differs); `challenge_offchain` with
 * a `Commitment` and a `target` (C), flat (A0-late), or absent (A0-early); providers with or without a
 * registered public key.
 *
 * @internal
 */
import type { Domain } from "@checkpointer/core"
import { ChainClient, encodeMultiSignature } from "@checkpointer/core"
import type { ApiPromise } from "@polkadot/api"
import type { SubmittableExtrinsic } from "@polkadot/api/types"
import { u8aToHex } from "@polkadot/util"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

export interface PalletShape {
  readonly checkpoint: "Flat" | "Commitment"
  readonly challengeOffchain: "Commitment" | "Flat" | "Absent"
  /** `false` in the oldest era: a provider's account is its key. */
  readonly providerPublicKey: boolean
  /** The spec version this was read from (re-detected after a runtime upgrade). */
  readonly specVersion: number
}

/** The pallet's shape is one this client cannot drive; `found` says what the metadata holds. */
export interface UnsupportedShape {
  readonly _tag: "UnsupportedShape"
  readonly found: string
}

const argNames = (api: ApiPromise, method: string): ReadonlyArray<string> | undefined => {
  const pallet = api.tx.storageProvider
  const fn = pallet === undefined ? undefined : pallet[method]
  return fn === undefined ? undefined : fn.meta.args.map((arg) => arg.name.toString())
}

const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** Reads the pallet's shape from the api's current metadata. */
export const detectShape = (api: ApiPromise): Either.Either<PalletShape, UnsupportedShape> => {
  const checkpoint = argNames(api, "checkpoint")
  if (checkpoint === undefined) {
    return Either.left({ _tag: "UnsupportedShape", found: "no StorageProvider.checkpoint call in the metadata" })
  }
  let checkpointShape: PalletShape["checkpoint"]
  if (same(checkpoint, ["bucketId", "mmrRoot", "startSeq", "leafCount", "signatures"])) checkpointShape = "Flat"
  else if (same(checkpoint, ["bucketId", "commitment", "signatures"])) checkpointShape = "Commitment"
  else {
    return Either.left({
      _tag: "UnsupportedShape",
      found: `checkpoint(${checkpoint.join(", ")})${
        checkpoint.includes("nonce") ? " (era B: commitments signed with a nonce)" : ""
      }`
    })
  }
  const challenge = argNames(api, "challengeOffchain")
  let challengeShape: PalletShape["challengeOffchain"] = "Absent"
  if (challenge !== undefined) {
    if (same(challenge, ["bucketId", "provider", "commitment", "target", "providerSignature"])) {
      challengeShape = "Commitment"
    } else if (
      same(challenge, ["bucketId", "provider", "mmrRoot", "startSeq", "leafIndex", "chunkIndex", "providerSignature"])
    ) challengeShape = "Flat"
  }
  return Either.right({
    checkpoint: checkpointShape,
    challengeOffchain: challengeShape,
    providerPublicKey: providerHasPublicKey(api),
    specVersion: api.runtimeVersion.specVersion.toNumber()
  })
}

/**
 * The pallet's shape as the connected runtime has it: detected on first use and again after a runtime
 * upgrade (a new spec version); a shape this client cannot drive is `SubmissionFailed` at `Unsupported`.
 */
export const makeCache = (api: ApiPromise): Effect.Effect<PalletShape, ChainClient.SubmissionFailed> => {
  let cached: PalletShape | undefined
  return Effect.suspend(() => {
    const spec = api.runtimeVersion.specVersion.toNumber()
    if (cached !== undefined && cached.specVersion === spec) return Effect.succeed(cached)
    return Either.match(detectShape(api), {
      onLeft: (unsupported) =>
        Effect.fail(
          new ChainClient.SubmissionFailed({
            stage: "Unsupported",
            detail: `unsupported StorageProvider pallet: ${unsupported.found}`,
            maybeIncluded: false
          })
        ),
      onRight: (detected) => Effect.sync(() => (cached = detected))
    })
  })
}

const providerHasPublicKey = (api: ApiPromise): boolean => {
  const entry = api.query.storageProvider?.providers
  if (entry === undefined) return false
  const type = entry.creator.meta.type
  if (!type.isMap) return false
  const def = api.registry.lookup.getSiType(type.asMap.value).def
  return def.isComposite && def.asComposite.fields.some((f) => f.name.unwrapOr("").toString() === "public_key")
}

const signatureArg = (signature: Domain.MultiSignature) => u8aToHex(encodeMultiSignature(signature))

/** `checkpoint` as this runtime takes it (undefined if the metadata has none). */
export const checkpointCall = (
  api: ApiPromise,
  shape: PalletShape,
  submission: ChainClient.CheckpointSubmission
): SubmittableExtrinsic<"promise"> | undefined => {
  const { commitment } = submission
  const signatures = submission.signatures.map((s) => [s.signer, signatureArg(s.signature)])
  const tx = api.tx.storageProvider?.checkpoint
  if (tx === undefined) return undefined
  return shape.checkpoint === "Commitment"
    ? tx(
      submission.bucketId,
      { mmrRoot: commitment.mmrRoot, startSeq: commitment.startSeq, leafCount: commitment.leafCount },
      signatures
    )
    : tx(submission.bucketId, commitment.mmrRoot, commitment.startSeq, commitment.leafCount, signatures)
}

/** `challenge_offchain` as this runtime takes it, if it has one. */
export const challengeCall = (
  api: ApiPromise,
  shape: PalletShape,
  challenge: ChainClient.OffchainChallenge
): SubmittableExtrinsic<"promise"> | undefined => {
  const tx = api.tx.storageProvider?.challengeOffchain
  if (tx === undefined) return undefined
  const { commitment, target } = challenge
  switch (shape.challengeOffchain) {
    case "Commitment":
      return tx(
        challenge.bucketId,
        challenge.provider,
        { mmrRoot: commitment.mmrRoot, startSeq: commitment.startSeq, leafCount: commitment.leafCount },
        { leafIndex: target.leafIndex, chunkIndex: target.chunkIndex },
        signatureArg(challenge.signature)
      )
    case "Flat":
      return tx(
        challenge.bucketId,
        challenge.provider,
        commitment.mmrRoot,
        commitment.startSeq,
        target.leafIndex,
        target.chunkIndex,
        signatureArg(challenge.signature)
      )
    case "Absent":
      return undefined
  }
}

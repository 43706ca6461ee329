/**
 * What the connected runtime's metadata says the `StorageProvider` pallet looks like (protocol-facts
 * §0): `checkpoint` flat (era A) or with a `Commitment` (C); `challenge_offchain` with a `Commitment`
 * and a `target`, flat, or absent; providers with or without a registered public key. Read from the
 * metadata itself (decoded by polkadot-api's own bindings), not from generated descriptors.
 *
 * @internal
 */
import { decAnyMetadata, unifyMetadata } from "@polkadot-api/substrate-bindings"

export interface PalletShape {
  readonly checkpoint: "Flat" | "Commitment"
  readonly challengeOffchain: "Commitment" | "Flat" | "Absent"
  /** `false` in the oldest era: a provider's account is its key. */
  readonly providerPublicKey: boolean
}

const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** The pallet's shape from raw metadata bytes, or what was found instead. */
export const detectShape = (bytes: Uint8Array): PalletShape | { readonly unsupported: string } => {
  const metadata = unifyMetadata(decAnyMetadata(bytes))
  const pallet = metadata.pallets.find((p) => p.name === "StorageProvider")
  if (pallet === undefined) return { unsupported: "no StorageProvider pallet in the metadata" }
  const lookup = new Map(metadata.lookup.map((entry) => [entry.id, entry]))
  const callsType = pallet.calls === undefined ? undefined : lookup.get(pallet.calls.type)
  const calls = callsType?.def.tag === "variant" ? callsType.def.value : []
  const args = (name: string) => calls.find((c) => c.name === name)?.fields.map((f) => f.name ?? "")
  const checkpoint = args("checkpoint")
  if (checkpoint === undefined) return { unsupported: "no StorageProvider.checkpoint call in the metadata" }
  let checkpointShape: PalletShape["checkpoint"]
  if (same(checkpoint, ["bucket_id", "mmr_root", "start_seq", "leaf_count", "signatures"])) checkpointShape = "Flat"
  else if (same(checkpoint, ["bucket_id", "commitment", "signatures"])) checkpointShape = "Commitment"
  else {
    return {
      unsupported: `checkpoint(${checkpoint.join(", ")})${
        checkpoint.includes("nonce") ? " (era B: commitments signed with a nonce)" : ""
      }`
    }
  }
  const challenge = args("challenge_offchain")
  let challengeShape: PalletShape["challengeOffchain"] = "Absent"
  if (challenge !== undefined) {
    if (same(challenge, ["bucket_id", "provider", "commitment", "target", "provider_signature"])) {
      challengeShape = "Commitment"
    } else if (
      same(challenge, [
        "bucket_id",
        "provider",
        "mmr_root",
        "start_seq",
        "leaf_index",
        "chunk_index",
        "provider_signature"
      ])
    ) challengeShape = "Flat"
  }
  const providers = pallet.storage?.items.find((i) => i.name === "Providers")
  const providerType = providers?.type.tag === "map" ? lookup.get(providers.type.value.value) : undefined
  const providerPublicKey = providerType?.def.tag === "composite" &&
    providerType.def.value.some((f) => f.name === "public_key")
  return { checkpoint: checkpointShape, challengeOffchain: challengeShape, providerPublicKey }
}

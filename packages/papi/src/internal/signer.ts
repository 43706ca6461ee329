/**
 * A secret URI (`//Alice`, a mnemonic with derivations and password, or a `0x` mini-secret) as a
 * polkadot-api signer, derived with `@polkadot-labs/hdkd` as Substrate derives it (no `@polkadot/*`
 * package involved).
 *
 * @internal
 */
import { Blake2256 } from "@polkadot-api/substrate-bindings"
import { ecdsaCreateDerive, ed25519CreateDerive, sr25519CreateDerive } from "@polkadot-labs/hdkd"
import { DEV_PHRASE, entropyToMiniSecret, mnemonicToEntropy, ss58Address } from "@polkadot-labs/hdkd-helpers"
import type { PolkadotSigner } from "polkadot-api"
import { getPolkadotSigner } from "polkadot-api/signer"

export type KeyType = "sr25519" | "ed25519" | "ecdsa"

const fromHex = (hex: string) => Uint8Array.from(Buffer.from(hex.slice(2), "hex"))

/** `phrase//hard/soft///password`, the phrase optional (the dev phrase then, as for `//Alice`). */
const parseSuri = (suri: string) => {
  const match = /^(.*?)((?:\/\/?[^/]+)*)(?:\/\/\/(.*))?$/s.exec(suri.trim())
  if (match === null) throw new Error("not a secret URI")
  return { phrase: match[1]!.trim(), paths: match[2] ?? "", password: match[3] }
}

/** The signer of a secret URI and its SS58 address (prefix 42); throws on a malformed secret. */
export const fromSuri = (suri: string, keyType: KeyType): { signer: PolkadotSigner; address: string } => {
  const { password, paths, phrase } = parseSuri(suri)
  const seed = phrase === ""
    ? entropyToMiniSecret(mnemonicToEntropy(DEV_PHRASE))
    : /^0x[0-9a-fA-F]{64}$/.test(phrase)
    ? fromHex(phrase)
    : entropyToMiniSecret(mnemonicToEntropy(phrase), password ?? "")
  const create = keyType === "sr25519"
    ? sr25519CreateDerive
    : keyType === "ed25519"
    ? ed25519CreateDerive
    : ecdsaCreateDerive
  const pair = create(seed)(paths)
  const signer = getPolkadotSigner(
    pair.publicKey,
    keyType === "sr25519" ? "Sr25519" : keyType === "ed25519" ? "Ed25519" : "Ecdsa",
    pair.sign
  )
  // An ecdsa account is the blake2-256 of its compressed public key.
  const account = keyType === "ecdsa" ? Blake2256(pair.publicKey) : pair.publicKey
  return { signer, address: ss58Address(account, 42) }
}

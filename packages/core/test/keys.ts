/**
 * Dev keys for tests: the well-known `//Alice`, `//Bob` derivations in each signature scheme.
 */
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import { cryptoWaitReady } from "@polkadot/util-crypto"

await cryptoWaitReady()

export type Scheme = "sr25519" | "ed25519" | "ecdsa" | "ethereum"

const keyrings = {
  sr25519: new Keyring({ type: "sr25519", ss58Format: 42 }),
  ed25519: new Keyring({ type: "ed25519", ss58Format: 42 }),
  ecdsa: new Keyring({ type: "ecdsa", ss58Format: 42 }),
  ethereum: new Keyring({ type: "ethereum" })
}

const ETH_SEEDS: Record<string, Uint8Array> = {
  Alice: new Uint8Array(32).fill(1),
  Bob: new Uint8Array(32).fill(2)
}

/** A dev key pair; Ethereum pairs come from fixed seeds because that keyring takes BIP-32 paths only. */
export const devKey = (name: "Alice" | "Bob", scheme: Scheme = "sr25519"): KeyringPair =>
  scheme === "ethereum" ? keyrings.ethereum.addFromSeed(ETH_SEEDS[name]) : keyrings[scheme].addFromUri(`//${name}`)

/**
 * A Merkle Mountain Range over a bucket's data roots, hashed with blake2-256, as a provider keeps one:
 * appending a leaf merges equal-height peaks (`blake2_256(left ‖ right)`), and the root bags the peaks
 * from right to left (`blake2_256(peak ‖ accumulator)`). The empty range's root is 32 zero bytes.
 *
 * It keeps every leaf, so the root of any earlier size can be recomputed (a lagging provider answers
 * with an older root, as a real one would).
 *
 * @since 0.1.0
 */
import { blake2AsU8a } from "@polkadot/util-crypto"

interface Peak {
  readonly height: number
  readonly hash: Uint8Array
}

const merge = (left: Uint8Array, right: Uint8Array): Uint8Array => {
  const both = new Uint8Array(64)
  both.set(left, 0)
  both.set(right, 32)
  return blake2AsU8a(both, 256)
}

const pushLeaf = (peaks: Array<Peak>, leaf: Uint8Array) => {
  let node: Peak = { height: 0, hash: leaf }
  while (peaks.length > 0 && peaks[peaks.length - 1].height === node.height) {
    const left = peaks.pop()!
    node = { height: node.height + 1, hash: merge(left.hash, node.hash) }
  }
  peaks.push(node)
}

const bag = (peaks: ReadonlyArray<Peak>): Uint8Array => {
  if (peaks.length === 0) return new Uint8Array(32)
  let accumulator = peaks[peaks.length - 1].hash
  for (let i = peaks.length - 2; i >= 0; i--) accumulator = merge(peaks[i].hash, accumulator)
  return accumulator
}

/**
 * A growable MMR.
 *
 * @since 0.1.0
 * @category models
 */
export class Mmr {
  private readonly leaves: Array<Uint8Array> = []
  private readonly peaks: Array<Peak> = []

  /** Appends leaves (32-byte data roots); returns their indices. */
  append(...leaves: ReadonlyArray<Uint8Array>): ReadonlyArray<number> {
    return leaves.map((leaf) => {
      if (leaf.length !== 32) throw new RangeError("an MMR leaf is a 32-byte hash")
      this.leaves.push(leaf)
      pushLeaf(this.peaks, leaf)
      return this.leaves.length - 1
    })
  }

  /** The number of leaves. */
  get size(): number {
    return this.leaves.length
  }

  /** The current root. */
  root(): Uint8Array {
    return bag(this.peaks)
  }

  /** The root as it was when the range held `size` leaves. */
  rootAt(size: number): Uint8Array {
    if (size >= this.leaves.length) return this.root()
    const peaks: Array<Peak> = []
    for (let i = 0; i < size; i++) pushLeaf(peaks, this.leaves[i])
    return bag(peaks)
  }
}

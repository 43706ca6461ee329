/**
 * A bounded record of signatures already found valid, keyed by the exact bytes verified: the scheme,
 * the registered key, the message and the signature. Verification is a pure function of those bytes, so
 * an answer byte-identical to one verified before is valid without verifying it again (an idle bucket's
 * providers sign the same commitment round after round). Failures are never recorded: they are verified
 * every time.
 *
 * Once `capacity` is reached a new entry replaces one chosen at random. The watcher asks its buckets in
 * turn, so the same answers come back in the same cycle: least-recently-used would evict each entry just
 * before it is asked for again as soon as the cycle is longer than the capacity (no hit at all), where a
 * random victim keeps a good share of them.
 *
 * @internal
 */
import type { MultiSignature, PublicKey } from "../Domain.js"

/** @internal */
export interface VerifiedSignatures {
  /** Whether exactly these bytes were verified valid before. */
  readonly has: (key: string) => boolean
  readonly add: (key: string) => void
  readonly size: () => number
}

/**
 * The key of one verification: every byte that decides it, one character per byte (a Latin-1 string,
 * about as long as the bytes).
 *
 * @internal
 */
export const keyOf = (signature: MultiSignature, message: Uint8Array, publicKey: PublicKey): string =>
  `${signature._tag}:${publicKey}:${latin1(message)}:${latin1(signature.bytes)}`

const latin1 = (bytes: Uint8Array): string => {
  let out = ""
  // Chunks keep the argument lists short for long messages.
  for (let i = 0; i < bytes.length; i += 1024) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 1024) as unknown as Array<number>)
  }
  return out
}

/** @internal */
export const make = (capacity: number, random: () => number = Math.random): VerifiedSignatures => {
  const slots: Array<string> = []
  const slotOf = new Map<string, number>()
  return {
    has: (key) => slotOf.has(key),
    add: (key) => {
      if (capacity <= 0 || slotOf.has(key)) return
      if (slots.length < capacity) {
        slotOf.set(key, slots.length)
        slots.push(key)
        return
      }
      const slot = Math.min(capacity - 1, Math.floor(random() * capacity))
      slotOf.delete(slots[slot])
      slots[slot] = key
      slotOf.set(key, slot)
    },
    size: () => slotOf.size
  }
}

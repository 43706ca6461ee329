/**
 * Strict, allocation-light hex helpers. They never throw: a malformed input yields `undefined`, and the
 * schemas that call them turn that into a typed `ParseError` with a message saying what was wrong.
 *
 * @internal
 */

const HEX_CHARS = "0123456789abcdef"

const nibble = (code: number): number => {
  // 0-9
  if (code >= 48 && code <= 57) return code - 48
  // a-f
  if (code >= 97 && code <= 102) return code - 87
  // A-F
  if (code >= 65 && code <= 70) return code - 55
  return -1
}

/** @internal */
export type HexProblem = "odd-length" | "non-hex-character" | "missing-0x-prefix"

/** @internal */
export const hexProblem = (text: string, requirePrefix: boolean): HexProblem | undefined => {
  const hasPrefix = text.startsWith("0x") || text.startsWith("0X")
  if (requirePrefix && !hasPrefix) return "missing-0x-prefix"
  const start = hasPrefix ? 2 : 0
  if ((text.length - start) % 2 !== 0) return "odd-length"
  for (let i = start; i < text.length; i++) {
    if (nibble(text.charCodeAt(i)) < 0) return "non-hex-character"
  }
  return undefined
}

/**
 * Decodes hex with or without a `0x` prefix, any case. `undefined` when malformed.
 *
 * @internal
 */
export const hexToBytes = (text: string): Uint8Array | undefined => {
  const start = text.startsWith("0x") || text.startsWith("0X") ? 2 : 0
  const length = text.length - start
  if (length % 2 !== 0) return undefined
  const out = new Uint8Array(length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(text.charCodeAt(start + 2 * i))
    const lo = nibble(text.charCodeAt(start + 2 * i + 1))
    if (hi < 0 || lo < 0) return undefined
    out[i] = (hi << 4) | lo
  }
  return out
}

/**
 * Lowercase hex with a `0x` prefix.
 *
 * @internal
 */
export const bytesToHex = (bytes: Uint8Array): `0x${string}` => {
  let out = "0x"
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    out += HEX_CHARS[b >> 4] + HEX_CHARS[b & 15]
  }
  return out as `0x${string}`
}

/** @internal */
export const describeHexProblem = (problem: HexProblem): string => {
  switch (problem) {
    case "odd-length":
      return "hex has an odd number of digits"
    case "non-hex-character":
      return "hex contains a character outside 0-9a-f"
    case "missing-0x-prefix":
      return "hex must start with 0x"
  }
}

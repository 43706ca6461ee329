/**
 * JSON parsing that keeps integers beyond 2^53 exact: such literals are turned into decimal strings
 * before `JSON.parse` sees them (the u64 schemas accept strings). Providers send u64 fields as plain
 * JSON numbers, which `JSON.parse` would silently round.
 *
 * @internal
 */
import * as Either from "effect/Either"

const SAFE_DIGITS = 15

/** @internal */
export const parseJsonLossless = (text: string): Either.Either<unknown, string> => {
  let out = ""
  let last = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) {
      inString = true
      continue
    }
    // A number starts with '-' or a digit outside a string.
    if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1
      while (j < text.length && /[0-9eE.+-]/.test(text[j])) j++
      const literal = text.slice(i, j)
      const digits = literal.startsWith("-") ? literal.slice(1) : literal
      if (/^[0-9]+$/.test(digits) && digits.length > SAFE_DIGITS && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(last, i) + `"${literal}"`
        last = j
      }
      i = j - 1
    }
  }
  const rewritten = last === 0 ? text : out + text.slice(last)
  try {
    return Either.right(JSON.parse(rewritten))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : "invalid JSON")
  }
}

/**
 * JSON parsing that keeps integers beyond 2^53 exact: such literals are turned into decimal strings
 * before `JSON.parse` sees them (the u64 schemas accept strings). Providers send u64 fields as plain
 * JSON numbers, which `JSON.parse` would silently round.
 *
 * @internal
 */
import * as Either from "effect/Either"

const SAFE_DIGITS = 15

/** An RFC 8259 integer that is not zero: what a big u64 looks like on the wire. */
const INTEGER = /^-?[1-9][0-9]*$/

const parse = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : "invalid JSON")
  }
}

/** @internal */
export const parseJsonLossless = (text: string): Either.Either<unknown, string> => {
  // The text is judged as it was sent, by `JSON.parse` itself, before anything is rewritten: turning a
  // literal into a string could otherwise make invalid JSON valid (`0123…` with a leading zero, or a
  // number where an object key belongs). Once the text is known to be JSON, every number token starts
  // with '-' or a digit outside a string and stands where a value belongs, so quoting it is safe.
  const judged = parse(text)
  if (Either.isLeft(judged)) return judged
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
    if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1
      while (j < text.length && /[0-9eE.+-]/.test(text[j])) j++
      const literal = text.slice(i, j)
      if (INTEGER.test(literal) && literal.length > SAFE_DIGITS && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(last, i) + `"${literal}"`
        last = j
      }
      i = j - 1
    }
  }
  return last === 0 ? judged : parse(out + text.slice(last))
}

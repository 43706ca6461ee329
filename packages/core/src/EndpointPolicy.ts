/**
 * Which provider endpoints the client may contact. A provider's URL comes from chain data that anyone
 * can write (`register_provider` takes any multiaddr), so by default the client refuses addresses that
 * reach into the machine it runs on or its cloud: link-local ranges and the cloud metadata services
 * (169.254.169.254, fd00:ec2::254, ...), unspecified and multicast addresses; loopback and private
 * ranges are an explicit opt-in (the embedded devnet opts in).
 *
 * IP literals are checked directly. A DNS name is checked after resolution when the caller supplies a
 * resolver (the Node layer does); names that are well known to point inward (`localhost`,
 * `metadata.google.internal`) are checked by name.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/**
 * What kind of address a host is.
 *
 * @since 0.1.0
 * @category models
 */
export type AddressClass =
  | "Public"
  | "Loopback"
  | "Private"
  | "LinkLocal"
  | "Metadata"
  | "Unspecified"
  | "Multicast"
  | "Reserved"

/**
 * @since 0.1.0
 * @category models
 */
export interface EndpointPolicyOptions {
  /** Allow 127.0.0.0/8, ::1 and `localhost` (default false). */
  readonly allowLoopback: boolean
  /** Allow 10/8, 172.16/12, 192.168/16, 100.64/10 and fc00::/7 (default false). */
  readonly allowPrivate: boolean
}

/**
 * The default policy: public addresses only.
 *
 * @since 0.1.0
 * @category constants
 */
export const publicOnly: EndpointPolicyOptions = { allowLoopback: false, allowPrivate: false }

/**
 * The devnet's policy: loopback and private addresses too (never link-local or metadata).
 *
 * @since 0.1.0
 * @category constants
 */
export const local: EndpointPolicyOptions = { allowLoopback: true, allowPrivate: true }

const METADATA_V4 = new Set(["169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192"])
const METADATA_NAMES = new Set(["metadata.google.internal", "metadata", "instance-data", "metadata.azure.internal"])

const parseV4 = (host: string): ReadonlyArray<number> | undefined => {
  const parts = host.split(".")
  if (parts.length !== 4) return undefined
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : -1))
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined
}

/** Expands an IPv6 literal to 8 groups; `undefined` if it is not one. */
const parseV6 = (input: string): ReadonlyArray<number> | undefined => {
  let host = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input
  const zone = host.indexOf("%")
  if (zone >= 0) host = host.slice(0, zone)
  if (!host.includes(":")) return undefined
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = host.lastIndexOf(":")
  const tail = host.slice(lastColon + 1)
  const v4 = parseV4(tail)
  if (v4 !== undefined) {
    host = `${host.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${
      ((v4[2] << 8) | v4[3]).toString(16)
    }`
  }
  const halves = host.split("::")
  if (halves.length > 2) return undefined
  const parse = (part: string) => (part === "" ? [] : part.split(":"))
  const head = parse(halves[0])
  const rest = halves.length === 2 ? parse(halves[1]) : []
  const missing = 8 - head.length - rest.length
  if ((halves.length === 2 && missing < 1) || (halves.length === 1 && missing !== 0)) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest]
  const numbers = groups.map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : -1))
  return numbers.every((n) => n >= 0) ? numbers : undefined
}

const classifyV4 = ([a, b, c, d]: ReadonlyArray<number>): AddressClass => {
  if (METADATA_V4.has(`${a}.${b}.${c}.${d}`)) return "Metadata"
  if (a === 0) return "Unspecified"
  if (a === 127) return "Loopback"
  if (a === 169 && b === 254) return "LinkLocal"
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "Private"
  if (a === 100 && b >= 64 && b <= 127) return "Private"
  if (a >= 224 && a <= 239) return "Multicast"
  if (a >= 240) return "Reserved"
  return "Public"
}

const classifyV6 = (g: ReadonlyArray<number>): AddressClass => {
  if (g.every((x) => x === 0)) return "Unspecified"
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "Loopback"
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms take the IPv4 address's class.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return classifyV4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff])
  }
  // AWS's IPv6 metadata endpoint fd00:ec2::254.
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254) return "Metadata"
  if ((g[0] & 0xffc0) === 0xfe80) return "LinkLocal"
  if ((g[0] & 0xfe00) === 0xfc00) return "Private"
  if ((g[0] & 0xff00) === 0xff00) return "Multicast"
  return "Public"
}

/**
 * The class of an IP literal or host name (`undefined` for a name that needs resolving first).
 *
 * @since 0.1.0
 * @category functions
 */
export const classifyHost = (host: string): AddressClass | undefined => {
  const name = host.toLowerCase().replace(/\.$/, "")
  const v4 = parseV4(name)
  if (v4 !== undefined) return classifyV4(v4)
  const v6 = parseV6(name)
  if (v6 !== undefined) return classifyV6(v6)
  if (name === "localhost" || name.endsWith(".localhost")) return "Loopback"
  if (METADATA_NAMES.has(name)) return "Metadata"
  return undefined
}

/**
 * Whether the policy allows an address class.
 *
 * @since 0.1.0
 * @category functions
 */
export const allows = (policy: EndpointPolicyOptions, addressClass: AddressClass): boolean => {
  switch (addressClass) {
    case "Public":
      return true
    case "Loopback":
      return policy.allowLoopback
    case "Private":
      return policy.allowPrivate
    default:
      return false
  }
}

/**
 * Checks a URL against the policy by its literal host: `Right` with the host name when it still needs a
 * DNS check, `Right(undefined)` when it is allowed as it is, `Left` with the reason when refused.
 *
 * @since 0.1.0
 * @category functions
 */
export const checkUrl = (
  policy: EndpointPolicyOptions,
  url: string
): Either.Either<string | undefined, string> => {
  if (!URL.canParse(url)) return Either.left(`not a URL: ${url.slice(0, 120)}`)
  const parsed = new URL(url)
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return Either.left(`only http and https are allowed, not ${parsed.protocol}`)
  }
  if (parsed.username !== "" || parsed.password !== "") return Either.left("credentials in a provider URL are refused")
  const host = parsed.hostname
  const addressClass = classifyHost(host)
  if (addressClass === undefined) return Either.right(host)
  return allows(policy, addressClass)
    ? Either.right(undefined)
    : Either.left(`${host} is a ${addressClass} address, which the endpoint policy refuses`)
}

/**
 * Checks the addresses a name resolved to: refused if any of them is refused (a name must not be a way
 * around the policy).
 *
 * @since 0.1.0
 * @category functions
 */
export const checkResolved = (
  policy: EndpointPolicyOptions,
  host: string,
  addresses: ReadonlyArray<string>
): Either.Either<void, string> => {
  for (const address of addresses) {
    const addressClass = classifyHost(address) ?? "Reserved"
    if (!allows(policy, addressClass)) {
      return Either.left(`${host} resolves to ${address}, a ${addressClass} address, which the endpoint policy refuses`)
    }
  }
  return Either.void
}

/**
 * Which provider endpoints the client may contact. A provider's URL comes from chain data that anyone
 * can write (`register_provider` takes any multiaddr), so by default the client refuses addresses that
 * reach into the machine it runs on, its network or its cloud.
 *
 * What is refused, by address class:
 *
 * - under every policy: `Metadata` (169.254.169.254, 169.254.170.2, 100.100.100.200, 192.0.0.192,
 *   fd00:ec2::254 and the names `metadata.google.internal`, `metadata`, `instance-data`,
 *   `metadata.azure.internal`), `LinkLocal` (169.254.0.0/16, fe80::/10), `Unspecified` (0.0.0.0/8, ::),
 *   `Multicast` (224.0.0.0/4, ff00::/8) and `Reserved` (240.0.0.0/4, the local-use NAT64 prefix
 *   64:ff9b:1::/48, and any resolver answer that is not an IP literal);
 * - unless the policy opts in (`local` does, for the embedded devnet): `Loopback` (127.0.0.0/8, ::1,
 *   `localhost`, `*.localhost`) and `Private` (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,
 *   100.64.0.0/10, fc00::/7);
 * - everything else is `Public`.
 *
 * An IPv6 address that carries an IPv4 address takes the IPv4 address's class, because that is where
 * its packets end up: IPv4-compatible `::/96`, IPv4-mapped `::ffff:0:0/96`, IPv4-translated
 * `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16` (bits 16-47) and Teredo `2001::/32` (the
 * client address: the last 32 bits, inverted). So `64:ff9b::a9fe:a9fe` is `Metadata` and
 * `64:ff9b::808:808` is `Public`. Where a local-use NAT64 address (64:ff9b:1::/48) carries its IPv4
 * address depends on the operator's prefix length, so it cannot be read reliably; the whole prefix is
 * refused (classed by its last 32 bits when those name an always-refused address, `Reserved` otherwise).
 *
 * IP literals are checked as they are. A name is refused when it names an inward address by itself
 * (`localhost` under `publicOnly`, the metadata names); otherwise it must be resolved, and the
 * resolver's answers are checked with `admitResolved`: one refused answer refuses the name, and the
 * answer to connect to is one of the checked ones. The client (`ProviderHttpClient`) then connects to
 * that IP literal, never to the name, so a second lookup (DNS rebinding) cannot change where it goes.
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

/** The IPv4 address carried by two IPv6 groups. */
const v4Of = (high: number, low: number): ReadonlyArray<number> => [high >> 8, high & 0xff, low >> 8, low & 0xff]

const zeros = (g: ReadonlyArray<number>, from: number, to: number) => g.slice(from, to).every((x) => x === 0)

const classifyV6 = (g: ReadonlyArray<number>): AddressClass => {
  if (g.every((x) => x === 0)) return "Unspecified"
  if (zeros(g, 0, 7) && g[7] === 1) return "Loopback"
  // IPv4-compatible (::a.b.c.d), IPv4-mapped (::ffff:a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d).
  if (zeros(g, 0, 4) && ((g[4] === 0 && (g[5] === 0 || g[5] === 0xffff)) || (g[4] === 0xffff && g[5] === 0))) {
    return classifyV4(v4Of(g[6], g[7]))
  }
  // NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): the translator forwards to the last 32 bits.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(g, 2, 6)) return classifyV4(v4Of(g[6], g[7]))
  // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): the IPv4 address's position depends on the operator's
  // prefix length, so no reading can be trusted to be the one the translator uses.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) {
    const last32 = classifyV4(v4Of(g[6], g[7]))
    return allows(local, last32) ? "Reserved" : last32
  }
  // 6to4 (RFC 3056): the relay tunnels to the IPv4 address in bits 16-47.
  if (g[0] === 0x2002) return classifyV4(v4Of(g[1], g[2]))
  // Teredo (RFC 4380): the client's IPv4 address is the last 32 bits, inverted.
  if (g[0] === 0x2001 && g[1] === 0) return classifyV4(v4Of(g[6] ^ 0xffff, g[7] ^ 0xffff))
  // AWS's IPv6 metadata endpoint fd00:ec2::254.
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && zeros(g, 2, 7) && g[7] === 0x254) return "Metadata"
  if ((g[0] & 0xffc0) === 0xfe80) return "LinkLocal"
  if ((g[0] & 0xfe00) === 0xfc00) return "Private"
  if ((g[0] & 0xff00) === 0xff00) return "Multicast"
  return "Public"
}

/** The class of an IP literal; `undefined` for anything else. */
const classifyLiteral = (host: string): AddressClass | undefined => {
  const v4 = parseV4(host)
  if (v4 !== undefined) return classifyV4(v4)
  const v6 = parseV6(host)
  return v6 === undefined ? undefined : classifyV6(v6)
}

/** The class a name has by itself, before any resolution; `undefined` when only its addresses tell. */
const classifyName = (name: string): AddressClass | undefined => {
  if (name === "localhost" || name.endsWith(".localhost")) return "Loopback"
  if (METADATA_NAMES.has(name)) return "Metadata"
  return undefined
}

/**
 * The class of an IP literal or host name (`undefined` for a name that needs resolving first).
 *
 * @since 0.1.0
 * @category functions
 */
export const classifyHost = (host: string): AddressClass | undefined => {
  const name = host.toLowerCase().replace(/\.$/, "")
  return classifyLiteral(name) ?? classifyName(name)
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
 * Checks a URL against the policy by its literal host: `Right(undefined)` when the host is an IP literal
 * the policy allows, `Right` with the host name when it is a name that must still be resolved (and its
 * answers checked with `admitResolved`; this includes `localhost` under a policy that allows loopback),
 * `Left` with the reason when refused.
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
  const name = host.toLowerCase().replace(/\.$/, "")
  const literal = classifyLiteral(name)
  const addressClass = literal ?? classifyName(name)
  if (addressClass !== undefined && !allows(policy, addressClass)) {
    return Either.left(`${host} is a ${addressClass} address, which the endpoint policy refuses`)
  }
  return literal === undefined ? Either.right(host) : Either.right(undefined)
}

/**
 * Checks the addresses a name resolved to and picks the ones to connect to: refused if any of them is
 * refused or is not an IP literal (a name must not be a way around the policy), and if there are none.
 * On success, the checked addresses in the resolver's order; a caller connects to these literals, not
 * to the name, so the address checked is the address connected to.
 *
 * @since 0.1.0
 * @category functions
 */
export const admitResolved = (
  policy: EndpointPolicyOptions,
  host: string,
  addresses: ReadonlyArray<string>
): Either.Either<readonly [string, ...Array<string>], string> => {
  const [first, ...rest] = addresses
  if (first === undefined) return Either.left(`${host} resolves to no address`)
  for (const address of addresses) {
    // Brackets and zones are for URLs and link-local scopes, not answers: only a plain literal passes.
    const plain = /^[0-9a-fA-F.:]+$/.test(address)
    const addressClass = (plain ? classifyLiteral(address) : undefined) ?? "Reserved"
    if (!allows(policy, addressClass)) {
      return Either.left(`${host} resolves to ${address}, a ${addressClass} address, which the endpoint policy refuses`)
    }
  }
  return Either.right([first, ...rest])
}

/**
 * Checks the addresses a name resolved to: refused if any of them is refused, or if there are none (see
 * `admitResolved`, which also gives the addresses to connect to).
 *
 * @since 0.1.0
 * @category functions
 */
export const checkResolved = (
  policy: EndpointPolicyOptions,
  host: string,
  addresses: ReadonlyArray<string>
): Either.Either<void, string> => Either.map(admitResolved(policy, host, addresses), () => undefined)

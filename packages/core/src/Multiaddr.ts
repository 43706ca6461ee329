/**
 * A provider's on-chain multiaddr (the UTF-8 text stored in `Providers[acct].multiaddr`) to the base
 * URL of its HTTP API.
 *
 * Parsing is done by `@multiformats/multiaddr` (the libp2p project's parser: it validates protocol
 * names, IPv4/IPv6 addresses and port ranges, and percent-decodes `http-path`). The mapping to a URL
 * follows the Rust anchor's `parse_multiaddr_to_http` and its tests rather than
 * `@multiformats/multiaddr-to-uri`, which differs on the cases that matter here: it turns a bare
 * `tcp/443` into `https`, and it accepts an address without a port.
 *
 * Rules:
 * 1. The address starts with `ip4`, `ip6` (bracketed in the URL), `dns`, `dns4` or `dns6`, then `tcp/<port>`.
 * 2. Later `tls`, `https` or `wss` select `https`; `http`, `ws`, `sni/<host>` and a trailing `p2p/<id>` are
 *    accepted; anything else is rejected.
 * 3. The scheme's default port (80 for http, 443 for https) is elided.
 * 4. `http-path/<path>` is appended, percent-decoded.
 *
 * @since 0.1.0
 */
import { multiaddr } from "@multiformats/multiaddr"
import * as Data from "effect/Data"
import * as Either from "effect/Either"

/**
 * Why a multiaddr could not be turned into an HTTP(S) URL.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidMultiaddr extends Data.TaggedError("InvalidMultiaddr")<{
  readonly multiaddr: string
  readonly reason: "Malformed" | "MissingHost" | "MissingPort" | "UnsupportedProtocol"
  readonly detail: string
}> {
  override get message(): string {
    return `invalid provider multiaddr ${JSON.stringify(this.multiaddr.slice(0, 200))}: ${this.detail}`
  }
}

/** Far above the chain's `MaxMultiaddrLength` (128): longer text is not a real multiaddr, and is not parsed. */
const MAX_MULTIADDR_LENGTH = 1024

/** Letters, digits, `-` and `_` in dot-separated labels; rules out `user@host` and other URL syntax. */
const DNS_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

const HOST_PROTOCOLS = new Set(["ip4", "ip6", "dns", "dns4", "dns6"])
const HTTPS_MARKERS = new Set(["tls", "https", "wss"])
const IGNORED_AFTER_PORT = new Set(["http", "ws", "sni", "p2p"])

const fail = (text: string, reason: InvalidMultiaddr["reason"], detail: string) =>
  Either.left(new InvalidMultiaddr({ multiaddr: text, reason, detail }))

/**
 * Turns multiaddr text into an `http://` or `https://` base URL (no trailing slash), or says why not.
 *
 * @example
 * multiaddrToUrl("/ip4/127.0.0.1/tcp/3333") // Right("http://127.0.0.1:3333")
 * multiaddrToUrl("/dns4/h/tcp/443/tls/http/http-path/api") // Right("https://h/api")
 *
 * @since 0.1.0
 * @category codecs
 */
export const multiaddrToUrl = (text: string): Either.Either<string, InvalidMultiaddr> => {
  if (text.length > MAX_MULTIADDR_LENGTH) return fail(text, "Malformed", "longer than any multiaddr the chain stores")
  let components: ReadonlyArray<{ readonly name: string; readonly value?: string | undefined }>
  try {
    components = multiaddr(text.trim()).getComponents()
  } catch (error) {
    // The parser reports every syntax problem by throwing; its message says which part was wrong.
    return fail(text, "Malformed", error instanceof Error ? error.message : "unparseable multiaddr")
  }

  const [host, transport, ...rest] = components
  if (host === undefined) return fail(text, "MissingHost", "empty multiaddr")
  if (!HOST_PROTOCOLS.has(host.name)) {
    return fail(text, "UnsupportedProtocol", `expected ip4, ip6, dns, dns4 or dns6 first, got ${host.name}`)
  }
  if (host.value === undefined || host.value.length === 0) return fail(text, "MissingHost", "no host")
  if (host.name.startsWith("dns") && !DNS_NAME.test(host.value)) {
    return fail(text, "Malformed", `not a DNS name: ${JSON.stringify(host.value.slice(0, 80))}`)
  }
  if (transport === undefined) return fail(text, "MissingPort", "no /tcp/<port> after the host")
  if (transport.name !== "tcp") {
    return fail(text, "UnsupportedProtocol", `HTTP runs over tcp, got ${transport.name}`)
  }
  const port = Number(transport.value)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    return fail(text, "MissingPort", `invalid tcp port ${String(transport.value)}`)
  }

  let secure = false
  let path = ""
  for (let i = 0; i < rest.length; i++) {
    const component = rest[i]
    if (HTTPS_MARKERS.has(component.name)) {
      secure = true
    } else if (component.name === "http-path") {
      if (path !== "") return fail(text, "UnsupportedProtocol", "more than one http-path")
      path = component.value ?? ""
    } else if (component.name === "p2p") {
      if (i !== rest.length - 1) return fail(text, "UnsupportedProtocol", "p2p must be the last component")
    } else if (!IGNORED_AFTER_PORT.has(component.name)) {
      return fail(text, "UnsupportedProtocol", `unsupported component ${component.name}`)
    }
  }

  const scheme = secure ? "https" : "http"
  const defaultPort = secure ? 443 : 80
  const hostText = host.name === "ip6" ? `[${host.value}]` : host.value
  const portText = port === defaultPort ? "" : `:${port}`
  const normalisedPath = path === "" || path === "/" ? "" : path.startsWith("/") ? path : `/${path}`
  const candidate = `${scheme}://${hostText}${portText}${encodePath(normalisedPath)}`
  if (!URL.canParse(candidate)) return fail(text, "Malformed", `does not form a valid URL (${candidate})`)
  return Either.right(candidate)
}

/** Re-encodes characters a URL path cannot hold literally, keeping `/` as the separator. */
const encodePath = (path: string): string =>
  path
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/")

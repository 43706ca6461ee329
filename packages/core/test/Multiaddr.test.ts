import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { InvalidMultiaddr, multiaddrToUrl } from "../src/Multiaddr.js"

const url = (text: string) => {
  const result = multiaddrToUrl(text)
  if (Either.isLeft(result)) assert.fail(result.left.message)
  return result.right
}

const rejection = (text: string) => {
  const result = multiaddrToUrl(text)
  if (Either.isRight(result)) assert.fail(`expected ${text} to be rejected, got ${result.right}`)
  assert.instanceOf(result.left, InvalidMultiaddr)
  return result.left
}

describe("multiaddrToUrl: the Rust anchor's cases", () => {
  it("ip4 is http", () => {
    assert.strictEqual(url("/ip4/127.0.0.1/tcp/3333"), "http://127.0.0.1:3333")
  })

  it("ip6 host is bracketed", () => {
    assert.strictEqual(url("/ip6/::1/tcp/3333"), "http://[::1]:3333")
  })

  it("the default http port is elided", () => {
    assert.strictEqual(url("/dns4/example.com/tcp/80"), "http://example.com")
    assert.strictEqual(url("/dns4/example.com/tcp/80/http"), "http://example.com")
  })

  it("tls/http is https with the default port elided", () => {
    assert.strictEqual(url("/dns4/h/tcp/443/tls/http"), "https://h")
  })

  it("tls keeps a non-default port", () => {
    assert.strictEqual(url("/dns4/h/tcp/8443/tls/http"), "https://h:8443")
  })

  it("http-path is appended: the hosted provider form", () => {
    assert.strictEqual(
      url("/dns4/previewnet.substrate.dev/tcp/443/tls/http/http-path/web3-storage-provider"),
      "https://previewnet.substrate.dev/web3-storage-provider"
    )
  })

  it("http-path is percent-decoded", () => {
    assert.strictEqual(url("/dns4/h/tcp/443/tls/http/http-path/a%2fb%2fc"), "https://h/a/b/c")
  })

  it("a multiaddr without a port is rejected", () => {
    assert.strictEqual(rejection("/dns4/h").reason, "MissingPort")
    assert.strictEqual(rejection("/ip4/127.0.0.1").reason, "MissingPort")
  })

  it("an unsupported protocol is rejected", () => {
    assert.strictEqual(rejection("/unix/tmp%2Fsock").reason, "UnsupportedProtocol")
    assert.strictEqual(rejection("/ip4/1.2.3.4/udp/3333").reason, "UnsupportedProtocol")
    assert.strictEqual(rejection("/ip4/1.2.3.4/tcp/1/quic-v1").reason, "UnsupportedProtocol")
  })
})

describe("multiaddrToUrl: more forms", () => {
  it("dns, dns4 and dns6 all name a host", () => {
    assert.strictEqual(url("/dns/provider.example/tcp/3333"), "http://provider.example:3333")
    assert.strictEqual(url("/dns6/provider.example/tcp/3333"), "http://provider.example:3333")
  })

  it("https and wss select https", () => {
    assert.strictEqual(url("/dns4/h/tcp/443/https"), "https://h")
    assert.strictEqual(url("/dns4/h/tcp/9443/wss"), "https://h:9443")
  })

  it("a bare tcp/443 stays http, with its port", () => {
    assert.strictEqual(url("/ip4/10.0.0.1/tcp/443"), "http://10.0.0.1:443")
  })

  it("a trailing p2p id is ignored", () => {
    assert.strictEqual(
      url("/ip4/1.2.3.4/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"),
      "http://1.2.3.4:1"
    )
  })

  it("a path segment with characters a URL cannot hold is re-encoded", () => {
    assert.strictEqual(url("/dns4/h/tcp/80/http/http-path/a%20b"), "http://h/a%20b")
    assert.strictEqual(url("/dns4/h/tcp/80/http/http-path/q%3Fx"), "http://h/q%3Fx")
  })

  it("rejects text that is not a multiaddr, invalid addresses and ports", () => {
    assert.strictEqual(rejection("http://127.0.0.1:3333").reason, "Malformed")
    assert.strictEqual(rejection("").reason, "MissingHost")
    assert.strictEqual(rejection("/ip4/999.0.0.1/tcp/1").reason, "Malformed")
    assert.strictEqual(rejection("/ip4/1.2.3.4/tcp/70000").reason, "Malformed")
    assert.strictEqual(rejection("/ip4/1.2.3.4/tcp/0").reason, "MissingPort")
  })

  it("rejects DNS names carrying URL syntax", () => {
    assert.strictEqual(rejection("/dns4/user@evil.example/tcp/80").reason, "Malformed")
    assert.strictEqual(rejection("/dns4/a b/tcp/80").reason, "Malformed")
  })

  it("rejects a transport other than tcp and a p2p id that is not last", () => {
    assert.strictEqual(rejection("/dns4/h/udp/80").reason, "UnsupportedProtocol")
    assert.strictEqual(
      rejection("/ip4/1.2.3.4/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/http").reason,
      "UnsupportedProtocol"
    )
  })

  it("rejects text far longer than the chain stores", () => {
    assert.strictEqual(rejection("/dns4/" + "a".repeat(2000) + "/tcp/1").reason, "Malformed")
  })

  it("names the multiaddr in its message", () => {
    assert.include(rejection("/dns4/h").message, "/dns4/h")
  })

  it.prop("never throws: every string gives a URL or a typed error", [fc.string({ maxLength: 80 })], ([text]) => {
    const result = multiaddrToUrl(text)
    assert.isTrue(Either.isRight(result) || result.left instanceof InvalidMultiaddr)
  })

  it.prop(
    "every ip4/tcp address maps to http://ip:port (port elided when 80)",
    [fc.ipV4(), fc.integer({ min: 1, max: 65535 })],
    ([ip, port]) => {
      assert.strictEqual(url(`/ip4/${ip}/tcp/${port}`), port === 80 ? `http://${ip}` : `http://${ip}:${port}`)
    }
  )
})

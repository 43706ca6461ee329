import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import type { AddressClass } from "../src/EndpointPolicy.js"
import { admitResolved, checkResolved, checkUrl, classifyHost, local, publicOnly } from "../src/EndpointPolicy.js"

describe("classifyHost", () => {
  const cases: ReadonlyArray<readonly [string, ReturnType<typeof classifyHost>]> = [
    ["8.8.8.8", "Public"],
    ["127.0.0.1", "Loopback"],
    ["127.9.9.9", "Loopback"],
    ["::1", "Loopback"],
    ["[::1]", "Loopback"],
    ["localhost", "Loopback"],
    ["10.1.2.3", "Private"],
    ["172.16.0.1", "Private"],
    ["172.31.255.255", "Private"],
    ["172.32.0.1", "Public"],
    ["192.168.1.1", "Private"],
    ["100.64.0.1", "Private"],
    ["fd12::1", "Private"],
    ["169.254.169.254", "Metadata"],
    ["169.254.1.1", "LinkLocal"],
    ["fe80::1", "LinkLocal"],
    ["fe80::1%eth0", "LinkLocal"],
    ["fd00:ec2::254", "Metadata"],
    ["metadata.google.internal", "Metadata"],
    ["100.100.100.200", "Metadata"],
    ["0.0.0.0", "Unspecified"],
    ["::", "Unspecified"],
    ["::ffff:169.254.169.254", "Metadata"],
    ["::ffff:127.0.0.1", "Loopback"],
    ["224.0.0.1", "Multicast"],
    ["2001:db8::1", "Public"],
    ["provider.example", undefined]
  ]
  for (const [host, expected] of cases) {
    it(`${host} is ${expected ?? "a name to resolve"}`, () => {
      assert.strictEqual(classifyHost(host), expected)
    })
  }
})

describe("checkUrl", () => {
  it("refuses metadata and link-local addresses under every policy", () => {
    assert.isTrue(Either.isLeft(checkUrl(local, "http://169.254.169.254/latest")))
    assert.isTrue(Either.isLeft(checkUrl(local, "http://[fd00:ec2::254]")))
    assert.isTrue(Either.isLeft(checkUrl(local, "http://[fe80::1]:3333")))
  })

  it("makes loopback and private ranges opt-in", () => {
    assert.isTrue(Either.isLeft(checkUrl(publicOnly, "http://127.0.0.1:3333")))
    assert.isTrue(Either.isLeft(checkUrl(publicOnly, "http://10.0.0.5:3333")))
    assert.deepStrictEqual(checkUrl(local, "http://127.0.0.1:3333"), Either.right(undefined))
  })

  it("allows public addresses and asks for names to be resolved", () => {
    assert.deepStrictEqual(checkUrl(publicOnly, "https://8.8.8.8"), Either.right(undefined))
    assert.deepStrictEqual(checkUrl(publicOnly, "https://provider.example/api"), Either.right("provider.example"))
  })

  it("refuses other schemes and credentials in the URL", () => {
    assert.isTrue(Either.isLeft(checkUrl(local, "file:///etc/passwd")))
    assert.isTrue(Either.isLeft(checkUrl(local, "http://user:pw@8.8.8.8")))
  })

  it("refuses a name that resolves to a refused address, even among allowed ones", () => {
    assert.isTrue(Either.isLeft(checkResolved(publicOnly, "p.example", ["8.8.8.8", "10.0.0.1"])))
    assert.isTrue(Either.isRight(checkResolved(publicOnly, "p.example", ["8.8.8.8"])))
  })

  it("asks for localhost to be resolved too when the policy allows loopback", () => {
    assert.deepStrictEqual(checkUrl(local, "http://localhost:3333"), Either.right("localhost"))
    assert.isTrue(Either.isLeft(checkUrl(publicOnly, "http://localhost:3333")))
  })
})

describe("admitResolved", () => {
  it("gives the checked answers, in the resolver's order, as the addresses to connect to", () => {
    assert.deepStrictEqual(
      admitResolved(publicOnly, "p.example", ["8.8.8.8", "2606:4700::1111"]),
      Either.right(["8.8.8.8", "2606:4700::1111"] as const)
    )
  })

  it("refuses the name when any answer is refused", () => {
    assert.isTrue(Either.isLeft(admitResolved(publicOnly, "p.example", ["8.8.8.8", "127.0.0.1"])))
    assert.isTrue(Either.isLeft(admitResolved(local, "p.example", ["127.0.0.1", "169.254.169.254"])))
  })

  it("refuses an answer that is not a plain IP literal, which the client would have to resolve again", () => {
    for (const answer of ["localhost", "p2.example", "[::1]", "::1%lo", "127.0.0.1:80", ""]) {
      assert.isTrue(Either.isLeft(admitResolved(local, "p.example", [answer])), answer)
    }
  })

  it("refuses a name with no answers", () => {
    assert.isTrue(Either.isLeft(admitResolved(local, "p.example", [])))
  })
})

/** An IPv4 address as two IPv6 groups, each XORed with `mask`. */
const hexGroups = (v4: string, mask: number): ReadonlyArray<string> => {
  const [a, b, c, d] = v4.split(".").map(Number)
  return [(((a << 8) | b) ^ mask).toString(16), (((c << 8) | d) ^ mask).toString(16)]
}

/**
 * Writes an IPv4 address into an IPv6 prefix the way each transition mechanism does. `8.8.8.8` stands
 * for the public Internet.
 */
const embeddings: ReadonlyArray<readonly [string, (v4: string) => string]> = [
  ["IPv4-mapped ::ffff:0:0/96", (v4) => `::ffff:${v4}`],
  ["IPv4-compatible ::/96", (v4) => `::${v4}`],
  ["IPv4-translated ::ffff:0:0:0/96", (v4) => `::ffff:0:${v4}`],
  ["NAT64 64:ff9b::/96", (v4) => `64:ff9b::${v4}`],
  ["6to4 2002::/16", (v4) => `2002:${hexGroups(v4, 0).join(":")}::1`],
  ["Teredo 2001::/32", (v4) => `2001:0:4136:e378:8000:63bf:${hexGroups(v4, 0xffff).join(":")}`]
]

const embedded: ReadonlyArray<readonly [string, AddressClass]> = [
  ["169.254.169.254", "Metadata"],
  ["10.0.0.5", "Private"],
  ["127.0.0.1", "Loopback"],
  ["8.8.8.8", "Public"]
]

describe("an IPv6 address carrying an IPv4 address is held to the IPv4 address's class", () => {
  for (const [mechanism, embed] of embeddings) {
    for (const [v4, expected] of embedded) {
      const address = embed(v4)
      it(`${mechanism}: ${address} (${v4}) is ${expected}`, () => {
        assert.strictEqual(classifyHost(address), expected)
        const url = `http://[${address}]:3333/health`
        const resolved = admitResolved(publicOnly, "p.example", [address])
        if (expected === "Public") {
          assert.deepStrictEqual(checkUrl(publicOnly, url), Either.right(undefined))
          assert.isTrue(Either.isRight(resolved))
        } else {
          assert.isTrue(Either.isLeft(checkUrl(publicOnly, url)))
          assert.include(Either.match(resolved, { onLeft: (reason) => reason, onRight: () => "admitted" }), expected)
        }
        // Opting in to loopback and private ranges never lets the metadata address through.
        assert.strictEqual(Either.isRight(checkUrl(local, url)), expected !== "Metadata")
      })
    }
  }

  it("the local-use NAT64 prefix 64:ff9b:1::/48 is refused under every policy", () => {
    for (const [v4] of embedded) {
      const address = `64:ff9b:1::${v4}`
      assert.isTrue(Either.isLeft(checkUrl(local, `http://[${address}]`)), address)
      assert.isTrue(Either.isLeft(admitResolved(local, "p.example", [address])), address)
    }
    assert.strictEqual(classifyHost("64:ff9b:1::169.254.169.254"), "Metadata")
    assert.strictEqual(classifyHost("64:ff9b:1::10.0.0.5"), "Reserved")
  })
})

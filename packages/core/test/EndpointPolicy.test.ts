import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { checkResolved, checkUrl, classifyHost, local, publicOnly } from "../src/EndpointPolicy.js"

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
})

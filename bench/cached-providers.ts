/**
 * Providers that are not the bottleneck: each answers `GET /checkpoint-signature` (and `/commitment`)
 * from a cache of signed commitments, signed once per commitment at start (a real provider could do the
 * same: its answer changes only when its data does), over a bare `node:http` server with keep-alive.
 * The wire format is the provider's (as `ProviderSimulator` sends it). Every bucket's commitment is the
 * same on every provider (root over `leaves` leaves from 0), so honest providers agree.
 *
 * Started from the JSON spec in argv[2] — `{ providers: [{ name, latencyMillis, badSignature? }], buckets,
 * leaves }` — and announced on stdout as one JSON line `[{ name, endpoint, multiaddr, account, publicKey }]`
 * as `providers-child.ts` does. Runs until killed.
 *
 * Each answer carries `x-served-in`: the milliseconds (fractional) from the request's arrival at the
 * provider to its answer leaving it, so the measuring process knows each provider's own latency, whatever
 * its own event loop was doing (a client cannot end a round before the threshold-th provider answers).
 */
import { Domain, encodeCommitmentPayload, encodeMultiSignature } from "@checkpointer/core"
import { Keyring } from "@polkadot/keyring"
import { blake2AsU8a, cryptoWaitReady } from "@polkadot/util-crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

interface Spec {
  readonly providers: ReadonlyArray<{ name: string; latencyMillis: number; badSignature?: boolean }>
  readonly buckets: ReadonlyArray<number>
  readonly leaves: number
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Spec
const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex")

const start = async () => {
  await cryptoWaitReady()
  const keyring = new Keyring({ type: "sr25519", ss58Format: Domain.SS58_PREFIX })
  const roots = new Map(spec.buckets.map((b) => [b, hex(blake2AsU8a(`bench bucket ${b} over ${spec.leaves}`, 256))]))
  return Promise.all(spec.providers.map((p) =>
    new Promise<Record<string, string>>((resolve) => {
      const pair = keyring.addFromUri(`//${p.name}`)
      const signer = p.badSignature === true ? keyring.addFromUri(`//${p.name}//not-registered`) : pair
      const answers = new Map<string, Buffer>()
      for (const bucket of spec.buckets) {
        const commitment = {
          mmrRoot: roots.get(bucket)! as Domain.H256,
          startSeq: 0n as Domain.U64,
          leafCount: BigInt(spec.leaves) as Domain.U64
        }
        const payload = encodeCommitmentPayload({ bucketId: BigInt(bucket) as Domain.BucketId, ...commitment })
        const signature = encodeMultiSignature({ _tag: "Sr25519", bytes: signer.sign(payload) })
        answers.set(
          String(bucket),
          Buffer.from(JSON.stringify({
            bucket_id: bucket,
            mmr_root: commitment.mmrRoot,
            start_seq: 0,
            leaf_count: spec.leaves,
            provider_signature: hex(signature)
          }))
        )
      }
      const server = createServer({ keepAlive: true }, (request, response) => {
        const arrived = performance.now()
        const url = request.url ?? ""
        const query = url.indexOf("?bucket_id=")
        const path = query < 0 ? url : url.slice(0, query)
        const body = (path === "/checkpoint-signature" || path === "/commitment") && query >= 0
          ? answers.get(url.slice(query + 11))
          : undefined
        const send = () => {
          if (body === undefined) {
            response.writeHead(404, { "content-type": "application/json" }).end("{\"error\":\"bucket_not_found\"}")
            return
          }
          response.writeHead(200, {
            "content-type": "application/json",
            "content-length": body.length,
            "x-served-in": String(performance.now() - arrived)
          }).end(body)
        }
        if (p.latencyMillis > 0) setTimeout(send, p.latencyMillis)
        else send()
      })
      server.keepAliveTimeout = 60_000
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resolve({
          name: p.name,
          endpoint: `http://127.0.0.1:${port}`,
          multiaddr: `/ip4/127.0.0.1/tcp/${port}`,
          account: Domain.accountIdFromBytes(pair.publicKey)!,
          publicKey: Domain.publicKeyFromBytes(pair.publicKey)!
        })
      })
    })
  ))
}

start().then((started) => process.stdout.write(JSON.stringify(started) + "\n"), (error) => {
  console.error(error)
  process.exit(1)
})

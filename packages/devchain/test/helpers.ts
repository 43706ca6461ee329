/**
 * Drives the devchain with the real `@polkadot/api` over a real WebSocket, as a user would.
 */
import { ApiPromise, WsProvider } from "@polkadot/api"
import type { SubmittableExtrinsic } from "@polkadot/api/types"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import type { ProviderInterface } from "@polkadot/rpc-provider/types"
import type { Codec } from "@polkadot/types/types"
import { u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Devchain from "../src/Devchain.js"

export const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })
export const dev = (name: string): KeyringPair => keyring.addFromUri(`//${name}`)

export const connect = (url: string): Effect.Effect<ApiPromise, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      ApiPromise.create({
        // WsProvider's optional members clash with `exactOptionalPropertyTypes`; it is the provider the api expects.
        provider: new WsProvider(url, 1_000, {}, 10_000) as unknown as ProviderInterface,
        noInitWarn: true,
        throwOnConnect: true
      })
    ),
    (api) => Effect.promise(() => api.disconnect())
  )

/** A devchain and an api connected to it, for the scope. */
export const world = (config?: Devchain.DevchainConfigInput) =>
  Effect.gen(function*() {
    const chain = yield* Devchain.start({ blockMode: "instant", finalityLag: 0, ...config })
    const api = yield* connect(chain.url)
    return { chain, api }
  })

export interface Outcome {
  readonly blockHash: string
  readonly txIndex: number
  /** `section.method` of each event of this extrinsic. */
  readonly events: ReadonlyArray<string>
  readonly eventData: ReadonlyArray<{ readonly name: string; readonly data: Codec }>
  /** The pallet error's name (`storageProvider.InsufficientSignatures`), or undefined on success. */
  readonly error: string | undefined
}

/** Signs and sends; resolves when finalized with the decoded outcome; fails with the RPC error message. */
export const send = (
  api: ApiPromise,
  tx: SubmittableExtrinsic<"promise">,
  signer: KeyringPair,
  options: Partial<{ nonce: number; era: number }> = {}
): Effect.Effect<Outcome, string> =>
  Effect.async<Outcome, string>((resume) => {
    let unsub: (() => void) | undefined
    tx.signAndSend(signer, options, (result) => {
      if (result.isError) resume(Effect.fail(`status ${result.status.type}`))
      if (!result.status.isFinalized) return
      unsub?.()
      let error: string | undefined
      if (result.dispatchError !== undefined) {
        if (result.dispatchError.isModule) {
          const meta = api.registry.findMetaError(result.dispatchError.asModule)
          error = `${meta.section}.${meta.name}`
        } else if (result.dispatchError.isToken) {
          error = `Token.${result.dispatchError.asToken.type}`
        } else {
          error = result.dispatchError.type
        }
      }
      resume(Effect.succeed({
        blockHash: result.status.asFinalized.toHex(),
        txIndex: result.txIndex ?? -1,
        events: result.events.map(({ event }) => `${event.section}.${event.method}`),
        eventData: result.events.map(({ event }) => ({ name: `${event.section}.${event.method}`, data: event.data })),
        error
      }))
    }).then((u) => void (unsub = u), (e: Error) => resume(Effect.fail(e.message)))
  })

/** The 57-byte v1 commitment payload (protocol-facts §3.1). */
export const commitmentPayload = (bucket: bigint, root: Uint8Array, startSeq: bigint, leafCount: bigint) => {
  const out = new Uint8Array(57)
  const view = new DataView(out.buffer)
  out[0] = 1
  view.setBigUint64(1, bucket, true)
  out.set(root, 9)
  view.setBigUint64(41, startSeq, true)
  view.setBigUint64(49, leafCount, true)
  return out
}

/** Primary-agreement terms as the era-C pallet takes them, signed by the provider (protocol-facts §2.4). */
export const signedTerms = (
  api: ApiPromise,
  provider: KeyringPair,
  terms: { owner: string; bucket: number; nonce: number; validUntil: number; duration?: number }
) => {
  const value = api.createType("StoragePrimitivesAgreementTerms" as never, {
    owner: terms.owner,
    maxBytes: 1_048_576,
    duration: terms.duration ?? 1_000,
    pricePerByte: 0,
    validUntil: terms.validUntil,
    nonce: terms.nonce,
    bucket: { Existing: terms.bucket },
    replicaParams: null
  }) as unknown as Codec
  const message = blake2AsU8a(u8aConcat(new TextEncoder().encode("primary-term-v1:"), value.toU8a()), 256)
  return { terms: value, sig: { Sr25519: u8aToHex(provider.sign(message)) } }
}

/** The JSON of the first event of this name in an outcome (fields in declaration order). */
export const eventJson = (outcome: Outcome, name: string): ReadonlyArray<unknown> => {
  const event = outcome.eventData.find((e) => e.name === name)
  if (event === undefined) throw new Error(`no ${name} in ${outcome.events.join(", ")}`)
  return event.data.toJSON() as ReadonlyArray<unknown>
}

/** Polls (real time, every 10 ms, at most 5 s) until `check` holds: for effects of network pushes. */
export const eventually = (check: () => boolean, what = "condition"): Effect.Effect<void, string> =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail("not yet"))).pipe(
    Effect.retry(Schedule.spaced("10 millis")),
    // A bound for a busy 2-core machine (a child process's start-up under load takes seconds).
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => `timed out waiting for ${what}` })
  )

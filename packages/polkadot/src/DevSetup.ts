/**
 * Setting up providers and a bucket on a development chain (the devchain, or a real runtime under
 * Chopsticks) with the pallet's own calls, whichever era it runs: era A registers providers without a
 * key and adds primaries by request and acceptance; era C registers keys and adds primaries with
 * signed agreement terms. For devnets and tests; accounts are dev keys (`//Name`).
 *
 * @since 0.1.0
 */
import type { ApiPromise } from "@polkadot/api"
import type { SubmittableExtrinsic } from "@polkadot/api/types"
import { Keyring } from "@polkadot/keyring"
import type { KeyringPair } from "@polkadot/keyring/types"
import type { Codec } from "@polkadot/types/types"
import { u8aConcat, u8aToHex } from "@polkadot/util"
import { blake2AsU8a } from "@polkadot/util-crypto"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/**
 * A setup transaction was refused or failed; `reason` is the pallet's error name or the pool's status.
 *
 * @since 0.1.0
 * @category errors
 */
export class SetupFailed extends Data.TaggedError("SetupFailed")<{ readonly call: string; readonly reason: string }> {
  override get message(): string {
    return `${this.call} failed: ${this.reason}`
  }
}

const keyring = new Keyring({ type: "sr25519", ss58Format: 42 })

/**
 * A dev key (`//Alice`).
 *
 * @since 0.1.0
 * @category accounts
 */
export const devKey = (name: string): KeyringPair => keyring.addFromUri(`//${name}`)

/**
 * Signs and sends; succeeds with the extrinsic's events once it is in a finalized block.
 *
 * @since 0.1.0
 * @category transactions
 */
export const sendTx = (api: ApiPromise, tx: SubmittableExtrinsic<"promise">, signer: KeyringPair) =>
  Effect.async<ReadonlyArray<{ readonly name: string; readonly data: Codec }>, SetupFailed>((resume) => {
    const call = `${tx.method.section}.${tx.method.method}`
    let unsubscribe: (() => void) | undefined
    tx.signAndSend(signer, { nonce: -1 }, (result) => {
      if (result.isError) resume(Effect.fail(new SetupFailed({ call, reason: result.status.type })))
      if (!result.status.isFinalized) return
      unsubscribe?.()
      if (result.dispatchError !== undefined) {
        const reason = result.dispatchError.isModule
          ? api.registry.findMetaError(result.dispatchError.asModule).name
          : result.dispatchError.type
        return resume(Effect.fail(new SetupFailed({ call, reason })))
      }
      resume(
        Effect.succeed(
          result.events.map(({ event }) => ({ name: `${event.section}.${event.method}`, data: event.data }))
        )
      )
    }).then(
      (u) => void (unsubscribe = u),
      (e: Error) => resume(Effect.fail(new SetupFailed({ call, reason: e.message })))
    )
  })

const STAKE = 1_000_000_000_000_000n

/**
 * Registers `providers` (those not yet registered, each signing as `//name`) and creates a bucket of
 * `//admin` with them as primaries, in that order; returns the bucket id.
 *
 * @since 0.1.0
 * @category setup
 */
export const setupBucket = (
  api: ApiPromise,
  providers: ReadonlyArray<{ readonly name: string; readonly multiaddr: string }>,
  minProviders: number,
  admin = "Alice"
) =>
  Effect.gen(function*() {
    const sp = api.tx.storageProvider ?? {}
    const query = api.query.storageProvider ?? {}
    const call = (name: string) =>
      Effect.fromNullable(sp[name]).pipe(
        Effect.orElseFail(() => new SetupFailed({ call: `storageProvider.${name}`, reason: "not in this runtime" }))
      )
    const storage = (name: string) =>
      Effect.fromNullable(query[name]).pipe(
        Effect.orElseFail(() => new SetupFailed({ call: `storageProvider.${name}`, reason: "not in this runtime" }))
      )
    const eraA = sp.requestPrimaryAgreement !== undefined
    const owner = devKey(admin)
    const register = yield* call("registerProvider")
    const createBucket = yield* call("createBucket")
    const providersOf = yield* storage("providers")
    for (const p of providers) {
      const key = devKey(p.name)
      const registered = yield* Effect.promise(() => providersOf(key.address))
      if (!(registered as unknown as { isNone: boolean }).isNone) continue
      const withKey = register.meta.args.length === 3
      yield* sendTx(
        api,
        withKey ? register(p.multiaddr, u8aToHex(key.publicKey), STAKE) : register(p.multiaddr, STAKE),
        key
      )
    }
    const created = yield* sendTx(
      api,
      createBucket.meta.args.length === 1 ? createBucket(minProviders) : createBucket(minProviders, "Public"),
      owner
    )
    const event = created.find((e) => e.name === "storageProvider.BucketCreated")
    if (event === undefined) {
      return yield* new SetupFailed({ call: "storageProvider.createBucket", reason: "no BucketCreated event" })
    }
    const bucketId = BigInt(String((event.data.toJSON() as ReadonlyArray<number | string>)[0]))
    for (const p of providers) {
      const key = devKey(p.name)
      if (eraA) {
        yield* sendTx(api, (yield* call("requestPrimaryAgreement"))(bucketId, key.address, 1_048_576, 1_000, 0), owner)
        yield* sendTx(api, (yield* call("acceptAgreement"))(bucketId), key)
        continue
      }
      const best = (yield* Effect.promise(() => api.rpc.chain.getHeader())).number.toNumber()
      const agreementNonces = yield* storage("agreementNonces")
      const nonce = (yield* Effect.promise(() => agreementNonces(owner.address))).toString()
      const terms = api.createType("StoragePrimitivesAgreementTerms" as never, {
        owner: owner.address,
        maxBytes: 1_048_576,
        duration: 1_000,
        pricePerByte: 0,
        validUntil: best + 100,
        nonce,
        bucket: { Existing: bucketId },
        replicaParams: null
      }) as unknown as Codec
      const message = blake2AsU8a(u8aConcat(new TextEncoder().encode("primary-term-v1:"), terms.toU8a()), 256)
      const addPrimary = yield* call("addPrimaryProvider")
      yield* sendTx(api, addPrimary(bucketId, key.address, terms, { Sr25519: u8aToHex(key.sign(message)) }), owner)
    }
    return bucketId
  })

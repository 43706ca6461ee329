/**
 * The executive: transaction validity as the pool checks it (signer, era, signature, nonce, fee),
 * and blocks: the timestamp inherent, then each signed extrinsic applied (nonce and fee, then its
 * call dispatched to its pallet in a storage transaction, then the outcome's events). The calls'
 * logic is the pallets' (`pallets/`).
 *
 * @internal
 */
import { hexToU8a } from "@polkadot/util"
import { type DispatchContext, DispatchFailure, fail, type Origin } from "./dispatch.js"
import { eraBirth, eraDeath, type Extrinsic, type InvalidReason, signingPayload, verifyBy } from "./extrinsic.js"
import * as Balances from "./pallets/balances.js"
import * as StorageProvider from "./pallets/storageProvider/calls.js"
import type { Era } from "./pallets/storageProvider/pallet.js"
import * as Sudo from "./pallets/sudo.js"
import * as System from "./pallets/system.js"
import * as Timestamp from "./pallets/timestamp.js"
import { CALL_WEIGHT, feeFor } from "./pallets/transactionPayment.js"
import type { Profile, RuntimeCall, RuntimeEvent, RuntimeVersion } from "./runtime.js"
import type { State, StorageItem } from "./storage.js"
import { type DispatchError, dispatchInfo, type Hex, type Phase } from "./types.js"

/** The pool's verdict; whether a valid transaction is ready or waits for a gap is the pool's call. */
export type Validity =
  | {
    readonly _tag: "Valid"
    readonly sender: Hex
    readonly nonce: number
    /** The sender's nonce in the state it was checked against. */
    readonly stateNonce: number
    readonly fee: bigint
  }
  | { readonly _tag: "Invalid"; readonly reason: InvalidReason }

export interface ChainView {
  readonly genesisHash: Hex
  /** The hash of a block on the current chain by number, if known. */
  readonly blockHash: (n: number) => Hex | undefined
}

/** The runtime of one profile; stateless, the state is passed in. */
export class Executive {
  private events: Array<{ phase: Phase; event: RuntimeEvent; topics: ReadonlyArray<Hex> }> = []
  private phase: Phase = { _tag: "Initialization" }

  constructor(readonly profile: Profile, readonly version: RuntimeVersion) {}

  get era(): Era {
    return this.profile.era
  }

  // ------------------------------------------------------------------------- validity

  /** The pool's check, at the state of block `current - 1` (the best block). */
  validate(state: State, ext: Extrinsic<RuntimeCall>, current: number, chain: ChainView): Validity {
    const signed = ext.signed
    if (signed === undefined) return { _tag: "Invalid", reason: "Call" }
    if (/^0x0{64}$/.test(signed.signer)) return { _tag: "Invalid", reason: "BadSigner" }
    // CheckMortality: the birth block must be known and the era not over.
    if (current >= eraDeath(signed.era, current)) return { _tag: "Invalid", reason: "AncientBirthBlock" }
    const birth = eraBirth(signed.era, current)
    const birthHash = signed.era._tag === "Immortal" ? chain.genesisHash : chain.blockHash(birth)
    if (birthHash === undefined) return { _tag: "Invalid", reason: "AncientBirthBlock" }
    if (signed.metadataHashMode !== 0) return { _tag: "Invalid", reason: "BadProof" }
    const payload = signingPayload(ext.callBytes, signed, {
      specVersion: this.version.specVersion,
      transactionVersion: this.version.transactionVersion,
      genesisHash: hexToU8a(chain.genesisHash),
      birthHash: hexToU8a(birthHash)
    })
    if (!verifyBy(signed.signature, payload, hexToU8a(signed.signer))) return { _tag: "Invalid", reason: "BadProof" }
    const account = state.getOr(System.storage.Account, signed.signer)
    if (signed.nonce < account.nonce) return { _tag: "Invalid", reason: "Stale" }
    const fee = feeFor(ext.bytes.length, signed.tip)
    if (account.data.free < fee) return { _tag: "Invalid", reason: "Payment" }
    if (ext.call._tag === "Timestamp") return { _tag: "Invalid", reason: "Call" }
    return { _tag: "Valid", sender: signed.signer, nonce: signed.nonce, stateNonce: account.nonce, fee }
  }

  // ------------------------------------------------------------------------- blocks

  initializeBlock(state: State, number: number, parentHash: Hex): void {
    this.events = []
    this.phase = { _tag: "Initialization" }
    state.put(System.storage.Number, [], number)
    state.put(System.storage.ParentHash, [], parentHash)
    state.put(System.storage.BlockHash, [number - 1], parentHash)
    state.remove(this.profile.Events.Events as StorageItem<[], unknown>)
    state.put(System.storage.EventCount, [], 0)
  }

  /** Applies the timestamp inherent (always index 0 of a block). */
  applyInherent(state: State, now: bigint): void {
    this.phase = { _tag: "ApplyExtrinsic", value: 0 }
    Timestamp.set(state, now)
    this.deposit({
      _tag: "System",
      value: { _tag: "ExtrinsicSuccess", dispatch_info: dispatchInfo(CALL_WEIGHT, "Mandatory") }
    } as RuntimeEvent)
  }

  /**
   * Applies a signed extrinsic at `index`. Returns `false` (and changes nothing) when it is no longer
   * valid at this point of the block (stale nonce, cannot pay): the block builder drops it.
   */
  applyExtrinsic(state: State, ext: Extrinsic<RuntimeCall>, index: number, blockNumber: number): boolean {
    const signed = ext.signed
    if (signed === undefined) return false
    const account = state.getOr(System.storage.Account, signed.signer)
    const fee = feeFor(ext.bytes.length, signed.tip)
    if (signed.nonce !== account.nonce || account.data.free < fee) return false
    this.phase = { _tag: "ApplyExtrinsic", value: index }
    // Pre-dispatch: bump the nonce and withdraw the fee; these stay even if the call fails.
    state.put(System.storage.Account, [signed.signer], {
      ...account,
      nonce: account.nonce + 1,
      data: { ...account.data, free: account.data.free - fee }
    })
    this.deposit({ _tag: "Balances", value: { _tag: "Withdraw", who: signed.signer, amount: fee } } as RuntimeEvent)
    const origin: Origin = { _tag: "Signed", who: signed.signer }
    const result = this.dispatchTransactional(state, origin, ext.call, blockNumber)
    this.deposit({
      _tag: "TransactionPayment",
      value: { _tag: "TransactionFeePaid", who: signed.signer, actual_fee: fee, tip: signed.tip }
    } as RuntimeEvent)
    const info = dispatchInfo(CALL_WEIGHT)
    this.deposit(
      (result === undefined
        ? { _tag: "System", value: { _tag: "ExtrinsicSuccess", dispatch_info: info } }
        : {
          _tag: "System",
          value: { _tag: "ExtrinsicFailed", dispatch_error: result, dispatch_info: info }
        }) as RuntimeEvent
    )
    return true
  }

  /** `System.CodeUpdated`, in the block that sets new runtime code. */
  codeUpdated(): void {
    this.phase = { _tag: "Finalization" }
    this.deposit({ _tag: "System", value: { _tag: "CodeUpdated" } } as RuntimeEvent)
  }

  /** Writes `System.Events` for the block; returns the events. */
  finalizeBlock(state: State): ReadonlyArray<{ phase: Phase; event: RuntimeEvent; topics: ReadonlyArray<Hex> }> {
    this.phase = { _tag: "Finalization" }
    state.put(this.profile.Events.Events as unknown as StorageItem<[], ReadonlyArray<unknown>>, [], this.events)
    state.put(System.storage.EventCount, [], this.events.length)
    return this.events
  }

  private deposit(event: RuntimeEvent): void {
    this.events.push({ phase: this.phase, event, topics: [] })
  }

  // ------------------------------------------------------------------------- dispatch

  /** Runs a call in a storage transaction; returns the error, or `undefined` on success. */
  private dispatchTransactional(
    state: State,
    origin: Origin,
    call: RuntimeCall,
    block: number
  ): DispatchError | undefined {
    const mark = this.events.length
    const outcome = state.transactional(() => {
      try {
        this.dispatch({
          state,
          origin,
          block,
          era: this.era,
          deposit: (event) => this.deposit(event),
          dispatch: (inner, innerCall) => this.dispatchTransactional(state, inner, innerCall, block)
        }, call)
        return undefined
      } catch (failure) {
        if (failure instanceof DispatchFailure) return failure.error
        // Undecodable storage (or a bug): where a node would fail the block, fail the call instead,
        // so one bad entry cannot stop block production.
        return { _tag: "Corruption" } as const
      }
    }, (error) => error === undefined)
    // A failed call's events are discarded with its writes.
    if (outcome !== undefined) this.events.length = mark
    return outcome
  }

  /** Routes a call to its pallet by the pallet's variant of `RuntimeCall`. */
  private dispatch(ctx: DispatchContext, call: RuntimeCall): void {
    switch (call._tag) {
      case "System":
        return System.dispatch(ctx, call.value)
      case "Balances":
        return Balances.dispatch(ctx, call.value)
      case "Sudo":
        return Sudo.dispatch(ctx, call.value)
      case "StorageProvider":
        return StorageProvider.dispatch(ctx, call.value)
      default:
        // Timestamp's only call is the inherent, which no origin may send.
        return fail({ _tag: "BadOrigin" })
    }
  }
}

/**
 * What a pallet's call logic works with, as FRAME gives a dispatchable: its origin, the state, the
 * block, and the means to deposit events, fail with a `DispatchError`, and dispatch a nested call (as
 * Sudo does). The executive builds the context; the pallets never see the executive.
 *
 * @internal
 */
import { u8aToHex } from "@polkadot/util"
import type { Era } from "./pallets/storageProvider/pallet.js"
import type { RuntimeCall, RuntimeEvent } from "./runtime.js"
import type { State } from "./storage.js"
import type { DispatchError, Hex, MultiAddress } from "./types.js"

export type Origin = { readonly _tag: "Signed"; readonly who: Hex } | { readonly _tag: "Root" } | {
  readonly _tag: "None"
}

/** A call's failure: thrown by pallet logic, caught where the executive runs the call's storage transaction. */
export class DispatchFailure {
  constructor(readonly error: DispatchError) {}
}

export interface DispatchContext {
  readonly state: State
  readonly origin: Origin
  /** The number of the block being built. */
  readonly block: number
  /** The runtime's era: which StorageProvider pallet it carries. */
  readonly era: Era
  readonly deposit: (event: RuntimeEvent) => void
  /** Runs `call` as `origin` in its own storage transaction; returns its error, or `undefined` on success. */
  readonly dispatch: (origin: Origin, call: RuntimeCall) => DispatchError | undefined
}

/** A pallet as the runtime places it: the name and index its events and module errors carry. */
export interface Pallet {
  readonly name: string
  readonly index: number
}

export const fail = (error: DispatchError): never => {
  throw new DispatchFailure(error)
}

/** Fails with the pallet's error `name` (`DispatchError::Module`, the error's index in `names`). */
export const failWith = (pallet: Pallet, names: ReadonlyArray<string>, name: string): never => {
  const index = names.indexOf(name)
  if (index < 0) throw new Error(`no error ${pallet.name}.${name}`)
  return fail({ _tag: "Module", value: { index: pallet.index, error: new Uint8Array([index, 0, 0, 0]) } })
}

export const ensureSigned = (origin: Origin): Hex => origin._tag === "Signed" ? origin.who : fail({ _tag: "BadOrigin" })

export const ensureRoot = (origin: Origin): void => {
  if (origin._tag !== "Root") fail({ _tag: "BadOrigin" })
}

/** `AccountIdLookup`: the account a `MultiAddress` names (no indices are modelled). */
export const lookup = (address: MultiAddress): Hex => {
  if (address._tag === "Id") return address.value
  if (address._tag === "Address32") return u8aToHex(address.value)
  return fail({ _tag: "CannotLookup" })
}

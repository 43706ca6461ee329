/**
 * Sudo (index 15): the sudo key, and its calls, which dispatch a call as root (`sudo`) or as another
 * account (`sudo_as`); the inner call's outcome is reported in an event, not as the outer call's.
 *
 * @internal
 */
import { type DispatchContext, ensureSigned, failWith, lookup, type Origin, type Pallet } from "../dispatch.js"
import type { RuntimeCall, RuntimeEvent } from "../runtime.js"
import * as S from "../scale.js"
import { storageItem } from "../storage.js"
import { AccountId32, DispatchResult, MultiAddress } from "../types.js"

export const pallet: Pallet = { name: "Sudo", index: 15 }

export const storage = {
  Key: storageItem("Sudo", "Key", {
    keys: [] as const,
    value: AccountId32,
    docs: [" The `AccountId` of the sudo key."]
  })
}

/** Sudo's calls hold a `Box<RuntimeCall>`; the runtime profile closes the recursion. */
export const makeCall = <C>(runtimeCall: S.Codec<C>) =>
  S.enumOf({ path: ["pallet_sudo", "pallet", "Call"], params: [{ name: "T", type: null }] }, {
    sudo: { index: 0, fields: { call: S.field(runtimeCall, "Box<<T as Config>::RuntimeCall>") } },
    sudo_as: {
      index: 3,
      fields: {
        who: S.field(MultiAddress, "AccountIdLookupOf<T>"),
        call: S.field(runtimeCall, "Box<<T as Config>::RuntimeCall>")
      }
    }
  })

/** A decoded Sudo call over the runtime's call type `C`. */
export type Call<C> =
  | { readonly _tag: "sudo"; readonly call: C }
  | { readonly _tag: "sudo_as"; readonly who: MultiAddress; readonly call: C }

export const Event = S.enumOf({ path: ["pallet_sudo", "pallet", "Event"], params: [{ name: "T", type: null }] }, {
  Sudid: { index: 0, fields: { sudo_result: S.field(DispatchResult, "DispatchResult") } },
  SudoAsDone: { index: 3, fields: { sudo_result: S.field(DispatchResult, "DispatchResult") } }
})

export const errors = ["RequireSudo"] as const

export const dispatch = (ctx: DispatchContext, call: Call<RuntimeCall>): void => {
  const who = ensureSigned(ctx.origin)
  if (ctx.state.get(storage.Key) !== who) failWith(pallet, errors, "RequireSudo")
  const inner: Origin = call._tag === "sudo_as" ? { _tag: "Signed", who: lookup(call.who) } : { _tag: "Root" }
  const error = ctx.dispatch(inner, call.call)
  ctx.deposit({
    _tag: "Sudo",
    value: {
      _tag: call._tag === "sudo_as" ? "SudoAsDone" : "Sudid",
      sudo_result: error === undefined ? { _tag: "Ok", value: [] } : { _tag: "Err", value: error }
    }
  } as RuntimeEvent)
}

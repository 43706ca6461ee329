/**
 * Balances (index 10): free and reserved balance in `System.Account`, transfers (creating the
 * destination account when needed), reserves (a provider's stake, an agreement's payment, a
 * challenge's deposit), and the root-only calls.
 *
 * @internal
 */
import { type DispatchContext, ensureRoot, ensureSigned, fail, failWith, lookup, type Pallet } from "../dispatch.js"
import type { RuntimeEvent } from "../runtime.js"
import * as S from "../scale.js"
import { storageItem } from "../storage.js"
import { AccountId32, type Hex, MultiAddress } from "../types.js"
import * as System from "./system.js"

export const pallet: Pallet = { name: "Balances", index: 10 }

export const EXISTENTIAL_DEPOSIT = 1_000_000_000n

export const storage = {
  TotalIssuance: storageItem("Balances", "TotalIssuance", {
    keys: [] as const,
    value: S.u128,
    fallback: 0n,
    docs: [" The total units issued in the system."]
  })
}

export const Call = S.enumOf({
  path: ["pallet_balances", "pallet", "Call"],
  params: [{ name: "T", type: null }, { name: "I", type: null }]
}, {
  transfer_allow_death: {
    index: 0,
    fields: { dest: S.field(MultiAddress, "AccountIdLookupOf<T>"), value: S.field(S.compact(S.u128), "T::Balance") }
  },
  force_transfer: {
    index: 2,
    fields: {
      source: S.field(MultiAddress, "AccountIdLookupOf<T>"),
      dest: S.field(MultiAddress, "AccountIdLookupOf<T>"),
      value: S.field(S.compact(S.u128), "T::Balance")
    }
  },
  transfer_keep_alive: {
    index: 3,
    fields: { dest: S.field(MultiAddress, "AccountIdLookupOf<T>"), value: S.field(S.compact(S.u128), "T::Balance") }
  },
  force_set_balance: {
    index: 8,
    fields: { who: S.field(MultiAddress, "AccountIdLookupOf<T>"), new_free: S.field(S.compact(S.u128), "T::Balance") }
  }
})

export const Event = S.enumOf({
  path: ["pallet_balances", "pallet", "Event"],
  params: [{ name: "T", type: null }, { name: "I", type: null }]
}, {
  Endowed: {
    index: 0,
    fields: { account: S.field(AccountId32, "T::AccountId"), free_balance: S.field(S.u128, "T::Balance") }
  },
  Transfer: {
    index: 2,
    fields: {
      from: S.field(AccountId32, "T::AccountId"),
      to: S.field(AccountId32, "T::AccountId"),
      amount: S.field(S.u128, "T::Balance")
    }
  },
  BalanceSet: { index: 3, fields: { who: S.field(AccountId32, "T::AccountId"), free: S.field(S.u128, "T::Balance") } },
  Reserved: { index: 4, fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") } },
  Unreserved: {
    index: 5,
    fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") }
  },
  Deposit: { index: 7, fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") } },
  Withdraw: { index: 8, fields: { who: S.field(AccountId32, "T::AccountId"), amount: S.field(S.u128, "T::Balance") } }
})

export const errors = [
  "VestingBalance",
  "LiquidityRestrictions",
  "InsufficientBalance",
  "ExistentialDeposit",
  "Expendability",
  "ExistingVestingSchedule",
  "DeadAccount",
  "TooManyReserves",
  "TooManyHolds",
  "TooManyFreezes",
  "IssuanceDeactivated",
  "DeltaZero"
] as const

export const constants = [{ name: "ExistentialDeposit", codec: S.u128, value: EXISTENTIAL_DEPOSIT }] as const

/** Deposits one of Balances' events. */
export const deposit = (ctx: DispatchContext, value: S.TypeOf<typeof Event>): void =>
  ctx.deposit({ _tag: "Balances", value } as RuntimeEvent)

/** Moves `amount` of free balance; creates the destination account when needed. */
export const transfer = (ctx: DispatchContext, from: Hex, to: Hex, amount: bigint, keepAlive: boolean): void => {
  const state = ctx.state
  const source = state.getOr(System.storage.Account, from)
  if (source.data.free < amount) fail({ _tag: "Token", value: { _tag: "FundsUnavailable" } })
  const remaining = source.data.free - amount
  if (keepAlive && remaining < EXISTENTIAL_DEPOSIT) fail({ _tag: "Token", value: { _tag: "NotExpendable" } })
  state.put(System.storage.Account, [from], { ...source, data: { ...source.data, free: remaining } })
  const dest = state.getOr(System.storage.Account, to)
  const isNew = dest.providers === 0
  if (isNew && amount < EXISTENTIAL_DEPOSIT) fail({ _tag: "Token", value: { _tag: "BelowMinimum" } })
  state.put(System.storage.Account, [to], {
    ...dest,
    providers: isNew ? 1 : dest.providers,
    data: { ...dest.data, free: dest.data.free + amount }
  })
  if (isNew) {
    System.deposit(ctx, { _tag: "NewAccount", account: to })
    deposit(ctx, { _tag: "Endowed", account: to, free_balance: amount })
  }
  deposit(ctx, { _tag: "Transfer", from, to, amount })
}

/** Moves `amount` from free to reserved balance. */
export const reserve = (ctx: DispatchContext, who: Hex, amount: bigint): void => {
  const account = ctx.state.getOr(System.storage.Account, who)
  if (account.data.free < amount) failWith(pallet, errors, "InsufficientBalance")
  ctx.state.put(System.storage.Account, [who], {
    ...account,
    data: { ...account.data, free: account.data.free - amount, reserved: account.data.reserved + amount }
  })
  deposit(ctx, { _tag: "Reserved", who, amount })
}

export const dispatch = (ctx: DispatchContext, call: S.TypeOf<typeof Call>): void => {
  switch (call._tag) {
    case "transfer_allow_death":
    case "transfer_keep_alive":
      return transfer(ctx, ensureSigned(ctx.origin), lookup(call.dest), call.value, call._tag === "transfer_keep_alive")
    case "force_transfer":
      ensureRoot(ctx.origin)
      return transfer(ctx, lookup(call.source), lookup(call.dest), call.value, false)
    case "force_set_balance": {
      ensureRoot(ctx.origin)
      const who = lookup(call.who)
      const account = ctx.state.getOr(System.storage.Account, who)
      ctx.state.put(System.storage.Account, [who], {
        ...account,
        providers: Math.max(account.providers, 1),
        data: { ...account.data, free: call.new_free }
      })
      return deposit(ctx, { _tag: "BalanceSet", who, free: call.new_free })
    }
  }
}

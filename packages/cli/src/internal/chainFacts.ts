/**
 * What the command itself needs to know of the connected chain, whichever client the round uses: its
 * genesis hash (the journal's directory), its currency (amounts in its unit), and whether the socket is
 * up (the `chain connection lost` / `regained` lines, the operator's readiness). Read from the round's own
 * connection, so `--client papi` opens one connection, not a second `@polkadot/api` one beside it.
 */
import { Amount } from "@checkpointer/core"
import type { PapiClient } from "@checkpointer/papi"
import type { PolkadotApi } from "@checkpointer/polkadot"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SubscriptionRef from "effect/SubscriptionRef"

/** The chain's currency, from its properties: amounts in planck shown with its decimals and symbol. */
export interface Units {
  readonly decimals: number
  readonly symbol: string
  /** `0.001456 UNIT` for 1,456,000,000 planck at 12 decimals. */
  readonly format: (planck: bigint) => string
}

export interface ChainFactsService {
  /** `0x…`, lower case. */
  readonly genesisHash: string
  readonly units: Units
  readonly endpoints: ReadonlyArray<string>
  /** Whether the round's socket is open; it reconnects by itself, across its endpoints. */
  readonly connected: SubscriptionRef.SubscriptionRef<boolean>
}

export class ChainFacts extends Context.Tag("@checkpointer/cli/ChainFacts")<ChainFacts, ChainFactsService>() {}

/** The units of a chain's `tokenDecimals` and `tokenSymbol`; planck when the chain does not say. */
export const unitsOf = (decimals: unknown, symbol: unknown): Units => {
  const known = typeof decimals === "number" && Number.isInteger(decimals) && decimals >= 0 && decimals <= 30 &&
    typeof symbol === "string"
  // The symbol is the chain's text: only letters and digits are kept for a terminal.
  const safe = known ? symbol.replace(/[^\p{L}\p{N}]/gu, "").slice(0, 12) : ""
  return known && safe !== ""
    ? { decimals, symbol: safe, format: (planck) => Amount.format(planck, { decimals, symbol: safe }) }
    : { decimals: 0, symbol: "planck", format: (planck) => `${planck} planck` }
}

/** The facts of a `@polkadot/api` connection (read from what it fetched when it connected). */
export const ofPolkadotApi = ({ api, connected, endpoints }: PolkadotApi.PolkadotApiService): ChainFactsService => ({
  genesisHash: api.genesisHash.toHex(),
  units: unitsOf(api.registry.chainDecimals[0], api.registry.chainTokens[0]),
  endpoints,
  connected
})

/** A single value or the first of a list (chain specs give either for each token). */
const firstOf = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Union(item, Schema.Array(item)).pipe(
    Schema.transform(Schema.typeSchema(Schema.UndefinedOr(item)), {
      strict: true,
      decode: (value) => (Array.isArray(value) ? value[0] : value) as A,
      encode: (value) => value as A
    })
  )

/** The parts of `chainSpec_v1_properties` that matter here; anything else is ignored. */
const ChainSpecData = Schema.Struct({
  genesisHash: Schema.String.pipe(Schema.pattern(/^0x[0-9a-fA-F]{64}$/)),
  properties: Schema.optional(Schema.NullOr(Schema.Struct({
    tokenDecimals: Schema.optional(firstOf(Schema.Number)),
    tokenSymbol: Schema.optional(firstOf(Schema.String))
  })))
})

/** The chain's spec as a polkadot-api client reads it. */
export class ChainSpecUnreadable extends Schema.TaggedError<ChainSpecUnreadable>()("ChainSpecUnreadable", {
  message: Schema.String
}) {}

/**
 * The facts of a polkadot-api client of our own, from `chainSpec_v1_*` (decoded again here). A host
 * app's client has no connection of ours to watch: it counts as connected.
 */
export const ofPapi = (
  { client, connected, endpoints }: PapiClient.PapiClientService
): Effect.Effect<ChainFactsService, ChainSpecUnreadable> =>
  Effect.gen(function*() {
    const raw = yield* Effect.tryPromise({
      try: () => client.getChainSpecData(),
      catch: (error) => new ChainSpecUnreadable({ message: `chain spec: ${String(error)}` })
    })
    const spec = yield* Schema.decodeUnknown(ChainSpecData)(raw).pipe(
      Effect.mapError((error) => new ChainSpecUnreadable({ message: `chain spec: ${error.message}` }))
    )
    return {
      genesisHash: spec.genesisHash.toLowerCase(),
      units: unitsOf(spec.properties?.tokenDecimals, spec.properties?.tokenSymbol),
      endpoints,
      connected: yield* Option.match(connected, { onNone: () => SubscriptionRef.make(true), onSome: Effect.succeed })
    }
  })

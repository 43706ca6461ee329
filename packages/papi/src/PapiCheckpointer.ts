/**
 * The whole live checkpointer over polkadot-api, in one layer: `Checkpointer.layer` over the
 * polkadot-api chain client, on the host app's client (`client`) or one of its own (`endpoints`).
 * Provide an `HttpClient` (e.g. `NodeHttpClient.layerUndici`) for the providers, and whatever the
 * journal needs (`NodeContext.layer` for `Checkpointer.onDisk`).
 *
 * ```ts
 * const Live = PapiCheckpointer.layer({
 *   client, // the app's own polkadot-api client (or `endpoints: ["wss://rpc.example"]`)
 *   signer: Redacted.make(process.env.SURI!),
 *   journal: Checkpointer.onDisk({ directory: "/var/lib/checkpointer" })
 * }).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 */
import { type ChainClient, Checkpointer, type ProviderHttpClient } from "@checkpointer/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import type { PolkadotClient } from "polkadot-api"
import * as PapiChainClient from "./PapiChainClient.js"
import * as PapiClient from "./PapiClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Options<JE, JR> =
  & Checkpointer.Options<JE, JR>
  & PapiChainClient.ClientOptions
  & {
    /** How providers are asked over HTTP (public addresses only unless `policy` says otherwise). */
    readonly providers?: ProviderHttpClient.ProviderHttpOptions | undefined
  }
  & (
    | { /** The host app's client: shared, never destroyed here. */ readonly client: PolkadotClient }
    | PapiClient.ConnectOptions
  )

/**
 * Everything a live checkpointer provides: the round's services, the chain client and its connection.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = Checkpointer.Services | ChainClient.ChainClient | PapiClient.PapiClient

/**
 * The live checkpointer over polkadot-api, from options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <JE, JR>(
  options: Options<JE, JR>
): Layer.Layer<
  Services,
  JE | ConfigError.ConfigError | PapiClient.ConnectionFailed | PapiChainClient.InvalidSigner,
  Exclude<JR, PapiClient.PapiClient | ChainClient.ChainClient> | HttpClient.HttpClient
> =>
  Checkpointer.layer(options).pipe(
    Layer.provideMerge(
      PapiChainClient.layer(options).pipe(
        Layer.provideMerge(
          "client" in options ? PapiClient.layerFromClient(options.client) : PapiClient.layer(options)
        )
      )
    )
  )

/**
 * The live checkpointer over polkadot-api from configuration: `CHECKPOINTER_CHAIN_ENDPOINTS`,
 * `CHECKPOINTER_SIGNER_SURI` (redacted) and the other `CHECKPOINTER_*` settings, the same names as
 * `PolkadotCheckpointer.layerConfig` (see `PapiClient.layerConfig`, `PapiChainClient.layerConfig` and
 * `CheckpointConfig.config`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <JE, JR>(
  options: Omit<Checkpointer.Options<JE, JR>, "settings"> & {
    readonly providers?: ProviderHttpClient.ProviderHttpOptions | undefined
  }
): Layer.Layer<
  Services,
  JE | ConfigError.ConfigError | PapiClient.ConnectionFailed | PapiChainClient.InvalidSigner,
  Exclude<JR, PapiClient.PapiClient | ChainClient.ChainClient> | HttpClient.HttpClient
> =>
  Checkpointer.layerConfig(options).pipe(
    Layer.provideMerge(PapiChainClient.layerConfig.pipe(Layer.provideMerge(PapiClient.layerConfig)))
  )

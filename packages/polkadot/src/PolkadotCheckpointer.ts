/**
 * The whole live checkpointer on a node of the storage chain, in one layer: `Checkpointer.layer` over
 * the `@polkadot/api` chain client. Provide an `HttpClient` (e.g. `NodeHttpClient.layerUndici`) for the
 * providers, and whatever the journal needs (`NodeContext.layer` for `Checkpointer.onDisk`).
 *
 * ```ts
 * const Live = PolkadotCheckpointer.layer({
 *   endpoints: ["wss://rpc-1.example", "wss://rpc-2.example"],
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
import * as PolkadotApi from "./PolkadotApi.js"
import * as PolkadotChainClient from "./PolkadotChainClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<JE, JR>
  extends Checkpointer.Options<JE, JR>, PolkadotApi.ConnectOptions, PolkadotChainClient.ClientOptions
{
  /** How providers are asked over HTTP (public addresses only unless `policy` says otherwise). */
  readonly providers?: ProviderHttpClient.ProviderHttpOptions | undefined
}

/**
 * Everything a live checkpointer provides: the round's services, the chain client and its connection
 * (which a journal layer may use too: the CLI names its directory after the chain's genesis hash).
 *
 * @since 0.1.0
 * @category models
 */
export type Services = Checkpointer.Services | ChainClient.ChainClient | PolkadotApi.PolkadotApi

/**
 * The live checkpointer from options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <JE, JR>(
  options: Options<JE, JR>
): Layer.Layer<
  Services,
  JE | ConfigError.ConfigError | PolkadotApi.ConnectionFailed | PolkadotChainClient.InvalidSigner,
  Exclude<JR, PolkadotApi.PolkadotApi | ChainClient.ChainClient> | HttpClient.HttpClient
> =>
  Checkpointer.layer(options).pipe(
    Layer.provideMerge(
      PolkadotChainClient.layer(options).pipe(Layer.provideMerge(PolkadotApi.layer(options)))
    )
  )

/**
 * The live checkpointer from configuration: `CHECKPOINTER_CHAIN_ENDPOINTS`, `CHECKPOINTER_SIGNER_SURI`
 * (redacted) and the other `CHECKPOINTER_*` settings (see `PolkadotApi.layerConfig`,
 * `PolkadotChainClient.layerConfig` and `CheckpointConfig.config`).
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
  JE | ConfigError.ConfigError | PolkadotApi.ConnectionFailed | PolkadotChainClient.InvalidSigner,
  Exclude<JR, PolkadotApi.PolkadotApi | ChainClient.ChainClient> | HttpClient.HttpClient
> =>
  Checkpointer.layerConfig(options).pipe(
    Layer.provideMerge(PolkadotChainClient.layerConfig.pipe(Layer.provideMerge(PolkadotApi.layerConfig)))
  )

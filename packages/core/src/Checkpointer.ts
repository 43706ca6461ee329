/**
 * The whole checkpointer in one layer: every service of a round (discovery, collection, consensus,
 * submission, the manager), the services a loop needs beside them (provider health, the event bus), and
 * the journal of your choice — required, so that keeping none on disk is a visible choice
 * (`Checkpointer.inMemory()`), never a silent default. The journal is the receipt journal (payments) and
 * the loop's store (dirty buckets, provider health): `Checkpointer.onDisk({ directory })` keeps both in
 * one directory.
 *
 * ```ts
 * const Live = Checkpointer.layer({
 *   journal: Checkpointer.onDisk({ directory: "/var/lib/checkpointer" }),
 *   settings: { consensusThreshold: 67 }
 * }).pipe(Layer.provide(chainClientLayer), Layer.provide(NodeHttpClient.layerUndici), Layer.provide(NodeContext.layer))
 * ```
 *
 * `@checkpointer/polkadot`'s `PolkadotCheckpointer` adds the live chain client on top.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Path from "@effect/platform/Path"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import type { ChainClient } from "./ChainClient.js"
import { CheckpointConfig, type CheckpointSettingsInput } from "./CheckpointConfig.js"
import { CheckpointEvents } from "./CheckpointEvents.js"
import { CheckpointManager } from "./CheckpointManager.js"
import type { CommitmentCollector } from "./CommitmentCollector.js"
import type { Consensus } from "./Consensus.js"
import * as LoopStore from "./LoopStore.js"
import type { ProviderApi } from "./ProviderApi.js"
import type { ProviderDiscovery } from "./ProviderDiscovery.js"
import { type HealthSettings, ProviderHealth } from "./ProviderHealth.js"
import * as ProviderHttpClient from "./ProviderHttpClient.js"
import * as ReceiptJournal from "./ReceiptJournal.js"
import type { RetryPolicy } from "./RetryPolicy.js"
import { SignatureVerifier } from "./SignatureVerifier.js"
import type { Submitter } from "./Submitter.js"

/**
 * What the `journal` option provides: the receipt journal and the loop's store.
 *
 * @since 0.1.0
 * @category models
 */
export type Journal = ReceiptJournal.ReceiptJournal | LoopStore.LoopStore

/**
 * The receipt journal and the loop's store in one directory (`buckets/`, `locks/`, `quarantine/`,
 * `chain.json`, `state.json`). Give the connected chain's `genesisHash` so that a directory of another
 * chain is refused.
 *
 * @since 0.1.0
 * @category layers
 */
export const onDisk = (
  options: ReceiptJournal.FileSystemJournalOptions
): Layer.Layer<Journal, ReceiptJournal.JournalError, FileSystem.FileSystem | Path.Path> =>
  Layer.merge(
    ReceiptJournal.layerFileSystem(options),
    LoopStore.layerFileSystem({ directory: options.directory, isProcessAlive: options.isProcessAlive })
  )

/**
 * The receipt journal and the loop's store in memory: nothing survives the process, so a restart may pay
 * again for a checkpoint that was in flight. For tests and simulations, or by an explicit choice.
 *
 * @since 0.1.0
 * @category layers
 */
export const inMemory = (
  retention?: ReceiptJournal.Retention | undefined
): Layer.Layer<Journal> => Layer.merge(ReceiptJournal.layerMemory(retention), LoopStore.layerMemory())

/**
 * Everything the layers of this module provide: the manager and every service under it, what the loop
 * and drives need beside it, and the journal.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | CheckpointManager
  | ProviderDiscovery
  | CommitmentCollector
  | Consensus
  | Submitter
  | RetryPolicy
  | CheckpointConfig
  | SignatureVerifier
  | ProviderApi
  | Journal
  | ProviderHealth
  | CheckpointEvents

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<JE, JR> {
  /**
   * The receipt journal and the loop's store: `onDisk({ directory })`, or `inMemory()` for none on disk
   * (or your own layers of `ReceiptJournal` and `LoopStore`).
   */
  readonly journal: Layer.Layer<Journal, JE, JR>
  /** Round settings over the defaults (validated: the layer fails to build with a `ConfigError`). */
  readonly settings?: CheckpointSettingsInput | undefined
  readonly health?: Partial<HealthSettings> | undefined
}

/**
 * The checkpointer over the `ChainClient` and `ProviderApi` you provide (an in-memory world in tests,
 * or a provider API of your own).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOn = <JE, JR>(
  options: Options<JE, JR>
): Layer.Layer<Exclude<Services, ProviderApi>, JE | ConfigError.ConfigError, JR | ChainClient | ProviderApi> =>
  assemble(options, CheckpointConfig.layer(options.settings ?? {}))

/**
 * The checkpointer with providers asked over HTTP (`ProviderHttpClient`, public addresses only unless
 * `providers.policy` says otherwise), on the `ChainClient` and `HttpClient` you provide.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <JE, JR>(
  options: Options<JE, JR> & { readonly providers?: ProviderHttpClient.ProviderHttpOptions | undefined }
): Layer.Layer<Services, JE | ConfigError.ConfigError, JR | ChainClient | HttpClient.HttpClient> =>
  assemble(options, CheckpointConfig.layer(options.settings ?? {})).pipe(
    Layer.provideMerge(ProviderHttpClient.layer(options.providers))
  )

/**
 * As `layer`, with the round settings read from configuration (`CHECKPOINTER_*` environment variables;
 * see `CheckpointConfig.config`) instead of `settings`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <JE, JR>(
  options: Omit<Options<JE, JR>, "settings"> & {
    readonly providers?: ProviderHttpClient.ProviderHttpOptions | undefined
  }
): Layer.Layer<Services, JE | ConfigError.ConfigError, JR | ChainClient | HttpClient.HttpClient> =>
  assemble(options, CheckpointConfig.layerConfig).pipe(
    Layer.provideMerge(ProviderHttpClient.layer(options.providers))
  )

const assemble = <JE, JR, CE>(options: Options<JE, JR>, config: Layer.Layer<CheckpointConfig, CE>) =>
  CheckpointManager.layerRound.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        SignatureVerifier.layer,
        config,
        options.journal,
        ProviderHealth.layer(options.health)
      ).pipe(Layer.provideMerge(CheckpointEvents.layer))
    )
  )

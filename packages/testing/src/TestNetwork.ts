/**
 * A whole test world in one call: providers with behaviours, buckets with primaries, a submitting
 * account, and every round service wired to the fakes. Deterministic under `TestClock`.
 *
 * ```ts
 * const world = TestNetwork.layer({
 *   providers: [{ name: "Alice" }, { name: "Bob", behaviour: Behaviour.lagging(3) }, { name: "Charlie" }],
 *   buckets: [{ id: 1, primaries: ["Alice", "Bob", "Charlie"], minProviders: 2 }]
 * })
 * it.layer(world)((it) => it.effect("...", () => Effect.gen(function*() {
 *   const manager = yield* CheckpointManager.CheckpointManager
 *   yield* manager.submitCheckpoint(yield* TestNetwork.bucket(1))
 * })))
 * ```
 *
 * @since 0.1.0
 */
import type { CheckpointResult, ProviderHealth, ReceiptJournal } from "@checkpointer/core"
import {
  ChainClient,
  CheckpointConfig,
  Checkpointer,
  Domain,
  EndpointPolicy,
  ProviderApi,
  ProviderHttpClient
} from "@checkpointer/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Keyring } from "@polkadot/keyring"
import { blake2AsHex, cryptoWaitReady } from "@polkadot/util-crypto"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as FakeChain from "./FakeChain.js"
import * as FakeProviders from "./FakeProviders.js"
import * as SimulatedNetwork from "./SimulatedNetwork.js"

/**
 * A provider of the test world.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderSetup extends FakeProviders.ProviderSpec {
  /** Registered on chain (default true). */
  readonly registered?: boolean | undefined
  /** The multiaddr text registered on chain, instead of the provider's own. */
  readonly multiaddr?: string | undefined
  /** Register no public key (the oldest pallet era); signatures then verify against the account. */
  readonly withoutPublicKey?: boolean | undefined
}

/**
 * A bucket of the test world.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketSetup {
  readonly id: bigint | number
  /** Provider names, in on-chain primary order. */
  readonly primaries: ReadonlyArray<string>
  readonly minProviders?: number | undefined
  /** Leaves the honest providers hold (default 10). */
  readonly leafCount?: number | undefined
  /** A snapshot already on chain: the honest providers' current commitment, or an explicit one. */
  readonly snapshot?: "current" | { readonly leafCount: number; readonly startSeq?: number } | undefined
  readonly frozenStartSeq?: number | undefined
  /**
   * The dev account (by name) that signs this bucket's submissions instead of the submitter, made a
   * member of the bucket with the submitter's role.
   */
  readonly signer?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NetworkSetup {
  readonly providers: ReadonlyArray<ProviderSetup>
  readonly buckets: ReadonlyArray<BucketSetup>
  /** The submitting account's dev name (default "Ferdie"); `null` for none. */
  readonly submitter?: string | null | undefined
  /** The submitter's role in every bucket (default Admin); `null` for not a member. */
  readonly submitterRole?: Domain.Role | null | undefined
  readonly config?: CheckpointConfig.CheckpointSettingsInput | undefined
  readonly finalityDelay?: Duration.DurationInput | undefined
  /**
   * `memory` (default): fake providers in process, deterministic under `TestClock`. `http`: every
   * provider is a simulator on a loopback port, reached by the live HTTP client, on the real clock.
   */
  readonly transport?: "memory" | "http" | undefined
  /**
   * With `http`, every duration of the setup (settings, behaviours, finality) is multiplied by this
   * (default 0.02), so scenarios written in chain-scale seconds run in milliseconds.
   */
  readonly timeScale?: number | undefined
  /**
   * The receipt journal: in memory (the default, with the default retention, or the one given), or in a
   * directory on the real file system.
   */
  readonly journal?:
    | "memory"
    | { readonly memory: ReceiptJournal.Retention }
    | { readonly directory: string }
    | undefined
  /** How many recorded submissions the fake chain keeps (default: all); see `FakeChainOptions.history`. */
  readonly chainHistory?: number | undefined
  /** Provider health settings (default: `ProviderHealth.defaultSettings`, breaker included). */
  readonly health?: Partial<ProviderHealth.HealthSettings> | undefined
  /**
   * Seed of the world's `Random` (retry jitter, and anything else random in it; default 1): the same
   * seed, the same run.
   */
  readonly seed?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TestNetworkService {
  readonly chain: FakeChain.FakeChainService
  readonly network: FakeProviders.ProviderNetworkHandle
  readonly transport: "memory" | "http"
  /** 1 in memory; the setup's time scale over HTTP. */
  readonly timeScale: number
  readonly submitter: Option.Option<Domain.AccountId>
  readonly bucketId: (id: bigint | number) => Domain.BucketId
  readonly account: (name: string) => Domain.AccountId
}

/**
 * The test world's handle.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestNetwork extends Context.Tag("@checkpointer/testing/TestNetwork")<TestNetwork, TestNetworkService>() {}

/**
 * The bucket id of a test bucket.
 *
 * @since 0.1.0
 * @category accessors
 */
export const bucket = (id: bigint | number): Effect.Effect<Domain.BucketId, never, TestNetwork> =>
  Effect.map(TestNetwork, (world) => world.bucketId(id))

/**
 * Runs an effect while time advances by `duration`, and returns its result: in memory the world's time
 * is `TestClock`, which only moves when told, so a round that waits (grace windows, retries, finality)
 * needs the clock moved while it runs. Over HTTP (real time) the effect simply runs.
 *
 * ```ts
 * const result = yield* TestNetwork.advancing("1 minute", manager.submitCheckpoint(bucketId))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const advancing = <A, E, R>(
  duration: Duration.DurationInput,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | TestNetwork> =>
  Effect.gen(function*() {
    const world = yield* TestNetwork
    if (world.transport === "http") return yield* effect
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(duration)
    return yield* Fiber.join(fiber)
  })

/**
 * Asserts that a round's result is a refusal for `reason`: nothing was signed and nothing paid. Throws
 * (as a test framework's assertion does) with what the round did instead, so a specification reads
 * `expectRefused(result, "ConflictsWithSnapshot")`.
 *
 * ```ts
 * const result = yield* TestNetwork.advancing("1 minute", manager.submitCheckpoint(bucketId))
 * TestNetwork.expectRefused(result, "NoConsensus")
 * ```
 *
 * @since 0.1.0
 * @category assertions
 */
export const expectRefused = (
  result: { readonly _tag: string; readonly reason?: unknown },
  reason: CheckpointResult.RefusalReason
): void => {
  if (result._tag !== "SubmissionRefused") {
    throw new Error(`expected a refusal (${reason}), got ${result._tag}`)
  }
  if (result.reason !== reason) {
    throw new Error(`expected a refusal for ${reason}, refused for ${String(result.reason)}`)
  }
}

/**
 * The initial root of a test bucket's data.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initialRoot = (id: bigint | number): Domain.H256 => blake2AsHex(`bucket:${id}`, 256) as Domain.H256

const DEFAULT_TIME_SCALE = 0.02

/** The settings as the world runs them: over HTTP, every duration scaled to the real clock. */
const effectiveConfig = (setup: NetworkSetup): CheckpointConfig.CheckpointSettingsInput => {
  const input = { ...setup.config }
  if (setup.transport !== "http") return input
  const scale = setup.timeScale ?? DEFAULT_TIME_SCALE
  const out: Record<string, unknown> = { ...input }
  for (const [key, value] of Object.entries(CheckpointConfig.defaults)) {
    if (!Duration.isDuration(value)) continue
    const given = (input as Record<string, unknown>)[key]
    const base = given === undefined ? value : Duration.decode(given as Duration.DurationInput)
    out[key] = Duration.times(base, scale)
  }
  return out as CheckpointConfig.CheckpointSettingsInput
}

const arrange = (setup: NetworkSetup) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => cryptoWaitReady())
    const transport = setup.transport ?? "memory"
    const timeScale = transport === "http" ? setup.timeScale ?? DEFAULT_TIME_SCALE : 1
    const keyring = new Keyring({ type: "sr25519", ss58Format: Domain.SS58_PREFIX })
    let network: FakeProviders.ProviderNetworkHandle
    let api: ProviderApi.ProviderApiService
    if (transport === "http") {
      network = yield* SimulatedNetwork.make(setup.providers, { timeScale })
      const http = yield* Layer.build(NodeHttpClient.layerUndici)
      api = yield* ProviderHttpClient.make({ policy: EndpointPolicy.local }).pipe(Effect.provide(http))
    } else {
      const fake = yield* FakeProviders.make(setup.providers)
      network = fake
      api = fake.api
    }
    const providerNames = new Set(setup.providers.map((p) => p.name))
    // A provider's account follows its key scheme; any other name is an sr25519 dev account.
    const accountOf = (name: string) =>
      providerNames.has(name)
        ? network.provider(name).account
        : Domain.accountIdFromBytes(keyring.addFromUri(`//${name}`).publicKey)!
    const submitterName = setup.submitter === undefined ? "Ferdie" : setup.submitter
    const submitter = submitterName === null ? undefined : accountOf(submitterName)
    const bucketSigners = new Map(
      setup.buckets.flatMap((b) =>
        b.signer === undefined ? [] : [[BigInt(b.id) as Domain.BucketId, accountOf(b.signer)] as const]
      )
    )
    const chain = yield* FakeChain.make({
      signer: submitter,
      bucketSigners,
      history: setup.chainHistory,
      finalityDelay: setup.finalityDelay === undefined
        ? undefined
        : Duration.times(Duration.decode(setup.finalityDelay), timeScale)
    })

    for (const spec of setup.providers) {
      if (spec.registered === false) continue
      const provider = network.provider(spec.name)
      yield* chain.registerProvider(
        new ChainClient.ProviderRecord({
          accountId: provider.account,
          multiaddr: spec.multiaddr ?? provider.multiaddr,
          publicKey: spec.withoutPublicKey === true ? Option.none() : Option.some(provider.publicKey)
        }, true)
      )
    }

    const role = setup.submitterRole === undefined ? "Admin" : setup.submitterRole
    for (const spec of setup.buckets) {
      const bucketId = BigInt(spec.id) as Domain.BucketId
      yield* network.setBucketData(bucketId, {
        mmrRoot: initialRoot(spec.id),
        startSeq: 0n,
        leafCount: BigInt(spec.leafCount ?? 10)
      })
      const data = (yield* network.bucketData(bucketId))!
      const primaries = spec.primaries.map(accountOf)
      const snapshotCommitment = spec.snapshot === undefined
        ? undefined
        : spec.snapshot === "current"
        ? data
        : {
          mmrRoot: blake2AsHex(`snapshot:${spec.id}`, 256) as Domain.H256,
          startSeq: BigInt(spec.snapshot.startSeq ?? 0),
          leafCount: BigInt(spec.snapshot.leafCount)
        }
      yield* chain.putBucket({
        bucketId,
        primaryProviders: primaries,
        minProviders: spec.minProviders ?? 1,
        members: (spec.signer === undefined ? submitter : bucketSigners.get(bucketId)) === undefined || role === null
          ? []
          : [
            new ChainClient.BucketMember({
              account: spec.signer === undefined ? submitter! : bucketSigners.get(bucketId)!,
              role
            }, true)
          ],
        snapshot: snapshotCommitment === undefined ? Option.none() : Option.some(
          new ChainClient.BucketSnapshot({
            commitment: new Domain.Commitment(snapshotCommitment as Domain.Commitment, true),
            checkpointBlock: 1 as Domain.BlockNumber,
            signers: primaries
          }, true)
        ),
        frozenStartSeq: spec.frozenStartSeq === undefined
          ? Option.none()
          : Option.some(BigInt(spec.frozenStartSeq) as Domain.U64)
      })
    }

    const world: TestNetworkService = {
      chain,
      network,
      transport,
      timeScale,
      submitter: Option.fromNullable(submitter),
      bucketId: (id) => BigInt(id) as Domain.BucketId,
      account: accountOf
    }
    let context = Context.make(TestNetwork, world).pipe(
      Context.add(FakeChain.FakeChain, chain),
      Context.add(ChainClient.ChainClient, chain.client),
      Context.add(ProviderApi.ProviderApi, api)
    )
    if (transport === "memory") {
      context = Context.add(
        context,
        FakeProviders.FakeProviderNetwork,
        network as FakeProviders.FakeProviderNetworkService
      )
    }
    return context as Context.Context<
      TestNetwork | FakeChain.FakeChain | ChainClient.ChainClient | ProviderApi.ProviderApi
    >
  })

/**
 * Everything a round needs, on fakes: `CheckpointManager` and the services under it, plus the
 * handles `TestNetwork` (whose `network` arranges the providers) and `FakeChain` to arrange and inspect
 * the world. In memory the `FakeProviderNetwork` tag is provided too.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (setup: NetworkSetup): Layer.Layer<
  TestNetwork | FakeChain.FakeChain | ChainClient.ChainClient | Checkpointer.Services,
  ConfigError.ConfigError
> =>
  Checkpointer.layerOn({ journal: journalLayer(setup), settings: effectiveConfig(setup), health: setup.health }).pipe(
    Layer.provideMerge(Layer.scopedContext(arrange(setup))),
    Layer.merge(Layer.setRandom(Random.make(setup.seed ?? 1)))
  )

const journalLayer = (setup: NetworkSetup): Layer.Layer<Checkpointer.Journal> =>
  setup.journal === undefined || setup.journal === "memory"
    ? Checkpointer.inMemory()
    : "memory" in setup.journal
    ? Checkpointer.inMemory(setup.journal.memory)
    : Checkpointer.onDisk({ directory: setup.journal.directory }).pipe(
      Layer.provide(NodeContext.layer),
      Layer.orDie
    )

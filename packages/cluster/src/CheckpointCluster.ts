/**
 * Checkpointers on several machines as one `@effect/cluster`: every process is a runner; `Sharding`
 * spreads the buckets (`BucketEntity`) over the runners alive, through shard locks in PostgreSQL
 * (`SqlRunnerStorage`, `SqlMessageStorage`); the runners talk to each other over TCP (msgpack); one of
 * them runs the scheduler singleton (`BucketScheduler`) that makes each bucket due at its interval.
 * When a runner stops or dies, its shards, with their buckets and perhaps the scheduler, move to the
 * others once its shard locks have expired (`shardLockExpiration`).
 *
 * ```ts
 * const Runner = CheckpointCluster.layer({ buckets, interval: CheckpointLoop.Blocks(10) }).pipe(
 *   Layer.provide(CheckpointCluster.layerRunner({ url, runnerAddress: { host: "10.0.0.5", port: 34431 } })),
 *   Layer.provide(checkpointerServices) // the round's services, the journal in PostgreSQL (SqlJournal)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type { ChainClient, CheckpointManager } from "@checkpointer/core"
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import type * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type { Sharding } from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as BucketEntity from "./BucketEntity.js"
import * as BucketRegistry from "./BucketRegistry.js"
import * as BucketScheduler from "./BucketScheduler.js"

/** How long a connection to PostgreSQL may take, from the pool or the network. */
const connectTimeout = Duration.seconds(10)

/**
 * A runner's address as `HOST:PORT` (`[::1]:34431` for IPv6), decoded.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunnerAddressFromString = Schema.transformOrFail(Schema.String, RunnerAddress.RunnerAddress, {
  strict: true,
  decode: (text, _, ast) => {
    const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
    const port = match === null ? NaN : Number(match[3])
    return match === null || !(port >= 1 && port <= 65535)
      ? ParseResult.fail(
        new ParseResult.Type(ast, text, `expected HOST:PORT with a port from 1 to 65535, got "${text}"`)
      )
      : ParseResult.succeed(RunnerAddress.make(match[1] ?? match[2]!, port))
  },
  encode: (address) =>
    ParseResult.succeed(
      address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
    )
})

/**
 * Parses `HOST:PORT`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const parseRunnerAddress = (text: string): Either.Either<RunnerAddress.RunnerAddress, string> =>
  Either.mapLeft(
    Schema.decodeEither(RunnerAddressFromString)(text),
    (error) => ParseResult.TreeFormatter.formatErrorSync(error)
  )

/**
 * The default runner address: this machine's loopback, the engine's default port.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRunnerAddress: RunnerAddress.RunnerAddress = RunnerAddress.make("127.0.0.1", 34431)

/**
 * @since 0.1.0
 * @category models
 */
export interface RunnerOptions {
  /** The cluster's PostgreSQL database (`postgres://user:password@host:port/database`). */
  readonly url: Redacted.Redacted<string>
  /** Where the other runners reach this one. */
  readonly runnerAddress: RunnerAddress.RunnerAddress
  /** Where this runner listens (default: `runnerAddress`). */
  readonly listenAddress?: RunnerAddress.RunnerAddress | undefined
  /**
   * How long a dead runner's shard locks (and its heartbeat) last before its shards move (default
   * 10 s; locks are refreshed every third of it).
   */
  readonly shardLockExpiration?: Duration.DurationInput | undefined
  /** How often a runner looks for runners that came or went (default 2 s). */
  readonly refreshAssignmentsInterval?: Duration.DurationInput | undefined
  /** Shards in the cluster (default 300; the same on every runner). */
  readonly shardsPerGroup?: number | undefined
  /** Connections in the cluster's pool (default 6). */
  readonly maxConnections?: number | undefined
}

/**
 * The engine's settings for a runner of these options.
 *
 * @since 0.1.0
 * @category configuration
 */
export const shardingConfig = (options: RunnerOptions): ShardingConfig.ShardingConfig["Type"] => ({
  ...ShardingConfig.defaults,
  runnerAddress: Option.some(options.runnerAddress),
  runnerListenAddress: Option.fromNullable(options.listenAddress),
  shardsPerGroup: options.shardsPerGroup ?? ShardingConfig.defaults.shardsPerGroup,
  shardLockExpiration: Duration.decode(options.shardLockExpiration ?? Duration.seconds(10)),
  refreshAssignmentsInterval: Duration.decode(options.refreshAssignmentsInterval ?? Duration.seconds(2)),
  // The dead are also found by pinging, more often than the default minute.
  runnerHealthCheckInterval: Duration.seconds(10),
  // The buckets' messages are volatile: nothing waits for storage to be polled.
  entityMessagePollInterval: Duration.seconds(5)
})

/** The advisory lock under which a runner sets up the cluster's tables (any fixed 64-bit key). */
const SCHEMA_LOCK = "7266017130385011"

/**
 * The engine's storage in PostgreSQL (messages and runners), its tables set up by one runner at a time.
 * The engine creates them as each runner starts (`CREATE TABLE IF NOT EXISTS`, its migrations), and two
 * runners starting at once on a new database race in PostgreSQL's catalogue: one of them fails (the
 * message storage's migration even as a defect). Under a session advisory lock, the second runner waits
 * for the first one's tables and then finds them there. `layerRunner` uses it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStorage: Layer.Layer<
  MessageStorage.MessageStorage | RunnerStorage.RunnerStorage,
  SqlError,
  SqlClient.SqlClient | ShardingConfig.ShardingConfig
> = Layer.scopedContext(Effect.gen(function*() {
  const layerScope = yield* Effect.scope
  const sql = yield* SqlClient.SqlClient
  return yield* Effect.scoped(Effect.gen(function*() {
    const connection = yield* sql.reserve
    yield* Effect.acquireRelease(
      connection.executeRaw(`SELECT pg_advisory_lock(${SCHEMA_LOCK})`, []),
      // Released on the same connection before it goes back to the pool, whatever happened.
      () => Effect.ignore(connection.executeRaw(`SELECT pg_advisory_unlock_all()`, []))
    )
    return yield* Layer.buildWithScope(Layer.merge(SqlMessageStorage.layer, SqlRunnerStorage.layer), layerScope)
  }))
}))

/**
 * This process as a runner of the cluster: `Sharding` over a TCP socket server at the runner's address,
 * runners and messages in PostgreSQL. Its settings come from the options only (never from the
 * environment, as `@effect/platform-node`'s ready-made layer would read them).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRunner = (
  options: RunnerOptions
): Layer.Layer<
  Sharding | Runners.Runners | MessageStorage.MessageStorage,
  SocketServer.SocketServerError | SqlError
> => {
  const runnerHealth = RunnerHealth.layerPing.pipe(
    Layer.provide(Runners.layerRpc),
    Layer.provide(NodeClusterSocket.layerClientProtocol)
  )
  return SocketRunner.layer.pipe(
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
    Layer.provide(runnerHealth),
    Layer.provideMerge(layerStorage),
    Layer.provide(ShardingConfig.layer(shardingConfig(options))),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.provide(PgClient.layer({
      url: options.url,
      maxConnections: options.maxConnections ?? 6,
      applicationName: "checkpointer-cluster",
      // A database that stops answering fails a connection (and the journal step waiting for it)
      // instead of holding it forever.
      connectTimeout
    }))
  )
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends BucketScheduler.Options {
  /** How each bucket's entity behaves (watcher by default, the loop's failure schedule). */
  readonly entity?: BucketEntity.Options | undefined
}

/**
 * The buckets on this runner: the bucket entity registered, and the scheduler singleton (which runs on
 * one runner of the cluster). Every runner is given the same buckets and intervals. The buckets added
 * at run time and the paused buckets are read from the `BucketRegistry` in context unless
 * `options.registry` says otherwise (`BucketRegistry.layerPg` on the cluster's database;
 * `BucketRegistry.layerMemory` in one process).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  never,
  never,
  Sharding | CheckpointManager.CheckpointManager | ChainClient.ChainClient | BucketRegistry.BucketRegistry
> =>
  Layer.mergeAll(
    BucketEntity.layer(options.entity),
    Layer.unwrapEffect(Effect.map(BucketRegistry.BucketRegistry, (registry) =>
      BucketScheduler.layer({
        ...options,
        registry: {
          buckets: options.registry?.buckets ?? Effect.map(registry.list, (found) => found.map((b) => b.bucketId)),
          paused: options.registry?.paused ?? Effect.map(registry.paused, (found) => found.map((b) => b.bucketId)),
          every: options.registry?.every
        }
      })))
  )

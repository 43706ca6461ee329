/**
 * What a checkpoint loop keeps across restarts that is not a receipt: the buckets marked dirty and not
 * yet checkpointed, and provider health with its real event times. Losing it costs liveness (a dirty
 * bucket waits for its next interval; health starts unknown), never money: payments are guarded by the
 * `ReceiptJournal`.
 *
 * `layerFileSystem({ directory })` keeps it in `state.json`, in the journal's file format (version,
 * checksum, atomic writes, quarantine of a damaged file); it may share the receipt journal's directory.
 * `layerMemory()` keeps it for the life of the process.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { BucketId } from "./Domain.js"
import * as Files from "./internal/journalFiles.js"
import { HealthRecord } from "./ProviderHealth.js"

/**
 * The loop's persisted state. Several loops (drives) may share one store: each keeps the others' buckets.
 *
 * @since 0.1.0
 * @category models
 */
export class LoopState extends Schema.Class<LoopState>("LoopState")({
  dirtyBuckets: Schema.Array(BucketId),
  health: Schema.Array(HealthRecord),
  updatedAtMillis: Schema.Number
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface LoopStoreService {
  /** The saved state; `None` if nothing was saved yet. A damaged file fails (and is quarantined). */
  readonly read: Effect.Effect<Option.Option<LoopState>, Files.JournalError>
  readonly write: (state: LoopState) => Effect.Effect<void, Files.JournalError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class LoopStore extends Context.Tag("@checkpointer/core/LoopStore")<LoopStore, LoopStoreService>() {}

/**
 * The state in memory, for the life of the process.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (): Layer.Layer<LoopStore> =>
  Layer.effect(
    LoopStore,
    Effect.map(Ref.make(Option.none<LoopState>()), (state) =>
      LoopStore.of({
        read: Ref.get(state),
        write: (next) => Ref.set(state, Option.some(next))
      }))
  )

/**
 * The state in `state.json` in `directory` (which may be the receipt journal's).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFileSystem = (options: {
  readonly directory: string
  /** Whether a process id is alive, to leave a live writer's temp file alone (default: `process.kill(pid, 0)`). */
  readonly isProcessAlive?: ((pid: number) => boolean) | undefined
}): Layer.Layer<LoopStore, Files.JournalError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    LoopStore,
    Effect.gen(function*() {
      const path = yield* Path.Path
      const files = yield* Files.make({
        directory: options.directory,
        processId: Files.currentPid(),
        isProcessAlive: options.isProcessAlive ?? Files.defaultIsAlive
      })
      yield* files.clearTemps(files.root, ".state.json.")
      const stateFile = path.join(files.root, "state.json")
      return LoopStore.of({
        read: files.read(LoopState, stateFile),
        write: (next) => files.write(stateFile, Files.encodeFile(LoopState, next))
      })
    })
  )

/**
 * The `collect` command: each provider's answer and the consensus arithmetic.
 *
 * @internal
 */
import { CheckpointManager } from "@checkpointer/core"
import { Command } from "@effect/cli"
import * as Effect from "effect/Effect"
import { resolveSettings } from "../live.js"
import { emit, makeOutput, withProgress } from "../output.js"

import {
  bucket,
  bucketId,
  chain,
  client,
  config,
  flags,
  json,
  parseBucket,
  set,
  threshold,
  withLive
} from "../options.js"
import { encodeDecision, renderDecision } from "../render.js"

export const collectCommand = Command.make(
  "collect",
  { chain, client, config, bucket, threshold, set, json },
  (options) =>
    Effect.gen(function*() {
      const o = { ...options, bucket: yield* parseBucket(options.bucket) }
      const out = makeOutput(o.json)
      const settings = yield* resolveSettings(flags({ ...o, buckets: [o.bucket] }))
      yield* withLive(
        settings,
        Effect.gen(function*() {
          const manager = yield* CheckpointManager.CheckpointManager
          const report = yield* withProgress(
            out,
            `asking the providers of bucket ${o.bucket}`,
            manager.collectCommitments(bucketId(o.bucket))
          )
          yield* emit(out, () => renderDecision(out, report.decision), {
            type: "Collected",
            decision: encodeDecision(report.decision)
          })
        }),
        // Nothing is ever submitted: no journal to open.
        { journal: "memory" }
      )
    })
).pipe(Command.withDescription("each provider's answer, its class and latency, and the consensus arithmetic"))

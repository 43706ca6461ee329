/**
 * An in-memory trace collector for tests: an Effect `Tracer` that keeps every span that ends, with its
 * parent, attributes and exit, so that a test can check the tree a piece of code produced.
 *
 * ```ts
 * const spans = yield* SpanRecorder.SpanRecorder
 * const round = (yield* spans.ended).find((s) => s.name === "checkpointer.round")
 * ```
 *
 * Span and trace ids are counters (`span-1`, `trace-1`, …): deterministic, unlike a real tracer's.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/**
 * One ended span.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedSpan {
  readonly name: string
  readonly spanId: string
  readonly traceId: string
  /** The parent's id, when the parent is a span of this process (or an external span given to it). */
  readonly parentSpanId: Option.Option<string>
  readonly attributes: ReadonlyMap<string, unknown>
  readonly startTime: bigint
  readonly endTime: bigint
  readonly exit: Exit.Exit<unknown, unknown>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SpanRecorderService {
  /** The spans that have ended so far, in the order they ended. */
  readonly ended: Effect.Effect<ReadonlyArray<RecordedSpan>>
}

/**
 * The recorder of the tracer installed by `layer`.
 *
 * @since 0.1.0
 * @category tags
 */
export class SpanRecorder extends Context.Tag("@checkpointer/testing/SpanRecorder")<
  SpanRecorder,
  SpanRecorderService
>() {}

/**
 * Installs a recording tracer for the effects it is provided to, and the `SpanRecorder` that reads it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<SpanRecorder> = Layer.unwrapEffect(Effect.sync(() => {
  const ended: Array<RecordedSpan> = []
  let spans = 0
  let traces = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${++spans}`,
        traceId: Option.isSome(parent) ? parent.value.traceId : `trace-${++traces}`,
        parent,
        context,
        links: [...links],
        sampled: true,
        kind,
        status: { _tag: "Started", startTime },
        attributes,
        attribute: (key, value) => void attributes.set(key, value),
        event: () => undefined,
        addLinks: () => undefined,
        end: (endTime, exit) => {
          ended.push({
            name,
            spanId: span.spanId,
            traceId: span.traceId,
            parentSpanId: Option.map(parent, (p) => p.spanId),
            attributes,
            startTime,
            endTime,
            exit
          })
        }
      }
      return span
    },
    context: (f) => f()
  })
  return Layer.merge(
    Layer.setTracer(tracer),
    Layer.succeed(SpanRecorder, { ended: Effect.sync(() => [...ended]) })
  )
}))

/**
 * The nearest ancestor of a span that satisfies `predicate`, among the recorded spans.
 *
 * @since 0.1.0
 * @category functions
 */
export const nearestAncestor = (
  spans: ReadonlyArray<RecordedSpan>,
  span: RecordedSpan,
  predicate: (ancestor: RecordedSpan) => boolean
): Option.Option<RecordedSpan> => {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  let parent = Option.flatMap(span.parentSpanId, (id) => Option.fromNullable(byId.get(id)))
  while (Option.isSome(parent)) {
    if (predicate(parent.value)) return parent
    parent = Option.flatMap(parent.value.parentSpanId, (id) => Option.fromNullable(byId.get(id)))
  }
  return Option.none()
}

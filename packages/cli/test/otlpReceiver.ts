/**
 * A tiny OTLP/HTTP trace receiver for tests: `POST /v1/traces` with a JSON body (`http/json`), decoded
 * with Schema; on loopback, closed with the scope.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

const AnyValue = Schema.Struct({
  stringValue: Schema.optional(Schema.NullOr(Schema.String)),
  // OTLP JSON allows int64 as a number or as a decimal string.
  intValue: Schema.optional(Schema.NullOr(Schema.Union(Schema.Number, Schema.NumberFromString))),
  doubleValue: Schema.optional(Schema.NullOr(Schema.Number)),
  boolValue: Schema.optional(Schema.NullOr(Schema.Boolean)),
  arrayValue: Schema.optional(Schema.Struct({ values: Schema.Array(Schema.Unknown) }))
})
const KeyValue = Schema.Struct({ key: Schema.String, value: AnyValue })
const Span = Schema.Struct({
  traceId: Schema.String,
  spanId: Schema.String,
  parentSpanId: Schema.optional(Schema.String),
  name: Schema.String,
  attributes: Schema.Array(KeyValue)
})
const TracesData = Schema.Struct({
  resourceSpans: Schema.Array(Schema.Struct({
    resource: Schema.Struct({ attributes: Schema.Array(KeyValue) }),
    scopeSpans: Schema.Array(Schema.Struct({ spans: Schema.Array(Span) }))
  }))
})

/** A received span, its attributes as plain values, with its resource's. */
export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly attributes: Readonly<Record<string, unknown>>
  readonly resource: Readonly<Record<string, unknown>>
}

const plain = (attributes: ReadonlyArray<typeof KeyValue.Type>): Record<string, unknown> =>
  Object.fromEntries(attributes.map(({ key, value }) => [
    key,
    value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue ?? value.arrayValue?.values
  ]))

export interface Receiver {
  readonly url: string
  readonly spans: Array<ReceivedSpan>
  /** The headers of every export request. */
  readonly requests: Array<IncomingHttpHeaders>
  /** Bodies that were not OTLP JSON traces. */
  readonly rejected: Array<string>
}

/** Starts the receiver on a free loopback port. */
export const receiver: Effect.Effect<Receiver, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<Receiver>((resume) => {
    const spans: Array<ReceivedSpan> = []
    const requests: Array<IncomingHttpHeaders> = []
    const rejected: Array<string> = []
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        requests.push(request.headers)
        const body = Buffer.concat(chunks).toString("utf8")
        const decoded = Schema.decodeUnknownEither(Schema.parseJson(TracesData))(body)
        if (request.method !== "POST" || request.url !== "/v1/traces" || Either.isLeft(decoded)) {
          rejected.push(body.slice(0, 200))
          response.writeHead(400).end()
          return
        }
        for (const resourceSpans of decoded.right.resourceSpans) {
          const resource = plain(resourceSpans.resource.attributes)
          for (const scope of resourceSpans.scopeSpans) {
            for (const span of scope.spans) {
              spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId,
                name: span.name,
                attributes: plain(span.attributes),
                resource
              })
            }
          }
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed(Object.assign({ url: `http://127.0.0.1:${port}`, spans, requests, rejected }, { server })))
    })
  }),
  (r) =>
    Effect.async<void>((resume) => {
      const { server } = r as Receiver & { server: ReturnType<typeof createServer> }
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

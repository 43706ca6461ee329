/**
 * A `FakeChain` served to other processes over loopback HTTP, and the `ChainClient` that talks to it.
 * Crash tests run the submit path in a child process against a chain that outlives it: the chain stays
 * in the parent, the child is killed, and a new child resumes against the same chain.
 *
 * The server reports each submission's progress (`Received`, `Included`, `Finalized`) to a hook, so the
 * parent can kill the child at exactly those step boundaries.
 *
 * @since 0.1.0
 */
import { ChainClient, Domain } from "@checkpointer/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import type { FakeChainService } from "./FakeChain.js"

/**
 * The steps of a submission the server reports.
 *
 * @since 0.1.0
 * @category models
 */
export type SubmissionStep = "Received" | "Included" | "Finalized"

const ChainError = Schema.Union(
  ChainClient.ChainUnavailable,
  ChainClient.BucketNotFound,
  ChainClient.DispatchFailed,
  ChainClient.SubmissionFailed
)

const methods = {
  finalizedBlock: { params: Schema.Struct({}), result: ChainClient.BlockRef },
  bestBlock: { params: Schema.Struct({}), result: ChainClient.BlockRef },
  bucket: {
    params: Schema.Struct({ bucketId: Domain.BucketId, at: Schema.optional(Domain.H256) }),
    result: ChainClient.BucketInfo
  },
  provider: {
    params: Schema.Struct({ account: Domain.AccountId, at: Schema.optional(Domain.H256) }),
    result: Schema.OptionFromNullOr(ChainClient.ProviderRecord)
  },
  signer: { params: Schema.Struct({}), result: Schema.OptionFromNullOr(Domain.AccountId) },
  estimateFee: { params: ChainClient.CheckpointSubmission, result: Schema.BigInt },
  freeBalance: { params: Schema.Struct({ account: Domain.AccountId }), result: Schema.BigInt },
  prepareCheckpoint: { params: ChainClient.CheckpointSubmission, result: ChainClient.PreparedCheckpoint },
  submitPrepared: { params: ChainClient.PreparedCheckpoint, result: ChainClient.CheckpointReceipt },
  findReceipt: {
    params: ChainClient.PreparedCheckpoint,
    result: Schema.OptionFromNullOr(ChainClient.CheckpointReceipt)
  },
  nonceUsed: { params: ChainClient.PreparedCheckpoint, result: Schema.Boolean }
} as const

type Method = keyof typeof methods

/**
 * Serves a fake chain on a loopback port until the scope closes; returns its URL.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  chain: FakeChainService,
  onStep: (step: SubmissionStep, prepared: ChainClient.PreparedCheckpoint) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromise(runtime)
    const client = chain.client

    const submitWatched = (prepared: ChainClient.PreparedCheckpoint) =>
      Effect.gen(function*() {
        yield* onStep("Received", prepared)
        const fiber = yield* Effect.fork(client.submitPrepared(prepared))
        // Inclusion is immediate in the fake chain; finality follows its finality delay.
        // Polled, not spun; a submission that fails before inclusion ends the wait.
        yield* Effect.raceFirst(
          Effect.repeat(chain.submissions, {
            schedule: Schedule.spaced("10 millis"),
            until: (all) => all.some((r) => r.extrinsicHash === prepared.extrinsicHash)
          }),
          fiber.await
        )
        yield* onStep("Included", prepared)
        const result = yield* Effect.either(fiber.await.pipe(Effect.flatten))
        yield* onStep("Finalized", prepared)
        return yield* result
      })

    const handlers: { readonly [M in Method]: (params: never) => Effect.Effect<unknown, unknown> } = {
      finalizedBlock: () => client.finalizedBlock,
      bestBlock: () => client.bestBlock,
      bucket: (p: { bucketId: Domain.BucketId; at?: Domain.H256 }) => client.bucket(p.bucketId, p.at),
      provider: (p: { account: Domain.AccountId; at?: Domain.H256 }) => client.provider(p.account, p.at),
      signer: () => Effect.succeed(client.signer),
      estimateFee: (p: ChainClient.CheckpointSubmission) => client.estimateFee(p),
      freeBalance: (p: { account: Domain.AccountId }) => client.freeBalance(p.account),
      prepareCheckpoint: (p: ChainClient.CheckpointSubmission) => client.prepareCheckpoint(p),
      submitPrepared: (p: ChainClient.PreparedCheckpoint) => submitWatched(p),
      findReceipt: (p: ChainClient.PreparedCheckpoint) => client.findReceipt(p),
      nonceUsed: (p: ChainClient.PreparedCheckpoint) => client.nonceUsed(p)
    }

    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const reply = (status: number, body: unknown) => {
          response.writeHead(status, { "content-type": "application/json" })
          response.end(JSON.stringify(body))
        }
        const method = (request.url ?? "").slice(1) as Method
        const spec = methods[method]
        if (spec === undefined) return reply(404, { error: "no such method" })
        const program = Effect.gen(function*() {
          const raw: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"))
          const params = yield* Schema.decodeUnknown(spec.params as Schema.Schema<unknown, unknown>)(raw)
          const result = yield* Effect.either(handlers[method](params as never))
          if (Either.isLeft(result)) {
            return { status: 200, body: { error: Schema.encodeSync(ChainError)(result.left as never) } }
          }
          const encoded = Schema.encodeSync(spec.result as Schema.Schema<unknown, unknown>)(result.right)
          return { status: 200, body: { ok: encoded } }
        })
        run(program).then(
          ({ body, status }) => reply(status, body),
          (cause) => reply(500, { error: String(cause) })
        )
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return `http://127.0.0.1:${port}`
  })

/**
 * A `ChainClient` for a chain served by `serve`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (url: string): Effect.Effect<ChainClient.ChainClientService, ChainClient.ChainUnavailable> =>
  Effect.gen(function*() {
    const call = <M extends Method>(method: M, params: unknown) =>
      Effect.gen(function*() {
        const spec = methods[method]
        const body = Schema.encodeSync(spec.params as Schema.Schema<unknown, unknown>)(params)
        const response = yield* Effect.tryPromise({
          try: () =>
            fetch(`${url}/${method}`, { method: "POST", body: JSON.stringify(body) }).then((r) =>
              r.json() as Promise<{ ok?: unknown; error?: unknown }>
            ),
          catch: (cause) => new ChainClient.ChainUnavailable({ operation: method, detail: String(cause) })
        })
        if (response.error !== undefined) {
          const error = Schema.decodeUnknownEither(ChainError)(response.error)
          return yield* Either.isRight(error)
            ? Effect.fail(error.right)
            : Effect.fail(new ChainClient.ChainUnavailable({ operation: method, detail: String(response.error) }))
        }
        return yield* Schema.decodeUnknown(spec.result as Schema.Schema<unknown, unknown>)(response.ok).pipe(
          Effect.mapError((e) => new ChainClient.ChainUnavailable({ operation: method, detail: e.message }))
        )
      })
    const signer = (yield* call("signer", {}).pipe(
      Effect.mapError((e) =>
        e._tag === "ChainUnavailable" ? e : new ChainClient.ChainUnavailable({ operation: "signer", detail: e.message })
      )
    )) as Option.Option<Domain.AccountId>
    const typed = <A, E>(effect: Effect.Effect<unknown, unknown>) => effect as Effect.Effect<A, E>
    return {
      finalizedBlock: typed(call("finalizedBlock", {})),
      bestBlock: typed(call("bestBlock", {})),
      finalizedHeads: Stream.empty,
      bucket: (bucketId, at) => typed(call("bucket", at === undefined ? { bucketId } : { bucketId, at })),
      provider: (account, at) => typed(call("provider", at === undefined ? { account } : { account, at })),
      signer,
      signerFor: () => signer,
      estimateFee: (submission) => typed(call("estimateFee", submission)),
      freeBalance: (account) => typed(call("freeBalance", { account })),
      prepareCheckpoint: (submission) => typed(call("prepareCheckpoint", submission)),
      submitPrepared: (prepared) => typed(call("submitPrepared", prepared)),
      findReceipt: (prepared) => typed(call("findReceipt", prepared)),
      nonceUsed: (prepared) => typed(call("nonceUsed", prepared)),
      challengeOffchain: () =>
        Effect.fail(
          new ChainClient.SubmissionFailed({ stage: "Unsupported", detail: "not served", maybeIncluded: false })
        )
    } satisfies ChainClient.ChainClientService
  })

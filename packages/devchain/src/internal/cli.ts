/**
 * The devchain's command line: flags and an optional JSON config file, validated with the same
 * schema as `Devchain.start`; one line per problem, never a stack trace.
 *
 * @internal
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import * as Devchain from "../Devchain.js"

const USAGE = `usage: checkpointer-devchain [--port N] [--host 127.0.0.1|::1] [--era C|A]
                             [--block-mode interval|instant|manual] [--block-time MS]
                             [--finality-lag BLOCKS] [--config FILE.json] [--quiet]`

const fail = (message: string) => Effect.fail(new Devchain.DevchainError({ reason: "Config", message }))

/** Parses flags (and the config file) into a devchain config; flags override the file. */
export const parseCli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    let parsed
    try {
      parsed = parseArgs({
        args: [...argv],
        options: {
          port: { type: "string" },
          host: { type: "string" },
          era: { type: "string" },
          "block-mode": { type: "string" },
          "block-time": { type: "string" },
          "finality-lag": { type: "string" },
          config: { type: "string" },
          quiet: { type: "boolean" },
          help: { type: "boolean", short: "h" }
        },
        strict: true,
        allowPositionals: false
      }).values
    } catch (error) {
      return yield* fail(`${(error as Error).message}\n${USAGE}`)
    }
    if (parsed.help === true) return { help: true as const }
    let file: Record<string, unknown> = {}
    if (parsed.config !== undefined) {
      try {
        file = JSON.parse(readFileSync(parsed.config, "utf8")) as Record<string, unknown>
      } catch (error) {
        return yield* fail(`cannot read config ${parsed.config}: ${(error as Error).message}`)
      }
      if (typeof file !== "object" || file === null || Array.isArray(file)) {
        return yield* fail(`config ${parsed.config}: expected a JSON object`)
      }
    }
    const number = (flag: string, value: string | undefined) => {
      if (value === undefined) return undefined
      const n = Number(value)
      return Number.isFinite(n) ? n : value // a non-number reaches the schema, which names the field
    }
    const input: Record<string, unknown> = { ...file }
    const set = (key: string, value: unknown) => {
      if (value !== undefined) input[key] = value
    }
    set("port", number("port", parsed.port))
    set("host", parsed.host)
    set("era", parsed.era)
    set("blockMode", parsed["block-mode"])
    set("blockTime", number("block-time", parsed["block-time"]))
    set("finalityLag", number("finality-lag", parsed["finality-lag"]))
    return { help: false as const, quiet: parsed.quiet === true, input: input as Devchain.DevchainConfigInput }
  })

/** Runs the devchain until interrupted (Ctrl-C), printing its URL and each block with transactions. */
export const cliProgram = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const cli = yield* parseCli(argv)
    if (cli.help) return yield* Console.log(USAGE)
    yield* Effect.scoped(Effect.gen(function*() {
      const chain = yield* Devchain.start(cli.input)
      yield* Console.log(
        `checkpointer-devchain: listening on ${chain.url} (era ${chain.era}, genesis ${chain.genesisHash})`
      )
      if (!cli.quiet) {
        const stop = chain.chain.listen({
          onBlock: (block) => {
            if (block.extrinsics.length > 1) {
              process.stdout.write(
                `block #${block.number} ${block.hash.slice(0, 18)}… ${block.extrinsics.length - 1} extrinsic(s)\n`
              )
            }
          }
        })
        yield* Effect.addFinalizer(() => Effect.sync(stop))
      }
      yield* Effect.never
    }))
  })

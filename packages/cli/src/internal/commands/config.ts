/**
 * The `config check` command: the effective configuration, every setting and its source.
 *
 * @internal
 */
import { Args, Command } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { BadConfig, bucketSignerAddresses, describeJournal, resolveSettings, signerAddress } from "../live.js"
import { bold, dim, emit, green, makeOutput, table } from "../output.js"

import {
  buckets,
  chain,
  client,
  config,
  describeInterval,
  flags,
  intervalBlocks,
  intervalSeconds,
  journal,
  json,
  noJournal,
  parseBuckets,
  set,
  suri,
  threshold
} from "../options.js"

export const configCheckCommand = Command.make(
  "check",
  {
    file: Args.file({ name: "file", exists: "yes" }).pipe(
      Args.withDescription("the config file (or --config FILE)"),
      Args.optional
    ),
    config,
    chain,
    client,
    suri,
    journal,
    noJournal,
    buckets,
    intervalBlocks,
    intervalSeconds,
    threshold,
    set,
    json
  },
  (o) =>
    Effect.gen(function*() {
      const out = makeOutput(o.json)
      if (Option.isSome(o.file) && Option.isSome(o.config)) {
        return yield* new BadConfig({ message: "config: give the file as an argument or with --config, not both" })
      }
      const settings = yield* resolveSettings(
        flags({ ...o, config: Option.orElse(o.file, () => o.config), buckets: yield* parseBuckets(o.buckets) })
      )
      const signer = yield* signerAddress(settings)
      const bucketSigners = yield* bucketSignerAddresses(settings)
      const journalDescription = yield* describeJournal(settings.journal)
      const journalText = settings.journal._tag === "Directory"
        ? `${settings.journal.directory} (in a subdirectory named for the chain's genesis hash)`
        : settings.journal._tag === "Postgres"
        ? `${journalDescription} (PostgreSQL, shared with every checkpointer using it)`
        : "off"
      const general = [
        ["chain", settings.chain.join(", ")],
        ["signer", Option.match(signer, { onNone: () => "none", onSome: (s) => `${s.address} (from ${s.source})` })],
        ...bucketSigners.map(({ address, bucket, source }) =>
          [`bucket ${bucket} signer`, `${address} (from ${source})`] as const
        ),
        ["buckets", settings.buckets.length === 0 ? "none" : settings.buckets.join(", ")],
        ["journal", journalText],
        ["interval", describeInterval(settings)],
        ["local providers", settings.allowLocalProviders ? "allowed" : "refused"]
      ] as const
      yield* emit(
        out,
        () =>
          [
            bold(out, "effective configuration") + " (flags over the config file over the environment)",
            table(general.map(([k, v]) => [k, v])).replace(/^/gm, "  "),
            "",
            bold(out, "settings"),
            table([
              [bold(out, "setting"), bold(out, "value"), bold(out, "from")],
              ...settings.tuned.effective.map((
                e
              ) => [e.key, e.value, e.source === "default" ? dim(out, e.source) : e.source])
            ]).replace(/^/gm, "  "),
            "",
            green(out, "valid")
          ].join("\n"),
        {
          type: "Config",
          valid: true,
          chain: settings.chain,
          signer: Option.match(signer, {
            onNone: () => null,
            onSome: (s) => ({ address: s.address, source: s.source })
          }),
          bucketSigners,
          buckets: settings.buckets,
          journal: settings.journal._tag === "Off" ? null : journalDescription,
          interval: settings.interval,
          bucketIntervals: settings.bucketIntervals,
          allowLocalProviders: settings.allowLocalProviders,
          settings: settings.tuned.effective
        }
      )
    })
).pipe(
  Command.withDescription(
    "print the effective configuration (secrets redacted) and every setting with its source; exit 2 if invalid"
  )
)

export const configCommand = Command.make("config").pipe(
  Command.withDescription("inspect the configuration"),
  Command.withSubcommands([configCheckCommand])
)

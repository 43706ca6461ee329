/**
 * A throwaway PostgreSQL server for tests, from the machine's own binaries (Debian's `postgresql`
 * package: `initdb` and `pg_ctl` under `/usr/lib/postgresql/<version>/bin`): a fresh cluster in a
 * temporary directory, listening on a free loopback port only, trusted local connections, stopped and
 * removed when the scope closes. The binaries refuse to run as root: as root they run as the `postgres`
 * user (through `runuser`), which then owns the directory.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * Why a server could not be started.
 *
 * @since 0.1.0
 * @category errors
 */
export class PostgresUnavailable extends Data.TaggedError("PostgresUnavailable")<{ readonly detail: string }> {
  override get message(): string {
    return `PostgreSQL could not be started: ${this.detail}`
  }
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Server {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  readonly dataDirectory: string
  /** The PostgreSQL binaries' directory. */
  readonly binaries: string
  /**
   * Stops the server (fast shutdown: its clients' connections are closed) until `resume`: an outage of
   * the database, for tests of what its clients do meanwhile.
   */
  readonly stop: Effect.Effect<void, PostgresUnavailable>
  /** Starts the stopped server again: the same data, on the same port. */
  readonly resume: Effect.Effect<void, PostgresUnavailable>
  /** Runs SQL with `psql` as the superuser (bounded): its rows, one a line, columns separated by `|`. */
  readonly psql: (statement: string) => Effect.Effect<string, PostgresUnavailable>
}

/**
 * The directory of the newest PostgreSQL installed from Debian's packages, if any.
 *
 * @since 0.1.0
 * @category finding
 */
export const binaries = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin")
}

const freePort = Effect.async<number, PostgresUnavailable>((resume) => {
  const server = createServer()
  server.once("error", (e) => resume(Effect.fail(new PostgresUnavailable({ detail: `no free port: ${e.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/** Runs one of the binaries (as `postgres` when this process is root), bounded in time: its output. */
const runBinary = (bin: string, program: string, args: ReadonlyArray<string>, timeoutMillis: number) =>
  Effect.suspend(() => {
    const command = isRoot() ? "runuser" : join(bin, program)
    const argv = isRoot() ? ["-u", "postgres", "--", join(bin, program), ...args] : [...args]
    const result = spawnSync(command, argv, { encoding: "utf8", timeout: timeoutMillis, cwd: tmpdir() })
    return result.status === 0
      ? Effect.succeed(result.stdout)
      : Effect.fail(
        new PostgresUnavailable({
          detail: `${program} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}): ${
            (result.stderr || result.stdout || "").trim().split("\n").slice(-3).join(" | ")
          }`
        })
      )
  })

/**
 * Starts a server for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (
  options: { readonly timeoutMillis?: number } = {}
): Effect.Effect<Server, PostgresUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const bin = binaries()
    if (bin === undefined) {
      return yield* new PostgresUnavailable({
        detail: "no PostgreSQL binaries under /usr/lib/postgresql (Debian: apt-get install postgresql)"
      })
    }
    const timeoutMillis = options.timeoutMillis ?? 60_000
    const dataDirectory = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const dir = mkdtempSync(join(tmpdir(), "checkpointer-pg-"))
        if (isRoot()) {
          const who = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" })
          const group = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" })
          chownSync(dir, Number(who.stdout.trim()), Number(group.stdout.trim()))
        }
        return dir
      }),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const data = join(dataDirectory, "data")
    yield* runBinary(bin, "initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "--encoding=UTF8",
      "--locale=C"
    ], timeoutMillis)
    const port = yield* freePort
    // Loopback only; the socket directory inside the data directory (not /var/run/postgresql).
    const serverOptions = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dataDirectory}`,
      "-c fsync=off",
      "-c max_connections=100"
    ].join(" ")
    const startServer = runBinary(
      bin,
      "pg_ctl",
      ["-D", data, "-o", serverOptions, "-l", join(dataDirectory, "log"), "-w", "start"],
      timeoutMillis
    )
    const stopServer = (mode: "fast" | "immediate") =>
      Effect.asVoid(runBinary(bin, "pg_ctl", ["-D", data, "-m", mode, "-w", "stop"], timeoutMillis))
    yield* Effect.acquireRelease(
      startServer,
      // Stopped already (a test's outage left it so) is fine.
      () => stopServer("immediate").pipe(Effect.ignore)
    )
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      dataDirectory,
      binaries: bin,
      stop: stopServer("fast"),
      resume: Effect.asVoid(startServer),
      psql: (statement) =>
        runBinary(bin, "psql", [
          "-h",
          "127.0.0.1",
          "-p",
          `${port}`,
          "-U",
          "postgres",
          "-d",
          "postgres",
          "-At",
          "-c",
          statement
        ], timeoutMillis)
    }
  })

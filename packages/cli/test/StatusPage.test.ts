/**
 * The status page in a real browser: Debian's Chromium, driven by playwright-core, against a devnet
 * started as a child process (three providers, one of which starts failing every request after the second checkpoint). The
 * page shows the bucket; checkpoints appear without a reload, with the block and leaf count the devnet
 * printed; the provider that went down turns unhealthy on the page; the loop's health probes show their
 * results, and each provider its endpoint; text from a provider is shown as text.
 * Every wait is bounded. A screenshot goes to build/status-page.png (the README's is docs/status-page.png).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { eventually, jsonLines, start } from "./process.js"

const CHROMIUM = "/usr/bin/chromium"
const SCREENSHOT = fileURLToPath(new URL("../../../build/status-page.png", import.meta.url))
/** How long the page may take to show what the devnet did (a busy CI machine, two cores). */
const PAGE_WAIT = 30_000

const launch = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  ),
  (browser) => Effect.promise(() => browser.close())
)

/** A page of this browser, its script errors collected. */
const open = (browser: Browser, url: string, viewport: { width: number; height: number }) =>
  Effect.promise(async () => {
    const page = await browser.newPage({ viewport })
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text())
    })
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: PAGE_WAIT })
    return { page, errors }
  })

const wait = <A>(f: () => Promise<A>) => Effect.promise(f)

/**
 * The little of the browser's globals the checks below read, for the functions that run in the page (this
 * project compiles without the DOM's types): each casts `globalThis` itself, since it runs over there.
 */
interface Dom {
  readonly document: {
    readonly documentElement: { readonly scrollWidth: number }
    querySelector(
      selector: string
    ): { readonly textContent: string | null; getAttribute(name: string): string | null } | null
    querySelectorAll(selector: string): { readonly length: number }
  }
  readonly innerWidth: number
}

/** The block number, leaf count and fee the page shows for bucket 0 (undefined before its first checkpoint). */
const shownCheckpoint = (page: Page) =>
  page.evaluate(() => {
    const { document } = globalThis as unknown as Dom
    const block = document.querySelector("[data-bucket=\"0\"] [data-field=\"block\"]")?.textContent ?? ""
    const leaves = document.querySelector("[data-bucket=\"0\"] [data-field=\"leaves\"]")?.textContent ?? ""
    const fee = document.querySelector("[data-bucket=\"0\"] [data-field=\"fee\"]")?.textContent ?? ""
    return /^#\d+$/.test(block) ? { block: Number(block.slice(1)), leaves, fee } : undefined
  })

interface Landed {
  readonly block: number
  readonly leaves: string
  /** In planck. */
  readonly fee: string
}

/** An amount in planck in the devnet's token (12 decimals, UNIT), exact. */
const inUnits = (planck: string) => {
  const digits = planck.padStart(13, "0")
  const fraction = digits.slice(-12).replace(/0+$/, "")
  return `${digits.slice(0, -12)}${fraction === "" ? "" : `.${fraction}`} UNIT`
}

// One devnet and one browser at a time: two of each at once are a lot for a two-core machine.
describe.sequential("the status page in Chromium", () => {
  it.scopedLive(
    "shows the bucket, new checkpoints without a reload, and a provider that starts failing turning unhealthy",
    () =>
      Effect.gen(function*() {
        const devnet = yield* start([
          "devnet",
          "--port",
          "0",
          "--json",
          "--providers",
          "3",
          "--lagging",
          "0",
          "--flaky",
          "0",
          "--failing-after",
          "2",
          "--block-time",
          "300",
          "--interval-blocks",
          "2",
          "--write-every",
          "1500"
        ])
        const records = () => jsonLines(devnet.output.stdout)
        const landed = (): Array<Landed> =>
          records().filter((r) => r.type === "CheckpointSubmitted").map((r) => {
            const receipt = r.receipt as { blockNumber: number; commitment: { leafCount: string }; fee: string }
            return { block: receipt.blockNumber, leaves: receipt.commitment.leafCount, fee: receipt.fee }
          })
        yield* eventually(() => records().some((r) => r.type === "DevnetStarted"), "the devnet to start", 60)
        const started = records().find((r) => r.type === "DevnetStarted")!
        const url = started.listen as string
        const browser = yield* launch
        const { errors, page } = yield* open(browser, url, { width: 1100, height: 1300 })

        // The bucket is on the page, from the first answer of status.json.
        yield* wait(() => page.waitForSelector("[data-bucket=\"0\"]", { timeout: PAGE_WAIT }))
        expect(yield* wait(() => page.locator("[data-bucket=\"0\"] h3").textContent())).toMatch(/^Bucket 0/)
        // A mark in this document: a reload would lose it.
        yield* wait(() => page.evaluate(() => Object.assign(globalThis, { statusPageMark: 1 })))

        // A checkpoint lands after the page loaded, and the page shows it without being reloaded.
        const before = (yield* wait(() => shownCheckpoint(page)))?.block ?? 0
        yield* wait(() =>
          page.waitForFunction(
            (previous) => {
              const { document } = globalThis as unknown as Dom
              const text = document.querySelector("[data-bucket=\"0\"] [data-field=\"block\"]")?.textContent ?? ""
              return /^#\d+$/.test(text) && Number(text.slice(1)) > previous
            },
            before,
            { timeout: PAGE_WAIT, polling: 100 }
          )
        )
        const shown = (yield* wait(() => shownCheckpoint(page)))!
        // What the page shows is a checkpoint the devnet printed: the same block, the same leaf count.
        yield* eventually(() => landed().some((c) => c.block === shown.block), `block #${shown.block} printed`, 30)
        expect(landed().find((c) => c.block === shown.block)!.leaves).toBe(shown.leaves)
        // Its fee in the chain's token, as the devnet printed it in planck.
        expect(shown.fee).toBe(inUnits(landed().find((c) => c.block === shown.block)!.fee))
        expect(yield* wait(() => page.evaluate(() => "statusPageMark" in globalThis))).toBe(true)
        // The event stream lists it too.
        yield* wait(() =>
          page.locator("#events li[data-type=\"CheckpointSubmitted\"]", { hasText: `block #${shown.block},` })
            .first().waitFor({ timeout: PAGE_WAIT })
        )

        // After the second checkpoint one provider fails every request: the page shows it unhealthy.
        yield* eventually(() => records().some((r) => r.type === "ProviderFailing"), "a provider to start failing", 60)
        const down = records().find((r) => r.type === "ProviderFailing")!.account as string
        const row = page.locator(`#providers tr[data-provider="${down}"]`)
        yield* wait(() =>
          page.waitForFunction(
            (account) => {
              const { document } = globalThis as unknown as Dom
              const status = document.querySelector(`#providers tr[data-provider="${account}"]`)
                ?.getAttribute("data-status")
              return status === "Degraded" || status === "Unreachable"
            },
            down,
            { timeout: PAGE_WAIT, polling: 100 }
          )
        )
        expect(yield* wait(() => row.locator("td").nth(1).textContent())).toMatch(/^(Degraded|Unreachable)$/)
        expect(yield* wait(() => row.locator("td").last().textContent())).not.toBe("–")
        yield* wait(() =>
          page.locator("#events li[data-type=\"ProviderStatusChanged\"]", {
            hasText: /Healthy → (Degraded|Unreachable)/
          })
            .first().waitFor({ timeout: PAGE_WAIT })
        )
        expect(yield* wait(() => page.evaluate(() => "statusPageMark" in globalThis))).toBe(true)

        // The devnet's loop probes its providers every few seconds: a passed probe shows in a provider's
        // row ("ok", how long ago), and beside the provider's address the endpoint it was asked at.
        yield* wait(() =>
          page.waitForFunction(
            () => {
              const { document } = globalThis as unknown as Dom
              return document.querySelectorAll("#providers tbody tr[data-probe=\"ok\"]").length > 0
            },
            undefined,
            { timeout: PAGE_WAIT, polling: 100 }
          )
        )
        const probed = page.locator("#providers tbody tr[data-probe=\"ok\"]").first()
        expect(yield* wait(() => probed.locator("td").nth(7).textContent())).toMatch(/^ok.+ ago/)
        expect(yield* wait(() => probed.locator(".endpoint").textContent())).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)

        // The last round's decision record, opened, for the picture.
        yield* wait(() => page.locator("[data-bucket=\"0\"] details summary").click({ timeout: PAGE_WAIT }))
        yield* wait(() =>
          page.locator("[data-bucket=\"0\"] details[open] tbody tr").first().waitFor({ timeout: PAGE_WAIT })
        )
        mkdirSync(dirname(SCREENSHOT), { recursive: true })
        yield* wait(() => page.screenshot({ path: SCREENSHOT }))
        expect(errors).toEqual([])
      }),
    120_000
  )

  it.scopedLive(
    "shows a provider's words as text, never as markup, and fits a phone's width",
    () =>
      Effect.gen(function*() {
        const devnet = yield* start([
          "devnet",
          "--port",
          "0",
          "--json",
          "--providers",
          "3",
          "--lagging",
          "0",
          "--flaky",
          "0",
          "--block-time",
          "300",
          "--interval-blocks",
          "2",
          "--write-every",
          "1500"
        ])
        const records = () => jsonLines(devnet.output.stdout)
        yield* eventually(() => records().some((r) => r.type === "DevnetStarted"), "the devnet to start", 60)
        const url = records().find((r) => r.type === "DevnetStarted")!.listen as string
        const browser = yield* launch
        const hostile = "<img src=x onerror=\"window.pwned=1\"><b>bold</b>"
        // The real document, with a provider's error and an event's text replaced by markup.
        const context = yield* wait(() => browser.newContext({ viewport: { width: 390, height: 844 } }))
        yield* wait(() =>
          context.route("**/status.json", async (route) => {
            try {
              const response = await route.fetch()
              const status = await response.json() as {
                providers: Array<{ lastError: string | null }>
                events: Array<{ text: string }>
              }
              for (const provider of status.providers) provider.lastError = hostile
              for (const event of status.events) event.text = hostile
              await route.fulfill({ response, json: status })
            } catch {
              // The page or the devnet closing at the end of the test: nothing left to answer.
              await route.abort().catch(() => undefined)
            }
          })
        )
        const page = yield* wait(() => context.newPage())
        const errors: Array<string> = []
        page.on("pageerror", (error) => errors.push(error.message))
        yield* wait(() => page.goto(url, { waitUntil: "domcontentloaded", timeout: PAGE_WAIT }))
        yield* wait(() => page.locator("#providers tbody tr td.detail").first().waitFor({ timeout: PAGE_WAIT }))
        yield* wait(() => page.locator("#events li").first().waitFor({ timeout: PAGE_WAIT }))
        expect(yield* wait(() => page.locator("#providers tbody tr td.detail").first().textContent())).toBe(hostile)
        expect(yield* wait(() => page.locator("#events li").first().textContent())).toContain(hostile)
        const injected = yield* wait(() =>
          page.evaluate(() => ({
            elements: (globalThis as unknown as Dom).document.querySelectorAll("main img, main b").length,
            pwned: "pwned" in globalThis
          }))
        )
        expect(injected).toEqual({ elements: 0, pwned: false })
        // Nothing wider than the phone's screen: tables scroll inside their own box.
        const widths = yield* wait(() =>
          page.evaluate(() => {
            const { document, innerWidth } = globalThis as unknown as Dom
            return { page: document.documentElement.scrollWidth, screen: innerWidth }
          })
        )
        expect(widths.page).toBeLessThanOrEqual(widths.screen)
        expect(errors).toEqual([])
      }),
    120_000
  )
})

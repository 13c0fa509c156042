/**
 * What each browser test runs against: `npm run dev`'s stack (wrangler dev + the Unified
 * stand-in) on free ports with a D1 of its own, and a headless Chromium. `prepare` runs on
 * the empty persistence folder before the Worker starts (to seed D1, say).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import type { Browser } from 'playwright-core'
import { type StandinStack, startLocalStack } from '../../scripts/local-stack.ts'
import { launchChromium } from './chromium.ts'

export interface BrowserStack {
  stack: StandinStack
  browser: Browser
  /** What wrangler dev printed, for a failing test's message. */
  logs: string[]
  stop(): Promise<void>
}

export async function startBrowserStack(name: string, vars: Record<string, string>, prepare?: (persist: string) => Promise<void>): Promise<BrowserStack> {
  const persist = mkdtempSync(path.join(os.tmpdir(), `lead-intake-${name}-`))
  const output = new PassThrough()
  const logs: string[] = []
  output.on('data', (chunk) => logs.push(String(chunk)))
  let stack: StandinStack | undefined
  let browser: Browser | undefined
  const stop = async () => {
    await browser?.close()
    await stack?.stop()
    rmSync(persist, { recursive: true, force: true })
  }
  try {
    await prepare?.(persist)
    stack = await startLocalStack({ standinPort: 0, workerPort: 0, persistTo: persist, output, vars, env: { WRANGLER_SEND_METRICS: 'false' } })
    browser = await launchChromium()
    return { stack, browser, logs, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

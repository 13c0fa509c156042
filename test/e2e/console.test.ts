/**
 * The operator's question, asked in a real browser against `npm run dev`'s
 * stack: "someone says they filled in the form — where is their lead?". Logs
 * in with Basic auth, searches the email, opens the journey of the submission
 * that failed, replays it and watches it become written. Saves screenshots of
 * the overview and the journey (wide and phone) in test/e2e/screenshots/.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations, D1_DATABASE, runWrangler, type StandinStack } from '../../scripts/local-stack.ts'
import { CHROMIUM } from './chromium.ts'
import { startBrowserStack } from './stack.ts'

if (!CHROMIUM) {
  console.warn('SKIPPED console end-to-end test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).')
}

const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots')
const TOKEN = 'e2e-operator-token'

/**
 * A week of made-up history so the overview has something to show: ~1,500
 * submissions from three sources, quiet at night, a few hours of failures two
 * days ago, some spam. No identifiers: nobody can be found among them.
 */
const HISTORY = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500),
  t(i, at) AS (SELECT i, CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 1800000 - i * 400000 FROM n)
INSERT INTO submissions (id, received_at, updated_at, source, form, state, attempts, gen, hash_v, action, last_error)
SELECT printf('%08x-4e57-4000-8000-%012d', (i * 2654435761) % 4294967296, i), at, at + 900 + (i * 7919) % 4000,
  CASE WHEN i % 20 < 12 THEN 'form' WHEN i % 20 < 17 THEN 'typeform' ELSE 'stripe' END,
  CASE WHEN i % 20 < 12 THEN 'contact' WHEN i % 20 < 17 THEN 'survey-2026' ELSE 'checkout.session.completed' END,
  CASE WHEN i BETWEEN 430 AND 470 AND i % 3 = 0 THEN 'failed' WHEN i % 17 = 0 THEN 'spam' WHEN i % 53 = 0 THEN 'ignored' ELSE 'written' END,
  1, 0, 2, 'created',
  CASE WHEN i BETWEEN 430 AND 470 AND i % 3 = 0 THEN 'create lead: Unified answered 503 (SDKError), after 20 attempts' END
FROM t WHERE (at / 3600000) % 24 NOT BETWEEN 1 AND 5 OR i % 5 = 0;`

describe.skipIf(!CHROMIUM)('the operator console in a real browser', () => {
  let stack: StandinStack
  let browser: Browser
  let logs: string[]
  let stop: () => Promise<void> = async () => {}

  beforeAll(async () => {
    // Short call timeout and retry delay so a replay settles in seconds, as in the workers tests.
    const vars = { OPERATOR_TOKEN: TOKEN, UNIFIED_TIMEOUT_MS: '2000', DELIVERY_BASE_DELAY_SECONDS: '1' }
    ;({ stack, browser, logs, stop } = await startBrowserStack('console-e2e', vars, async (persist) => {
      await applyMigrations({ persistTo: persist })
      const seed = path.join(persist, 'history.sql')
      writeFileSync(seed, HISTORY)
      await runWrangler(['d1', 'execute', D1_DATABASE, '--local', '--persist-to', persist, '--file', seed], { env: { WRANGLER_SEND_METRICS: 'false' } })
    }))
    mkdirSync(SCREENSHOTS, { recursive: true })
  }, 240_000)

  afterAll(() => stop(), 60_000)

  const submit = async (fields: Record<string, string>) => {
    const res = await fetch(`${stack.workerUrl}/forms/contact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) })
    expect(res.status).toBe(202)
    return ((await res.json()) as { id: string }).id
  }
  const stateOf = async (id: string) => {
    const res = await fetch(`${stack.workerUrl}/operator/submissions/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    return ((await res.json()) as { state: string }).state
  }
  const waitForState = async (id: string, state: string) => {
    const deadline = Date.now() + 60_000
    while ((await stateOf(id)) !== state) {
      if (Date.now() > deadline) {
        // What the Worker said of this submission, and every call the stand-in saw: enough to tell a stall from a refusal.
        const mine = logs.join('').split('\n').filter((l) => l.includes(id) && !l.includes('GET /operator/submissions'))
        const calls = await fetch(`${stack.standinUrl}/_standin/calls`).then((r) => r.text()).catch((e: Error) => e.message)
        throw new Error(`submission ${id} never became ${state} (it is ${await stateOf(id)}); the Worker said of it:\n${mine.join('\n').slice(-3000)}\nthe stand-in's calls:\n${calls.slice(-3000)}`)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  it('finds a person by email, opens the failed submission’s journey, replays it and sees it written', async () => {
    const email = `ada.${Date.now()}@example.com`
    // Yesterday's submission: the CRM refused it once. Today's: written.
    await fetch(`${stack.standinUrl}/_standin/faults`, { method: 'POST', body: JSON.stringify([{ operations: ['lead.create'], status: 400, times: 1 }]) })
    const failed = await submit({ email, first_name: 'Ada', last_name: 'Lovelace', company: 'Analytical Engines' })
    await waitForState(failed, 'failed')
    const other = await submit({ email: `someone.${Date.now()}@example.com`, first_name: 'Charles' })
    const again = await submit({ email, first_name: 'Ada', message: 'Did you get my first message?' })
    await Promise.all([waitForState(other, 'written'), waitForState(again, 'written')])

    const context = await browser.newContext({ httpCredentials: { username: 'operator', password: TOKEN }, viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const violations: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text())
    })
    page.on('pageerror', (e) => violations.push(e.message))

    // The overview: at a glance, with the week's chart.
    await page.goto(`${stack.workerUrl}/operator/`)
    await expect.poll(() => page.locator('h2#glance-h').textContent()).toBe('At a glance')
    expect(await page.locator('#glance .alert').first().textContent()).toContain('failed: ')
    expect(await page.locator('#glance svg path.c-written').count()).toBe(1)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'console-overview.png'), fullPage: true })

    // Where is Ada's lead? Search by her email as she typed it.
    await page.getByLabel('Find a person or a submission').fill(email.toUpperCase())
    await Promise.all([page.waitForURL(/person=[0-9a-f]{64}/), page.getByRole('button', { name: 'Find' }).click()])
    expect(page.url()).not.toContain('ada.')
    const rows = page.locator('#list table.rows tbody tr')
    expect(await rows.count()).toBe(2)
    expect(await rows.nth(0).locator('.st').textContent()).toBe('written')
    expect(await rows.nth(1).locator('.st').textContent()).toBe('failed')
    expect(await rows.nth(1).textContent()).toContain('Unified answered 400')

    // Its journey: received, the refused attempt, and a replay button.
    await Promise.all([page.waitForURL(`**/operator/journey/${failed}`), rows.nth(1).getByRole('link').click()])
    expect(await page.locator('#state').textContent()).toBe('failed')
    expect(await page.locator('ol.steps').textContent()).toContain('status 400')
    await Promise.all([page.waitForURL(`**/operator/journey/${failed}`), page.getByRole('button', { name: 'Replay this submission' }).click()])
    // The journey refreshes itself while the submission is in flight: no reload.
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'written', null, { timeout: 90_000 })
    const steps = await page.locator('ol.steps').textContent()
    expect(steps).toContain('Replayed by operator (console)')
    expect(steps).toContain('Written')
    expect(await page.locator('dl.facts').textContent()).toMatch(/lead \S+/)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'console-journey.png'), fullPage: true })
    expect(await stateOf(failed)).toBe('written')

    // The same overview on a phone: one column, nothing wider than the screen.
    const phone = await browser.newContext({ httpCredentials: { username: 'operator', password: TOKEN }, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true })
    const small = await phone.newPage()
    small.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text())
    })
    await small.goto(`${stack.workerUrl}/operator/`)
    expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await small.screenshot({ path: path.join(SCREENSHOTS, 'console-overview-phone.png'), fullPage: true })
    await small.goto(`${stack.workerUrl}/operator/journey/${failed}`)
    expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await small.screenshot({ path: path.join(SCREENSHOTS, 'console-journey-phone.png'), fullPage: true })
    expect(violations).toEqual([])
    await phone.close()
    await context.close()
  }, 180_000)
})

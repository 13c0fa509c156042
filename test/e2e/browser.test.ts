/**
 * A newcomer's path, as a person would take it: `npm run dev`'s stack (wrangler
 * dev + the Unified stand-in), the demo page in a real headless Chromium, a
 * typed and submitted form, the thank-you page, and the lead in the "CRM".
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StandinStack } from '../../scripts/local-stack.ts'
import { CHROMIUM } from './chromium.ts'
import { startBrowserStack } from './stack.ts'

if (!CHROMIUM) {
  console.warn('SKIPPED browser end-to-end test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).')
}

type Lead = { id: string; first_name?: string; last_name?: string; company_name?: string; emails?: { email: string }[] }

describe.skipIf(!CHROMIUM)('the demo page in a real browser', () => {
  let stack: StandinStack
  let browser: Browser
  let logs: string[]
  let stop: () => Promise<void> = async () => {}

  beforeAll(async () => {
    ;({ stack, browser, logs, stop } = await startBrowserStack('e2e', { DEMO_PAGE: 'true' }))
  }, 180_000)

  afterAll(() => stop(), 60_000)

  const leadsFor = async (email: string): Promise<Lead[]> => {
    const res = await fetch(`${stack.standinUrl}/_standin/${stack.connectionId}/leads`)
    return ((await res.json()) as Lead[]).filter((l) => l.emails?.some((e) => e.email === email))
  }

  const waitForLead = async (email: string, check: (l: Lead) => boolean) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const leads = await leadsFor(email)
      if (leads.length && check(leads[0]!)) return leads
      if (Date.now() > deadline) throw new Error(`no matching lead for the submission; wrangler said:\n${logs.join('').slice(-3000)}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  it('types into the form, lands on the thank-you page, and one lead is written; the same person again keeps one lead', async () => {
    const email = `e2e-${Date.now()}@example.com`
    const page = await browser.newPage()
    await page.goto(`${stack.workerUrl}/demo`)
    const form = page.locator('form#plain')
    await form.locator('input[name=email]').fill(email)
    await form.locator('input[name=first_name]').fill('Grace')
    await form.locator('input[name=last_name]').fill('Hopper')
    await form.locator('input[name=company]').fill('Navy')
    await Promise.all([page.waitForURL('**/thanks'), form.locator('button[type=submit]').click()])
    expect(await page.locator('h1').textContent()).toBe('Thank you')
    let leads = await waitForLead(email, (l) => l.company_name === 'Navy')
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ first_name: 'Grace', last_name: 'Hopper', company_name: 'Navy' })

    // Again, through the fetch variant, with a new field: still one lead, now with the message.
    await page.goto(`${stack.workerUrl}/demo`)
    const ajax = page.locator('form#ajax')
    await ajax.locator('input[name=email]').fill(email)
    await ajax.locator('input[name=phone]').fill('+1 555 010 7777')
    await ajax.locator('button[type=submit]').click()
    await page.waitForFunction(() => document.getElementById('answer')?.textContent?.startsWith('202'))
    expect(await page.locator('#answer').textContent()).toContain('"status":"accepted"')
    leads = await waitForLead(email, (l) => JSON.stringify(l).includes('+15550107777'))
    expect(leads).toHaveLength(1)
    await page.close()
  }, 90_000)
})

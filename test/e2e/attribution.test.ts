/**
 * The attribution snippet /a.js on a customer's site, in a real Chromium: the site is served
 * from another origin (and site: `localhost`) than the Worker (`127.0.0.1`), as on the web. A
 * visitor lands from a newsletter, browses, comes back from an ad, and sends the form: the
 * record in the (stand-in) CRM has the first and the last touch. With consent required, nothing
 * is stored before the page says so.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StandinStack } from '../../scripts/local-stack.ts'
import { CHROMIUM } from './chromium.ts'
import { startBrowserStack } from './stack.ts'

if (!CHROMIUM) {
  console.warn('SKIPPED attribution end-to-end test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).')
}

type Lead = { emails?: { email: string }[]; metadata?: { slug: string; value: unknown; format: string }[] }

/** The customer's site: a few pages with the snippet, one with the form posted to lead-intake. */
function sitePage(worker: string, path: string, consent: boolean): string {
  const script = `<script src="${worker}/a.js"${consent ? ' data-consent="required"' : ''}></script>`
  const links = '<a id="home" href="/">Home</a> <a id="features" href="/features">Features</a> <a id="pricing" href="/pricing">Pricing</a> <a id="contact" href="/contact">Contact</a>'
  const form =
    path === '/contact'
      ? `<form id="plain" action="${worker}/forms/contact" method="post">
           <input name="email" type="email"> <input name="first_name">
           <label><input type="checkbox" name="consent" value="yes" data-lead-intake-consent> Remember how I found you</label>
           <button type="submit">Send</button>
         </form>`
      : ''
  return `<!doctype html><html><head><title>Site ${path}</title>${script}</head><body>${links}${form}</body></html>`
}

/** Serves the site on localhost (IPv4 and, where there is one, IPv6 loopback, however Chromium resolves it). */
async function startSite(worker: () => string): Promise<{ url: string; close(): Promise<void> }> {
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const consent = url.pathname.startsWith('/consent')
    const path = consent ? url.pathname.slice('/consent'.length) || '/' : url.pathname
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(sitePage(worker(), path, consent).replace(/href="\//g, consent ? 'href="/consent/' : 'href="/'))
  }
  const v4 = http.createServer(handler)
  await new Promise<void>((resolve) => v4.listen(0, '127.0.0.1', resolve))
  const { port } = v4.address() as AddressInfo
  const v6 = http.createServer(handler)
  const hasV6 = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false))
    v6.listen(port, '::1', () => resolve(true))
  })
  const closeOf = (s: http.Server) => new Promise<void>((resolve) => s.close(() => resolve()))
  return { url: `http://localhost:${port}`, close: async () => void (await Promise.all([closeOf(v4), ...(hasV6 ? [closeOf(v6)] : [])])) }
}

describe.skipIf(!CHROMIUM)('the attribution snippet on a site of another origin', () => {
  let stack: StandinStack
  let browser: Browser
  let logs: string[]
  let site: { url: string; close(): Promise<void> }
  let stop: () => Promise<void> = async () => {}

  beforeAll(async () => {
    ;({ stack, browser, logs, stop } = await startBrowserStack('attribution-e2e', {}))
    site = await startSite(() => stack.workerUrl)
  }, 180_000)

  afterAll(async () => {
    await site?.close()
    await stop()
  }, 60_000)

  const leadOf = async (email: string): Promise<Lead> => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const leads = ((await (await fetch(`${stack.standinUrl}/_standin/${stack.connectionId}/leads`)).json()) as Lead[]).filter((l) => l.emails?.some((e) => e.email === email))
      if (leads.length) return leads[0]!
      if (Date.now() > deadline) throw new Error(`no lead for the submission; wrangler said:\n${logs.join('').slice(-3000)}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  const metaOf = (lead: Lead) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))
  const stored = (page: Page) => page.evaluate(() => localStorage.getItem('lead-intake-touch'))
  /** Clicks a link of the site (so the next page's referrer is the site itself) and waits for that page. */
  const follow = async (page: Page, link: string) => {
    const href = await page.locator(`a#${link}`).evaluate((a) => (a as HTMLAnchorElement).href)
    await Promise.all([page.waitForURL(href), page.click(`a#${link}`)])
  }
  const problems = (page: Page) => {
    const seen: string[] = []
    page.on('pageerror', (e) => seen.push(e.message))
    page.on('console', (m) => {
      // The thank-you page's favicon is no concern of the snippet.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) seen.push(`${m.text()} (${m.location().url})`)
    })
    return seen
  }

  it('records the first and the last touch across visits, and the form brings both to the CRM', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors = problems(page)

    // Visit 1: from a newsletter, through a mail client's link; then two pages of browsing.
    await page.goto(`${site.url}/features?utm_source=newsletter&utm_medium=email&utm_campaign=launch`, { referer: 'http://mail.example.net/inbox' })
    const first = JSON.parse((await stored(page))!) as { first: { at: string } }
    await follow(page, 'pricing')
    await follow(page, 'home')
    // Browsing within the site is neither a touch nor a visit.
    expect(await page.evaluate(() => (window as unknown as { leadIntake: { attribution(): Record<string, string> } }).leadIntake.attribution())).toMatchObject({
      first_utm_source: 'newsletter',
      last_utm_source: 'newsletter',
      last_landing_page: '/features',
      visits: '1',
    })

    // Visit 2: from an ad, with its click id; then to the form.
    await page.goto(`${site.url}/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=EAIaIQobChMI_test-1`, { referer: 'http://www.google.com/' })
    await follow(page, 'contact')
    const email = `touch.${Date.now()}@example.com`
    await page.fill('#plain input[name=email]', email)
    await page.fill('#plain input[name=first_name]', 'Ada')
    await Promise.all([page.waitForURL(`${stack.workerUrl}/thanks`), page.click('#plain button')])

    const meta = metaOf(await leadOf(email))
    expect(meta).toMatchObject({
      first_utm_source: 'newsletter',
      first_utm_medium: 'email',
      first_utm_campaign: 'launch',
      first_referrer_host: 'mail.example.net',
      first_landing_page: '/features',
      first_at: first.first.at,
      last_utm_source: 'google',
      last_utm_medium: 'cpc',
      last_utm_campaign: 'brand',
      last_gclid: 'EAIaIQobChMI_test-1',
      last_referrer_host: 'www.google.com',
      last_landing_page: '/pricing',
      visits: 2,
    })
    expect(meta).not.toHaveProperty('first_gclid')
    // Its own storage only: no cookie anywhere.
    expect(await context.cookies()).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, 90_000)

  it('with data-consent="required", stores nothing until leadIntake.consent(), and forgets on consent(false)', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors = problems(page)
    type Api = { leadIntake: { attribution(): Record<string, string>; consent(given?: boolean): void } }

    await page.goto(`${site.url}/consent/features?utm_source=newsletter&utm_campaign=launch`, { referer: 'http://mail.example.net/' })
    await follow(page, 'contact')
    expect(await page.evaluate(() => localStorage.length)).toBe(0)
    expect(await page.evaluate(() => (window as unknown as Api).leadIntake.attribution())).toEqual({})
    expect(await page.locator('#plain input[data-lead-intake]').count()).toBe(0)

    // The site's consent banner says yes: from this page view on, touches are kept.
    await page.goto(`${site.url}/consent/pricing?utm_source=podcast&utm_medium=audio`)
    expect(await page.evaluate(() => localStorage.length)).toBe(0)
    await page.evaluate(() => (window as unknown as Api).leadIntake.consent())
    expect(await stored(page)).toContain('podcast')
    // Later pages go on without being told again: what is stored says consent was given.
    await follow(page, 'contact')
    expect(await page.locator('#plain input[name=first_utm_source]').inputValue()).toBe('podcast')

    // A form posted with fetch takes the same fields from leadIntake.attribution().
    const email = `consent.${Date.now()}@example.com`
    const status = await page.evaluate(
      async ({ worker, email }) => {
        const body = { email, ...(window as unknown as Api).leadIntake.attribution() }
        const res = await fetch(`${worker}/forms/contact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        return res.status
      },
      { worker: stack.workerUrl, email },
    )
    expect(status).toBe(202)
    expect(metaOf(await leadOf(email))).toMatchObject({ first_utm_source: 'podcast', first_utm_medium: 'audio', first_landing_page: '/consent/pricing', visits: 1 })

    // Withdrawn: everything forgotten, and nothing more is stored on the next pages.
    await page.evaluate(() => (window as unknown as Api).leadIntake.consent(false))
    expect(await page.evaluate(() => localStorage.length)).toBe(0)
    expect(await page.locator('#plain input[data-lead-intake]').count()).toBe(0)
    await page.goto(`${site.url}/consent/features?utm_source=again`)
    expect(await page.evaluate(() => localStorage.length)).toBe(0)
    expect(errors).toEqual([])
    await context.close()
  }, 90_000)

  it("with consent required, the form's own consent checkbox gives it", async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${site.url}/consent/contact?utm_source=partner`, { referer: 'http://partner.example.org/' })
    expect(await page.evaluate(() => localStorage.length)).toBe(0)
    await page.check('#plain input[name=consent]')
    expect(await stored(page)).toContain('partner')
    const email = `checkbox.${Date.now()}@example.com`
    await page.fill('#plain input[name=email]', email)
    await Promise.all([page.waitForURL(`${stack.workerUrl}/thanks`), page.click('#plain button')])
    expect(metaOf(await leadOf(email))).toMatchObject({ first_utm_source: 'partner', first_referrer_host: 'partner.example.org', last_utm_source: 'partner', visits: 1 })
    await context.close()
  }, 90_000)
})

/** Per-form configuration and the acknowledgement rule, through the Worker's fetch with a chosen env. */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { checkConfig } from '../src/startup'
import { fetchWith, leadsWithEmail, standin, unique, waitFor } from './helpers'

beforeEach(() => standin.reset())

/** Calls the Worker as Cloudflare would, with `overrides` layered on the test env and the real queue. */
const call = async (path: string, init: RequestInit, overrides: Record<string, unknown>) =>
  (await fetchWith(path, init, overrides, { realQueue: true })).res

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})

describe('configuration', () => {
  it('names the exact bad key of an invalid form config', async () => {
    const res = await call('/forms/contact', json({ email: unique() }), {
      FORMS: { contact: { fields: { email: 'e-mail-address' } } },
    })
    expect(res.status).toBe(500)
    const body = (await res.json()) as { detail: string }
    expect(body.detail).toContain('FORMS.contact.fields.email')
    expect(body.detail).toContain('To fix it, edit [vars.FORMS.contact] in wrangler.toml (README "Configure a form" lists its keys), then deploy again.')
  })

  it('stops the Worker at start-up with the bad key and its fix, the message wrangler dev, a deploy and npm run check-config print', () => {
    expect(() => checkConfig({ FORMS: { contact: { thankyou_url: 'https://x.example' } } })).toThrow(
      `Invalid lead-intake configuration: FORMS.contact: Unrecognized key(s) in object: 'thankyou_url'. To fix it, edit [vars.FORMS.contact] in wrangler.toml (README "Configure a form" lists its keys)`,
    )
    expect(() => checkConfig({ WEBHOOKS: { tally: { preset: 'tally', sorce: 'Tally' } } })).toThrow(
      /WEBHOOKS\.tally: Unrecognized key\(s\) in object: 'sorce'\. To fix it, edit \[vars\.WEBHOOKS\.tally\] in wrangler\.toml \(README "Connect any webhook source"/,
    )
    expect(() => checkConfig({ DELIVERY_MAX_ATTEMPTS: '40' })).toThrow(/vars\.DELIVERY_MAX_ATTEMPTS: .*To fix it, edit \[vars\] in wrangler\.toml \(README "Connection settings"/)
    // A var set as a JSON string (a secret) has no table: the fix says which var.
    expect(() => checkConfig({ FORMS: '{"contact": {"fields": {"email": "e-mail"}}}' })).toThrow(/FORMS\.contact\.fields\.email: .*To fix it, edit the JSON of FORMS \(a var or secret\)/)
    expect(() => checkConfig({ FORMS: { contact: {} }, WEBHOOKS: {} })).not.toThrow()
  })

  it('rejects unknown keys instead of ignoring a typo', async () => {
    const res = await call('/forms/contact', json({ email: unique() }), { FORMS: { contact: { thankyou_url: 'https://x.example' } } })
    expect(res.status).toBe(500)
    expect(((await res.json()) as { detail: string }).detail).toMatch(/FORMS\.contact.*thankyou_url/)
  })

  it('redirects to the configured thank-you URL and maps custom field names', async () => {
    const email = unique()
    const FORMS = {
      demo: {
        source: 'Landing page',
        status: 'Hot',
        thank_you_url: 'https://www.example.com/thanks',
        fields: { 'your-email': 'email', organisation: 'company_name', role: 'title' },
        metadata: [{ field: 'budget', slug: 'budget_usd', format: 'NUMBER' }],
      },
    }
    const res = await call(
      '/forms/demo',
      {
        method: 'POST',
        body: new URLSearchParams({ 'your-email': email, organisation: 'Acme', role: 'CTO', budget: '5000' }),
        headers: { accept: 'text/html' },
      },
      { FORMS },
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('https://www.example.com/thanks')
    await waitFor1(email)
    const [lead] = await leadsWithEmail(email)
    expect(lead).toMatchObject({ company_name: 'Acme', source: 'Landing page', status: 'Hot' })
    expect(lead!.metadata).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ slug: 'budget_usd', value: '5000', format: 'NUMBER' }),
        expect.objectContaining({ slug: 'title', value: 'CTO' }),
      ]),
    )
  })

  it('lets a form opt into always setting status, while source stays as created', async () => {
    const email = unique()
    await standin.seed({ emails: [{ email }], source: 'Website', status: 'New' })
    const FORMS = { trial: { source: 'Trial signup', status: 'Trial', merge: { status: 'always' } } }
    const res = await call('/forms/trial', json({ email }), { FORMS })
    expect(res.status).toBe(202)
    await waitFor(async () => (await leadsWithEmail(email))[0]?.status === 'Trial', 15_000, 'status update')
    expect(await leadsWithEmail(email)).toEqual([expect.objectContaining({ source: 'Website', status: 'Trial' })])
  })

  it('accepts FORMS given as a JSON string', async () => {
    const res = await call('/forms/json-form', json({ email: unique() }), { FORMS: JSON.stringify({ 'json-form': {} }) })
    expect(res.status).toBe(202)
  })
})

describe('acknowledge only what is queued', () => {
  it('answers 503 with Retry-After, not 2xx, when the queue refuses the lead', async () => {
    const LEADS = { send: async () => Promise.reject(new Error('Queue send failed: internal error')) }
    const res = await call('/forms/contact', json({ email: unique() }), { LEADS })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('30')
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  it('shows a browser the 503 as a page, still not a redirect to "thank you"', async () => {
    const LEADS = { send: async () => Promise.reject(new Error('boom')) }
    const res = await call(
      '/forms/contact',
      { method: 'POST', body: new URLSearchParams({ email: unique() }), headers: { accept: 'text/html' } },
      { LEADS },
    )
    expect(res.status).toBe(503)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-type')).toContain('text/html')
  })
})

const waitFor1 = (email: string) => waitFor(async () => (await leadsWithEmail(email)).length === 1, 15_000, 'one lead')


describe('demo page', () => {
  it('is off by default, and when on shows the contact form with its honeypot and a link to the leads', async () => {
    expect((await call('/demo', {}, {})).status).toBe(404)
    const res = await call('/demo', {}, { DEMO_PAGE: 'true', DEMO_LEADS_URL: 'http://127.0.0.1:8788/' })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('<form id="plain" action="/forms/contact" method="post">')
    expect(html).toContain('name="_gotcha"')
    expect(html).toContain('href="http://127.0.0.1:8788/"')
    // A browser's second visit asks with the ETag it has; it still gets the page (not an empty 304).
    const etag = (await env.ASSETS.fetch('https://assets.local/demo')).headers.get('etag')!
    expect((await env.ASSETS.fetch('https://assets.local/demo', { headers: { 'if-none-match': etag } })).status).toBe(304)
    const again = await call('/demo', { headers: { 'if-none-match': etag } }, { DEMO_PAGE: 'true' })
    expect(again.status).toBe(200)
    expect(await again.text()).toContain('<form id="ajax">')
  })
})

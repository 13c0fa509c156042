/**
 * First- and last-touch attribution, server side: the snippet /a.js as served, and the fields
 * it adds to a form, checked one by one and written as custom fields (README "Attribution").
 * The snippet in a real browser is test/e2e/attribution.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { client, fetchWith, idOf, leadsWithEmail, operatorApi, postJson, request, standin, unique, waitForDelivery, waitForState, type WireLead } from './helpers'

beforeEach(() => standin.reset())

const metaOf = (lead: WireLead | undefined) => Object.fromEntries((lead?.metadata ?? []).map((m) => [m.slug, [m.value, m.format]]))

/** What the snippet posts after a first visit from a newsletter and a later one from an ad. */
const TOUCHES = {
  first_utm_source: 'newsletter',
  first_utm_medium: 'email',
  first_utm_campaign: 'spring launch',
  first_referrer_host: 'mail.example.net',
  first_landing_page: '/blog/post-1',
  first_at: '2026-11-02T09:15:00.000Z',
  last_utm_source: 'google',
  last_utm_medium: 'cpc',
  last_gclid: 'EAIaIQobChMI-x_y.z~1',
  last_msclkid: '0123456789abcdef0123456789abcdef',
  last_li_fat_id: '3a7e2c1d-5b6f-4e8a-9c0d-112233445566',
  last_landing_page: '/pricing',
  last_at: '2026-11-20T16:40:12.345Z',
  visits: '4',
}

const write = async (body: Record<string, string>) => {
  const id = await idOf(await postJson('/forms/contact', body))
  await waitForDelivery([id])
  return (await leadsWithEmail(body.email!))[0]
}

describe('the snippet /a.js', () => {
  it('is served as JavaScript, cacheable, embeddable from other sites, and at most 2 KB gzipped', async () => {
    const res = await request('/a.js')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600, stale-while-revalidate=86400')
    // Loaded by <script> from the customer's origin: same-origin here would have the browser refuse it.
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(res.headers.get('set-cookie')).toBeNull()
    const script = await res.arrayBuffer()
    expect(new TextDecoder().decode(script)).toContain('leadIntake')
    const gzipped = await new Response(new Blob([script]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer()
    expect(gzipped.byteLength).toBeLessThanOrEqual(2048)
  })

  it('answers a revalidation by its ETag with 304', async () => {
    const etag = (await request('/a.js')).headers.get('etag')
    expect(etag).toBeTruthy()
    const res = await request('/a.js', { headers: { 'if-none-match': etag! } })
    expect(res.status).toBe(304)
  })

  it('keeps same-origin resource policy everywhere else', async () => {
    expect((await request('/healthz')).headers.get('cross-origin-resource-policy')).toBe('same-origin')
  })
})

describe('first- and last-touch fields', () => {
  it('become custom fields of their own name, each with its format', async () => {
    const email = unique()
    const lead = await write({ email, first_name: 'Ada', ...TOUCHES })
    expect(metaOf(lead)).toEqual({
      first_utm_source: ['newsletter', 'TEXT'],
      first_utm_medium: ['email', 'TEXT'],
      first_utm_campaign: ['spring launch', 'TEXT'],
      first_referrer_host: ['mail.example.net', 'TEXT'],
      first_landing_page: ['/blog/post-1', 'TEXT'],
      first_at: ['2026-11-02T09:15:00.000Z', 'DATE'],
      last_utm_source: ['google', 'TEXT'],
      last_utm_medium: ['cpc', 'TEXT'],
      last_gclid: ['EAIaIQobChMI-x_y.z~1', 'TEXT'],
      last_msclkid: ['0123456789abcdef0123456789abcdef', 'TEXT'],
      last_li_fat_id: ['3a7e2c1d-5b6f-4e8a-9c0d-112233445566', 'TEXT'],
      last_landing_page: ['/pricing', 'TEXT'],
      last_at: ['2026-11-20T16:40:12.345Z', 'DATE'],
      visits: [4, 'NUMBER'],
    })
  })

  it('drops each bad value alone and still writes the lead with the good ones', async () => {
    const email = unique()
    const lead = await write({
      email,
      first_utm_source: 'newsletter',
      first_utm_campaign: '<script>alert(1)</script>', // markup
      first_utm_term: 'x'.repeat(201), // too long
      first_gclid: 'abc def', // not a token
      first_referrer_host: 'evil.example/path', // not a host
      first_landing_page: '/pricing?utm_source=x', // a query, not a path
      first_at: 'yesterday', // not a time
      last_at: '2999-01-01T00:00:00Z', // the future
      last_utm_source: 'google',
      last_utm_medium: 'a\u0000b', // a control character: not text
      last_fbclid: 'IwAR' + 'z'.repeat(300), // too long
      visits: '-3',
    })
    expect(metaOf(lead)).toEqual({ first_utm_source: ['newsletter', 'TEXT'], last_utm_source: ['google', 'TEXT'] })
  })

  it('never identify anyone: touch fields alone are not a lead', async () => {
    const res = await postJson('/forms/contact', { first_utm_source: 'ada@example.com', last_referrer_host: 'example.com', visits: '2' })
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  it('keep the first touch a record already has, and take the newer last touch', async () => {
    const email = unique()
    await standin.seed({
      emails: [{ email }],
      metadata: [
        { slug: 'first_utm_source', value: 'podcast', format: 'TEXT' },
        { slug: 'last_utm_source', value: 'podcast', format: 'TEXT' },
      ],
    })
    const id = await idOf(await postJson('/forms/contact', { email, first_utm_source: 'newsletter', first_utm_medium: 'email', last_utm_source: 'google' }))
    await waitForDelivery([id])
    const [lead] = await leadsWithEmail(email)
    expect(metaOf(lead)).toMatchObject({
      first_utm_source: ['podcast', 'TEXT'],
      first_utm_medium: ['email', 'TEXT'], // no first medium before: filled
      last_utm_source: ['google', 'TEXT'],
    })
  })

  it("follow the form's attribution table: renamed, dropped, the rest under their own name", async () => {
    const email = unique()
    const FORMS = { site: { attribution: { first_utm_source: 'original_source', visits: false } } }
    const { res } = await fetchWith('/forms/site', { method: 'POST', body: JSON.stringify({ email, first_utm_source: 'newsletter', last_utm_source: 'google', visits: '3' }), headers: { 'content-type': 'application/json' } }, { FORMS }, { realQueue: true })
    await waitForDelivery([await idOf(res)])
    const [lead] = await leadsWithEmail(email)
    expect(metaOf(lead)).toEqual({ original_source: ['newsletter', 'TEXT'], last_utm_source: ['google', 'TEXT'] })
  })

  it('are not kept by a form with capture_attribution = false', async () => {
    const email = unique()
    const FORMS = { quiet: { capture_attribution: false } }
    const { res } = await fetchWith('/forms/quiet', { method: 'POST', body: JSON.stringify({ email, first_utm_source: 'newsletter', visits: '3' }), headers: { 'content-type': 'application/json' } }, { FORMS }, { realQueue: true })
    await waitForDelivery([await idOf(res)])
    expect(metaOf((await leadsWithEmail(email))[0])).toEqual({})
  })

  it('refuses a form config naming a field the snippet does not send, with the key', async () => {
    const FORMS = { site: { attribution: { first_utm_sauce: 'x' } } }
    const { res } = await fetchWith('/forms/site', { method: 'POST', body: JSON.stringify({ email: unique() }), headers: { 'content-type': 'application/json' } }, { FORMS })
    expect(res.status).toBe(500)
    expect(((await res.json()) as { detail: string }).detail).toContain('FORMS.site.attribution.first_utm_sauce')
  })
})

describe('on a CRM whose custom fields must exist first (HubSpot-like)', () => {
  it('writes the person with the properties the account has, and names the others in warnings', async () => {
    // Of the message and the snippet's fields, the account has two properties; the form sends fourteen.
    await client.connection('conn-test', { integration: 'hubspot', properties: ['message', 'first_utm_source'] })
    const email = unique()
    const id = await idOf(await postJson('/forms/contact', { email, message: 'Hello', ...TOUCHES }))
    await waitForState(id, 'written')
    const [contact] = (await client.records('conn-test', 'contact')).filter((c) => c.emails?.some((e) => e.email === email))
    expect(metaOf(contact as WireLead)).toEqual({ message: ['Hello', 'TEXTAREA'], first_utm_source: ['newsletter', 'TEXT'] })
    const { warnings } = (await (await operatorApi(`/submissions/${id}`)).json()) as { warnings: string[] }
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('custom field last_gclid'), expect.stringContaining('custom field visits')]))
    // The CRM names every unknown property in one refusal: one call to learn them, one to write.
    expect((await standin.counters())['contact.create']).toBe(2)
  })
})

/** The website-form route: content types, answers, mapping, validation. */
import { beforeEach, describe, expect, it } from 'vitest'
import { leadsWithEmail, postForm, postJson, request, standin, unique, waitFor, waitForDelivery } from './helpers'

beforeEach(() => standin.reset())

type Accepted = { id: string; status: string }

describe('POST /forms/:formId content types', () => {
  it('accepts JSON with 202 and an id, and writes the lead', async () => {
    const email = unique()
    const res = await postJson('/forms/contact', { email, first_name: 'Ada', last_name: 'Lovelace', company: 'Engines Ltd' })
    expect(res.status).toBe(202)
    const body = (await res.json()) as Accepted
    expect(body).toEqual({ id: expect.any(String), status: 'accepted' })
    await waitForDelivery([body.id])
    const leads = await leadsWithEmail(email)
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', company_name: 'Engines Ltd', source: 'Website', status: 'New' })
  })

  it('redirects a browser urlencoded post with 303 to the built-in thank-you page', async () => {
    const email = unique()
    const res = await postForm('/forms/contact', { email, first_name: 'Grace' })
    expect(res.status).toBe(303)
    const location = new URL(res.headers.get('location')!)
    expect(location.pathname).toBe('/thanks')
    const thanks = await request(location.pathname)
    expect(thanks.status).toBe(200)
    expect(await thanks.text()).toContain('Thank you')
    await waitFor1(email)
  })

  it('accepts multipart/form-data', async () => {
    const email = unique()
    const data = new FormData()
    data.set('email', email)
    data.set('first_name', 'Hedy')
    data.set('attachment', new File(['x'], 'cv.txt')) // files carry no lead data and are skipped
    const res = await request('/forms/contact', { method: 'POST', body: data, headers: { accept: 'application/json' } })
    expect(res.status).toBe(202)
    await waitForDelivery([((await res.json()) as Accepted).id])
    expect((await leadsWithEmail(email))[0]).toMatchObject({ first_name: 'Hedy' })
  })

  it('answers a urlencoded post that asks for JSON with 202', async () => {
    const res = await postForm('/forms/contact', { email: unique() }, { accept: 'application/json' })
    expect(res.status).toBe(202)
    expect(res.headers.get('content-type')).toContain('application/json')
  })

  it('answers an unsupported content type with 415 problem+json', async () => {
    const res = await request('/forms/contact', { method: 'POST', body: 'email=a@b.co', headers: { 'content-type': 'text/plain' } })
    expect(res.status).toBe(415)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  it('answers malformed JSON with 400 problem+json', async () => {
    const res = await request('/forms/contact', { method: 'POST', body: '{"email":', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ type: 'urn:lead-intake:problem:malformed-body', status: 400 })
  })

  it('answers a body over the limit with 413', async () => {
    const res = await postJson('/forms/contact', { email: unique(), message: 'x'.repeat(70 * 1024) })
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})

const waitFor1 = (email: string) => waitFor(async () => (await leadsWithEmail(email)).length === 1, 15_000, 'one lead')

describe('errors', () => {
  it('answers an unknown form with 404 problem+json', async () => {
    const res = await postJson('/forms/nope', { email: unique() })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ type: 'urn:lead-intake:problem:unknown-form', status: 404 })
  })

  it('names the fields when neither email nor phone is given (422)', async () => {
    const res = await postJson('/forms/contact', { first_name: 'Nobody' })
    expect(res.status).toBe(422)
    const body = (await res.json()) as { 'invalid-params': { name: string }[] }
    expect(body['invalid-params'].map((p) => p.name).sort()).toEqual(['email', 'phone'])
  })

  it('names a malformed email (422) and queues nothing', async () => {
    const res = await postJson('/forms/contact', { email: 'not-an-email', phone: '+44 20 7946 0000' })
    expect(res.status).toBe(422)
    const body = (await res.json()) as { 'invalid-params': { name: string; reason: string }[] }
    expect(body['invalid-params']).toEqual([{ name: 'email', reason: 'is not a valid email address' }])
    expect(await standin.counters()).toEqual({})
  })

  it('shows a browser a readable HTML page instead of JSON', async () => {
    const res = await postForm('/forms/contact', { email: 'broken@', first_name: '<script>' })
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toContain('text/html')
    const html = await res.text()
    expect(html).toContain('email')
    expect(html).not.toContain('<script>')
  })

  it('answers unknown paths with 404 problem+json', async () => {
    const res = await request('/nowhere')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})

describe('mapping', () => {
  it('splits a full name, keeps the message as a custom field and captures attribution', async () => {
    const email = unique()
    const res = await request('/forms/contact?utm_source=newsletter&utm_campaign=spring', {
      method: 'POST',
      body: new URLSearchParams({ email, name: 'Ada King Lovelace', message: 'Hello\nthere', utm_medium: 'email' }),
      headers: { accept: 'application/json', referer: 'https://www.example.com/pricing?utm_term=crm' },
    })
    expect(res.status).toBe(202)
    await waitForDelivery([((await res.json()) as Accepted).id])
    const [lead] = await leadsWithEmail(email)
    expect(lead).toMatchObject({ first_name: 'Ada', last_name: 'King Lovelace', name: 'Ada King Lovelace' })
    const meta = Object.fromEntries((lead!.metadata ?? []).map((m) => [m.slug, [m.value, m.format]]))
    expect(meta).toEqual({
      message: ['Hello\nthere', 'TEXTAREA'],
      utm_source: ['newsletter', 'TEXT'],
      utm_medium: ['email', 'TEXT'],
      utm_campaign: ['spring', 'TEXT'],
      utm_term: ['crm', 'TEXT'],
      landing_page: ['https://www.example.com/pricing', 'URL'],
    })
  })

  it('normalizes email case and phone formatting', async () => {
    const email = unique()
    const res = await postJson('/forms/contact', { email: `  ${email.toUpperCase()} `, phone: '+1 (555) 010-4477' })
    await waitForDelivery([((await res.json()) as Accepted).id])
    const [lead] = await leadsWithEmail(email)
    expect(lead?.telephones).toEqual([{ telephone: '+15550104477', type: 'WORK' }])
  })
})

describe('GET /healthz', () => {
  it('answers 200 with security headers and a request id', async () => {
    const res = await request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })
})

/** Keep junk out: honeypot, Turnstile, rate limits, origins, hostile input. */
import { beforeEach, describe, expect, it } from 'vitest'
import { fetchWith, operatorApi, postForm, postJson, request, standin, unique } from './helpers'

beforeEach(() => standin.reset())

const call = fetchWith

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields),
  headers: { accept: 'text/html', ...headers },
})

describe('honeypot', () => {
  it('answers a filled _gotcha exactly like a success, queues nothing and logs spam', async () => {
    const human = await call('/forms/contact', form({ email: unique(), _gotcha: '' }))
    const bot = await call('/forms/contact', form({ email: unique(), _gotcha: 'http://spam.example' }))
    expect(bot.res.status).toBe(human.res.status)
    expect(bot.res.headers.get('location')).toBe(human.res.headers.get('location'))
    expect(human.sent).toHaveLength(1)
    expect(bot.sent).toHaveLength(0)

    const ajaxBot = await call('/forms/contact', {
      method: 'POST',
      body: JSON.stringify({ email: 'not even valid', _gotcha: 'x' }),
      headers: { 'content-type': 'application/json' },
    })
    expect(ajaxBot.res.status).toBe(202)
    const { id } = (await ajaxBot.res.json()) as { id: string }
    expect(ajaxBot.sent).toHaveLength(0)
    expect(((await (await operatorApi(`/submissions/${id}`)).json()) as { state: string }).state).toBe('spam')
  })

  it('uses the configured honeypot name', async () => {
    const FORMS = { f: { honeypot: 'website_url' } }
    const bot = await call('/forms/f', form({ email: unique(), website_url: 'x' }), { FORMS })
    const notAHoneypot = await call('/forms/f', form({ email: unique(), _gotcha: 'x' }), { FORMS })
    expect(bot.sent).toHaveLength(0)
    expect(notAHoneypot.sent).toHaveLength(1)
  })
})

describe('Turnstile', () => {
  const FORMS = { guarded: { turnstile: true } }
  const token = { 'cf-turnstile-response': 'XXXX.DUMMY.TOKEN.XXXX' }

  it('queues a post whose token passes siteverify (always-pass test secret)', async () => {
    const { res, sent } = await call('/forms/guarded', form({ email: unique(), ...token }), { FORMS })
    expect(res.status).toBe(303)
    expect(sent).toHaveLength(1)
  })

  it('refuses with 403 when siteverify fails (always-fail test secret), as a page for a browser', async () => {
    const { res, sent } = await call('/forms/guarded', form({ email: unique(), ...token }), {
      FORMS,
      TURNSTILE_SECRET_KEY: '2x0000000000000000000000000000000AA',
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(sent).toHaveLength(0)
  })

  it('refuses an already spent token and a missing token with 403 problem+json', async () => {
    const spent = await call(
      '/forms/guarded',
      { method: 'POST', body: JSON.stringify({ email: unique(), ...token }), headers: { 'content-type': 'application/json' } },
      { FORMS, TURNSTILE_SECRET_KEY: '3x0000000000000000000000000000000AA' },
    )
    expect(spent.res.status).toBe(403)
    expect(await spent.res.json()).toMatchObject({ type: 'urn:lead-intake:problem:turnstile-failed', codes: ['timeout-or-duplicate'] })
    const missing = await call('/forms/guarded', { method: 'POST', body: JSON.stringify({ email: unique() }), headers: { 'content-type': 'application/json' } }, { FORMS })
    expect(missing.res.status).toBe(403)
    expect(spent.sent.length + missing.sent.length).toBe(0)
  })
})

describe('rate limit', () => {
  it('answers 429 with Retry-After once one client posts too often, and lets others through', async () => {
    const ip = '203.0.113.77'
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      statuses.push((await postJson('/forms/contact', { email: unique() }, { 'cf-connecting-ip': ip })).status)
    }
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true)
    const limited = await postJson('/forms/contact', { email: unique() }, { 'cf-connecting-ip': ip })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(limited.headers.get('content-type')).toBe('application/problem+json')
    expect((await postJson('/forms/contact', { email: unique() }, { 'cf-connecting-ip': '203.0.113.78' })).status).toBe(202)
  })
})

describe('origins', () => {
  const FORMS = { site: { allowed_origins: ['https://www.example.com'] }, strict: { allowed_origins: ['https://www.example.com'], reject_other_origins: true } }
  const ajax = (origin: string, formId = 'site') =>
    call(`/forms/${formId}`, { method: 'POST', body: JSON.stringify({ email: unique() }), headers: { 'content-type': 'application/json', origin } }, { FORMS })

  it('answers CORS preflight for an allowed origin and not for another', async () => {
    const preflight = (origin: string) =>
      call('/forms/site', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } }, { FORMS })
    const ok = await preflight('https://www.example.com')
    expect(ok.res.status).toBe(204)
    expect(ok.res.headers.get('access-control-allow-origin')).toBe('https://www.example.com')
    const other = await preflight('https://evil.example')
    expect(other.res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('lets any origin use the shipped contact form', async () => {
    const res = await request('/forms/contact', { method: 'OPTIONS', headers: { origin: 'https://anywhere.example', 'access-control-request-method': 'POST' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('refuses a fetch post from another origin with 403 and queues nothing', async () => {
    expect((await ajax('https://www.example.com')).res.status).toBe(202)
    const other = await ajax('https://evil.example')
    expect(other.res.status).toBe(403)
    expect(other.sent).toHaveLength(0)
  })

  it('refuses browser posts from other origins only when the form says so', async () => {
    const lenient = await call('/forms/site', form({ email: unique() }, { origin: 'https://mirror.example' }), { FORMS })
    expect(lenient.res.status).toBe(303)
    const strict = await call('/forms/strict', form({ email: unique() }, { origin: 'https://mirror.example' }), { FORMS })
    expect(strict.res.status).toBe(403)
    expect(strict.res.headers.get('content-type')).toContain('text/html')
    expect(strict.sent).toHaveLength(0)
  })
})

describe('hostile input', () => {
  const raw = (body: BodyInit, type: string) => call('/forms/contact', { method: 'POST', body, headers: { 'content-type': type, accept: 'application/json' } })

  it('refuses too many fields, an over-long value and an over-long name with 400', async () => {
    const many = new URLSearchParams({ email: unique() })
    for (let i = 0; i < 120; i++) many.append(`f${i}`, 'x')
    const tooMany = await raw(many.toString(), 'application/x-www-form-urlencoded')
    expect(tooMany.res.status).toBe(400)
    expect(await tooMany.res.json()).toMatchObject({ type: 'urn:lead-intake:problem:too-many-fields' })
    const long = await raw(JSON.stringify({ email: unique(), message: 'x'.repeat(10_001) }), 'application/json')
    expect(long.res.status).toBe(400)
    expect(await long.res.json()).toMatchObject({ 'invalid-params': [{ name: 'message' }] })
    const name = await raw(JSON.stringify({ email: unique(), ['n'.repeat(101)]: 'x' }), 'application/json')
    expect(name.res.status).toBe(400)
    expect(tooMany.sent.length + long.sent.length + name.sent.length).toBe(0)
  })

  it('refuses invalid UTF-8 in raw bytes and in percent-escapes with 400', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"email":"a@example.com","first_name":"'), 0xff, 0xfe, ...new TextEncoder().encode('"}')])
    const json = await raw(bytes, 'application/json')
    expect(json.res.status).toBe(400)
    expect(await json.res.json()).toMatchObject({ type: 'urn:lead-intake:problem:invalid-encoding' })
    const escaped = await raw(`email=${encodeURIComponent(unique())}&first_name=%FF%FE`, 'application/x-www-form-urlencoded')
    expect(escaped.res.status).toBe(400)
    const badEscape = await raw(`email=a%ZZ`, 'application/x-www-form-urlencoded')
    expect(badEscape.res.status).toBe(400)
  })

  it('strips control characters from values instead of refusing the lead', async () => {
    const { res, sent } = await raw(JSON.stringify({ email: unique(), first_name: 'Ada\u0000\u0007 \u001bLovelace', message: 'line 1\r\nline 2\u0000' }), 'application/json')
    expect(res.status).toBe(202)
    const draft = (sent[0] as { payload: { draft: { firstName: string; metadata: { slug: string; value: string }[] } } }).payload.draft
    expect(draft.firstName).toBe('Ada Lovelace')
    expect(draft.metadata.find((m) => m.slug === 'message')?.value).toBe('line 1\nline 2')
  })
})

describe('the shipped form through the real queue', () => {
  it('a browser post with an empty honeypot still reaches the CRM', async () => {
    const email = unique()
    const res = await postForm('/forms/contact', { email, _gotcha: '' })
    expect(res.status).toBe(303)
    const { waitFor, leadsWithEmail } = await import('./helpers')
    await waitFor(async () => (await leadsWithEmail(email)).length === 1, 15_000, 'lead')
  })
})

/**
 * Hostile input and operator safety: inherited config keys, a Turnstile token spent by a typo,
 * cross-site operator posts, settings out of range, IPv6 clients, keyed hashes, readiness.
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import worker from '../src/index'
import { clientKey } from '../src/guards/rate-limit'
import { hashIdentifier, plainHash } from '../src/lead/identity'
import { fetchWith, idOf, operatorApi, postJson, request, standin, unique, waitForState } from './helpers'

beforeEach(() => standin.reset())

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
})

describe('config lookups by user input', () => {
  it('answers 404 problem+json, never 500, for form ids that are Object.prototype keys', async () => {
    for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await postJson(`/forms/${id}`, { email: unique() })
      expect(res.status, id).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      // The CORS preflight looks the form up too.
      const preflight = await request(`/forms/${id}`, { method: 'OPTIONS', headers: { origin: 'https://x.example', 'access-control-request-method': 'POST' } })
      expect(preflight.status, id).toBeLessThan(500)
    }
  })
})

describe('Turnstile', () => {
  it('validates the fields before it spends the single-use token', async () => {
    // With this secret siteverify answers "already spent": a post that reaches it gets 403.
    const spent = { TURNSTILE_SECRET_KEY: '3x0000000000000000000000000000000AA', FORMS: { guarded: { turnstile: true } } }
    const { res } = await fetchWith('/forms/guarded', json({ email: 'typo@', 'cf-turnstile-response': 'token' }), spent)
    expect(res.status).toBe(422)
  })
})

describe('operator routes refuse cross-site requests', () => {
  const basic = 'Basic ' + btoa('operator:test-operator-token')
  it('refuses a cross-site form post carrying cached Basic credentials', async () => {
    const res = await request('/operator/replay-failed', {
      method: 'POST',
      headers: { authorization: basic, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('Forbidden') // a browser's form post gets the readable page, as every form error does
    expect(await (await operatorApi('/submissions?state=queued')).json()).toEqual({ submissions: [] })
  })

  it('takes the same post from its own origin, and a Bearer token from a script', async () => {
    const own = await request('/operator/replay-failed', {
      method: 'POST',
      headers: { authorization: basic, origin: 'https://intake.example', 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(own.status).toBe(202)
    expect((await operatorApi('/replay-failed', { method: 'POST' })).status).toBe(202)
  })
})

describe('settings', () => {
  it('refuses UNIFIED_TIMEOUT_MS that is not a positive, bounded number of milliseconds', async () => {
    const { deliverySettings } = await import('../src/config')
    for (const value of ['0', '-5', 'abc', '600000', '1.5']) expect(() => deliverySettings({ UNIFIED_TIMEOUT_MS: value }), value).toThrow(/UNIFIED_TIMEOUT_MS/)
    expect(deliverySettings({ UNIFIED_TIMEOUT_MS: '2500' }).UNIFIED_TIMEOUT_MS).toBe(2500)
    expect(deliverySettings({}).UNIFIED_TIMEOUT_MS).toBe(10_000)
  })
})

describe('rate limit', () => {
  it('counts an IPv6 client by its /64', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'))
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'))
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7')
  })

  it('limits one /64 that rotates its addresses', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      // Every post from another address of one /64, as a client rotating its privacy addresses would.
      const res = await postJson('/forms/contact', { email: unique('v6') }, { 'cf-connecting-ip': `2001:db8:77:9::${(i + 1).toString(16)}` })
      statuses.push(res.status)
    }
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true)
    expect(statuses[10]).toBe(429)
  })
})

describe('keyed hashes', () => {
  it('stores an HMAC under HASH_SECRET, not a plain SHA-256 anyone can recompute', async () => {
    const email = unique('hmac')
    const id = await idOf(await postJson('/forms/contact', { email }))
    const row = await waitForState(id, 'written')
    const stored = (row as unknown as { key_hash: string }).key_hash
    expect(stored).toBe(await hashIdentifier(env.HASH_SECRET, { kind: 'email', value: email }))
    expect(stored).not.toBe(await plainHash({ kind: 'email', value: email }))
  })

  it('moves rows hashed the old way to the keyed hash on the daily cron', async () => {
    const plain = await plainHash({ kind: 'email', value: 'old-row@example.com' })
    await env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, key_hash, state) VALUES ('old-hash', ?1, ?1, 'form', 'contact', ?2, 'written')`)
      .bind(Date.now(), plain)
      .run()
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
    const row = await env.DB.prepare(`SELECT key_hash, hash_v FROM submissions WHERE id = 'old-hash'`).first<{ key_hash: string; hash_v: number }>()
    expect(row).toEqual({ key_hash: await hashIdentifier(env.HASH_SECRET, { kind: 'email', value: 'old-row@example.com' }), hash_v: 2 })
  })
})

/** A D1 without the schema, as after a plain `wrangler dev` with no migrations applied. */
const unmigrated = {
  prepare: () => {
    const fail = async () => {
      throw new Error('D1_ERROR: no such table: delivery_ids: SQLITE_ERROR')
    }
    const statement = { bind: () => statement, run: fail, first: fail, all: fail, raw: fail }
    return statement
  },
  batch: async () => {
    throw new Error('D1_ERROR: no such table: identities: SQLITE_ERROR')
  },
}

describe('a deployment whose D1 migrations were not applied', () => {
  it('says so in /healthz?ready, with the command that fixes it, and reports settings without secrets', async () => {
    const ok = await request('/healthz?ready')
    expect(ok.status).toBe(200)
    const report = (await ok.json()) as { status: string; schema: { ok: boolean; latest: string }; settings: Record<string, string> }
    expect(report).toMatchObject({ status: 'ready', schema: { ok: true }, settings: { UNIFIED_API_KEY: 'set', HASH_SECRET: 'set' } })
    expect(JSON.stringify(report)).not.toContain(env.UNIFIED_API_KEY)
    const { TEST_MIGRATIONS } = env as unknown as { TEST_MIGRATIONS: { name: string }[] }
    expect(TEST_MIGRATIONS.at(-1)!.name).toBe(`${report.schema.latest}.sql`)

    const { res } = await fetchWith('/healthz?ready', {}, { DB: unmigrated })
    expect(res.status).toBe(503)
    const broken = (await res.json()) as { problems: string[] }
    expect(broken.problems.join(' ')).toContain('npx wrangler d1 migrations apply lead-intake')
  })

  it('logs what is missing and how to fix it when a webhook cannot be recorded', async () => {
    const lines: string[] = []
    vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line))
    const body = JSON.stringify({ id: 'evt_schema', type: 'customer.created', data: { object: { object: 'customer', id: 'cus_1', email: unique() } } })
    const { default: Stripe } = await import('stripe')
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret: 'whsec_test_current_9b2f' })
    const { res } = await fetchWith('/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': signature, 'content-type': 'application/json' } }, { DB: unmigrated })
    vi.restoreAllMocks()
    expect(res.status).toBe(503)
    expect(lines.join('\n')).toContain('D1 schema missing or out of date: run npx wrangler d1 migrations apply lead-intake')
  })
})

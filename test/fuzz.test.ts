/**
 * Thousands of random requests at every public route: never a 5xx, never an
 * uncaught exception, every rejection a problem (or a page for a browser),
 * and nothing queued unless the answer says it was accepted.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import worker from '../src/index'

const paths = fc.oneof(
  { arbitrary: fc.constant('/forms/contact'), weight: 6 },
  {
    arbitrary: fc.constantFrom('/forms/nope', '/forms/%ff', '/forms/', '/healthz', '/thanks', '/operator/', '/operator/submissions',
      '/operator/submissions/x/replay', '/operator/replay-failed', '/webhooks/typeform', '/webhooks/stripe', '/'),
    weight: 3,
  },
  { arbitrary: fc.webPath(), weight: 1 },
)
const types = fc.oneof(
  fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'application/json; charset=utf-8', ''),
  fc.string({ maxLength: 40 }),
)
const bodies = fc.oneof(
  fc.json().map((j) => new TextEncoder().encode(j)),
  fc.dictionary(fc.constantFrom('email', 'phone', 'first_name', 'name', '_gotcha', 'message', 'utm_source', 'company'), fc.oneof(fc.string(), fc.emailAddress()))
    .map((d) => new TextEncoder().encode(new URLSearchParams(d).toString())),
  fc.uint8Array({ maxLength: 2048 }),
  fc.string({ maxLength: 500 }).map((s) => new TextEncoder().encode(s)),
  fc.constant(new TextEncoder().encode('--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--x--')),
)
const headerValue = fc.string({ maxLength: 60 }).filter((s) => !/[\r\n\0]/.test(s) && s.trim() === s)

const requests = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'OPTIONS', 'DELETE'),
  path: paths,
  type: types,
  body: bodies,
  accept: fc.option(fc.constantFrom('application/json', 'text/html', '*/*', 'application/problem+json'), { nil: undefined }),
  origin: fc.option(fc.oneof(fc.constant('https://www.example.com'), fc.webUrl()), { nil: undefined }),
  authorization: fc.option(headerValue, { nil: undefined }),
  signature: fc.option(headerValue, { nil: undefined }),
})

describe('fuzz', () => {
  it('never answers 5xx and queues only what it accepts', async () => {
    // Thousands of request log lines say nothing a failure message would not.
    for (const level of ['log', 'info', 'warn', 'error'] as const) vi.spyOn(console, level).mockImplementation(() => undefined)
    let queued = 0
    const LEADS = { send: async () => void (queued += 1) }
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        const before = queued
        const headers = new Headers({ 'cf-connecting-ip': `2001:db8:${crypto.randomUUID().slice(0, 4)}::1` })
        if (r.type) headers.set('content-type', r.type)
        if (r.accept) headers.set('accept', r.accept)
        if (r.origin) headers.set('origin', r.origin)
        if (r.authorization) headers.set('authorization', r.authorization)
        if (r.signature) {
          headers.set('typeform-signature', r.signature)
          headers.set('stripe-signature', r.signature)
        }
        let url: string
        try {
          url = new URL(r.path, 'https://intake.example').href
        } catch {
          return
        }
        const init: RequestInit = { method: r.method, headers, redirect: 'manual' }
        if (!['GET', 'OPTIONS'].includes(r.method)) init.body = r.body
        const ctx = createExecutionContext()
        const res = await worker.fetch(new Request(url, init), { ...env, LEADS } as unknown as Env, ctx)
        await waitOnExecutionContext(ctx)
        const type = res.headers.get('content-type') ?? ''
        const accepted = [200, 202, 303].includes(res.status)
        expect(res.status, `${r.method} ${r.path} → ${res.status}`).toBeLessThan(500)
        if (res.status >= 400) expect(type).toMatch(/^(application\/problem\+json|text\/html)/)
        if (!accepted) expect(queued).toBe(before)
        await res.arrayBuffer()
      }),
      { numRuns: 2000 },
    )
    vi.restoreAllMocks()
  })
})

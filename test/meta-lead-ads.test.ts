/**
 * `preset = "meta-lead-ads"` through HTTP and the real queue: Meta's subscription check, the
 * docs' leadgen notification signed as Meta signs it (X-Hub-Signature-256), each lead of a
 * batch accepted once by its `leadgen_id` (digits kept past 2^53), forged and tampered
 * deliveries refused with nothing queued. The endpoint `meta-ads` and its secrets are bindings
 * of vitest.config.ts, so the consumer (which reads leads back) sees them too.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import leadgenExample from './fixtures/meta-lead-ads/leadgen.docs-example.json?raw'
import { fetchWith, hex, hmac, request, standin } from './helpers'

beforeEach(() => standin.reset())

const APP_SECRET = 'meta-app-secret-3b8d'
const VERIFY_TOKEN = 'meta-verify-token-c41e'

/** A fresh lead id of 19 digits (above 2^53: a JS number would change it). */
const newLeadId = () => `12${Array.from({ length: 17 }, () => Math.floor(Math.random() * 10)).join('')}`

/** The docs' notification, with lead ids of our own written as the docs write them: bare JSON numbers. */
const notification = (...ids: string[]) => {
  const [a = newLeadId(), b = newLeadId()] = ids
  return leadgenExample.replace('"leadgen_id": 123123123123,', `"leadgen_id": ${a},`).replace('"leadgen_id": 123123123124,', `"leadgen_id": ${b},`)
}

const signed = async (body: string, secret = APP_SECRET) => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hex(await hmac(secret, body))}` },
})

const subscribe = (query: Record<string, string>) => request(`/webhooks/meta-ads?${new URLSearchParams(query)}`)

describe('subscription check (GET)', () => {
  it('echoes hub.challenge as text/plain when the verify token matches', async () => {
    const res = await subscribe({ 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': VERIFY_TOKEN })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await res.text()).toBe('1158201444')
  })

  it('answers 403 to a wrong or missing token and to another mode', async () => {
    for (const q of <Record<string, string>[]>[
      { 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': 'guess' },
      { 'hub.mode': 'subscribe', 'hub.challenge': '1158201444' },
      { 'hub.mode': 'unsubscribe', 'hub.challenge': '1158201444', 'hub.verify_token': VERIFY_TOKEN },
    ]) {
      const res = await subscribe(q)
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
  })

  it('answers 503 naming WEBHOOK_TOKEN_META_ADS while it is not set, and 404 for an endpoint that makes no check', async () => {
    const { res } = await fetchWith(`/webhooks/meta-ads?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x`, {}, { WEBHOOK_TOKEN_META_ADS: '' })
    expect(res.status).toBe(503)
    expect(((await res.json()) as { detail: string }).detail).toContain('WEBHOOK_TOKEN_META_ADS')
    expect((await request('/webhooks/typeform?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x')).status).toBe(404)
  })
})

describe('notifications (POST)', () => {
  it('queues each leadgen change of the docs example as its own lead to read back, ids digit for digit', async () => {
    const [a, b] = [newLeadId(), newLeadId()]
    const { res, sent } = await fetchWith('/webhooks/meta-ads', await signed(notification(a, b)))
    expect(res.status).toBe(200)
    const answer = (await res.json()) as { status: string; leads: { status: string }[] }
    expect(answer).toMatchObject({ status: 'accepted', leads: [{ status: 'accepted' }, { status: 'accepted' }] })
    const refs = (sent as { payload: { fetch: { id: string; hints: Record<string, string> }; draft?: unknown } }[]).map((m) => m.payload)
    expect(refs.map((p) => p.fetch.id)).toEqual([a, b])
    expect(refs[0]!.fetch.hints).toEqual({ page_id: '123123123', form_id: '12312312312', adgroup_id: '12312312312', ad_id: '12312312312', created_time: '1440120384' })
    expect(refs[0]!.draft).toBeUndefined()
  })

  it('acknowledges a redelivered lead as a duplicate and queues only the new one of a batch', async () => {
    const [a, b] = [newLeadId(), newLeadId()]
    await fetchWith('/webhooks/meta-ads', await signed(notification(a, newLeadId())))
    const { res, sent } = await fetchWith('/webhooks/meta-ads', await signed(notification(a, b)))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ leads: [{ status: 'duplicate' }, { status: 'accepted' }] })
    expect((sent as { payload: { fetch: { id: string } } }[]).map((m) => m.payload.fetch.id)).toEqual([b])
  })

  it('refuses a forged, a tampered and an unsigned notification (401), queueing nothing', async () => {
    const body = notification()
    for (const init of [
      await signed(body, 'not-the-app-secret'),
      { ...(await signed(body)), body: body.replace('"page_id": 123123123,', '"page_id": 123123124,') },
      { method: 'POST', body, headers: { 'content-type': 'application/json' } },
    ]) {
      const { res, sent } = await fetchWith('/webhooks/meta-ads', init)
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(sent).toEqual([])
    }
  })

  it('answers 400 to a signed body that is no leadgen notification, and to a lead id that is not digits, queueing nothing', async () => {
    for (const body of ['{"object":"page"}', notification('abc'), '[1,2]', 'not json']) {
      const { res, sent } = await fetchWith('/webhooks/meta-ads', await signed(body))
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(sent).toEqual([])
    }
  })

  it('acknowledges a notification with no leadgen change as ignored', async () => {
    const body = JSON.stringify({ object: 'page', entry: [{ id: '1', time: 1, changes: [{ field: 'feed', value: { item: 'status' } }] }] })
    const { res, sent } = await fetchWith('/webhooks/meta-ads', await signed(body))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ignored', leads: [{ status: 'ignored', reason: 'no-lead-in-delivery' }] })
    expect(sent).toEqual([])
  })
})

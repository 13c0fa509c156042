/**
 * `preset = "meta-lead-ads"` through HTTP and the real queue: Meta's subscription check, the
 * docs' leadgen notification signed as Meta signs it (X-Hub-Signature-256), each lead of a
 * batch accepted once by its `leadgen_id` (digits kept past 2^53), forged and tampered
 * deliveries refused with nothing queued. The endpoint `meta-ads` and its secrets are bindings
 * of vitest.config.ts, so the consumer (which reads leads back) sees them too.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import leadgenExample from './fixtures/meta-lead-ads/leadgen.docs-example.json?raw'
import { fetchWith, hex, hmac, leadsWithEmail, request, standin, standinUrl, submission, waitFor, waitForState } from './helpers'

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

// --- the consumer reads each lead back from (the stand-in's) Graph ---

const graph = {
  seed: (lead: Record<string, unknown>) => fetch(`${standinUrl}/_standin/graph/leads`, { method: 'POST', body: JSON.stringify(lead) }),
  errors: (errors: { code: number; error_subcode?: number }[]) => fetch(`${standinUrl}/_standin/graph/errors`, { method: 'POST', body: JSON.stringify(errors) }),
  revoke: (revoked: string[]) => fetch(`${standinUrl}/_standin/graph/tokens`, { method: 'POST', body: JSON.stringify({ revoked }) }),
  calls: async () => (await (await fetch(`${standinUrl}/_standin/graph/calls`)).json()) as { id: string; token: string }[],
}

/** A lead as Graph's lead read returns it (the fields the docs list; values made up here, see SOURCES.md). */
const graphLead = (id: string, email: string, extra: Record<string, unknown> = {}) => ({
  id,
  created_time: '2026-03-02T09:14:05+0000',
  ad_id: '120208123456789012',
  form_id: '12312312312',
  campaign_id: '120208123456780000',
  is_organic: false,
  platform: 'ig',
  field_data: [
    { name: 'full_name', values: ['Joe Example'] },
    { name: 'email', values: [email] },
    { name: 'phone_number', values: ['+14155550123'] },
    { name: 'company_name', values: ['Example Motors'] },
    { name: 'job_title', values: ['Fleet manager'] },
    { name: 'city', values: ['Oakland'] },
    { name: 'car_make', values: ['Honda'] },
  ],
  custom_disclaimer_responses: [{ checkbox_key: 'optional_1', is_checked: '1' }],
  ...extra,
})

/** Posts a signed notification of `ids` through the real queue; the submissions' ids. */
async function notify(...ids: string[]): Promise<string[]> {
  const { res } = await fetchWith('/webhooks/meta-ads', await signed(notification(...ids)), {}, { realQueue: true })
  expect(res.status).toBe(200)
  return ((await res.json()) as { leads: { id: string }[] }).leads.map((l) => l.id)
}

/** The At a glance alert line about held leads, if any (the console's 30 s refresh part). */
const heldAlert = async () => {
  const html = await (await request('/operator/?part=glance', { headers: { authorization: `Basic ${btoa('operator:test-operator-token')}` } })).text()
  return html.match(/<p class="alert"><strong>[^<]*leads held since.*?<\/p>/)?.[0]
}

const metadataOf = (lead: { metadata?: { slug?: string; value?: unknown }[] }) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))

describe('reading the lead back', () => {
  it('writes each lead of a batch as Graph has it: field_data mapped, ad ids as text, consent from the disclaimer', async () => {
    const [a, b] = [newLeadId(), newLeadId()]
    const [ea, eb] = [`joe-${a}@example.com`, `ann-${b}@example.com`]
    await graph.seed(graphLead(a, ea))
    await graph.seed(graphLead(b, eb, { field_data: [{ name: 'first_name', values: ['Ann'] }, { name: 'last_name', values: ['Lee'] }, { name: 'email', values: [eb] }] }))
    const [sa, sb] = await notify(a, b)
    await waitForState(sa!, 'written')
    await waitForState(sb!, 'written')
    const [joe] = await leadsWithEmail(ea)
    expect(joe).toMatchObject({ first_name: 'Joe', last_name: 'Example', company_name: 'Example Motors', source: 'Facebook Lead Ads' })
    expect(joe!.telephones?.[0]?.telephone).toBe('+14155550123')
    expect(metadataOf(joe!)).toMatchObject({
      city: 'Oakland',
      car_make: 'Honda',
      meta_ad_id: '120208123456789012',
      meta_form_id: '12312312312',
      meta_campaign_id: '120208123456780000',
      meta_is_organic: 'false',
      meta_platform: 'ig',
      disclaimer_optional_1: true,
    })
    expect(await leadsWithEmail(eb)).toMatchObject([{ first_name: 'Ann', last_name: 'Lee' }])
    const calls = await graph.calls()
    expect(calls.map((c) => c.id).sort()).toEqual([a, b].sort())
    expect(calls.every((c) => c.token === 'meta-page-token-77a0')).toBe(true)
  })

  it('a redelivered notification reads nothing and writes nothing again', async () => {
    const a = newLeadId()
    await graph.seed(graphLead(a, `re-${a}@example.com`))
    const [first] = await notify(a)
    await waitForState(first!, 'written')
    const before = { graph: (await graph.calls()).length, crm: await standin.counters() }
    const { res } = await fetchWith('/webhooks/meta-ads', await signed(notification(a, newLeadId())), {}, { realQueue: false })
    expect(await res.json()).toMatchObject({ leads: [{ status: 'duplicate' }, { status: 'accepted' }] })
    await new Promise((r) => setTimeout(r, 1500))
    expect((await graph.calls()).length).toBe(before.graph)
    expect(await standin.counters()).toEqual(before.crm)
  })

  it('a lead deleted on Facebook (Graph 100/33) is ignored with the reason, and nothing is written', async () => {
    const [id] = await notify(newLeadId())
    const row = await waitForState(id!, 'ignored')
    expect(row.last_error).toContain('no longer exists on Facebook')
    expect(await standin.counters()).toEqual({})
  })

  it('a rate limit (codes 4, 17, 32, 613) waits without spending an attempt, then the lead is written', async () => {
    const a = newLeadId()
    await graph.seed(graphLead(a, `rl-${a}@example.com`))
    await graph.errors([{ code: 4 }, { code: 17 }, { code: 32 }, { code: 613 }, { code: 4 }])
    const [id] = await notify(a)
    const row = await waitForState(id!, 'written', 90_000)
    expect(row.attempts).toBeLessThanOrEqual(1)
    // The batch's other lead is unknown to Graph (ignored): five rate-limit answers, then one read of each.
    expect(await graph.calls()).toHaveLength(7)
  }, 120_000)

  it('an expired token (190) holds the lead with the fix, spends no attempt, and the lead is written once the token works again', async () => {
    const a = newLeadId()
    await graph.seed(graphLead(a, `tok-${a}@example.com`))
    await graph.revoke(['meta-page-token-77a0'])
    const [id] = await notify(a)
    const held = await waitFor(async () => {
      const row = await submission(id!)
      return row?.state === 'retrying' && row.last_error?.includes('WEBHOOK_ACCESS_TOKEN_META_ADS') ? row : undefined
    })
    expect(held.last_error).toContain('OAuth error 190')
    expect(held.attempts).toBe(0)
    // The console's At a glance: one alert line for the source, since when, and the fix.
    const alert = await heldAlert()
    expect(alert).toContain('meta-ads: leads held since')
    expect(alert).toContain('OAuth error 190')
    expect(alert).toContain('npx wrangler secret put WEBHOOK_ACCESS_TOKEN_META_ADS')
    // The page token replaced (here: Graph takes it again), the held lead is read and written, and the alert is gone.
    await graph.revoke([])
    await waitForState(id!, 'written', 60_000)
    expect(await leadsWithEmail(`tok-${a}@example.com`)).toHaveLength(1)
    expect(await heldAlert()).toBeUndefined()
  }, 120_000)
})

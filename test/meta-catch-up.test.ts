/**
 * Meta Lead Ads catch-up (src/sources/catch-up.ts) through the Worker's cron and the real queue:
 * each form listed in `forms` is read from the stand-in's Graph (`GET /<form_id>/leads`, filtered on
 * time_created, cursor paging) and every lead is accepted exactly as the webhook accepts it, keyed by
 * its leadgen_id. So a lead whose webhook never came is written once, one seen both ways is written
 * once, and the watermark moves only when a read's leads are all queued.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import leadgenExample from './fixtures/meta-lead-ads/leadgen.docs-example.json?raw'
import { fetchWith, hex, hmac, leadsWithEmail, operatorApi, request, standin, standinUrl, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

const CRON = '*/15 * * * *'
const digits = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('')
/** Ids above 2^53, as Meta's are. */
const newLeadId = () => `12${digits(17)}`
const newFormId = () => `9${digits(14)}`

const post = (path: string, body: unknown) => fetch(`${standinUrl}/_standin/graph/${path}`, { method: 'POST', body: JSON.stringify(body) })
const graph = {
  seed: (lead: Record<string, unknown>) => post('leads', lead),
  revoke: (revoked: string[]) => post('tokens', { revoked }),
  listErrors: (errors: { code: number }[]) => post('list-errors', errors),
  pageSize: (size: number) => post('page-size', { size }),
  calls: async () => (await (await fetch(`${standinUrl}/_standin/graph/calls`)).json()) as { id: string }[],
  listCalls: async () => (await (await fetch(`${standinUrl}/_standin/graph/list-calls`)).json()) as { form: string; token: string; filtering: string | null; after: string | null }[],
}

/** Graph's time format, `minutesAgo` before now. */
const graphTime = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, '+0000')
const unix = (graphTimeText: string) => Math.floor(Date.parse(graphTimeText) / 1000)

const graphLead = (id: string, form: string, email: string, minutesAgo: number) => ({
  id,
  form_id: form,
  created_time: graphTime(minutesAgo),
  ad_id: '120208123456789012',
  field_data: [
    { name: 'full_name', values: ['Cat Chup'] },
    { name: 'email', values: [email] },
  ],
})

/** The endpoint `meta-ads` as vitest.config.ts binds it, with `forms` to catch up on. */
const withForms = (forms: string[]) => ({
  WEBHOOKS: JSON.stringify({ 'meta-ads': { preset: 'meta-lead-ads', graph_api_url: `${standinUrl}/graph/v25.0`, forms } }),
})

/**
 * Runs the Worker's scheduled handler as the catch-up's cron. The real queue unless `send` stands in for
 * it (what it is given is returned; it may throw, as a queue that refuses).
 */
async function runCatchUp(overrides: Record<string, unknown>, send?: (m: unknown) => void, at = Date.now()) {
  const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import('cloudflare:test')
  const worker = (await import('../src/index')).default
  const sent: { payload: { fetch: { id: string } } }[] = []
  const LEADS = send
    ? {
        send: async (m: unknown) => {
          send(m)
          sent.push(m as (typeof sent)[number])
        },
      }
    : env.LEADS
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: CRON, scheduledTime: at }), { ...env, LEADS, ...overrides } as unknown as Env, ctx)
  await waitOnExecutionContext(ctx)
  return sent.map((m) => m.payload.fetch.id)
}
const record = () => () => undefined

/** The At a glance alert line about held leads, if any (the console's 30 s refresh part). */
const heldAlert = async () => {
  const html = await (await request('/operator/?part=glance', { headers: { authorization: `Basic ${btoa('operator:test-operator-token')}` } })).text()
  return html.match(/<p class="alert"><strong>[^<]*leads held since.*?<\/p>/)?.[0]
}

/** The `time_created` value a listing call filtered on. */
const after = (call: { filtering: string | null }) => (JSON.parse(call.filtering!) as { field: string; operator: string; value: number }[])[0]!

describe('catch-up', () => {
  it('writes a lead whose webhook never came, once; the next run reads on from the newest lead and queues nothing again', async () => {
    const form = newFormId()
    const [a, b] = [newLeadId(), newLeadId()]
    const [ea, eb] = [`cu-a-${a}@example.com`, `cu-b-${b}@example.com`]
    const newest = graphLead(b, form, eb, 5)
    await graph.seed(graphLead(a, form, ea, 10))
    await graph.seed(newest)
    await runCatchUp(withForms([form]))
    // Both written, each with its timeline event (the last call of a write).
    await waitFor(async () => (await leadsWithEmail(ea)).length === 1 && (await leadsWithEmail(eb)).length === 1 && (await standin.counters())['event.create'] === 2, 30_000, 'both leads written')
    const [first] = await graph.listCalls()
    expect(first).toMatchObject({ form, token: 'meta-page-token-77a0' })
    // Never read before: from a day back (and the overlap); Graph's filter as the docs write it.
    expect(after(first!)).toMatchObject({ field: 'time_created', operator: 'GREATER_THAN' })
    expect(Math.floor(Date.now() / 1000) - 86_400 - 300 - after(first!).value).toBeLessThan(60)
    const before = { reads: (await graph.calls()).length, crm: await standin.counters() }
    expect(await runCatchUp(withForms([form]), record())).toEqual([])
    // The second read starts at the newest lead seen (less the overlap), and its leads cost no call.
    expect(after((await graph.listCalls())[1]!).value).toBe(unix(newest.created_time) - 300)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await graph.calls()).length).toBe(before.reads)
    expect(await standin.counters()).toEqual(before.crm)
    expect(await leadsWithEmail(ea)).toHaveLength(1)
  })

  it('a lead seen both ways is written once: the catch-up does not queue what the webhook brought, nor the webhook what the catch-up did', async () => {
    const form = newFormId()
    const [a, b] = [newLeadId(), newLeadId()]
    await graph.seed(graphLead(a, form, `both-a-${a}@example.com`, 3))
    // The webhook brings `a` (the docs' notification, signed as Meta signs it).
    const body = leadgenExample.replace('"leadgen_id": 123123123123,', `"leadgen_id": ${a},`).replace('"leadgen_id": 123123123124,', `"leadgen_id": ${newLeadId()},`)
    const init = { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hex(await hmac('meta-app-secret-3b8d', body))}` } }
    const { res } = await fetchWith('/webhooks/meta-ads', init, {}, { realQueue: true })
    const [viaWebhook] = ((await res.json()) as { leads: { id: string }[] }).leads
    await waitForState(viaWebhook!.id, 'written')
    // The catch-up finds it too, and `b`, whose webhook never came.
    await graph.seed(graphLead(b, form, `both-b-${b}@example.com`, 2))
    expect(await runCatchUp(withForms([form]), record())).toEqual([b])
    // Meeting `a` again is quiet: no `duplicate-delivery` row for each lead the webhook already brought, every 15 minutes.
    const dup = await operatorApi(`/submissions?source=meta-ads&form=${form}&state=duplicate-delivery`)
    expect(((await dup.json()) as { submissions: unknown[] }).submissions).toEqual([])
    // Meta's webhook for `b` arriving late is a duplicate.
    const late = body.replace(`"leadgen_id": ${a},`, `"leadgen_id": ${b},`)
    const { res: lateRes, sent } = await fetchWith('/webhooks/meta-ads', { ...init, body: late, headers: { ...init.headers, 'x-hub-signature-256': `sha256=${hex(await hmac('meta-app-secret-3b8d', late))}` } })
    expect(await lateRes.json()).toMatchObject({ leads: [{ status: 'duplicate' }, { status: 'duplicate' }] })
    expect(sent).toEqual([])
    expect(await leadsWithEmail(`both-a-${a}@example.com`)).toHaveLength(1)
  })

  it('follows Graph\'s cursor paging to the last page, ids digit for digit', async () => {
    const form = newFormId()
    const ids = [newLeadId(), newLeadId(), newLeadId()]
    for (const [i, id] of ids.entries()) await graph.seed(graphLead(id, form, `page-${id}@example.com`, 10 + i))
    await graph.pageSize(1)
    expect((await runCatchUp(withForms([form]), record())).sort()).toEqual([...ids].sort())
    const calls = await graph.listCalls()
    expect(calls).toHaveLength(3)
    expect(calls[0]!.after).toBeNull()
    expect(calls.slice(1).every((c) => c.after)).toBe(true)
  })

  it('a refused token (190) stops the read and leaves the watermark; once the token works the next run brings the lead', async () => {
    const [form, other] = [newFormId(), newFormId()]
    const a = newLeadId()
    await graph.seed(graphLead(a, form, `tok-${a}@example.com`, 4))
    await graph.revoke(['meta-page-token-77a0'])
    expect(await runCatchUp(withForms([form, other]), record())).toEqual([])
    // The token is the endpoint's: its other form is not asked.
    expect((await graph.listCalls()).map((c) => c.form)).toEqual([form])
    // The console's At a glance says so, with the fix, until a read works again.
    expect(await heldAlert()).toContain('meta-ads: leads held since')
    expect(await heldAlert()).toContain('npx wrangler secret put WEBHOOK_ACCESS_TOKEN_META_ADS')
    await graph.revoke([])
    // The next run, 15 minutes on, reads from where the refused one would have: a new form's start is kept at once.
    expect(await runCatchUp(withForms([form, other]), record(), Date.now() + 15 * 60_000)).toEqual([a])
    expect(await heldAlert()).toBeUndefined()
    const [refused, retried] = await graph.listCalls()
    expect(after(retried!).value).toBe(after(refused!).value)
  })

  it('a rate limit (Graph 4, 17, 32, 613) stops the read for now; the next run brings the lead', async () => {
    const form = newFormId()
    const a = newLeadId()
    await graph.seed(graphLead(a, form, `rl-${a}@example.com`, 4))
    for (const code of [4, 17, 32, 613]) {
      await graph.listErrors([{ code }])
      expect(await runCatchUp(withForms([form]), record())).toEqual([])
    }
    expect(await runCatchUp(withForms([form]), record())).toEqual([a])
    const values = (await graph.listCalls()).map((c) => after(c).value)
    expect(new Set(values).size).toBe(1)
  })

  it('a lead the queue refuses leaves the watermark: the next run queues it, and the ones queued before are duplicates', async () => {
    const form = newFormId()
    const [older, newer] = [newLeadId(), newLeadId()]
    await graph.seed(graphLead(older, form, `q-${older}@example.com`, 20))
    await graph.seed(graphLead(newer, form, `q-${newer}@example.com`, 1))
    let n = 0
    const refuseSecond = () => {
      if (++n === 2) throw new Error('queue unavailable')
    }
    // Graph lists the newest first: `newer` is queued, then the queue refuses `older`.
    expect(await runCatchUp(withForms([form]), refuseSecond)).toEqual([newer])
    expect(await runCatchUp(withForms([form]), record())).toEqual([older])
    const [first, second] = await graph.listCalls()
    expect(after(second!).value).toBe(after(first!).value)
  })
})

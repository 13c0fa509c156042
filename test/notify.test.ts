/**
 * New-lead notifications (README "Notifications"), through HTTP and the real queues: the
 * `notify-hook` endpoint (vitest.config.ts) names the channels `sales` (Slack), `teams` (Teams)
 * and `hooks` (a signed outbound webhook), each a receiver of the stand-in's (standin/sinks.ts).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { handleBatch } from '../src/delivery/consumer'
import type { AnyLeadMessage } from '../src/lead/message'
import { handleNotifications } from '../src/delivery/notifications'
import { notifyHeld } from '../src/notify/enqueue'
import type { NotifyMessage } from '../src/notify/message'
import { checkConfig } from '../src/startup'
import { verifyStandardWebhooks } from '../src/sources/verify/standard-webhooks'
import { b64, client, hmac, operatorApi, request, standin, unique, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

const ENDPOINT_SECRET = 'whsec_kSSZaucohHkf6ckTl/Hstmg9Jv765fSJ'
const HOOKS_SECRET = 'whsec_ubC3zHnriAwynj6wJqkYsTmPvtxaaNBu'

/** A Standard Webhooks delivery to /webhooks/notify-hook, signed as a sender would (independently of the code under test). */
async function deliver(person: Record<string, string>, id = `msg_${crypto.randomUUID().slice(0, 8)}`) {
  const body = JSON.stringify({ type: 'person.created', ...person })
  const timestamp = Math.floor(Date.now() / 1000)
  const key = Uint8Array.from(atob(ENDPOINT_SECRET.slice(6)), (c) => c.charCodeAt(0))
  const signature = `v1,${b64(await hmac(key, `${id}.${timestamp}.${body}`))}`
  const res = await request('/webhooks/notify-hook', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature },
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { id: string }).id
}

const person = () => ({ email: unique('notify'), first_name: 'Ada', last_name: 'Lovelace', company: 'Analytical Engines', phone: '+44 20 7946 0001', message: 'Please call me back' })

/** What a sink got that concerns `text` (the submission id or an email): other tests' messages never count. */
const about = async (sink: string, text: string) => (await client.sinks.received(sink)).filter((r) => r.body.includes(text))

const waitForMessages = (sink: string, text: string, n = 1) => waitFor(async () => ((await about(sink, text)).length >= n ? about(sink, text) : undefined), 20_000, `${n} message(s) at ${sink}`)

/** Long enough for a redelivered notification to have gone through the queue (max_batch_timeout 1 s) and the consumer. */
const settle = () => new Promise((r) => setTimeout(r, 3000))

describe('new-lead notifications', () => {
  it('tells each channel the source names once: Slack Block Kit, a Teams Adaptive Card and a signed Standard Webhook', async () => {
    const p = person()
    const id = await deliver(p)
    await waitForState(id, 'written')
    const [slack] = await waitForMessages('sales', id)
    const [teams] = await waitForMessages('teams', id)
    const [hook] = await waitForMessages('hooks', id)

    const s = JSON.parse(slack!.body) as { text: string; blocks: { type: string; fields?: { text: string }[]; elements?: { url?: string }[] }[] }
    // The plain-text fallback and the blocks carry the person, the source, new or known, and the journey.
    expect(s.text).toContain('New lead: Ada Lovelace')
    const fields = s.blocks.find((b) => b.type === 'section')!.fields!.map((f) => f.text)
    expect(fields).toEqual(
      expect.arrayContaining([`*Name*\nAda Lovelace`, `*Company*\nAnalytical Engines`, `*Email*\n${p.email}`, `*Source*\nNotify test`, `*Person*\nnew to the CRM`, `*Message*\nPlease call me back`]),
    )
    expect(fields.some((f) => f.startsWith('*Phone*\n+44'))).toBe(true)
    expect(s.blocks.find((b) => b.type === 'actions')!.elements![0]!.url).toBe(`https://intake.example/operator/journey/${id}`)

    const t = JSON.parse(teams!.body) as { type: string; attachments: { contentType: string; content: { type: string; body: { type: string; facts?: { title: string; value: string }[] }[]; actions: { url: string }[] } }[] }
    expect(t.type).toBe('message')
    expect(t.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive')
    expect(t.attachments[0]!.content.type).toBe('AdaptiveCard')
    expect(t.attachments[0]!.content.body.find((b) => b.type === 'FactSet')!.facts).toContainEqual({ title: 'Email', value: p.email })
    expect(t.attachments[0]!.content.actions[0]!.url).toBe(`https://intake.example/operator/journey/${id}`)

    // The outbound webhook verifies with the spec's algorithm (the Worker's own receiving verifier) under the channel's secret.
    const headers = new Headers(hook!.headers)
    expect(await verifyStandardWebhooks([HOOKS_SECRET], new TextEncoder().encode(hook!.body).buffer as ArrayBuffer, headers)).toBe('ok')
    expect(await verifyStandardWebhooks(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], new TextEncoder().encode(hook!.body).buffer as ArrayBuffer, headers)).toBe('mismatch')
    const h = JSON.parse(hook!.body) as { type: string; data: { submission: string; person: string; lead: { email: string }; records: { lead?: string }; journey_url: string } }
    expect(h.type).toBe('lead.written')
    expect(h.data).toMatchObject({ submission: id, person: 'new', lead: { email: p.email }, journey_url: `https://intake.example/operator/journey/${id}` })
    expect(h.data.records.lead).toBeTruthy()

    // A second submission of the same person: known to the CRM now.
    const again = await deliver({ ...p, message: 'Still waiting' })
    await waitForState(again, 'written')
    const [known] = await waitForMessages('hooks', again)
    expect((JSON.parse(known!.body) as { data: { person: string } }).data.person).toBe('known')
  })

  it('never tells a channel twice: a redelivered lead message and a redelivered notification send nothing more', async () => {
    const p = person()
    const id = await deliver(p)
    const row = await waitForState(id, 'written')
    await waitForMessages('sales', id)
    await waitForMessages('hooks', id)
    await waitForMessages('teams', id)

    // The lead queue brings the same submission again (at-least-once): written again as a repeat, its notification queued again.
    const draft = { firstName: 'Ada', lastName: 'Lovelace', emails: [p.email], phones: [], websites: [], metadata: [], source: 'Notify test', status: 'New', merge: {} }
    const lead: AnyLeadMessage = { v: 2, id, receivedAt: new Date().toISOString(), origin: { source: 'notify-hook', form: 'person.created' }, gen: 0, payload: { draft } }
    const batch = createMessageBatch<AnyLeadMessage>('lead-intake-leads', [{ id: 'redelivery', timestamp: new Date(), attempts: 2, body: lead }])
    const ctx = createExecutionContext()
    await handleBatch(batch, env)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['redelivery'])
    await waitFor(async () => ((await operatorApi(`/submissions/${id}`).then((r) => r.json())) as { updated_at: number }).updated_at > (row as unknown as { updated_at: number }).updated_at, 10_000, 'the repeat recorded')

    // And the notifications queue brings a notification again.
    const told: NotifyMessage = { type: 'event', event: 'lead.written', submission: id, origin: { source: 'notify-hook', form: 'person.created' }, at: new Date().toISOString(), lead: { email: p.email, source: 'Notify test' }, person: 'new' }
    const again = createMessageBatch<NotifyMessage>('lead-intake-notifications', [{ id: 'again', timestamp: new Date(), attempts: 1, body: told }])
    const ctx2 = createExecutionContext()
    await handleNotifications(again, env, () => ['sales', 'teams', 'hooks'])
    expect((await getQueueResult(again, ctx2)).explicitAcks).toEqual(['again'])

    await settle()
    for (const sink of ['sales', 'teams', 'hooks']) expect(await about(sink, id)).toHaveLength(1)
  })

  it('retries a failing channel without telling the others twice, and a channel that keeps failing shows in the console and /operator/channels; the CRM write is unaffected', async () => {
    // Teams fails once: retried, told once; Slack and the webhook are not told again on the retry.
    await client.sinks.fail('teams', { status: 503, times: 1 })
    const first = await deliver(person())
    await waitForState(first, 'written')
    await waitForMessages('teams', first)
    await settle()
    for (const sink of ['sales', 'teams', 'hooks']) expect(await about(sink, first)).toHaveLength(1)

    // Teams keeps failing: the lead is written all the same, the others are told, and Teams shows as failing once given up.
    await client.sinks.fail('teams', { status: 500 })
    const p = person()
    const id = await deliver(p)
    await waitForState(id, 'written')
    expect(await standin.leads().then((leads) => leads.filter((l) => l.emails?.some((e) => e.email === p.email)))).toHaveLength(1)
    await waitForMessages('sales', id)
    await waitForMessages('hooks', id)
    const shown = await waitFor(
      async () => {
        const body = (await (await operatorApi('/channels')).json()) as { channels: { name: string; failing: boolean; failed: number; last_error: string | null }[] }
        const teams = body.channels.find((c) => c.name === 'teams')
        return teams?.failing && teams.failed >= 1 ? teams : undefined
      },
      40_000,
      'teams shown as failing',
    )
    expect(shown.last_error).toBe('HTTP 500')
    expect(await about('teams', id)).toHaveLength(0)
    const console = await (await operatorApi('/?part=glance', { headers: { accept: 'text/html' } })).text()
    expect(console).toContain('Notification channel <strong>teams</strong> is failing: HTTP 500')
    expect(console).not.toContain(p.email)
  })

  it('sends a failed submission to the webhook channel as submission.failed, and its replay, once written, as lead.written: once each', async () => {
    // The CRM refuses the write for good (a 400): failed, and the webhook channel is told why, Slack and Teams are not.
    await standin.faults([{ operations: ['lead.create'], status: 400, times: 1 }])
    const p = person()
    const id = await deliver(p)
    await waitForState(id, 'failed')
    const [failed] = await waitForMessages('hooks', id)
    const f = JSON.parse(failed!.body) as { type: string; data: { reason: string; lead: { email: string } } }
    expect(f.type).toBe('submission.failed')
    expect(f.data.reason).toMatch(/400/)

    const res = await operatorApi(`/submissions/${id}/replay`, { method: 'POST' })
    expect(res.status).toBe(202)
    await waitForState(id, 'written')
    const both = await waitForMessages('hooks', id, 2)
    expect(both.map((m) => (JSON.parse(m.body) as { type: string }).type)).toEqual(['submission.failed', 'lead.written'])
    await waitForMessages('sales', id)
    await settle()
    expect(await about('hooks', id)).toHaveLength(2)
    expect(await about('sales', id)).toHaveLength(1)
    expect(await about('teams', id)).toHaveLength(1)
  })

  it('sends an email channel plain text and HTML through the send_email binding', async () => {
    const sent: EmailMessageBuilder[] = []
    const mailEnv = {
      ...env,
      CHANNELS: JSON.stringify({ inbox: { kind: 'email', from: 'leads@example.com', to: ['sales@example.com'] } }),
      SEND_EMAIL: { send: async (m: EmailMessageBuilder) => void sent.push(m) },
    } as unknown as Env
    const id = `sub-${crypto.randomUUID()}`
    await env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, state) VALUES (?1, ?2, ?2, 'form', 'contact', 'written')`).bind(id, Date.now()).run()
    const m: NotifyMessage = { type: 'event', event: 'lead.written', submission: id, origin: { source: 'form', form: 'contact' }, at: new Date().toISOString(), lead: { name: 'Grace <Hopper>', email: 'grace@example.com', source: 'Website' }, person: 'new' }
    const batch = createMessageBatch<NotifyMessage>('lead-intake-notifications', [{ id: 'mail', timestamp: new Date(), attempts: 1, body: m }])
    await handleNotifications(batch, mailEnv, () => ['inbox'])
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ from: 'leads@example.com', to: ['sales@example.com'], subject: 'New lead: Grace <Hopper>' })
    expect(sent[0]!.text).toContain('Email: grace@example.com')
    expect(sent[0]!.html).toContain('Grace &#60;Hopper&#62;')
    expect(sent[0]!.html).toContain(`https://intake.example/operator/journey/${id}`)
  })
})

describe('failed submissions', () => {
  it('tells no one a written submission failed when a stale dead letter of it arrives', async () => {
    const p = person()
    const id = await deliver(p)
    await waitForState(id, 'written')
    await waitForMessages('hooks', id)
    const draft = { firstName: 'Ada', emails: [p.email], phones: [], websites: [], metadata: [], source: 'Notify test', status: 'New', merge: {} }
    const stale: AnyLeadMessage = { v: 2, id, receivedAt: new Date().toISOString(), origin: { source: 'notify-hook', form: 'person.created' }, gen: 0, payload: { draft } }
    const batch = createMessageBatch<AnyLeadMessage>('lead-intake-dead-letters', [{ id: 'stale', timestamp: new Date(), attempts: 1, body: stale }])
    const ctx = createExecutionContext()
    await handleBatch(batch, env)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['stale'])
    await settle()
    expect((await about('hooks', id)).map((m) => (JSON.parse(m.body) as { type: string }).type)).toEqual(['lead.written'])
  })
})

describe('held submissions', () => {
  it('notifyHeld sends submission.held through the queue to the webhook channels only, signed', async () => {
    const id = crypto.randomUUID()
    const email = unique('held')
    await env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, state) VALUES (?1, ?2, ?2, 'notify-hook', 'person.created', 'queued')`).bind(id, Date.now()).run()
    const draft = { firstName: 'Ada', emails: [email], phones: [], websites: [], metadata: [], source: 'Notify test', status: 'New', merge: {} }
    await notifyHeld(env, { id, origin: { source: 'notify-hook', form: 'person.created' } }, draft, 'the CRM connection conn-test refuses our credentials (401)')
    const [held] = await waitForMessages('hooks', id)
    expect(await verifyStandardWebhooks([HOOKS_SECRET], new TextEncoder().encode(held!.body).buffer as ArrayBuffer, new Headers(held!.headers))).toBe('ok')
    expect(JSON.parse(held!.body)).toMatchObject({ type: 'submission.held', data: { submission: id, lead: { email }, reason: 'the CRM connection conn-test refuses our credentials (401)' } })
    await settle()
    expect(await about('sales', id)).toHaveLength(0)
    expect(await about('teams', id)).toHaveLength(0)
  })
})

describe('the CRM write comes first', () => {
  afterEach(() => vi.restoreAllMocks())

  it('writes and acknowledges the lead when the notifications queue refuses the message, and says the notification was lost', async () => {
    const lines: string[] = []
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')))
    const email = unique('noqueue')
    const draft = { firstName: 'Ada', emails: [email], phones: [], websites: [], metadata: [], source: 'Notify test', status: 'New', merge: {} }
    const lead: AnyLeadMessage = { v: 2, id: crypto.randomUUID(), receivedAt: new Date().toISOString(), origin: { source: 'notify-hook', form: 'person.created' }, gen: 0, payload: { draft } }
    const batch = createMessageBatch<AnyLeadMessage>('lead-intake-leads', [{ id: 'lead', timestamp: new Date(), attempts: 1, body: lead }])
    const ctx = createExecutionContext()
    const refusing = { ...env, NOTIFICATIONS: { send: async () => Promise.reject(new Error('queue unavailable')) } } as unknown as Env
    await handleBatch(batch, refusing)
    const result = await getQueueResult(batch, ctx)
    expect(result.explicitAcks).toEqual(['lead'])
    expect(result.retryMessages).toEqual([])
    expect(await standin.leads().then((leads) => leads.filter((l) => l.emails?.some((e) => e.email === email)))).toHaveLength(1)
    expect((await waitForState(lead.id, 'written')).state).toBe('written')
    // Said as the lost notification it is, not as a failed delivery of the lead.
    const said = lines.map((l) => JSON.parse(l) as { msg: string; submission?: string })
    expect(said).toContainEqual(expect.objectContaining({ msg: 'notification not queued', submission: lead.id }))
    expect(said.map((l) => l.msg)).not.toContain('delivery failed')
  })
})

describe('log hygiene', () => {
  const captured: string[] = []
  afterEach(() => vi.restoreAllMocks())

  it('logs a channel’s failure and retry by channel, submission and status, never what the message says or where it goes', async () => {
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void captured.push(args.map(String).join(' ')))
    }
    await client.sinks.fail('hooks', { status: 502, times: 1 })
    const p = person()
    const id = await deliver(p)
    await waitForMessages('hooks', id)
    await waitForMessages('sales', id)
    const text = captured.join('\n')
    expect(text).toContain('"msg":"notification will be retried"')
    expect(text).toContain('"channel":"hooks"')
    expect(text).toContain('"error":"HTTP 502"')
    for (const value of [p.email, p.first_name, p.last_name, p.company, p.phone, p.message, '7946', HOOKS_SECRET, '/sinks/hooks']) expect(text).not.toContain(value)
  })
})

describe('erasure', () => {
  it('sends nothing of a person erased after the notification was queued', async () => {
    const p = person()
    const id = await deliver(p)
    await waitForState(id, 'written')
    await waitForMessages('sales', id)
    const erased = await operatorApi('/erasure', { method: 'POST', body: JSON.stringify({ email: p.email }), headers: { 'content-type': 'application/json' } })
    expect(erased.status).toBe(200)
    // A notification of theirs still in the queue (a redelivery, a late retry) finds no submission: acknowledged, sent nowhere.
    const late: NotifyMessage = { type: 'event', event: 'submission.failed', submission: id, origin: { source: 'notify-hook', form: 'person.created' }, at: new Date().toISOString(), lead: { email: p.email, source: 'Notify test' }, reason: 'x' }
    const batch = createMessageBatch<NotifyMessage>('lead-intake-notifications', [{ id: 'late', timestamp: new Date(), attempts: 1, body: late }])
    const ctx = createExecutionContext()
    await handleNotifications(batch, env, () => ['sales', 'teams', 'hooks'])
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['late'])
    await settle()
    expect(await about('hooks', p.email)).toHaveLength(1) // the lead.written sent before the erasure, and nothing after
  })
})

describe('channel configuration', () => {
  it('names the key and the fix: an unknown channel, a channel URL that is not https, a webhook secret that is not whsec_', () => {
    const channels = { sales: { kind: 'slack' } }
    expect(() => checkConfig({ CHANNELS: channels, FORMS: { contact: { notify: ['sale'] } } })).toThrow(
      /FORMS\.contact\.notify: no channel "sale": declare it as \[vars\.CHANNELS\.sale\] or remove it\. To fix it, edit \[vars\.FORMS\.contact\] in wrangler\.toml/,
    )
    expect(() => checkConfig({ CHANNELS: channels, ALERTS: ['ops'] })).toThrow(/ALERTS: no channel "ops"/)
    expect(() => checkConfig({ CHANNELS: { sales: { kind: 'sms' } } })).toThrow(/CHANNELS\.sales\.kind: .*To fix it, edit \[vars\.CHANNELS\.sales\] in wrangler\.toml \(README "Notifications"/)
    expect(() => checkConfig({ CHANNELS: { inbox: { kind: 'email', from: 'leads@example.com' } } })).toThrow(/CHANNELS\.inbox\.to: Required/)
    expect(() => checkConfig({ CHANNELS: channels, CHANNEL_URL_SALES: 'http://hooks.slack.com/services/x' })).toThrow(
      /CHANNEL_URL_SALES: must be an https:\/\/ URL \(http:\/\/ only for 127\.0\.0\.1 or localhost\)\. To fix it, edit the secret CHANNEL_URL_SALES/,
    )
    expect(() => checkConfig({ CHANNELS: { hooks: { kind: 'webhook' } }, CHANNEL_SECRET_HOOKS: 'not-a-whsec' })).toThrow(/CHANNEL_SECRET_HOOKS: must be a Standard Webhooks secret/)
    expect(() => checkConfig({ ALERT_FAILURES: 'many' })).toThrow(/vars\.ALERT_FAILURES: must be a whole number of failed submissions above 0\. To fix it, edit \[vars\] in wrangler\.toml/)
    expect(() =>
      checkConfig({ CHANNELS: channels, CHANNEL_URL_SALES: 'http://127.0.0.1:8788/sinks/sales', TYPEFORM: { notify: ['sales'] }, WEBHOOKS: {} }),
    ).not.toThrow()
  })
})

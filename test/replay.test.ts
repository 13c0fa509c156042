/**
 * Never lose a lead: too big for a queue message, replay that maps again under today's
 * config, the dead-letter queue read, stuck rows replayable, and no replay racing the consumer.
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../src/index'
import { newMessage } from '../src/delivery/enqueue'
import type { LeadMessage } from '../src/lead/message'
import docsExample from './fixtures/typeform/form_response.docs-example.json'
import wranglerToml from '../wrangler.toml?raw'
import {
  fetchWith,
  idOf,
  leadsWithEmail,
  operatorApi,
  postWebhook,
  signTypeform,
  standin,
  submission,
  unique,
  waitForState,
} from './helpers'

beforeEach(() => standin.reset())

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
const replay = (id: string, overrides: Record<string, unknown> = {}) =>
  fetchWith(`/operator/submissions/${id}/replay`, { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } }, overrides, { realQueue: true })

describe('a lead too large for a queue message', () => {
  it('accepts a signed Typeform response whose answers map to more than 128 KB, writes it, and a redelivery keeps it written', async () => {
    const payload = structuredClone(docsExample) as typeof docsExample & { form_response: { answers: unknown[]; definition: { fields: unknown[] } } }
    payload.event_id = `big-${crypto.randomUUID().slice(0, 8)}`
    const email = unique('big')
    ;(payload.form_response.answers.find((a) => (a as { type: string }).type === 'email') as { email: string }).email = email
    // 20 long answers of 9,000 characters: 180 KB of custom fields, past the queue's 128 KB.
    for (let i = 0; i < 20; i++) {
      payload.form_response.definition.fields.push({ id: `long${i}`, ref: `essay_${i}`, type: 'long_text', title: `Essay ${i}` })
      payload.form_response.answers.push({ type: 'text', text: `${i}`.repeat(9_000), field: { id: `long${i}`, type: 'long_text' } })
    }
    const body = JSON.stringify(payload)
    const res = await postWebhook('typeform', body, await signTypeform(body))
    expect(res.status).toBe(200)
    const id = await idOf(res)
    await waitForState(id, 'written')
    const [lead] = await leadsWithEmail(email)
    expect(lead!.metadata!.filter((m) => m.slug?.startsWith('essay_'))).toHaveLength(20)

    // At-least-once: the queue delivers the same message (queued without its payload) again.
    const row = (await env.DB.prepare(`SELECT received_at, source, form, gen FROM submissions WHERE id = ?1`).bind(id).first<{ received_at: number; source: string; form: string; gen: number }>())!
    const message: LeadMessage = { v: 2, id, receivedAt: new Date(row.received_at).toISOString(), origin: { source: row.source, form: row.form }, gen: row.gen }
    const batch = createMessageBatch<LeadMessage>('lead-intake-leads', [{ id: 'again', timestamp: new Date(), attempts: 2, body: message }])
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['again'])
    expect(await submission(id)).toMatchObject({ state: 'written', last_error: null })
    const journey = await env.DB.prepare(`SELECT state FROM submission_attempts WHERE submission_id = ?1`).bind(id).all<{ state: string }>()
    expect(journey.results.map((a) => a.state)).toEqual(['written'])
    expect(await leadsWithEmail(email)).toHaveLength(1)
  })
})

describe('replay maps the input again', () => {
  it('after the form’s config is fixed, a replay writes what the new config says', async () => {
    const email = unique('remap')
    const broken = { demo: { metadata: [{ field: 'budget', slug: 'budget_typo' }] } }
    const fixed = { demo: { metadata: [{ field: 'budget', slug: 'budget_usd', format: 'NUMBER' }] } }
    await standin.faults([{ operations: ['lead.create'], status: 400, times: 1 }]) // the CRM refuses the unknown slug
    const { res } = await fetchWith('/forms/demo', json({ email, budget: '5000' }), { FORMS: broken }, { realQueue: true })
    const id = await idOf(res)
    await waitForState(id, 'failed')
    const answer = await replay(id, { FORMS: fixed })
    expect(answer.res.status).toBe(202)
    expect(await waitForState(id, 'written')).toMatchObject({ action: 'created' })
    const [lead] = await leadsWithEmail(email)
    expect(lead!.metadata).toEqual([expect.objectContaining({ slug: 'budget_usd', value: '5000', format: 'NUMBER' })])
  })

  it('refuses (409) a replay whose form is no longer configured, and keeps the submission failed', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const { res } = await fetchWith('/forms/gone', json({ email: unique('gone') }), { FORMS: { gone: {} } }, { realQueue: true })
    const id = await idOf(res)
    await waitForState(id, 'failed')
    const answer = await replay(id)
    expect(answer.res.status).toBe(409)
    expect(((await answer.res.json()) as { detail: string }).detail).toContain('no longer configured')
    expect((await submission(id))!.state).toBe('failed')
  })
})

/** A row as the intake writes it, `minutesAgo` old, in `state`. */
async function insertRow(state: string, minutesAgo: number, email = unique('stuck')) {
  const message = newMessage({ source: 'form', form: 'contact' }, {
    draft: { emails: [email], phones: [], websites: [], metadata: [], source: 'Website', status: 'New', merge: {}, country: 'US' },
  })
  const at = Date.now() - minutesAgo * 60_000
  await env.DB.prepare(
    `INSERT INTO submissions (id, received_at, updated_at, source, form, state, attempts, payload) VALUES (?1, ?2, ?2, 'form', 'contact', ?3, 2, ?4)`,
  )
    .bind(message.id, at, state, JSON.stringify(message.payload))
    .run()
  return { message, email }
}

describe('the dead-letter queue has a reader', () => {
  it('marks a message the queue gave up on as failed, keeping the lead, and a replay then writes it', async () => {
    const { message, email } = await insertRow('retrying', 1)
    const batch = createMessageBatch<LeadMessage>('lead-intake-dead-letters', [{ id: 'dlq-1', timestamp: new Date(), attempts: 1, body: message }])
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    const result = await getQueueResult(batch, ctx)
    expect(result.explicitAcks).toEqual(['dlq-1'])
    const row = (await submission(message.id))!
    expect(row.state).toBe('failed')
    expect(row.last_error).toContain('the queue gave up')
    expect((await operatorApi(`/submissions/${message.id}/replay`, { method: 'POST' })).status).toBe(202)
    await waitForState(message.id, 'written')
    expect(await leadsWithEmail(email)).toHaveLength(1)
  })

  it('does not let a dead letter of an older generation undo a replay that was written', async () => {
    const { message } = await insertRow('failed', 1)
    expect((await operatorApi(`/submissions/${message.id}/replay`, { method: 'POST' })).status).toBe(202)
    await waitForState(message.id, 'written')
    // The previous generation's message reaches the dead-letter queue late.
    const batch = createMessageBatch<LeadMessage>('lead-intake-dead-letters', [{ id: 'late', timestamp: new Date(), attempts: 1, body: message }])
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    await getQueueResult(batch, ctx)
    expect((await submission(message.id))!.state).toBe('written')
  })

  it('does not let a late delivery of an older generation fail a replayed row', async () => {
    const { message } = await insertRow('failed', 1)
    await standin.faults([{ status: 503 }]) // the CRM is down: the replay is retrying
    expect((await operatorApi(`/submissions/${message.id}/replay`, { method: 'POST' })).status).toBe(202)
    await waitForState(message.id, 'retrying')
    // The previous generation's message comes back with its attempts spent: it gives up, but that is not this generation's word.
    const batch = createMessageBatch<LeadMessage>('lead-intake-leads', [{ id: 'old', timestamp: new Date(), attempts: 9, body: message }])
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['old'])
    expect(await submission(message.id)).toMatchObject({ gen: 1, state: 'retrying' })
    await standin.faults([])
    await waitForState(message.id, 'written')
  })
})

describe('stuck submissions', () => {
  it('replays a row that has sat in retrying for over an hour, but not a fresh one', async () => {
    const fresh = await insertRow('retrying', 5)
    expect((await operatorApi(`/submissions/${fresh.message.id}/replay`, { method: 'POST' })).status).toBe(409)
    const stuck = await insertRow('retrying', 90)
    expect((await operatorApi(`/submissions/${stuck.message.id}/replay`, { method: 'POST' })).status).toBe(202)
    await waitForState(stuck.message.id, 'written')
    expect(await leadsWithEmail(stuck.email)).toHaveLength(1)
  })

  it('includes stuck rows in replay-failed', async () => {
    const stuck = await insertRow('queued', 120)
    const res = await operatorApi('/replay-failed', { method: 'POST' })
    expect(((await res.json()) as { queued: number }).queued).toBeGreaterThanOrEqual(1)
    await waitForState(stuck.message.id, 'written')
  })
})

describe('retry budget against the queue', () => {
  it('refuses DELIVERY_MAX_ATTEMPTS at or above the queue’s max_retries, which matches wrangler.toml', async () => {
    const { deliverySettings, QUEUE_MAX_RETRIES } = await import('../src/config')
    expect(wranglerToml).toMatch(new RegExp(`queue = "lead-intake-leads"[^[]*max_retries = ${QUEUE_MAX_RETRIES}\\b`))
    expect(() => deliverySettings({ DELIVERY_MAX_ATTEMPTS: String(QUEUE_MAX_RETRIES) })).toThrow(/max_retries/)
    expect(deliverySettings({ DELIVERY_MAX_ATTEMPTS: String(QUEUE_MAX_RETRIES - 1) }).DELIVERY_MAX_ATTEMPTS).toBe(QUEUE_MAX_RETRIES - 1)
  })
})

describe('intake stays up for the queue’s sake', () => {
  it('accepts and writes a form post whose raw fields and draft together pass the inline limit', async () => {
    const email = unique('wide')
    const { res } = await fetchWith(
      '/forms/wide',
      json({ email, ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`note${i}`, 'x'.repeat(7_000)])) }),
      { FORMS: { wide: { metadata: Array.from({ length: 8 }, (_, i) => ({ field: `note${i}` })) } } },
      { realQueue: true },
    )
    const id = await idOf(res)
    await waitForState(id, 'written')
    expect((await leadsWithEmail(email))[0]!.metadata).toHaveLength(8)
  })
})

/**
 * A broken connection holds its leads instead of failing them (issue 21 item 4): a 401, or a
 * 403 that is not a rate limit, marks the connection held; its submissions wait in D1 with no
 * attempt spent, /healthz?ready says which connection and why, and the connection's probe (a
 * Durable Object alarm, driven here) writes them all once it answers again, with no replay.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import type { LeadMessage } from '../src/lead/message'
import { beforeEach, describe, expect, it } from 'vitest'
import { isCrmOperation } from '../standin/client'
import { client, fetchWith, idOf, operatorApi, request, standin, submission, unique, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

type Call = { op: string; status: number; connection: string }

/** Posts one person to a form writing to `connection`, through the real queue; returns the submission id. */
async function post(connection: string, email: string, extra: Record<string, unknown> = {}): Promise<string> {
  const FORMS = { held: { connection, rate_limit: false, timeline: false, ...extra } }
  const { res } = await fetchWith(
    '/forms/held',
    { method: 'POST', body: JSON.stringify({ email, first_name: 'Hal', last_name: 'Held' }), headers: { 'content-type': 'application/json' } },
    { FORMS },
    { realQueue: true },
  )
  return idOf(res)
}

/** The connection's calls to the CRM (not Unified's own read of the connection's integration). */
const crmCalls = async (connection: string) => ((await client.calls()) as Call[]).filter((c) => c.connection === connection && isCrmOperation(c.op))

const gate = (connection: string) => env.CRM_GATE.get(env.CRM_GATE.idFromName(connection))

/** Runs the connection's alarm now (the probe, or the sweep after a resume), as the minute passing would. */
async function probeNow(connection: string): Promise<boolean> {
  const { runDurableObjectAlarm } = await import('cloudflare:test')
  return runDurableObjectAlarm(gate(connection))
}

type Ready = { status: string; problems: string[]; held: { connection: string; reason: string; submissions: number }[] }
const ready = async () => (await (await request('/healthz?ready')).json()) as Ready

const recordsWith = async (connection: string, object: 'lead' | 'contact', email: string) =>
  (await client.records(connection, object)).filter((r) => (r as { emails?: { email?: string }[] }).emails?.some((e) => e.email === email))

describe('a connection that refuses our credentials', () => {
  it('holds every new submission with no attempt spent, says so, and writes them all once it answers again', async () => {
    const connection = `held-${crypto.randomUUID().slice(0, 6)}`
    await client.credentials(connection, true)

    const first = await post(connection, unique('held-first'))
    const row = await waitForState(first, 'held')
    expect(row.attempts).toBe(0)
    expect(row.last_error).toContain('refused our credentials')
    const refused = (await crmCalls(connection)).length
    expect(refused).toBeGreaterThan(0)
    expect((await crmCalls(connection)).every((c) => c.status === 401)).toBe(true)

    // Held now: later ones wait without a call to the CRM.
    const emails = [unique('held-a'), unique('held-b')]
    const later = await Promise.all(emails.map((email) => post(connection, email)))
    for (const id of later) expect((await waitForState(id, 'held')).attempts).toBe(0)
    expect((await crmCalls(connection)).length).toBe(refused)

    // Nothing failed; the operator is told which connection and why, without secrets.
    const failed = (await (await operatorApi('/submissions?state=failed')).json()) as { submissions: { id: string }[] }
    expect(failed.submissions.map((s) => s.id)).not.toContain(first)
    const report = await ready()
    expect(report.status).toBe('not-ready')
    expect(report.held).toEqual([expect.objectContaining({ connection, submissions: 3 })])
    expect(report.held[0]!.reason).toContain('401')
    expect(report.problems.join('\n')).toContain(connection)
    expect(JSON.stringify(report)).not.toContain(env.UNIFIED_API_KEY)
    const glance = await (await operatorApi('/?part=glance', { headers: { accept: 'text/html' } })).text()
    expect(glance).toContain(`CRM connection ${connection} is held`)
    expect(glance).toContain('held by source: form 3')
    const checked = (await (await operatorApi('/connection')).json()) as { held: { connection: string; reason: string; submissions: number }[] }
    expect(checked.held).toEqual([expect.objectContaining({ connection, submissions: 3 })])
    const journey = await (await operatorApi(`/journey/${first}`, { headers: { accept: 'text/html' } })).text()
    expect(journey).toContain('held')
    expect(journey).toContain('refused our credentials')

    // A probe while it still refuses: still held, nothing written.
    expect(await probeNow(connection)).toBe(true)
    expect((await submission(first))!.state).toBe('held')
    expect((await ready()).held).toHaveLength(1)

    // One alert to the operator's channel (ALERTS = ["ops"] in vitest.config.ts), for the connection, not per lead.
    const told = async (text: string) => (await client.sinks.received('ops')).map((r) => (JSON.parse(r.body) as { text: string }).text).filter((t) => t.includes(text))
    await waitFor(async () => (await told(`CRM connection ${connection} is held`)).length > 0, 15_000, 'the held alert')
    expect(await told(`CRM connection ${connection} is held`)).toHaveLength(1)

    // Healthy again: the next probe resumes them all, with no operator action.
    await client.credentials(connection, false)
    expect(await probeNow(connection)).toBe(true)
    for (const id of [first, ...later]) await waitForState(id, 'written')
    const creates = (await crmCalls(connection)).filter((c) => c.op.endsWith('.create') && c.status === 200 && !c.op.startsWith('event'))
    expect(creates).toHaveLength(3)
    // What the integration supports, unreadable while refused, was read again on the resume (not five minutes later).
    const { runInDurableObject } = await import('cloudflare:test')
    const caps = await runInDurableObject(gate(connection), (_g, state) => state.storage.get<{ from: string }>('capabilities'))
    expect(caps?.from).toBe('unified')
    expect((await ready()).held).toEqual([])
    expect(await (await operatorApi('/?part=glance', { headers: { accept: 'text/html' } })).text()).not.toContain('is held')
    const written = (await (await operatorApi(`/submissions/${first}`)).json()) as { attempts: number; state: string }
    expect(written).toMatchObject({ state: 'written', attempts: 1 })
    // And the operator is told it cleared, once it is still free at the sweep a minute after the resume (the alarm the resume left).
    expect(await told(`Resolved: CRM connection ${connection} is held`)).toEqual([])
    expect(await probeNow(connection)).toBe(true)
    await waitFor(async () => (await told(`Resolved: CRM connection ${connection} is held`)).length > 0, 15_000, 'the resolved alert')
  }, 90_000)

  it('a connection that reads but refuses writes: held again after the probe, said so, probed less often, its alert not flapping', async () => {
    const connection = `readonly-${crypto.randomUUID().slice(0, 6)}`
    // Every write refused with a 403 that is no rate limit; reads (the probe's list) answer.
    await standin.faults([{ operations: ['lead.create', 'contact.create', 'lead.update', 'contact.update'], status: 403 }])
    const id = await post(connection, unique('readonly'))
    await waitForState(id, 'held')
    const { runInDurableObject } = await import('cloudflare:test')
    const alarmIn = async () => ((await runInDurableObject(gate(connection), (_g, state) => state.storage.getAlarm())) ?? 0) - Date.now()
    expect(await alarmIn()).toBeLessThanOrEqual(60_000)

    // The probe's read answers: resumed, the lead queued again, refused again: held again, with the reason.
    expect(await probeNow(connection)).toBe(true)
    await waitFor(async () => (await ready()).held.some((h) => h.connection === connection && h.reason.includes('refuses writes')), 15_000, 'held again')
    expect((await submission(id))!.state).toBe('held')
    expect((await submission(id))!.attempts).toBe(0)
    // Probed in 2 minutes now, then 4.
    expect(await alarmIn()).toBeGreaterThan(60_000)
    expect(await alarmIn()).toBeLessThanOrEqual(120_000)
    expect(await probeNow(connection)).toBe(true)
    await waitFor(async () => (await ready()).held.some((h) => h.connection === connection), 15_000, 'held a third time')
    await waitFor(async () => (await alarmIn()) > 120_000, 15_000, 'the probe in 4 minutes')

    // One alert, never resolved while it flips between answering reads and refusing writes.
    const told = async (text: string) => (await client.sinks.received('ops')).map((r) => (JSON.parse(r.body) as { text: string }).text).filter((t) => t.includes(text))
    await waitFor(async () => (await told(`CRM connection ${connection} is held`)).length > 0, 15_000, 'the held alert')
    expect(await told(`CRM connection ${connection} is held`)).toHaveLength(1)
    expect(await told(`Resolved: CRM connection ${connection}`)).toEqual([])

    // Writes allowed again: the next probe writes the lead, and the sweep a minute later tells it cleared.
    await standin.faults([])
    expect(await probeNow(connection)).toBe(true)
    await waitForState(id, 'written')
    expect(await probeNow(connection)).toBe(true)
    await waitFor(async () => (await told(`Resolved: CRM connection ${connection} is held`)).length > 0, 15_000, 'the resolved alert')
    expect(await alarmIn()).toBeLessThanOrEqual(0)
  }, 90_000)

  it('holds on a 403 that is not a rate limit too', async () => {
    const connection = `forbidden-${crypto.randomUUID().slice(0, 6)}`
    await standin.faults([{ operations: ['lead.create', 'contact.create'], status: 403, times: 1 }])
    const id = await post(connection, unique('forbidden'))
    const row = await waitForState(id, 'held')
    expect(row.attempts).toBe(0)
    expect(row.last_error).toContain('403')
    // The fault was one refusal: the probe finds the connection answering, and the lead is written.
    expect(await probeNow(connection)).toBe(true)
    await waitForState(id, 'written')
  }, 60_000)

  it('an erasure of a held person removes their held row, and the resume does not write them', async () => {
    const connection = `held-erase-${crypto.randomUUID().slice(0, 6)}`
    await client.credentials(connection, true)
    const [gone, kept] = [unique('held-gone'), unique('held-kept')]
    const goneId = await post(connection, gone)
    await waitForState(goneId, 'held')
    const keptId = await post(connection, kept)
    await waitForState(keptId, 'held')

    const erased = await operatorApi('/erasure', { method: 'POST', body: JSON.stringify({ email: gone }), headers: { 'content-type': 'application/json' } })
    expect(erased.status).toBe(200)
    expect((await operatorApi(`/submissions/${goneId}`)).status).toBe(404)

    await client.credentials(connection, false)
    await probeNow(connection)
    await waitForState(keptId, 'written')
    expect((await operatorApi(`/submissions/${goneId}`)).status).toBe(404)
    const people = [...(await recordsWith(connection, 'lead', gone)), ...(await recordsWith(connection, 'contact', gone))]
    expect(people).toEqual([])
    expect([...(await recordsWith(connection, 'lead', kept)), ...(await recordsWith(connection, 'contact', kept))].length).toBeGreaterThan(0)
  }, 60_000)

  it('a late dead letter of a held submission leaves it held: nothing is failed while it waits', async () => {
    const connection = `held-dlq-${crypto.randomUUID().slice(0, 6)}`
    await client.credentials(connection, true)
    const id = await post(connection, unique('held-dlq'))
    await waitForState(id, 'held')
    // The same generation's message reaching the dead-letter queue late (its lead is read back from the log).
    const late: LeadMessage = { v: 2, id, receivedAt: new Date().toISOString(), origin: { source: 'form', form: 'held' }, gen: 0 }
    const batch = createMessageBatch<LeadMessage>('lead-intake-dead-letters', [{ id: 'late', timestamp: new Date(), attempts: 1, body: late }])
    const ctx = createExecutionContext()
    const worker = (await import('../src/index')).default
    await worker.queue(batch, env, ctx)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['late'])
    expect((await submission(id))!.state).toBe('held')
    await client.credentials(connection, false)
    await probeNow(connection)
    await waitForState(id, 'written')
  }, 60_000)

  it('sweeps once more a minute after the resume: a lead held by a consumer that asked just before it is written too', async () => {
    const connection = `held-sweep-${crypto.randomUUID().slice(0, 6)}`
    await client.credentials(connection, true)
    const first = await post(connection, unique('held-sweep'))
    await waitForState(first, 'held')
    await client.credentials(connection, false)
    await probeNow(connection)
    await waitForState(first, 'written')
    // A consumer that found the connection held just before the resume records its lead held after it (the race, set up in D1).
    const { newMessage } = await import('../src/delivery/enqueue')
    const { DEFAULT_PLAN } = await import('../src/lead/draft')
    const email = unique('held-late')
    const late = newMessage({ source: 'form', form: 'held' }, {
      draft: { emails: [email], phones: [], websites: [], metadata: [], source: 'Website', status: 'New', merge: {}, lastName: 'Late', plan: { ...DEFAULT_PLAN, connection } },
    })
    await env.DB.prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, state, attempts, payload, connection) VALUES (?1, ?2, ?2, 'form', 'held', 'held', 0, ?3, ?4)`,
    )
      .bind(late.id, Date.now(), JSON.stringify(late.payload), connection)
      .run()
    // The alarm the resume left: no probe (not held), one more sweep.
    expect(await probeNow(connection)).toBe(true)
    await waitForState(late.id, 'written')
    expect([...(await recordsWith(connection, 'lead', email)), ...(await recordsWith(connection, 'contact', email))]).toHaveLength(1)
  }, 60_000)

  it('a 403 rate limit is still paced, never held', async () => {
    const connection = `sf-held-${crypto.randomUUID().slice(0, 6)}`
    await client.connection(connection, { integration: 'salesforce', request_limit: { calls: 2, window_seconds: 2 } })
    const ids = await Promise.all([0, 1, 2].map((i) => post(connection, unique(`paced-${i}`), { write: 'contact' })))
    const settled = ['written', 'failed', 'held']
    const rows = await waitFor(async () => {
      const rows = await Promise.all(ids.map(submission))
      return rows.every((r) => settled.includes(r?.state ?? '')) && rows
    }, 60_000, 'every submission settled')
    expect(rows.map((r) => r!.state)).toEqual(['written', 'written', 'written'])
    expect((await crmCalls(connection)).some((c) => c.status === 403)).toBe(true)
    expect(await gate(connection).held()).toBeNull()
    expect((await ready()).held).toEqual([])
  }, 90_000)
})

/** Never lose a lead: retries, Retry-After, lost responses, dead letters, replay, and the log that tells. */
import { beforeEach, describe, expect, it } from 'vitest'
import { leadsWithEmail, operatorApi, postJson, request, standin, unique, waitForState } from './helpers'

beforeEach(() => standin.reset())

const accept = async (body: Record<string, unknown>) => {
  const res = await postJson('/forms/contact', body)
  expect(res.status).toBe(202)
  return ((await res.json()) as { id: string }).id
}

type Call = { op: string; status: number; at: number; query?: string }
const calls = async (): Promise<Call[]> => (await (await fetch(`${(await import('./helpers')).standinUrl}/_standin/calls`)).json()) as Call[]

describe('retries', () => {
  it('writes every lead once after Unified fails with 500s for a while', async () => {
    await standin.faults([{ status: 500, until_ms: Date.now() + 2500 }])
    const emails = Array.from({ length: 5 }, () => unique('outage'))
    const ids = await Promise.all(emails.map((email) => accept({ email })))
    const rows = await Promise.all(ids.map((id) => waitForState(id, 'written', 45_000)))
    for (const email of emails) expect(await leadsWithEmail(email)).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(5)
    expect(rows.every((r) => r.attempts >= 2 && r.action === 'created' && r.crm_lead_id)).toBe(true)
  })

  it('makes no call to Unified before a 429’s Retry-After has passed', async () => {
    await standin.faults([{ status: 429, retry_after: '3', times: 1 }])
    const email = unique('slow')
    const id = await accept({ email })
    await waitForState(id, 'written', 45_000)
    const log = await calls()
    const limited = log.findIndex((c) => c.status === 429)
    expect(limited).toBeGreaterThanOrEqual(0)
    const next = log[limited + 1]!
    expect(next.at - log[limited]!.at).toBeGreaterThanOrEqual(3000)
    expect(await leadsWithEmail(email)).toHaveLength(1)
  })

  it('does not duplicate a lead whose create succeeded but whose response was lost', async () => {
    await standin.faults([{ operations: ['lead.create'], lose_response: true, times: 1 }])
    const email = unique('lost')
    const id = await accept({ email, first_name: 'Lost' })
    const row = await waitForState(id, 'written', 45_000)
    expect(await leadsWithEmail(email)).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(1)
    expect(row.attempts).toBeGreaterThanOrEqual(2)
    expect(row.action).toBe('unchanged') // the retry found what the lost create had made
  })

  it('does not create twice when a slow create outlasts the call timeout', async () => {
    // The create answers after 5 s; the Worker gives up at 2 s (UNIFIED_TIMEOUT_MS in the tests) and retries
    // within seconds. Searching then would find nothing and create the person again.
    await standin.faults([{ operations: ['lead.create'], latency_ms: 5000, times: 1 }])
    const email = unique('slowcreate')
    const id = await accept({ email })
    const row = await waitForState(id, 'written', 45_000)
    expect(await leadsWithEmail(email)).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(1)
    expect(row.action).toBe('unchanged') // the retry found the lead the slow create made
  })
})

describe('dead letters and replay', () => {
  it('dead-letters a permanent 400 with the CRM’s message, then writes it once on replay', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const email = unique('refused')
    const id = await accept({ email })
    const failed = await waitForState(id, 'failed')
    expect(failed.attempts).toBe(1) // permanent: no retries
    expect(failed.last_error).toContain('400')
    expect(await leadsWithEmail(email)).toHaveLength(0)

    await standin.faults([]) // the cause is fixed
    const replay = await operatorApi(`/submissions/${id}/replay`, { method: 'POST' })
    expect(replay.status).toBe(202)
    const written = await waitForState(id, 'written')
    expect(written.action).toBe('created')
    expect(await leadsWithEmail(email)).toHaveLength(1)
    // Replaying again is refused: it is no longer failed.
    expect((await operatorApi(`/submissions/${id}/replay`, { method: 'POST' })).status).toBe(409)
  })

  it('dead-letters after the retry budget and replays all failed ones', async () => {
    // A 500 spends attempts (a 503 without Retry-After is the CRM saying it is busy: it waits, spending none).
    await standin.faults([{ status: 500 }])
    const emails = [unique('budget'), unique('budget')]
    const ids = await Promise.all(emails.map((email) => accept({ email })))
    for (const id of ids) expect((await waitForState(id, 'failed', 60_000)).attempts).toBe(4)
    await standin.faults([])
    const res = await operatorApi('/replay-failed', { method: 'POST' })
    expect(await res.json()).toEqual({ queued: 2 })
    for (const id of ids) await waitForState(id, 'written')
    for (const email of emails) expect(await leadsWithEmail(email)).toHaveLength(1)
  })
})

describe('operator API', () => {
  it('answers 401 without a token, with a wrong one, and reveals nothing', async () => {
    for (const authorization of [undefined, 'Bearer wrong', 'Basic ' + btoa('op:wrong'), 'Bearer ']) {
      const res = await request('/operator/submissions', { headers: authorization ? { authorization } : {} })
      expect(res.status).toBe(401)
      const body = (await res.json()) as Record<string, unknown>
      expect(Object.keys(body).sort()).toEqual(['instance', 'status', 'title', 'type'])
    }
  })

  it('lists submissions with filters, and the log matches what happened', async () => {
    const good = await accept({ email: unique('listed') })
    await waitForState(good, 'written')
    await standin.faults([{ operations: ['lead.create'], status: 422 }])
    const bad = await accept({ email: unique('listed') })
    await waitForState(bad, 'failed')
    const all = (await (await operatorApi('/submissions?source=form')).json()) as { submissions: { id: string; state: string }[] }
    expect(all.submissions.find((s) => s.id === good)?.state).toBe('written')
    expect(all.submissions.find((s) => s.id === bad)?.state).toBe('failed')
    const failed = (await (await operatorApi('/submissions?state=failed')).json()) as { submissions: { id: string }[] }
    expect(failed.submissions.map((s) => s.id)).toEqual([bad])
    const future = (await (await operatorApi(`/submissions?since=${Date.now() + 60_000}`)).json()) as { submissions: unknown[] }
    expect(future.submissions).toEqual([])
    expect((await operatorApi('/submissions?state=bogus')).status).toBe(400)
    // No personal data in the log: the key is hashed.
    const row = (await (await operatorApi(`/submissions/${good}`)).json()) as Record<string, unknown>
    expect(JSON.stringify(row)).not.toContain('@example.com')
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('shows the console with the failed count and the failures to a browser with the token as Basic password', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const bad = await accept({ email: unique('page') })
    await waitForState(bad, 'failed')
    const res = await request('/operator/', { headers: { authorization: 'Basic ' + btoa('operator:test-operator-token') } })
    expect(res.status).toBe(200)
    const html = await res.text()
    // The page's count is the log's count (earlier tests in this file left failures too).
    const failed = (await (await operatorApi('/submissions?state=failed')).json()) as { submissions: unknown[] }
    expect(html).toContain(`<strong>failed: ${failed.submissions.length}</strong>`)
    expect(html).toContain(bad)
    expect(html).toContain('Unified answered 400')
  })
})

describe('retention', () => {
  it('purges submissions older than SUBMISSION_RETENTION_DAYS and webhook ids older than 30 days on the daily cron', async () => {
    const { env } = await import('cloudflare:workers')
    const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import('cloudflare:test')
    const worker = (await import('../src/index')).default
    const recent = await accept({ email: unique('kept') })
    await waitForState(recent, 'written')
    const old = Date.now() - 31 * 86_400_000
    await env.DB.prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, state, payload) VALUES ('old-one', ?1, ?1, 'form', 'contact', 'failed', '{"draft":{}}')`,
    )
      .bind(old)
      .run()
    const ids = env.DB.prepare(`INSERT INTO delivery_ids (provider, event_id, received_at, submission_id) VALUES ('stripe', ?1, ?2, 's')`)
    await env.DB.batch([ids.bind('evt_old', Date.now() - 31 * 86_400_000), ids.bind('evt_new', Date.now())])
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
    expect((await operatorApi('/submissions/old-one')).status).toBe(404)
    expect((await operatorApi(`/submissions/${recent}`)).status).toBe(200)
    const { results } = await env.DB.prepare(`SELECT event_id FROM delivery_ids WHERE event_id LIKE 'evt_%'`).all()
    expect(results).toEqual([{ event_id: 'evt_new' }])
  })
})

describe('errors a newcomer meets', () => {
  it('says on the status page what to check when Unified refuses the key, and holds the lead until it is taken', async () => {
    await standin.faults([{ status: 401 }])
    const id = await accept({ email: unique('key') })
    // A refused key holds the connection rather than failing its leads (test/held.test.ts).
    const held = await waitForState(id, 'held')
    expect(held.last_error).toContain('check UNIFIED_API_KEY and UNIFIED_CONNECTION_ID')
    const page = await (await operatorApi('/')).text()
    expect(page).toContain('check UNIFIED_API_KEY and UNIFIED_CONNECTION_ID')
    // The key taken again: the connection's probe releases it and writes the lead, so later tests find conn-test answering.
    await standin.faults([])
    const { env } = await import('cloudflare:workers')
    const { runDurableObjectAlarm } = await import('cloudflare:test')
    await runDurableObjectAlarm(env.CRM_GATE.get(env.CRM_GATE.idFromName('conn-test')))
    await waitForState(id, 'written')
  })

  it('keeps leads queued, not dead-lettered, while UNIFIED_API_KEY is missing', async () => {
    const { env } = await import('cloudflare:workers')
    const { runInDurableObject } = await import('cloudflare:test')
    const { writerFor } = await import('../src/delivery/lead-writer')
    const { newMessage } = await import('../src/delivery/enqueue')
    const message = newMessage({ source: 'form', form: 'contact' }, {
      draft: { emails: [unique('nokey')], phones: [], websites: [], metadata: [], source: 'Website', status: 'New', merge: {} },
    })
    const outcome = await runInDurableObject(writerFor(env, 'conn-test', { submission: message.id }), async (writer) => {
      // This writer's Worker has no key, as a fresh deploy before `wrangler secret put`.
      Object.assign(writer, { env: { ...env, UNIFIED_API_KEY: '' } })
      return writer.write(message.id, message.payload!.draft!, 'conn-test')
    })
    expect(outcome).toMatchObject({ ok: false, retryable: true })
    expect(outcome.ok === false && outcome.error).toContain('npx wrangler secret put UNIFIED_API_KEY')
    expect(await standin.counters()).toEqual({})
  })

  it('rides out an hour-and-a-half outage with the default retry budget', async () => {
    const { deliverySettings } = await import('../src/config')
    const { retryDelay } = await import('../src/delivery/backoff')
    const { DELIVERY_MAX_ATTEMPTS, DELIVERY_BASE_DELAY_SECONDS } = deliverySettings({})
    let shortest = 0
    for (let attempt = 1; attempt < DELIVERY_MAX_ATTEMPTS; attempt++) shortest += retryDelay(attempt, undefined, DELIVERY_BASE_DELAY_SECONDS, () => 0)
    expect(shortest).toBeGreaterThan(1.5 * 3600)
  })
})

/**
 * Consent you can prove, erasure you can trust: consent captured per form and listed by
 * wording; erasure of a person's every copy (and, asked, their CRM records), with a tombstone
 * that drops anything of theirs received before it; export for subject-access requests.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { fetchWith, idOf, leadsWithEmail, operatorApi, standin, unique, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

const WORDING = 'I agree to be contacted about my enquiry.'
const consentForm = (required: boolean) => ({
  consent: { field: 'consent', text: WORDING, version: '2026-11', required },
  rate_limit: false,
})

const post = (form: string, config: Record<string, unknown>, body: Record<string, unknown>) =>
  fetchWith(
    `/forms/${form}`,
    { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    { FORMS: { [form]: config } },
    { realQueue: true },
  )

const metadataOf = (lead: { metadata?: { slug?: string; value?: unknown }[] }) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))

const sha256 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, '0')).join('')

describe('consent', () => {
  it('refuses a post without it when required (422 naming the field), and writes nothing', async () => {
    const { res } = await post('consented', consentForm(true), { email: unique('noconsent') })
    expect(res.status).toBe(422)
    const problem = (await res.json()) as { 'invalid-params': { name: string; reason: string }[] }
    expect(problem['invalid-params']).toEqual([{ name: 'consent', reason: 'must be checked to send this form' }])
  })

  it('refuses an answer that says no in words, or only maybe (422): when in doubt, it is not consent', async () => {
    for (const consent of ['I do not agree', "I don't consent", 'Disagree', 'Nein', 'Non', 'Je n’accepte pas', 'No acepto', 'maybe later']) {
      const { res } = await post('refusals', consentForm(true), { email: unique('refused'), consent })
      expect(res.status, consent).toBe(422)
      expect(((await res.json()) as { 'invalid-params': { name: string }[] })['invalid-params'], consent).toEqual([expect.objectContaining({ name: 'consent' })])
    }
  })

  it('takes the consent block’s own `values` as the answers that give consent, and only them', async () => {
    const config = { ...consentForm(true), consent: { ...consentForm(true).consent, values: ['newsletter-ok'] } }
    expect((await post('own-values', config, { email: unique('own'), consent: 'yes' })).res.status).toBe(422)
    const email = unique('own-values')
    const id = await idOf((await post('own-values', config, { email, consent: 'Newsletter-OK' })).res)
    await waitForState(id, 'written')
    expect(metadataOf((await leadsWithEmail(email))[0]!)).toMatchObject({ consent_version: '2026-11' })
  })

  it('records a given consent as custom fields and in the log, and lists the wording by version', async () => {
    const email = unique('consent')
    const id = await idOf((await post('consented', consentForm(true), { email, consent: 'on' })).res)
    await waitForState(id, 'written')
    const meta = metadataOf((await leadsWithEmail(email))[0]!)
    expect(meta).toMatchObject({ consent_version: '2026-11', consent_text_sha256: await sha256(WORDING) })
    expect(Date.parse(String(meta.consent_given_at))).toBeGreaterThan(Date.now() - 60_000)
    const row = await env.DB.prepare(`SELECT consent_version FROM submissions WHERE id = ?1`).bind(id).first()
    expect(row).toEqual({ consent_version: '2026-11' })
    const { consents } = (await (await operatorApi('/consents')).json()) as { consents: Record<string, unknown>[] }
    expect(consents).toContainEqual(expect.objectContaining({ source: 'form', form: 'consented', version: '2026-11', text: WORDING, text_sha256: await sha256(WORDING), submissions: 1 }))
  })

  it('records nothing about consent when optional and not given, or when the form asks for none', async () => {
    const optional = unique('optional')
    const none = unique('none')
    await waitForState(await idOf((await post('optional', consentForm(false), { email: optional })).res), 'written')
    await waitForState(await idOf((await post('plain', { rate_limit: false }, { email: none, consent: 'on' })).res), 'written')
    for (const email of [optional, none]) {
      expect(Object.keys(metadataOf((await leadsWithEmail(email))[0]!)).filter((k) => k.startsWith('consent'))).toEqual([])
    }
  })

  it('takes a double submit of a consent form for a repeat (0 calls), and a later repeat never moves the first consent time', async () => {
    const email = unique('double-consent')
    const first = await idOf((await post('consented', consentForm(true), { email, consent: 'on', message: 'hello' })).res)
    await waitForState(first, 'written')
    const givenAt = metadataOf((await leadsWithEmail(email))[0]!).consent_given_at
    const calls = async () => Object.values(await standin.counters()).reduce((a, b) => a + b, 0)
    let mark = await calls()
    await new Promise((r) => setTimeout(r, 1100)) // a new second: the given-at time differs
    const double = await idOf((await post('consented', consentForm(true), { email, consent: 'on', message: 'hello' })).res)
    expect(await waitForState(double, 'written')).toMatchObject({ action: 'repeat' })
    expect((await calls()) - mark).toBe(0)
    // A repeat with something new is written, but the person first consented when they first did.
    mark = await calls()
    const later = await idOf((await post('consented', consentForm(true), { email, consent: 'on', message: 'one more thing' })).res)
    expect(await waitForState(later, 'written')).toMatchObject({ action: 'unchanged' })
    const [lead, ...more] = await leadsWithEmail(email)
    expect(more).toEqual([])
    expect(metadataOf(lead!).consent_given_at).toBe(givenAt)
    expect((await standin.counters())['lead.update'] ?? 0).toBe(0)
  })

  it('keeps, on a replay under new wording, the consent given at receipt: its version, wording and time', async () => {
    const email = unique('reworded')
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const id = await idOf((await post('consented', consentForm(true), { email, consent: 'on' })).res)
    await waitForState(id, 'failed')
    await standin.faults([])
    const receivedAt = (await env.DB.prepare(`SELECT received_at FROM submissions WHERE id = ?1`).bind(id).first<{ received_at: number }>())!.received_at
    // The wording changes before the operator replays: the person never saw the new one.
    const reworded = { ...consentForm(true), consent: { field: 'consent', text: 'New wording, never shown to this person.', version: '2027-01', required: true } }
    const replay = await fetchWith(
      `/operator/submissions/${id}/replay`,
      { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } },
      { FORMS: { consented: reworded } },
      { realQueue: true },
    )
    expect(replay.res.status).toBe(202)
    await waitForState(id, 'written')
    const meta = metadataOf((await leadsWithEmail(email))[0]!)
    expect(meta).toMatchObject({ consent_version: '2026-11', consent_text_sha256: await sha256(WORDING) })
    expect(Math.abs(Date.parse(String(meta.consent_given_at)) - receivedAt)).toBeLessThan(5_000)
    expect(await env.DB.prepare(`SELECT consent_version FROM submissions WHERE id = ?1`).bind(id).first()).toEqual({ consent_version: '2026-11' })
  })
})

describe('erasure', () => {
  const erase = (body: Record<string, unknown>) =>
    operatorApi('/erasure', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

  /** Every D1 row, R2 object and Durable Object key that could hold something of the person. */
  async function leftovers(email: string) {
    const { hashIdentifier } = await import('../src/lead/identity')
    const hash = await hashIdentifier(env.HASH_SECRET, { kind: 'email', value: email })
    const rows = {
      submissions: (await env.DB.prepare(`SELECT count(*) AS n FROM submissions WHERE key_hash = ?1 OR payload LIKE ?2`).bind(hash, `%${email}%`).first<{ n: number }>())!.n,
      identities: (await env.DB.prepare(`SELECT count(*) AS n FROM identities WHERE hash = ?1`).bind(hash).first<{ n: number }>())!.n,
      tombstones: (await env.DB.prepare(`SELECT count(*) AS n FROM tombstones WHERE hash = ?1`).bind(hash).first<{ n: number }>())!.n,
    }
    const { runInDurableObject, listDurableObjectIds } = await import('cloudflare:test')
    let storage = 0
    for (const id of await listDurableObjectIds(env.LEAD_WRITER)) {
      storage += await runInDurableObject(env.LEAD_WRITER.get(id), async (_w, state) => {
        const all = await state.storage.list()
        return [...all.values()].filter((v) => JSON.stringify(v).includes(email)).length
      })
    }
    let r2 = 0
    for (const { key } of (await env.BUCKET.list()).objects) r2 += (await (await env.BUCKET.get(key))?.text())?.includes(email) ? 1 : 0
    return { ...rows, storage, r2 }
  }

  it('removes every copy lead-intake keeps, leaves a tombstone, and keeps the CRM record unless asked', async () => {
    const email = unique('erase')
    const id = await idOf((await post('plain', { rate_limit: false }, { email, first_name: 'Erin' })).res)
    await waitForState(id, 'written')
    const res = await erase({ email })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ removed: { submissions: 1, people: 1, writers: 1 } })
    expect(await leftovers(email)).toEqual({ submissions: 0, identities: 0, tombstones: 1, storage: 0, r2: 0 })
    expect((await operatorApi(`/submissions/${id}`)).status).toBe(404)
    expect(await leadsWithEmail(email)).toHaveLength(1) // not asked to touch the CRM
    const { results } = await env.DB.prepare(`SELECT action, detail FROM audit WHERE action = 'erasure'`).all()
    expect(results.at(-1)).toMatchObject({ action: 'erasure' })
    expect(JSON.stringify(results)).not.toContain(email)
  })

  it('with crm: true also deletes the lead and the events lead-intake wrote, through Unified', async () => {
    const email = unique('erase-crm')
    await waitForState(await idOf((await post('plain', { rate_limit: false }, { email, message: 'one' })).res), 'written')
    await waitForState(await idOf((await post('plain', { rate_limit: false }, { email, message: 'two' })).res), 'written')
    const lead = (await leadsWithEmail(email))[0]!
    const res = await erase({ email, crm: true })
    const body = (await res.json()) as { crm: { deleted: { object: string; id: string }[]; failed: unknown[] } }
    expect(body.crm.failed).toEqual([])
    expect(body.crm.deleted).toContainEqual({ object: 'lead', id: lead.id })
    expect(body.crm.deleted.filter((d) => d.object === 'event')).toHaveLength(2)
    expect(await leadsWithEmail(email)).toEqual([])
    const { client } = await import('./helpers')
    expect((await client.records('conn-test', 'event')).filter((e) => e.lead_ids?.includes(lead.id))).toEqual([])
  })

  it('drops a retry still in the queue and refuses the replay of a failed submission of an erased person', async () => {
    const retrying = unique('erase-retry')
    const failed = unique('erase-failed')
    await standin.faults([{ operations: ['lead.create'], status: 503 }])
    const retryId = await idOf((await post('plain', { rate_limit: false }, { email: retrying })).res)
    await waitForState(retryId, 'retrying')
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const failedId = await idOf((await post('plain', { rate_limit: false }, { email: failed })).res)
    await waitForState(failedId, 'failed')
    expect((await erase({ email: retrying })).status).toBe(200)
    expect((await erase({ email: failed })).status).toBe(200)
    await standin.faults([])
    expect((await operatorApi(`/submissions/${failedId}/replay`, { method: 'POST' })).status).toBe(404)
    await new Promise((r) => setTimeout(r, 6000)) // past the retry's next attempt
    expect(await leadsWithEmail(retrying)).toEqual([])
    expect(await leadsWithEmail(failed)).toEqual([])
    expect(await leftovers(retrying)).toMatchObject({ submissions: 0, identities: 0, r2: 0 })
    expect(await leftovers(failed)).toMatchObject({ submissions: 0, r2: 0 })
  })

  it('drops a Typeform redelivery of a response sent before the erasure, and writes a new submission after it', async () => {
    const { default: docsExample } = await import('./fixtures/typeform/form_response.docs-example.json')
    const { postWebhook, signTypeform } = await import('./helpers')
    const email = unique('erase-tf')
    const payload = structuredClone(docsExample)
    ;(payload.form_response.answers.find((a) => a.type === 'email') as { email: string }).email = email
    payload.form_response.submitted_at = new Date(Date.now() - 60_000).toISOString()
    const send = async (eventId: string) => {
      const body = JSON.stringify({ ...payload, event_id: eventId })
      return postWebhook('typeform', body, await signTypeform(body))
    }
    await waitForState(await idOf(await send(`erase-${crypto.randomUUID()}`)), 'written')
    await erase({ email, crm: true })
    // Typeform redelivers the same response (as after a timeout, under a new event id): it is dropped.
    const late = await idOf(await send(`erase-${crypto.randomUUID()}`))
    await new Promise((r) => setTimeout(r, 4000))
    expect(await leadsWithEmail(email)).toEqual([])
    expect((await operatorApi(`/submissions/${late}`)).status).toBe(404)
    // The person comes back of their own accord: a new consent, a new lead.
    const fresh = await idOf((await post('plain', { rate_limit: false }, { email, first_name: 'Again' })).res)
    await waitForState(fresh, 'written')
    expect(await leadsWithEmail(email)).toEqual([expect.objectContaining({ first_name: 'Again' })])
  })

  it('erases a submission the queue dead-lettered: its row is found by the email in it, and a replay is then 404', async () => {
    const { createExecutionContext, createMessageBatch, getQueueResult } = await import('cloudflare:test')
    const { default: worker } = await import('../src/index')
    const email = unique('erase-dlq')
    // The post is accepted, then the queue gives up on its message (max_retries spent): the dead-letter reader keeps the lead.
    const { res, sent } = await fetchWith('/forms/plain', { method: 'POST', body: JSON.stringify({ email, first_name: 'Dee', message: 'call me' }), headers: { 'content-type': 'application/json' } }, { FORMS: { plain: { rate_limit: false } } })
    const id = await idOf(res)
    const batch = createMessageBatch('lead-intake-dead-letters', [{ id: 'dlq-erase', timestamp: new Date(), attempts: 1, body: sent[0] as never }])
    const ctx = createExecutionContext()
    await worker.queue(batch as never, env, ctx)
    await getQueueResult(batch, ctx)
    expect(await waitForState(id, 'failed')).toMatchObject({ last_error: expect.stringContaining('the queue gave up') })
    expect((await (await erase({ email })).json()) as unknown).toMatchObject({ removed: { submissions: 1 } })
    expect(await leftovers(email)).toMatchObject({ submissions: 0 })
    expect((await env.DB.prepare(`SELECT count(*) AS n FROM submissions WHERE id = ?1`).bind(id).first<{ n: number }>())!.n).toBe(0)
    expect((await operatorApi(`/submissions/${id}/replay`, { method: 'POST' })).status).toBe(404)
  })

  it('waits for a write of the person under way, then leaves nothing of it: no record, no event, no row, nothing to export', async () => {
    const { client } = await import('./helpers')
    await client.connection('conn-test', { latency_ms: 1500 }) // every CRM call takes 1.5 s
    const email = unique('erase-inflight')
    const { hashIdentifier } = await import('../src/lead/identity')
    const hash = await hashIdentifier(env.HASH_SECRET, { kind: 'email', value: email })
    const id = await idOf((await post('plain', { rate_limit: false }, { email, first_name: 'Ian', message: 'in flight' })).res)
    // The consumer has resolved the person and their writer is talking to the CRM.
    await waitFor(async () => (await env.DB.prepare(`SELECT 1 AS hit FROM identities WHERE hash = ?1`).bind(hash).first()) ?? undefined, 15_000, 'the person in the ledger')
    const res = await erase({ email, crm: true })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { crm: { failed: unknown[] } }
    expect(body.crm.failed).toEqual([])
    // The consumer's outcome of that write comes back after the erasure: it must not bring the row back.
    await new Promise((r) => setTimeout(r, 3000))
    await client.connection('conn-test', {})
    expect(await leadsWithEmail(email)).toEqual([])
    expect((await client.records('conn-test', 'event')).filter((e) => JSON.stringify(e).includes(email))).toEqual([])
    expect((await operatorApi(`/submissions/${id}`)).status).toBe(404)
    expect(await leftovers(email)).toMatchObject({ submissions: 0, identities: 0, storage: 0, r2: 0 })
    const exported = (await (await operatorApi(`/people?email=${encodeURIComponent(email)}`)).json()) as { people: unknown[]; submissions: unknown[] }
    expect(exported).toMatchObject({ people: [], submissions: [] })
  })

  it('with crm: true deletes an event whose create answer was lost, found on the person’s record', async () => {
    const { client } = await import('./helpers')
    const email = unique('erase-lost-event')
    // The event lands but its answer is lost; the retry then can't reach the CRM for a while.
    await standin.faults([
      { operations: ['event.create'], lose_response: true, times: 1 },
      { operations: ['lead.get'], status: 503, until_ms: Date.now() + 20_000 },
    ])
    const id = await idOf((await post('plain', { rate_limit: false }, { email, message: 'lost answer' })).res)
    await waitForState(id, 'retrying')
    const [lead] = await leadsWithEmail(email)
    expect((await client.records('conn-test', 'event')).filter((e) => e.lead_ids?.includes(lead!.id))).toHaveLength(1)
    const body = (await (await erase({ email, crm: true })).json()) as { crm: { deleted: { object: string }[]; failed: unknown[] } }
    expect(body.crm.failed).toEqual([])
    expect(body.crm.deleted.filter((d) => d.object === 'event')).toHaveLength(1)
    expect((await client.records('conn-test', 'event')).filter((e) => e.lead_ids?.includes(lead!.id))).toEqual([])
    expect(await leadsWithEmail(email)).toEqual([])
  })

  it('exports everything held on a person, by email, without storing the address', async () => {
    const email = unique('export')
    const id = await idOf((await post('consented', consentForm(false), { email, consent: 'yes' })).res)
    await waitForState(id, 'written')
    const res = await operatorApi(`/people?email=${encodeURIComponent(email.toUpperCase())}`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { people: { records: { lead?: { id: string } } }[]; submissions: { id: string; consent_version: string; crm_ids: { lead: string } }[] }
    expect(body.people).toHaveLength(1)
    expect(body.submissions).toEqual([expect.objectContaining({ id, consent_version: '2026-11' })])
    expect(body.people[0]!.records.lead!.id).toBe(body.submissions[0]!.crm_ids.lead)
    const { results } = await env.DB.prepare(`SELECT * FROM audit WHERE action = 'export'`).all()
    expect(results.length).toBeGreaterThan(0)
    expect(JSON.stringify(results)).not.toContain(email)
  })

  it('refuses a request that names no one (400) or no address (422)', async () => {
    expect((await erase({})).status).toBe(400)
    expect((await erase({ email: 'not-an-address' })).status).toBe(422)
  })
})

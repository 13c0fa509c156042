/**
 * `preset = "linkedin-lead-gen"` through HTTP and the real queue: LinkedIn's validation challenge,
 * notifications signed either way the docs can be read (X-LI-Signature), each CREATED lead read back
 * from the stand-in's LinkedIn (the response and its form's predefined fields) and written once,
 * test leads kept out of the CRM by default, a refused token holding the lead, and DELETED erasing the
 * person. The endpoints `li-leads` and `li-tests` (write_test_leads) and their secrets are bindings
 * of vitest.config.ts, so the consumer sees them too.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import formFixture from './fixtures/linkedin-lead-gen/leadForm.docs-fields.json?raw'
import responseFixture from './fixtures/linkedin-lead-gen/leadFormResponse.docs-fields.json?raw'
import notificationFixture from './fixtures/linkedin-lead-gen/notification.docs-fields.json?raw'
import { fetchWith, hex, hmac, leadsWithEmail, operatorApi, request, standin, standinUrl, submission, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

const SECRET = 'li-client-secret-6e21'
const TOKEN = 'li-member-token-0c9d'
const DOCS_ID = 'fb9fc2bd-a09f-4327-a09b-0f3bd4bd3d6e'

const post = (path: string, body: unknown) => fetch(`${standinUrl}/_standin/linkedin/${path}`, { method: 'POST', body: JSON.stringify(body) })
const linkedin = {
  seedLead: (lead: Record<string, unknown>) => post('leads', lead),
  seedForm: () => post('forms', JSON.parse(formFixture)),
  revoke: (revoked: string[]) => post('tokens', { revoked }),
  calls: async () => (await (await fetch(`${standinUrl}/_standin/linkedin/calls`)).json()) as { path: string; token: string; version: string | null }[],
}

/** The docs-shaped notification for lead `id` (DELETED when asked). */
const notification = (id: string, action = 'CREATED') => notificationFixture.replace(DOCS_ID, id).replace('"leadAction": "CREATED"', `"leadAction": "${action}"`)
/** A phone of its own per lead: a shared one would make every test's lead one person in the identity ledger. */
const phoneOf = (id: string) => `+1 415 555 ${String(parseInt(id.slice(0, 4), 16) % 10_000).padStart(4, '0')}`
/** The docs-shaped lead form response for lead `id`, with `email` and a phone of its own (and `extra`). */
const leadResponse = (id: string, email: string, extra: Record<string, unknown> = {}) => ({
  ...(JSON.parse(responseFixture.replace(DOCS_ID, id).replace('jane.doe@example.com', email).replace('+1 415 555 0199', phoneOf(id))) as Record<string, unknown>),
  ...extra,
})

/** Signed as `hmacsha256=` + hex HMAC of the body (the reading most receivers use). */
const signPrefixed = async (body: string, secret = SECRET) => `hmacsha256=${hex(await hmac(secret, body))}`
/** Signed as the hex HMAC of `hmacsha256=` + body (the other reading of the docs). */
const signOver = async (body: string, secret = SECRET) => hex(await hmac(secret, `hmacsha256=${body}`))

const init = (body: string, signature?: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/json', ...(signature ? { 'x-li-signature': signature } : {}) } })

async function deliver(body: string, { endpoint = 'li-leads', realQueue = true, overrides = {} as Record<string, unknown> } = {}) {
  const { res, sent } = await fetchWith(`/webhooks/${endpoint}`, init(body, await signPrefixed(body)), overrides, { realQueue })
  return { res, sent, answer: (await res.json()) as { id: string; status: string; reason?: string } }
}

const metadataOf = (lead: { metadata?: { slug?: string; value?: unknown }[] }) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))

describe('validation challenge (GET)', () => {
  it('answers the docs\' challengeCode with its hex HMAC-SHA256 under the client secret, as JSON', async () => {
    const challengeCode = '890e4665-4dfe-4ab1-b689-ed553bceeed0'
    const res = await request(`/webhooks/li-leads?challengeCode=${challengeCode}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ challengeCode, challengeResponse: hex(await hmac(SECRET, challengeCode)) })
  })

  it('answers 400 problem+json without a challengeCode', async () => {
    const res = await request('/webhooks/li-leads')
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})

describe('notifications (POST)', () => {
  it('accepts a notification signed either way the docs read, and queues the lead to read back', async () => {
    for (const sign of [signPrefixed, signOver]) {
      const id = crypto.randomUUID()
      const body = notification(id)
      const { res, sent } = await fetchWith('/webhooks/li-leads', init(body, await sign(body)))
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ status: 'accepted' })
      expect(sent).toMatchObject([{ origin: { source: 'li-leads', form: '6838' }, payload: { fetch: { id, hints: { form_id: '6838', lead_type: 'SPONSORED' } } } }])
    }
  })

  it('refuses a forged, a tampered and an unsigned notification (401), and an unreadable signature (400), queueing nothing', async () => {
    const body = notification(crypto.randomUUID())
    const cases: [RequestInit, number][] = [
      [init(body, await signPrefixed(body, 'not-the-secret')), 401],
      [init(body, await signOver(body, 'not-the-secret')), 401],
      [init(body.replace('522529623', '522529624'), await signPrefixed(body)), 401],
      [init(body), 401],
      [init(body, 'hmacsha256=zz'), 400],
    ]
    for (const [request, status] of cases) {
      const { res, sent } = await fetchWith('/webhooks/li-leads', request)
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(sent).toEqual([])
    }
  })

  it('answers 400 to a signed body that is no lead notification, queueing nothing', async () => {
    for (const body of ['{"type":"LEAD_ACTION","leadAction":"CREATED"}', notification('not a valid id!'), 'not json']) {
      const { res, sent } = await fetchWith('/webhooks/li-leads', init(body, await signPrefixed(body)))
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(sent).toEqual([])
    }
  })
})

describe('reading the lead back', () => {
  it('writes the lead as LinkedIn has it, mapped through the form\'s predefined fields; a redelivery reads and writes nothing', async () => {
    const id = crypto.randomUUID()
    const email = `li-${id.slice(0, 8)}@example.com`
    await linkedin.seedForm()
    await linkedin.seedLead(leadResponse(id, email))
    const { answer } = await deliver(notification(id))
    await waitForState(answer.id, 'written')
    const [lead] = await leadsWithEmail(email)
    expect(lead).toMatchObject({ first_name: 'Jane', last_name: 'Doe', company_name: 'Example Freight', source: 'LinkedIn Lead Gen' })
    expect(lead!.telephones?.[0]?.telephone).toBe(phoneOf(id).replaceAll(' ', ''))
    // A lead keeps the job title as its custom field `title`; CITY and custom questions are custom fields too.
    expect(metadataOf(lead!)).toMatchObject({
      title: 'Head of Operations',
      city: 'Sacramento',
      fleetsize: ['11-50'],
      consent_1: true,
      linkedin_lead_id: id,
      linkedin_form_id: '6838',
      linkedin_campaign: 'urn:li:sponsoredCampaign:345678901',
      linkedin_lead_type: 'SPONSORED',
    })
    const calls = await linkedin.calls()
    expect(calls.map((c) => c.path)).toEqual([`leadFormResponses/${id}`, 'leadForms/6838'])
    expect(calls.every((c) => c.token === TOKEN && /^\d{6}$/.test(c.version ?? ''))).toBe(true)
    const before = await standin.counters()
    const again = await deliver(notification(id), { realQueue: false })
    expect(again.answer.status).toBe('duplicate')
    expect(again.sent).toEqual([])
    await new Promise((r) => setTimeout(r, 1000))
    expect(await linkedin.calls()).toHaveLength(2)
    expect(await standin.counters()).toEqual(before)
  })

  it('a test lead (testLead) is not written by default, and is on an endpoint with write_test_leads', async () => {
    await linkedin.seedForm()
    const [quiet, loud] = [crypto.randomUUID(), crypto.randomUUID()]
    await linkedin.seedLead(leadResponse(quiet, `t-${quiet.slice(0, 8)}@example.com`, { testLead: true }))
    await linkedin.seedLead(leadResponse(loud, `t-${loud.slice(0, 8)}@example.com`, { testLead: true }))
    const a = await deliver(notification(quiet))
    const row = await waitForState(a.answer.id, 'ignored')
    expect(row.last_error).toBe('test-lead')
    const b = await deliver(notification(loud), { endpoint: 'li-tests' })
    await waitForState(b.answer.id, 'written')
    expect(await leadsWithEmail(`t-${quiet.slice(0, 8)}@example.com`)).toEqual([])
    expect(await leadsWithEmail(`t-${loud.slice(0, 8)}@example.com`)).toHaveLength(1)
  })

  it('a lead deleted on LinkedIn before it is read (404) is ignored with the reason', async () => {
    await linkedin.seedForm()
    const { answer } = await deliver(notification(crypto.randomUUID()))
    const row = await waitForState(answer.id, 'ignored')
    expect(row.last_error).toContain('no longer exists on LinkedIn')
    expect(await standin.counters()).toEqual({})
  })

  it('a refused token (401) holds the lead with the fix, spending no attempt; once the token works the lead is written', async () => {
    const id = crypto.randomUUID()
    const email = `tok-${id.slice(0, 8)}@example.com`
    await linkedin.seedForm()
    await linkedin.seedLead(leadResponse(id, email))
    await linkedin.revoke([TOKEN])
    const { answer } = await deliver(notification(id))
    const held = await waitFor(async () => {
      const row = await submission(answer.id)
      return row?.state === 'retrying' && row.last_error?.includes('WEBHOOK_ACCESS_TOKEN_LI_LEADS') ? row : undefined
    })
    expect(held.attempts).toBe(0)
    await linkedin.revoke([])
    await waitForState(answer.id, 'written', 60_000)
    expect(await leadsWithEmail(email)).toHaveLength(1)
  }, 90_000)
})

describe('DELETED: the member asked LinkedIn to delete the lead', () => {
  const written = async () => {
    const id = crypto.randomUUID()
    const email = `del-${id.slice(0, 8)}@example.com`
    await linkedin.seedForm()
    await linkedin.seedLead(leadResponse(id, email))
    const { answer } = await deliver(notification(id))
    await waitForState(answer.id, 'written')
    return { id, email, submissionId: answer.id }
  }
  const held = async (email: string) => (await (await operatorApi(`/people?email=${encodeURIComponent(email)}`)).json()) as { people: unknown[]; submissions: unknown[] }

  it('erases what lead-intake holds of the person (log, ledger), leaving the CRM records unless erase_crm is set', async () => {
    const { id, email, submissionId } = await written()
    expect((await held(email)).submissions).toHaveLength(1)
    const { res, answer } = await deliver(notification(id, 'DELETED'), { realQueue: false })
    expect(res.status).toBe(200)
    expect(answer.status).toBe('ignored')
    expect(answer.reason).toContain('erased at the platform\'s request: 1 submission(s), 1 person(s)')
    expect(await held(email)).toMatchObject({ people: [], submissions: [] })
    expect((await operatorApi(`/submissions/${submissionId}`)).status).toBe(404)
    expect(await leadsWithEmail(email)).toHaveLength(1)
  })

  it('with erase_crm = true the CRM records lead-intake wrote go too', async () => {
    const { id, email } = await written()
    const overrides = {
      WEBHOOKS: JSON.stringify({ 'li-leads': { preset: 'linkedin-lead-gen', api_url: `${standinUrl}/linkedin/rest`, erase_crm: true } }),
    }
    const { answer } = await deliver(notification(id, 'DELETED'), { realQueue: false, overrides })
    expect(answer.reason).toContain('CRM records deleted')
    expect(await leadsWithEmail(email)).toEqual([])
    expect(await held(email)).toMatchObject({ people: [], submissions: [] })
  })

  it('a deletion of a lead not read back yet removes its submission (no identifier names the person yet)', async () => {
    const id = crypto.randomUUID()
    const created = await deliver(notification(id), { realQueue: false })
    expect(created.sent).toHaveLength(1)
    expect((await operatorApi(`/submissions/${created.answer.id}`)).status).toBe(200)
    const { answer } = await deliver(notification(id, 'DELETED'), { realQueue: false })
    expect(answer.reason).toContain('not read back yet; its submission is removed')
    expect((await operatorApi(`/submissions/${created.answer.id}`)).status).toBe(404)
  })

  it('a deletion of a lead lead-intake never received is acknowledged, saying nothing was held', async () => {
    const { res, answer } = await deliver(notification(crypto.randomUUID(), 'DELETED'), { realQueue: false })
    expect(res.status).toBe(200)
    expect(answer.reason).toContain('holds nothing of this lead')
  })
})

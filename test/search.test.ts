/**
 * Finding the person in the CRM: a search cut off is never "not found", an answer the SDK
 * can't read is never another person's data in the log, and a 501 is not retried for hours.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { client, fetchWith, idOf, leadsWithEmail, postJson, standin, unique, waitForState } from './helpers'

beforeEach(() => standin.reset())

const CONNECTION = 'conn-test'
const post = async (body: Record<string, unknown>) => idOf(await postJson('/forms/contact', body))

/** `n` leads that a fuzzy search for `email` also returns, stored as if the CRM had them. */
async function nearMisses(email: string, n: number) {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => standin.seed({ emails: [{ email: `${email}.${i + j}` }] })))
  }
}

describe('a CRM that picks its own page size', () => {
  it('finds the person past its first page (minimal: 20 a page, limit and query ignored) instead of creating them again', async () => {
    await client.connection(CONNECTION, { integration: 'minimal' })
    for (let i = 0; i < 24; i++) await client.seed(CONNECTION, 'lead', { name: `P ${i}`, emails: [{ email: `p${i}@example.org` }] })
    const target = await client.seed(CONNECTION, 'lead', { name: 'Target', emails: [{ email: 'target@example.org' }] })
    const { res } = await fetchWith(
      '/forms/demo',
      { method: 'POST', body: JSON.stringify({ email: 'target@example.org', first_name: 'T' }), headers: { 'content-type': 'application/json' } },
      { FORMS: { demo: { rate_limit: false, timeline: false } } },
      { realQueue: true },
    )
    const id = await idOf(res)
    expect(await waitForState(id, 'written')).toMatchObject({ crm_lead_id: target.id })
    expect((await standin.counters())['lead.create']).toBeUndefined()
    expect((await client.records(CONNECTION, 'lead')).filter((l) => l.emails?.some((e) => e.email === 'target@example.org'))).toHaveLength(1)
  })
})

describe('a cut-off search never creates', () => {
  it('finds the person behind 500 near-miss candidates, where the old 5-page cap created a duplicate', async () => {
    const email = `near${crypto.randomUUID().slice(0, 6)}@example.org`
    await nearMisses(email, 500)
    const target = await standin.seed({ emails: [{ email }], first_name: 'Target' })
    const id = await post({ email, last_name: 'Found' })
    expect(await waitForState(id, 'written', 45_000)).toMatchObject({ action: 'updated', crm_lead_id: target.id })
    expect(await leadsWithEmail(email)).toEqual([expect.objectContaining({ id: target.id, first_name: 'Target', last_name: 'Found' })])
    expect((await standin.counters())['lead.create']).toBeUndefined()
  })

  it('fails the write, visibly and at once, when the search would go past its budget, and creates nothing', async () => {
    const email = `crowd${crypto.randomUUID().slice(0, 6)}@example.org`
    await nearMisses(email, 2_000) // a full budget of 20 pages: the search can't know whether the person is behind them
    const id = await post({ email })
    const row = await waitForState(id, 'failed', 45_000)
    expect(row.attempts).toBe(1)
    expect(row.last_error).toContain('search cut off')
    expect(row.last_error).toContain('not created')
    const counters = await standin.counters()
    expect(counters['lead.create']).toBeUndefined()
    expect(counters['lead.list']).toBe(20)
  })

  it('reads every lead of a CRM that ignores `query`, and finds the person on a later page', async () => {
    await client.connection(CONNECTION, { profiles: ['query-ignored'] })
    for (let i = 0; i < 150; i++) await standin.seed({ emails: [{ email: `someone${i}@elsewhere.example` }] })
    const email = unique('ignored')
    const target = await standin.seed({ emails: [{ email }] })
    const id = await post({ email, first_name: 'Paged' })
    expect(await waitForState(id, 'written')).toMatchObject({ action: 'updated', crm_lead_id: target.id })
    expect((await standin.counters())['lead.list']).toBe(2)
  })

  it('treats a CRM that ignores `query` with more leads than the budget as a cut-off search, saying so', async () => {
    await client.connection(CONNECTION, { profiles: ['query-ignored'] })
    await nearMisses('bulk@elsewhere.example', 2_000)
    const id = await post({ email: unique('ignored') })
    const row = await waitForState(id, 'failed', 45_000)
    expect(row.last_error).toContain("can't search leads by query")
    expect((await standin.counters())['lead.create']).toBeUndefined()
  })
})

describe('answers the SDK cannot read', () => {
  it('reads past a candidate with `first_name: null`, and writes the lead', async () => {
    const email = unique('nullmatch')
    await standin.seed({ emails: [{ email: `${email}.au` }], first_name: null, last_name: 'Otherperson' })
    const id = await post({ email, first_name: 'Real' })
    expect(await waitForState(id, 'written')).toMatchObject({ action: 'created' })
    expect(await leadsWithEmail(email)).toHaveLength(1)
  })

  it('updates an existing lead whose own fields are null', async () => {
    const email = unique('nullself')
    const lead = await standin.seed({ emails: [{ email }], first_name: null, company_name: null })
    const id = await post({ email, first_name: 'Filled' })
    expect(await waitForState(id, 'written')).toMatchObject({ action: 'updated', crm_lead_id: lead.id })
    expect((await leadsWithEmail(email))[0]!.first_name).toBe('Filled')
  })

  it('stores status, operation, error class and the CRM’s own reason', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const id = await post({ email: unique('quiet') })
    const row = await waitForState(id, 'failed')
    expect(row.last_error).toMatch(/^create lead: Unified answered 400 \(SDKError\): .+\. fix: give each field the CRM names a value under form "contact"/)
  })
})

describe('unsupported operations', () => {
  it('fails a 501 at once, saying the CRM does not support it, instead of retrying for hours', async () => {
    await client.connection(CONNECTION, { profiles: ['no-leads'] })
    // A source that asks for leads explicitly (the default, auto, would write a contact).
    const { res } = await fetchWith('/forms/leads', { method: 'POST', body: JSON.stringify({ email: unique('noleads') }), headers: { 'content-type': 'application/json' } }, { FORMS: { leads: { write: 'lead', rate_limit: false } } }, { realQueue: true })
    const id = await idOf(res)
    const row = await waitForState(id, 'failed')
    expect(row.attempts).toBe(1)
    expect(row.last_error).toContain('501')
    expect(row.last_error).toContain('does not support')
  })
})

/** Find-then-update: exact-match dedup against fuzzy CRM search, and the merge policy, field by field. */
import { beforeEach, describe, expect, it } from 'vitest'
import { leadsWithEmail, postJson, standin, unique, waitForDelivery, type WireLead } from './helpers'

beforeEach(() => standin.reset())

/** Posts to the contact form and waits until the lead writer has finished it. */
async function submit(body: Record<string, unknown>, form = 'contact'): Promise<string> {
  const res = await postJson(`/forms/${form}`, body)
  expect(res.status).toBe(202)
  const { id } = (await res.json()) as { id: string }
  await waitForDelivery([id])
  return id
}

/** Calls to Unified's lead endpoints (each submission adds one timeline event besides). */
const leadCalls = async () =>
  Object.entries(await standin.counters())
    .filter(([op]) => op.startsWith('lead.'))
    .reduce((n, [, c]) => n + c, 0)

const only = async (email: string): Promise<WireLead> => {
  const leads = await leadsWithEmail(email)
  expect(leads).toHaveLength(1)
  return leads[0]!
}

describe('exact-match dedup', () => {
  it('does not mistake a fuzzy near-miss for the same person', async () => {
    const near = await standin.seed({ emails: [{ email: 'alex@example.com.au' }], first_name: 'Alex', source: 'CRM' })
    await submit({ email: 'alex@example.com', first_name: 'Alexander' })
    const leads = await standin.leads()
    expect(leads).toHaveLength(2)
    expect(leads.find((l) => l.id === near.id)).toMatchObject({ first_name: 'Alex', emails: [{ email: 'alex@example.com.au' }] })
    expect((await only('alex@example.com')).first_name).toBe('Alexander')
  })

  it('updates the existing lead instead of creating a second one, matching email case-insensitively', async () => {
    const email = unique()
    const existing = await standin.seed({ emails: [{ email: email.toUpperCase(), type: 'WORK' }], source: 'CRM', status: 'Qualified' })
    await submit({ email, first_name: 'Katherine' })
    const leads = await standin.leads()
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ id: existing.id, first_name: 'Katherine' })
  })

  it('finds the person past the first page of fuzzy results', async () => {
    const email = 'sam@example.org'
    // 120 near-misses that a fuzzy search for the address also returns, created first.
    for (let i = 0; i < 120; i++) await standin.seed({ emails: [{ email: `sam@example.org.${i}` }] })
    const target = await standin.seed({ emails: [{ email }], first_name: 'Sam' })
    await submit({ email, last_name: 'Altman' })
    const leads = await leadsWithEmail(email)
    expect(leads.map((l) => l.id)).toEqual([target.id])
    expect(leads[0]).toMatchObject({ first_name: 'Sam', last_name: 'Altman' })
    expect((await standin.counters())['lead.list']).toBeGreaterThanOrEqual(2)
  })

  it('picks the oldest of several exact matches, every time', async () => {
    const email = unique()
    const older = await standin.seed({ emails: [{ email }] })
    await new Promise((r) => setTimeout(r, 5))
    const newer = await standin.seed({ emails: [{ email }] })
    await submit({ email, company: 'First Co' })
    const leads = await leadsWithEmail(email)
    expect(leads.find((l) => l.id === older.id)?.company_name).toBe('First Co')
    expect(leads.find((l) => l.id === newer.id)?.company_name).toBeUndefined()
  })

  it('dedups by phone digits when there is no email', async () => {
    const existing = await standin.seed({ telephones: [{ telephone: '+1 (555) 010-9999' }], first_name: 'Phone' })
    await submit({ phone: '1-555-010-9999', last_name: 'Only' })
    const leads = await standin.leads()
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ id: existing.id, first_name: 'Phone', last_name: 'Only' })
  })
})

describe('merge policy', () => {
  it('fills empty names but never overwrites good CRM data with a later form', async () => {
    const email = unique()
    await standin.seed({ emails: [{ email }], first_name: 'Margaret', company_name: 'NASA', source: 'Trade show', status: 'Customer' })
    await submit({ email, first_name: 'Maggie', last_name: 'Hamilton', company: 'Hamilton Tech' })
    const lead = await only(email)
    expect(lead).toMatchObject({
      first_name: 'Margaret', // fill_if_empty: the CRM had one
      last_name: 'Hamilton', // fill_if_empty: the CRM had none
      company_name: 'NASA', // fill_if_empty
      source: 'Trade show', // never after create
      status: 'Customer', // never: a form does not regress a customer to "New"
    })
  })

  it('ignores blank incoming values', async () => {
    const email = unique()
    await standin.seed({ emails: [{ email }], first_name: 'Barbara', last_name: 'Liskov' })
    await submit({ email, first_name: '   ', last_name: '' })
    expect(await only(email)).toMatchObject({ first_name: 'Barbara', last_name: 'Liskov' })
    expect((await standin.counters())['lead.update']).toBeUndefined()
  })

  it('keeps the CRM’s emails and phones, and a public form adds none to a lead it did not make', async () => {
    const email = unique()
    await standin.seed({
      emails: [{ email, type: 'WORK' }, { email: 'home@example.net', type: 'HOME' }],
      telephones: [{ telephone: '+44 20 7946 0001', type: 'MOBILE' }],
    })
    await submit({ email, phone: '+44 20 7946 0002', first_name: 'Kept' })
    const lead = await only(email)
    expect(lead.first_name).toBe('Kept')
    expect(lead.emails).toEqual([
      { email, type: 'WORK' },
      { email: 'home@example.net', type: 'HOME' },
    ])
    // Anyone may type this address beside their own number: the number is not hung on this lead.
    expect(lead.telephones).toEqual([{ telephone: '+44 20 7946 0001', type: 'MOBILE' }])
  })

  it('appends a phone to a lead it made for the same person', async () => {
    const email = unique()
    await submit({ email })
    await submit({ email, phone: '+44 20 7946 0002' })
    expect((await only(email)).telephones).toEqual([{ telephone: '+442079460002', type: 'WORK' }])
  })

  it('upserts custom fields by slug and keeps the others', async () => {
    const email = unique()
    await standin.seed({
      emails: [{ email }],
      metadata: [
        { id: 'm1', slug: 'message', value: 'first message', format: 'TEXTAREA' },
        { id: 'm2', slug: 'lifetime_value', value: 1200, format: 'NUMBER' },
      ],
    })
    await submit({ email, message: 'second message' })
    const lead = await only(email)
    expect(lead.metadata).toEqual([
      { id: 'm1', slug: 'message', value: 'second message', format: 'TEXTAREA' },
      { id: 'm2', slug: 'lifetime_value', value: 1200, format: 'NUMBER' },
    ])
  })

  it('sends nothing to the lead when nothing changes', async () => {
    const email = unique()
    await submit({ email, first_name: 'Ida' })
    const before = await leadCalls()
    await submit({ email, first_name: 'Ida', note: 'a field the lead does not keep' }) // not a double submit: the timeline differs
    const after = await standin.counters()
    expect(after['lead.create']).toBe(1)
    expect(after['lead.update']).toBeUndefined()
    expect((await leadCalls()) - before).toBe(1) // the get; the submission itself goes on the timeline (records.test.ts)
  })
})

describe('Unified calls per lead', () => {
  it('uses 2 lead calls for a new lead, 2 for a changed repeat, 1 for a repeat that changes nothing on the lead', async () => {
    const email = unique()
    await submit({ email, first_name: 'Rosalind' })
    expect(await standin.counters()).toEqual({ 'lead.list': 1, 'lead.create': 1, 'event.create': 1 })
    let mark = await leadCalls()
    await submit({ email, last_name: 'Franklin' })
    expect((await leadCalls()) - mark).toBe(2)
    mark = await leadCalls()
    await submit({ email, last_name: 'Franklin', note: 'seen' })
    expect((await leadCalls()) - mark).toBe(1)
    expect((await only(email)).last_name).toBe('Franklin')
  })
})

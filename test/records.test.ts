/**
 * What gets written: a lead, a contact, or both, linked to the person's company, with every
 * submission as an event on the record's timeline; per connection; against the stand-in's
 * capability profiles (no leads, query ignored, no company search, no FORM events).
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { client, fetchWith, idOf, noteAnswers, operatorApi, standin, waitForDelivery, waitForState } from './helpers'

beforeEach(() => standin.reset())

const CONNECTION = 'conn-test'
const rand = () => crypto.randomUUID().slice(0, 8)

/** Posts `body` to form `id` configured as `config`, through the real queue; returns the submission id. */
async function post(id: string, config: Record<string, unknown>, body: Record<string, unknown>, forms: Record<string, unknown> = {}): Promise<string> {
  const { res } = await fetchWith(
    `/forms/${id}`,
    { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    { FORMS: { [id]: { rate_limit: false, ...config }, ...forms } },
    { realQueue: true },
  )
  return idOf(res)
}

const records = <K extends 'lead' | 'contact' | 'company' | 'event'>(kind: K, connection = CONNECTION) => client.records(connection, kind)
const calls = async () => Object.values(await standin.counters()).reduce((a, b) => a + b, 0)

describe('write = "lead" (the default)', () => {
  it('writes the lead and one NOTE per submission, carrying the form’s name, the fields and the message', async () => {
    const email = `ada-${rand()}@analytical.test`
    const first = await post('demo', { name: 'Demo request' }, { email, first_name: 'Ada', message: 'First question' })
    await waitForDelivery([first])
    const second = await post('demo', { name: 'Demo request' }, { email, message: 'Second question' })
    await waitForDelivery([second])
    const [lead, ...more] = await records('lead')
    expect(more).toEqual([])
    const events = await records('event')
    expect(events).toHaveLength(2)
    for (const e of events) expect(e).toMatchObject({ type: 'NOTE', lead_ids: [lead!.id], note: { title: 'Demo request' } })
    const answers = events.map(noteAnswers)
    expect(answers.map((a) => a.message).sort()).toEqual(['First question', 'Second question'])
    expect(answers[0]!['lead-intake submission']).toBeDefined()
    expect(await records('contact')).toEqual([])
  })

  it('costs 3 calls for a new person (search, create, event), 2 for a repeat that changes nothing (get, event), 0 for a double submit', async () => {
    const email = `calls-${rand()}@analytical.test`
    await waitForDelivery([await post('demo', {}, { email, first_name: 'Cal' })])
    expect(await standin.counters()).toEqual({ 'lead.list': 1, 'lead.create': 1, 'event.create': 1 })
    let mark = await calls()
    await waitForDelivery([await post('demo', {}, { email, first_name: 'Cal', message: 'one more thing' })])
    expect((await calls()) - mark).toBe(2) // get, event: the message is on the timeline, the lead has nothing new
    mark = await calls()
    await waitForDelivery([await post('demo', {}, { email, first_name: 'Cal', message: 'and another', note: 'x' })])
    expect((await calls()) - mark).toBe(2)
    mark = await calls()
    // The same fields again within minutes (a double click): recognised before any call.
    const double = await post('demo', {}, { email, first_name: 'Cal', message: 'and another', note: 'x' })
    expect(await waitForState(double, 'written')).toMatchObject({ action: 'repeat' })
    expect((await calls()) - mark).toBe(0)
    expect(await records('event')).toHaveLength(3)
  })

  it('records a NOTE where the CRM refuses FORM events', async () => {
    await client.connection(CONNECTION, { profiles: ['no-form-events'] })
    const email = `note-${rand()}@analytical.test`
    await waitForDelivery([await post('demo', { name: 'Contact us' }, { email, message: 'Please call me' })])
    const [event, ...more] = await records('event')
    expect(more).toEqual([])
    expect(event).toMatchObject({ type: 'NOTE', note: { title: 'Contact us' } })
    expect(event!.note!.description).toContain('message: Please call me')
  })

  it('adds no event when timeline = false', async () => {
    await waitForDelivery([await post('quiet', { timeline: false }, { email: `quiet-${rand()}@analytical.test` })])
    expect(await records('event')).toEqual([])
    expect(await records('lead')).toHaveLength(1)
  })

  it('never adds a second event when an event create’s answer was lost', async () => {
    await standin.faults([{ operations: ['event.create'], lose_response: true, times: 1 }])
    const id = await post('demo', {}, { email: `lost-${rand()}@analytical.test` })
    await waitForState(id, 'written', 45_000)
    expect(await records('event')).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(1)
  })

  it('finds its landed event on a busy record, however many pages of events the record has', async () => {
    const email = `busy-${rand()}@analytical.test`
    await waitForDelivery([await post('demo', {}, { email })])
    const [lead] = await records('lead')
    // Sales has logged 150 activities on this lead since: the next event lands on the list's second page.
    for (let i = 0; i < 150; i++) await client.seed(CONNECTION, 'event', { type: 'NOTE', note: { description: `call ${i}` }, lead_ids: [lead!.id] })
    await standin.faults([{ operations: ['event.create'], lose_response: true, times: 1 }])
    const id = await post('demo', {}, { email, message: 'second' })
    await waitForState(id, 'written', 45_000)
    const ours = (await records('event')).filter((e) => noteAnswers(e)['lead-intake submission'] === id)
    expect(ours).toHaveLength(1)
  })

  it('keeps an event create in doubt when the retry first meets a rate limit, so it still adds no second event', async () => {
    const email = `doubt-${rand()}@analytical.test`
    await waitForDelivery([await post('demo', {}, { email })])
    // The create lands but its answer is lost; the retry's first look at the events is refused with a 429.
    await standin.faults([
      { operations: ['event.create'], lose_response: true, times: 1 },
      { operations: ['event.list'], status: 429, retry_after: '1', times: 1 },
    ])
    const id = await post('demo', {}, { email, message: 'second' })
    await waitForState(id, 'written', 45_000)
    const ours = (await records('event')).filter((e) => noteAnswers(e)['lead-intake submission'] === id)
    expect(ours).toHaveLength(1)
  })
})

describe('defaults', () => {
  it('fills what a new record lacks from the source’s defaults, never over the person’s own value, and lets the person’s value replace a default later', async () => {
    const email = `defaults-${rand()}@analytical.test`
    const config = { defaults: { last_name: 'Unknown', company_name: 'Not provided' } }
    await waitForDelivery([await post('sf', config, { email, first_name: 'Ada', company_name: 'Analytical Engines' })])
    const [lead] = await records('lead')
    expect(lead).toMatchObject({ first_name: 'Ada', last_name: 'Unknown', company_name: 'Analytical Engines', name: 'Ada' })
    await waitForDelivery([await post('sf', config, { email, last_name: 'Lovelace' })])
    expect((await records('lead'))[0]).toMatchObject({ last_name: 'Lovelace', company_name: 'Analytical Engines' })
  })

  it('refuses an unknown defaults key at configuration, naming it', async () => {
    const { res } = await fetchWith('/forms/bad', { method: 'POST', body: JSON.stringify({ email: `x-${rand()}@analytical.test` }), headers: { 'content-type': 'application/json' } }, { FORMS: { bad: { defaults: { lastname: 'Unknown' } } } })
    expect(res.status).toBe(500)
    expect(await res.text()).toContain('FORMS.bad.defaults')
  })
})

describe('write = "contact" and "contact+lead"', () => {
  it('writes a contact, with title as a real column, and its events', async () => {
    const email = `grace-${rand()}@navy.test`
    await waitForDelivery([await post('c', { write: 'contact' }, { email, first_name: 'Grace', title: 'Rear Admiral' })])
    expect(await records('lead')).toEqual([])
    const [contact] = await records('contact')
    expect(contact).toMatchObject({ first_name: 'Grace', title: 'Rear Admiral', emails: [{ email, type: 'WORK' }] })
    expect(await records('event')).toEqual([expect.objectContaining({ contact_ids: [contact!.id] })])
  })

  it('turns 20 concurrent mixed posts for one person into one contact, one lead and one company, linked', async () => {
    await standin.faults([{ operations: ['contact.list', 'lead.list'], latency_ms: 200 }])
    const domain = `acme-${rand()}.test`
    const email = `ceo@${domain}`
    const phone = `+1 202 555 ${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`
    const shapes = [{ email }, { phone }, { email, phone }]
    const config = { write: 'contact+lead', company: true }
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => post('both', config, { ...shapes[i % 3], company_name: 'Acme', message: `try ${i}` })))
    await waitForDelivery(ids, 60_000)
    const [contact, ...moreContacts] = await records('contact')
    const [lead, ...moreLeads] = await records('lead')
    const [company, ...moreCompanies] = await records('company')
    expect([moreContacts, moreLeads, moreCompanies]).toEqual([[], [], []])
    // Found or made by whichever post came first: by the domain and name, or (a phone-only post) by the name alone.
    expect(company!.name).toBe('Acme')
    expect([[], [domain]]).toContainEqual(company!.domains ?? [])
    expect(contact!.company_ids).toEqual([company!.id])
    expect(lead).toMatchObject({ contact_id: contact!.id, company_id: company!.id })
    const events = await records('event')
    expect(events).toHaveLength(20)
    for (const e of events) expect(e).toMatchObject({ contact_ids: [contact!.id], lead_ids: [lead!.id], company_ids: [company!.id] })
  })

  it('finds both again on a repeat and creates neither: 3 calls (get contact, get lead, event)', async () => {
    const email = `repeat-${rand()}@initech.test`
    const config = { write: 'contact+lead', company: true }
    await waitForDelivery([await post('both', config, { email, company_name: 'Initech', note: 'first' })])
    const created = await standin.counters()
    expect(created['contact.create']).toBe(1)
    expect(created['lead.create']).toBe(1)
    expect(created['company.create']).toBe(1)
    const mark = await calls()
    await waitForDelivery([await post('both', config, { email, company_name: 'Initech', note: 'second' })])
    expect((await calls()) - mark).toBe(3)
    const after = await standin.counters()
    expect([after['contact.create'], after['lead.create'], after['company.create']]).toEqual([1, 1, 1])
  })

  it('costs 6 calls for a new person at a new company where leads need contacts: one company search, no lead search', async () => {
    const email = `new-${rand()}@hooli-${rand()}.test`
    const config = { write: 'contact+lead', company: true, leads_need_contacts: true }
    await waitForDelivery([await post('both', config, { email, company_name: 'Hooli', note: 'first' })])
    // The company searched once, by its name (and checked by domain too); the contact just made has no lead to find.
    expect(await standin.counters()).toEqual({ 'contact.list': 1, 'company.list': 1, 'company.create': 1, 'contact.create': 1, 'lead.create': 1, 'event.create': 1 })
    const [contact] = await records('contact')
    const [company] = await records('company')
    expect((await records('lead'))[0]).toMatchObject({ contact_id: contact!.id, company_id: company!.id })
  })

  it('still searches for the lead of a contact it found, though leads need contacts', async () => {
    const email = `known-${rand()}@initech.test`
    const contact = await client.seed(CONNECTION, 'contact', { emails: [{ email }], first_name: 'Peter' })
    const lead = await client.seed(CONNECTION, 'lead', { emails: [{ email }], contact_id: contact.id, first_name: 'Peter' })
    await waitForDelivery([await post('both', { write: 'contact+lead', leads_need_contacts: true }, { email, first_name: 'Peter' })])
    expect(await records('lead')).toEqual([expect.objectContaining({ id: lead.id })])
    expect((await standin.counters())['lead.list']).toBe(1)
  })
})

describe('company', () => {
  it('links to a company the CRM has, found by the email’s domain', async () => {
    const domain = `globex-${rand()}.test`
    const company = await client.seed(CONNECTION, 'company', { name: 'Globex Corporation', domains: [domain] })
    await waitForDelivery([await post('co', { company: true }, { email: `hank@${domain}` })])
    expect((await records('lead'))[0]).toMatchObject({ company_id: company.id })
    expect((await standin.counters())['company.create']).toBeUndefined()
  })

  it('finds a company the CRM has under another name by its domain, in the one search by name', async () => {
    const domain = `globex-${rand()}.test`
    const company = await client.seed(CONNECTION, 'company', { name: 'Globex Corporation', domains: [domain] })
    await waitForDelivery([await post('co', { company: true }, { email: `hank@${domain}`, company_name: 'Globex' })])
    expect((await records('lead'))[0]).toMatchObject({ company_id: company.id })
    expect(await standin.counters()).toMatchObject({ 'company.list': 1 })
    expect((await standin.counters())['company.create']).toBeUndefined()
  })

  it('finds a company by its exact normalized name when the email is free-mail', async () => {
    const company = await client.seed(CONNECTION, 'company', { name: `ACME, Inc. ${rand()}` })
    const name = company.name!.replace('ACME, Inc.', 'Acme Inc')
    await waitForDelivery([await post('co', { company: true }, { email: `wile-${rand()}@gmail.com`, company_name: name })])
    expect((await records('lead'))[0]).toMatchObject({ company_id: company.id })
  })

  it('makes one company for two colleagues posting at once, one with a work address and one with free-mail, naming it', async () => {
    // A slow company search and a slower create widen the window in which two writers would each create it.
    await standin.faults([
      { operations: ['company.list'], latency_ms: 300 },
      { operations: ['company.create'], latency_ms: 800 },
    ])
    const domain = `umbrella-${rand()}.test`
    const name = `Umbrella ${rand()}`
    const ids = await Promise.all([
      post('co', { company: true }, { email: `alice@${domain}`, company_name: name }),
      post('co', { company: true }, { email: `bob-${rand()}@gmail.com`, company_name: name }),
    ])
    await waitForDelivery(ids, 30_000)
    const [company, ...more] = await records('company')
    expect(more).toEqual([])
    expect((await records('lead')).map((l) => l.company_id)).toEqual([company!.id, company!.id])
  })

  it('never makes a company of a free-mail domain', async () => {
    await waitForDelivery([await post('co', { company: true }, { email: `solo-${rand()}@gmail.com` })])
    await waitForDelivery([await post('co', { company: true }, { email: `other-${rand()}@outlook.com`, company_name: 'Named Co' })])
    const companies = await records('company')
    expect(companies).toEqual([expect.objectContaining({ name: 'Named Co' })])
    expect(companies[0]!.domains ?? []).toEqual([])
    expect((await standin.counters())['company.list']).toBe(1) // by name only: a free-mail domain is not searched
  })

  it('reads every company and compares exactly where the CRM’s support data says it can’t search companies by query', async () => {
    await client.connection(CONNECTION, { profiles: ['no-company-search'] })
    const post1 = await post('both', { write: 'contact+lead', company: true }, { email: `one-${rand()}@hooli.test`, company_name: 'Hooli' })
    await waitForState(post1, 'written')
    const post2 = await post('both', { write: 'contact+lead', company: true }, { email: `two-${rand()}@hooli.test`, company_name: 'Hooli' })
    await waitForState(post2, 'written')
    expect(await records('company')).toEqual([expect.objectContaining({ name: 'Hooli' })])
    // No search by query was sent: the CRM would have answered 501.
    expect(await client.counters(CONNECTION, { status: 501 })).toEqual({})
  })

  it('falls back to the company’s name where the CRM can’t search companies and its support data can’t be read', async () => {
    await client.connection(CONNECTION, { profiles: ['no-company-search'] })
    await standin.faults([{ operations: ['connection.get'], status: 503 }])
    const email = `fallback-${rand()}@hooli.test`
    const id = await post('both', { write: 'contact+lead', company: true }, { email, company_name: 'Hooli' })
    await waitForState(id, 'written')
    expect(await records('company')).toEqual([])
    expect((await records('contact'))[0]).toMatchObject({ company: 'Hooli' })
    expect((await records('lead'))[0]).toMatchObject({ company_name: 'Hooli' })
  })
})

describe('an object the CRM does not support', () => {
  it('writes a contact where the CRM has no leads and the source says write = "auto" (the default)', async () => {
    await client.connection(CONNECTION, { profiles: ['no-leads'] })
    const email = `auto-${rand()}@analytical.test`
    const id = await post('demo', {}, { email, first_name: 'Otto' })
    expect(await waitForState(id, 'written')).toMatchObject({ action: 'created' })
    expect(await records('contact')).toEqual([expect.objectContaining({ first_name: 'Otto', emails: [expect.objectContaining({ email })] })])
  })

  it('fails at once naming the setting to change, and a replay after the change writes it', async () => {
    await client.connection(CONNECTION, { profiles: ['no-leads'] })
    const email = `noleads-${rand()}@analytical.test`
    const id = await post('demo', { write: 'lead' }, { email })
    const failed = await waitForState(id, 'failed')
    expect(failed.attempts).toBe(1)
    expect(failed.last_error).toContain('this CRM has no leads: set write = "contact" on form "demo"')
    const fixed = await fetchWith(
      `/operator/submissions/${id}/replay`,
      { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } },
      { FORMS: { demo: { write: 'contact' } } },
      { realQueue: true },
    )
    expect(fixed.res.status).toBe(202)
    await waitForState(id, 'written')
    expect((await records('contact'))[0]).toMatchObject({ emails: [{ email, type: 'WORK' }] })
  })
})

describe('connections', () => {
  it('writes one form to its own connection, and the same email in two connections is two people', async () => {
    const email = `twice-${rand()}@analytical.test`
    const forms = { other: { connection: 'conn-other', rate_limit: false } }
    await waitForDelivery([await post('demo', {}, { email, first_name: 'Here' }, forms)])
    await waitForDelivery([await post('other', { connection: 'conn-other' }, { email, first_name: 'There' })])
    expect(await records('lead')).toEqual([expect.objectContaining({ first_name: 'Here' })])
    expect(await records('lead', 'conn-other')).toEqual([expect.objectContaining({ first_name: 'There' })])
    const people = await env.DB.prepare(`SELECT connection, count(*) AS n FROM people GROUP BY connection ORDER BY connection`).all()
    expect(people.results.map((r) => r.connection)).toEqual(expect.arrayContaining(['conn-other', CONNECTION]))
  })
})

describe('knowing what the CRM accepts', () => {
  it('reads what the connection supports and tells each source what it gets', async () => {
    await client.connection(CONNECTION, { profiles: ['no-leads', 'query-ignored'] })
    await client.seed(CONNECTION, 'contact', { emails: [{ email: 'someone@analytical.test' }] })
    const res = await operatorApi('/connection')
    expect(res.status).toBe(200)
    const { connections } = (await res.json()) as { connections: { connection: string; integration?: string; objects: { object: string; from: string; readable?: string; query?: string }[]; sources: { source: string; writes: string[]; problems: string[]; notes: string[] }[] }[] }
    const report = connections.find((r) => r.connection === CONNECTION)!
    expect(report.integration).toBe('standin+no-leads+query-ignored')
    expect(report.objects).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ object: 'lead', from: 'unified', methods: expect.objectContaining({ create: 'no' }) }),
        expect.objectContaining({ object: 'contact', from: 'unified', query: 'no' }),
      ]),
    )
    // The default, auto, writes a contact where there are no leads.
    const form = report.sources.find((s) => s.source.startsWith('form "contact"'))!
    expect(form.writes).toEqual(['contact', 'event'])
    expect(form.problems).toEqual([])
    expect(form.notes).toContain('write = "auto" writes a contact here (this CRM can’t create leads) (Unified’s support data)')
    expect(form.notes.some((n) => n.startsWith('search by query not supported on contacts'))).toBe(true)
    // Only reads: nothing was created, nothing changed.
    const counters = await standin.counters()
    expect(Object.keys(counters).every((op) => op.endsWith('.list'))).toBe(true)
    // The status page shows the same.
    const page = await (await operatorApi('/')).text()
    expect(page).toContain('write = &#34;auto&#34; writes a contact here (this CRM can’t create leads) (Unified’s support data)')
  })
})

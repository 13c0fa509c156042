/**
 * The Unified stand-in itself: every test of the Worker trusts it, so it must
 * keep Unified's wire format and behave as documented. Each test drives a
 * fresh stand-in in-process (no network); the SDK tests use the running one.
 */
import { UnifiedToCore } from '@unified-api/typescript-sdk/core.js'
import { companyCreateCrmCompany } from '@unified-api/typescript-sdk/funcs/companyCreateCrmCompany.js'
import { companyListCrmCompanies } from '@unified-api/typescript-sdk/funcs/companyListCrmCompanies.js'
import { contactCreateCrmContact } from '@unified-api/typescript-sdk/funcs/contactCreateCrmContact.js'
import { contactListCrmContacts } from '@unified-api/typescript-sdk/funcs/contactListCrmContacts.js'
import { contactPatchCrmContact } from '@unified-api/typescript-sdk/funcs/contactPatchCrmContact.js'
import { crmListCrmLeads } from '@unified-api/typescript-sdk/funcs/crmListCrmLeads.js'
import { eventCreateCrmEvent } from '@unified-api/typescript-sdk/funcs/eventCreateCrmEvent.js'
import { eventGetCrmEvent } from '@unified-api/typescript-sdk/funcs/eventGetCrmEvent.js'
import { eventListCrmEvents } from '@unified-api/typescript-sdk/funcs/eventListCrmEvents.js'
import { eventRemoveCrmEvent } from '@unified-api/typescript-sdk/funcs/eventRemoveCrmEvent.js'
import { describe, expect, inject, it } from 'vitest'
import { type Kind, StandinState, standinApp } from '../standin/app'
import { type WireInput, standinClient } from '../standin/client'

const CONN = 'conn-a'

/** A connection's settings when nothing was set. */
const DEFAULTS = {
  integration: 'standin',
  integration_type: 'standin',
  profiles: ['full'],
  rate_limit: null,
  request_limit: null,
  latency_ms: 0,
  properties: [],
  picklists: {},
  page_size: null,
}

/** A fresh stand-in, its state, and the shared client talking to it through `app.request`. */
function fresh() {
  const state = new StandinState()
  const app = standinApp(state)
  const client = standinClient('http://standin.local', { fetch: (url, init) => app.request(url, init) })
  return { state, app, client }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Per object: a record to create, a patch (one scalar, one list), a field that must be a list. */
const SAMPLES: { [K in Kind]: { create: WireInput<K>; patch: WireInput<K>; notAList: string } } = {
  lead: {
    create: { first_name: 'Ada', last_name: 'Lovelace', company_name: 'Engines', emails: [{ email: 'ada@example.com', type: 'WORK' }] },
    patch: { status: 'Qualified', emails: [{ email: 'ada@engines.example' }] },
    notAList: 'emails',
  },
  contact: {
    create: { first_name: 'Grace', last_name: 'Hopper', company: 'Navy', company_ids: ['co-1'], emails: [{ email: 'grace@navy.example' }] },
    patch: { title: 'Rear Admiral', company_ids: ['co-2'] },
    notAList: 'company_ids',
  },
  company: {
    create: { name: 'Analytical Engines Ltd', domains: ['engines.example'], websites: ['https://www.engines.example'], employees: 12 },
    patch: { industry: 'Computing', domains: ['engines.example', 'ae.example'] },
    notAList: 'domains',
  },
  event: {
    create: { type: 'NOTE', note: { title: 'Call back', description: 'Asked about pricing' }, lead_ids: ['l-1'], contact_ids: ['c-1'] },
    patch: { note: { title: 'Called back' }, lead_ids: ['l-2'] },
    notAList: 'contact_ids',
  },
}
const KINDS = Object.keys(SAMPLES) as Kind[]

describe.each(KINDS)('%s CRUD', (kind) => {
  const sample = SAMPLES[kind]

  it('creates with server-set id and timestamps, ignoring ones sent', async () => {
    const { client } = fresh()
    const res = await client.crm(CONN, kind).create({ ...sample.create, id: 'mine', created_at: '2000-01-01T00:00:00.000Z' } as never)
    expect(res.status).toBe(200)
    expect(res.data).toMatchObject(sample.create)
    expect(res.data!.id).not.toBe('mine')
    expect(res.data!.created_at).not.toBe('2000-01-01T00:00:00.000Z')
    expect(res.data!.updated_at).toBe(res.data!.created_at)
    expect(await client.records(CONN, kind)).toEqual([res.data])
  })

  it('gets by id, and lists', async () => {
    const { client } = fresh()
    const crm = client.crm(CONN, kind)
    const { data: created } = await crm.create(sample.create)
    expect((await crm.get(created!.id)).data).toEqual(created)
    expect((await crm.list()).data).toEqual([created])
    expect((await client.crm('other-conn', kind).list()).data).toEqual([])
  })

  it('PATCH changes only the fields sent, and a list sent replaces the list', async () => {
    const { client } = fresh()
    const crm = client.crm(CONN, kind)
    const { data: created } = await crm.create(sample.create)
    await sleep(2)
    const { status, data } = await crm.patch(created!.id, sample.patch)
    expect(status).toBe(200)
    expect(data).toEqual({ ...created, ...sample.patch, updated_at: data!.updated_at })
    expect(data!.updated_at! > created!.updated_at!).toBe(true)
    expect((await crm.get(created!.id)).data).toEqual(data)
  })

  it('PUT behaves as PATCH (Unified updates the fields sent)', async () => {
    const { client } = fresh()
    const crm = client.crm(CONN, kind)
    const { data: created } = await crm.create(sample.create)
    const { data } = await crm.update(created!.id, sample.patch)
    expect(data).toMatchObject({ ...sample.create, ...sample.patch, id: created!.id, created_at: created!.created_at })
  })

  it('deletes, then the id is unknown', async () => {
    const { client } = fresh()
    const crm = client.crm(CONN, kind)
    const { data: created } = await crm.create(sample.create)
    expect((await crm.remove(created!.id)).status).toBe(200)
    expect(await client.records(CONN, kind)).toEqual([])
    expect(await crm.get(created!.id)).toMatchObject({ status: 404, message: `${kind} not found` })
  })

  it('answers 404 for unknown ids on get, update and delete', async () => {
    const { client } = fresh()
    const crm = client.crm(CONN, kind)
    for (const res of [await crm.get('nope'), await crm.patch('nope', sample.patch), await crm.update('nope', sample.patch), await crm.remove('nope')]) {
      expect(res).toMatchObject({ status: 404, message: `${kind} not found` })
    }
  })

  it('rejects a list-typed field that is not a list, on create and update', async () => {
    const { client } = fresh()
    const crm = client.crm(CONN, kind)
    const bad = { ...sample.create, [sample.notAList]: 'x' } as never
    expect(await crm.create(bad)).toMatchObject({ status: 400, message: `${sample.notAList} must be an array` })
    const { data: created } = await crm.create(sample.create)
    expect((await crm.patch(created!.id, bad)).status).toBe(400)
    expect(await client.records(CONN, kind)).toEqual([created])
  })

  it('requires a bearer token', async () => {
    const { app } = fresh()
    const res = await app.request(`/crm/${CONN}/${kind}`)
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Unauthorized: missing API token' })
  })
})

it('rejects a non-list form.fields inside an event', async () => {
  const { client } = fresh()
  const res = await client.crm(CONN, 'event').create({ type: 'FORM', form: { name: 'Demo', fields: 'email' as never } })
  expect(res).toMatchObject({ status: 400, message: 'form.fields must be an array' })
})

/** Ids of the records a list answered with, in order. */
const ids = (res: { data?: { id: string }[] }) => res.data?.map((r) => r.id)

describe('fuzzy query', () => {
  it('leads: every word is a substring of names, emails, telephones (digits too) or company name', async () => {
    const { client } = fresh()
    const alex = await client.seed(CONN, 'lead', { first_name: 'Alex', emails: [{ email: 'alex@example.com.au' }], company_name: 'Acme Pty' })
    const phone = await client.seed(CONN, 'lead', { last_name: 'Ng', telephones: [{ telephone: '+1 (555) 010-9999' }] })
    const list = (query: string) => client.crm(CONN, 'lead').list({ query }).then(ids)
    expect(await list('alex@example.com')).toEqual([alex.id])
    expect(await list('ALEX acme')).toEqual([alex.id])
    expect(await list('15550109999')).toEqual([phone.id])
    expect(await list('alex ng')).toEqual([])
    expect(await list('')).toEqual([alex.id, phone.id])
  })

  it('contacts: names, emails, telephones (digits too) and company', async () => {
    const { client } = fresh()
    const grace = await client.seed(CONN, 'contact', { first_name: 'Grace', last_name: 'Hopper', company: 'US Navy', emails: [{ email: 'grace@navy.example' }] })
    const alan = await client.seed(CONN, 'contact', { name: 'Alan Turing', telephones: [{ telephone: '+44 20 7946 0018' }] })
    const list = (query: string) => client.crm(CONN, 'contact').list({ query }).then(ids)
    expect(await list('grace hopper')).toEqual([grace.id])
    expect(await list('navy.example')).toEqual([grace.id])
    expect(await list('us navy')).toEqual([grace.id])
    expect(await list('442079460018')).toEqual([alan.id])
    expect(await list('turing')).toEqual([alan.id])
    expect(await list('hopper turing')).toEqual([])
  })

  it('companies: name, domains and websites, not other fields', async () => {
    const { client } = fresh()
    const ae = await client.seed(CONN, 'company', { name: 'Analytical Engines', domains: ['engines.example'], industry: 'Computing' })
    const acme = await client.seed(CONN, 'company', { name: 'Acme', websites: ['https://www.acme.example/about'] })
    const list = (query: string) => client.crm(CONN, 'company').list({ query }).then(ids)
    expect(await list('analytical')).toEqual([ae.id])
    expect(await list('engines.example')).toEqual([ae.id])
    expect(await list('www.acme.example')).toEqual([acme.id])
    expect(await list('computing')).toEqual([])
  })

  it('events: the text of note, form and the other event kinds', async () => {
    const { client } = fresh()
    const note = await client.seed(CONN, 'event', { type: 'NOTE', note: { title: 'Call back', description: 'Asked about pricing' } })
    const form = await client.seed(CONN, 'event', { type: 'FORM', form: { name: 'Demo request' } })
    const email = await client.seed(CONN, 'event', { type: 'EMAIL', email: { subject: 'Pricing sheet', body: 'Attached' } })
    const list = (query: string) => client.crm(CONN, 'event').list({ query }).then(ids)
    expect(await list('call back')).toEqual([note.id])
    expect(await list('pricing')).toEqual([note.id, email.id])
    expect(await list('demo')).toEqual([form.id])
    expect(await list('FORM')).toEqual([])
  })
})

describe('list filters and paging', () => {
  it('events by contact_id, lead_id, company_id and type, combined', async () => {
    const { client } = fresh()
    const a = await client.seed(CONN, 'event', { type: 'NOTE', contact_ids: ['c1'], lead_ids: ['l1'], company_ids: ['co1'] })
    const b = await client.seed(CONN, 'event', { type: 'FORM', contact_ids: ['c1', 'c2'], form: { name: 'Demo' } })
    const c = await client.seed(CONN, 'event', { type: 'NOTE', lead_ids: ['l2'] })
    const list = (params: object) => client.crm(CONN, 'event').list(params).then(ids)
    expect(await list({ contact_id: 'c1' })).toEqual([a.id, b.id])
    expect(await list({ contact_id: 'c2' })).toEqual([b.id])
    expect(await list({ lead_id: 'l2' })).toEqual([c.id])
    expect(await list({ company_id: 'co1' })).toEqual([a.id])
    expect(await list({ type: 'NOTE' })).toEqual([a.id, c.id])
    expect(await list({ type: 'NOTE', contact_id: 'c1' })).toEqual([a.id])
    expect(await list({ contact_id: 'nobody' })).toEqual([])
  })

  it('contacts by company_id, companies by contact_id, leads by contact_id and company_id', async () => {
    const { client } = fresh()
    const contact = await client.seed(CONN, 'contact', { name: 'Grace', company_ids: ['co1'] })
    await client.seed(CONN, 'contact', { name: 'Alan', company_ids: ['co2'] })
    const company = await client.seed(CONN, 'company', { name: 'Navy', contact_ids: ['c1'] })
    await client.seed(CONN, 'company', { name: 'Acme' })
    const lead = await client.seed(CONN, 'lead', { name: 'Ada', contact_id: 'c1', company_id: 'co1' })
    await client.seed(CONN, 'lead', { name: 'Bob' })
    expect(ids(await client.crm(CONN, 'contact').list({ company_id: 'co1' }))).toEqual([contact.id])
    expect(ids(await client.crm(CONN, 'company').list({ contact_id: 'c1' }))).toEqual([company.id])
    expect(ids(await client.crm(CONN, 'lead').list({ contact_id: 'c1' }))).toEqual([lead.id])
    expect(ids(await client.crm(CONN, 'lead').list({ company_id: 'co1', query: 'ada' }))).toEqual([lead.id])
  })

  it('updated_gte keeps records updated at or after the time', async () => {
    const { client } = fresh()
    await client.seed(CONN, 'contact', { name: 'Old', updated_at: '2020-01-01T00:00:00.000Z' })
    const recent = await client.seed(CONN, 'contact', { name: 'New' })
    expect(ids(await client.crm(CONN, 'contact').list({ updated_gte: '2024-01-01T00:00:00Z' }))).toEqual([recent.id])
  })

  it('pages with limit and offset, at most 100 per page', async () => {
    const { client } = fresh()
    const all: string[] = []
    for (let i = 0; i < 105; i++) all.push((await client.seed(CONN, 'company', { name: `Co ${i}` })).id)
    const crm = client.crm(CONN, 'company')
    expect(ids(await crm.list({ limit: 2, offset: 3 }))).toEqual(all.slice(3, 5))
    expect(ids(await crm.list({ limit: 500 }))).toEqual(all.slice(0, 100))
    expect(ids(await crm.list({ offset: 100 }))).toEqual(all.slice(100))
  })
})

describe('connection profiles', () => {
  it('are full by default, and listed as set', async () => {
    const { client } = fresh()
    expect(await client.connection(CONN)).toEqual({ id: CONN, ...DEFAULTS })
    await client.connection(CONN, { profiles: ['no-leads', 'no-form-events'] })
    expect(await client.connection(CONN)).toEqual({
      id: CONN,
      ...DEFAULTS,
      profiles: ['no-leads', 'no-form-events'],
      integration_type: 'standin+no-leads+no-form-events',
    })
    expect(await client.connection('conn-b')).toMatchObject({ profiles: ['full'] })
  })

  it('accept one "profile" too, and refuse unknown names', async () => {
    const { app } = fresh()
    const post = (body: unknown) =>
      app.request(`/_standin/connections/${CONN}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    expect(await (await post({ profile: 'query-ignored' })).json()).toMatchObject({ profiles: ['query-ignored'] })
    const bad = await post({ profiles: ['no-leads', 'no-deals'] })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toContain('"no-deals"')
  })

  it('no-leads: every lead route answers 501 Not implemented, other objects work', async () => {
    const { client } = fresh()
    const seeded = await client.seed(CONN, 'lead', { name: 'Ada' })
    await client.connection(CONN, { profiles: ['no-leads'] })
    const leads = client.crm(CONN, 'lead')
    const answers = [await leads.list(), await leads.create({ name: 'Bob' }), await leads.get(seeded.id), await leads.patch(seeded.id, { name: 'A' }), await leads.update(seeded.id, { name: 'A' }), await leads.remove(seeded.id)]
    for (const res of answers) expect(res).toMatchObject({ status: 501, message: 'Not implemented' })
    expect(await client.records(CONN, 'lead')).toEqual([seeded])
    expect((await client.crm(CONN, 'contact').create({ name: 'Bob' })).status).toBe(200)
    expect(await client.counters(CONN, { status: 501 })).toEqual({ 'lead.list': 1, 'lead.create': 1, 'lead.get': 1, 'lead.update': 2, 'lead.remove': 1 })
  })

  it('query-ignored: lists ignore query but still filter and page', async () => {
    const { client } = fresh()
    const a = await client.seed(CONN, 'contact', { name: 'Grace', company_ids: ['co1'] })
    const b = await client.seed(CONN, 'contact', { name: 'Alan', company_ids: ['co1'] })
    await client.seed(CONN, 'contact', { name: 'Ada' })
    await client.connection(CONN, { profiles: ['query-ignored'] })
    const crm = client.crm(CONN, 'contact')
    expect(ids(await crm.list({ query: 'grace' }))).toHaveLength(3)
    expect(ids(await crm.list({ query: 'grace', company_id: 'co1' }))).toEqual([a.id, b.id])
    expect(ids(await crm.list({ query: 'grace', limit: 1, offset: 1 }))).toEqual([b.id])
  })

  it('no-company-search: listing companies with a query answers 501, without one works', async () => {
    const { client } = fresh()
    const co = await client.seed(CONN, 'company', { name: 'Acme' })
    await client.connection(CONN, { profiles: ['no-company-search'] })
    const crm = client.crm(CONN, 'company')
    expect(await crm.list({ query: 'acme' })).toMatchObject({ status: 501, message: 'Not implemented' })
    expect(ids(await crm.list())).toEqual([co.id])
    expect(ids(await crm.list({ query: ' ' }))).toEqual([co.id])
    expect((await client.crm(CONN, 'contact').list({ query: 'acme' })).status).toBe(200)
  })

  it('no-form-events: a FORM event is refused with 400, a NOTE works', async () => {
    const { client } = fresh()
    await client.connection(CONN, { profiles: ['no-form-events'] })
    const crm = client.crm(CONN, 'event')
    expect(await crm.create({ type: 'FORM', form: { name: 'Demo' } })).toMatchObject({ status: 400, message: 'Unsupported event type' })
    const note = await crm.create({ type: 'NOTE', note: { title: 'Hi' } })
    expect(note.status).toBe(200)
    expect(await crm.patch(note.data!.id, { type: 'FORM' })).toMatchObject({ status: 400, message: 'Unsupported event type' })
    expect(await client.records(CONN, 'event')).toEqual([note.data])
  })

  it('combine', async () => {
    const { client } = fresh()
    await client.connection(CONN, { profiles: ['no-leads', 'no-form-events'] })
    expect((await client.crm(CONN, 'lead').list()).status).toBe(501)
    expect((await client.crm(CONN, 'event').create({ type: 'FORM' })).status).toBe(400)
    expect((await client.crm(CONN, 'event').create({ type: 'NOTE' })).status).toBe(200)
  })

  it('belong to one connection', async () => {
    const { client } = fresh()
    await client.connection(CONN, { profiles: ['no-leads'] })
    expect((await client.crm('conn-b', 'lead').list()).status).toBe(200)
  })
})

describe('rate limit and latency', () => {
  it('lets R calls through in a second, answers the next with 429 and Retry-After, and does nothing', async () => {
    const { client } = fresh()
    await client.connection(CONN, { rate_limit: { calls_per_second: 3 } })
    const leads = client.crm(CONN, 'lead')
    const passed = [await leads.create({ name: 'A' }), await leads.list(), await client.crm(CONN, 'event').list()]
    expect(passed.map((r) => r.status)).toEqual([200, 200, 200])
    const refused = await leads.create({ name: 'B' })
    expect(refused).toMatchObject({ status: 429, message: 'Too Many Requests' })
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await client.records(CONN, 'lead')).map((l) => l.name)).toEqual(['A'])
    expect((await client.crm('conn-b', 'lead').list()).status).toBe(200)
  })

  it('counts the 429s, in the counters and the call log', async () => {
    const { client } = fresh()
    await client.connection(CONN, { rate_limit: { calls_per_second: 1 } })
    const crm = client.crm(CONN, 'contact')
    await crm.list()
    await crm.list()
    await crm.create({ name: 'A' })
    expect(await client.counters(CONN)).toEqual({ 'contact.list': 2, 'contact.create': 1 })
    expect(await client.counters(CONN, { status: 429 })).toEqual({ 'contact.list': 1, 'contact.create': 1 })
    expect((await client.calls()).map((c) => [c.op, c.status])).toEqual([['contact.list', 200], ['contact.list', 429], ['contact.create', 429]])
  })

  it('frees a slot once the oldest call is a second old (sliding window)', async () => {
    const { client } = fresh()
    await client.connection(CONN, { rate_limit: { calls_per_second: 2 } })
    const crm = client.crm(CONN, 'company')
    await crm.list()
    await sleep(500)
    await crm.list()
    expect((await crm.list()).status).toBe(429)
    await sleep(520) // the first call is now over a second old, the second is not
    expect((await crm.list()).status).toBe(200)
    expect((await crm.list()).status).toBe(429)
  })

  it('adds latency to every call of the connection, refused ones too', async () => {
    const { client } = fresh()
    await client.connection(CONN, { latency_ms: 120, rate_limit: { calls_per_second: 1 } })
    for (const expected of [200, 429]) {
      const start = Date.now()
      expect((await client.crm(CONN, 'event').list()).status).toBe(expected)
      expect(Date.now() - start).toBeGreaterThanOrEqual(115)
    }
    const start = Date.now()
    await client.crm('conn-b', 'event').list()
    expect(Date.now() - start).toBeLessThan(100)
  })
})

describe('records as given', () => {
  it('keeps a seeded null as null', async () => {
    const { client } = fresh()
    const lead = await client.seed(CONN, 'lead', { first_name: null, last_name: 'Lovelace', emails: [{ email: 'ada@example.com' }] })
    expect(lead.first_name).toBeNull()
    expect((await client.records(CONN, 'lead'))[0]).toHaveProperty('first_name', null)
    expect((await client.crm(CONN, 'lead').get(lead.id)).data).toHaveProperty('first_name', null)
    expect(ids(await client.crm(CONN, 'lead').list({ query: 'lovelace' }))).toEqual([lead.id])
  })

  it('seeds are not counted, and no profile, limit or fault applies to them', async () => {
    const { client } = fresh()
    await client.connection(CONN, { profiles: ['no-leads', 'no-form-events'], rate_limit: { calls_per_second: 1 } })
    await client.faults([{ status: 500 }])
    await client.seed(CONN, 'lead', { name: 'Ada' })
    await client.seed(CONN, 'event', { type: 'FORM', form: { name: 'Demo' } })
    await client.seed(CONN, 'contact', { name: 'Grace' })
    expect(await client.counters()).toEqual({})
    expect(await client.records(CONN, 'event')).toHaveLength(1)
  })

  it('a seed keeps the created_at it brings (a record the CRM had for years)', async () => {
    const { client } = fresh()
    const old = await client.seed(CONN, 'lead', { name: 'Old', created_at: '2019-05-01T00:00:00.000Z' })
    expect(old).toMatchObject({ created_at: '2019-05-01T00:00:00.000Z', updated_at: '2019-05-01T00:00:00.000Z' })
  })
})

describe('faults on the new operations', () => {
  it('a status fault on contact.create answers it and writes nothing, then wears off', async () => {
    const { client } = fresh()
    await client.faults([{ operations: ['contact.create'], status: 503, retry_after: '2', times: 1 }])
    const crm = client.crm(CONN, 'contact')
    const failed = await crm.create({ name: 'Grace' })
    expect(failed).toMatchObject({ status: 503, message: 'Stand-in fault: 503' })
    expect(failed.headers.get('retry-after')).toBe('2')
    expect((await client.crm(CONN, 'company').create({ name: 'Navy' })).status).toBe(200)
    expect(await client.records(CONN, 'contact')).toEqual([])
    expect((await crm.create({ name: 'Grace' })).status).toBe(200)
  })

  it('a lost response on event.create writes the event, then answers 504', async () => {
    const { client } = fresh()
    await client.faults([{ operations: ['event.create'], lose_response: true }])
    const res = await client.crm(CONN, 'event').create({ type: 'NOTE', note: { title: 'Hi' } })
    expect(res.status).toBe(504)
    expect(await client.records(CONN, 'event')).toHaveLength(1)
    expect((await client.calls()).map((c) => [c.op, c.status])).toEqual([['event.create', 504]])
  })

  it('a fault on company.list leaves company.get alone', async () => {
    const { client } = fresh()
    const co = await client.seed(CONN, 'company', { name: 'Acme' })
    await client.faults([{ operations: ['company.list'], status: 500 }])
    expect((await client.crm(CONN, 'company').list()).status).toBe(500)
    expect((await client.crm(CONN, 'company').get(co.id)).status).toBe(200)
  })
})

it('reset clears records, faults, calls, integrations, profiles, limits and latency', async () => {
  const { client, state } = fresh()
  for (const kind of KINDS) await client.crm(CONN, kind).create({})
  await client.connection(CONN, {
    integration: 'minimal',
    profiles: ['no-leads'],
    rate_limit: { calls_per_second: 1 },
    request_limit: { calls: 1 },
    latency_ms: 200,
    properties: ['x'],
    page_size: 1,
  })
  await client.faults([{ operations: ['contact.list'], status: 500 }])
  await client.reset()
  expect(state.faults).toEqual([])
  expect(await client.calls()).toEqual([])
  expect(await client.counters()).toEqual({})
  expect(await client.connection(CONN)).toEqual({ id: CONN, ...DEFAULTS })
  for (const kind of KINDS) expect(await client.records(CONN, kind)).toEqual([])
  const start = Date.now()
  const answers = [await client.crm(CONN, 'lead').list(), await client.crm(CONN, 'contact').list(), await client.crm(CONN, 'lead').list()]
  expect(answers.map((r) => r.status)).toEqual([200, 200, 200])
  expect(Date.now() - start).toBeLessThan(200)
})

describe('the SDK parses what the stand-in answers', () => {
  // The stand-in global-setup started, over real HTTP, as the Worker reaches it; each test has its own connection.
  const core = new UnifiedToCore({ security: { jwt: 'sdk-test-key' }, serverURL: inject('standinUrl'), retryConfig: { strategy: 'none' } })
  const connectionId = () => `sdk-${crypto.randomUUID().slice(0, 8)}`

  it('contacts: create, list by query, patch', async () => {
    const conn = connectionId()
    const created = await contactCreateCrmContact(core, {
      connectionId: conn,
      crmContact: { firstName: 'Grace', lastName: 'Hopper', companyIds: ['co1'], emails: [{ email: 'grace@navy.example', type: 'WORK' }], telephones: [{ telephone: '+1 555 0100' }] },
    })
    if (!created.ok) throw created.error
    expect(created.value).toMatchObject({ firstName: 'Grace', companyIds: ['co1'], emails: [{ email: 'grace@navy.example', type: 'WORK' }] })
    expect(created.value.createdAt).toBeInstanceOf(Date)
    const listed = await contactListCrmContacts(core, { connectionId: conn, query: '15550100', companyId: 'co1' })
    expect(listed.ok && listed.value.map((c) => c.id)).toEqual([created.value.id])
    const patched = await contactPatchCrmContact(core, { connectionId: conn, id: created.value.id!, crmContact: { title: 'Rear Admiral' } })
    expect(patched.ok && patched.value).toMatchObject({ title: 'Rear Admiral', firstName: 'Grace' })
  })

  it('companies: create, list by query', async () => {
    const conn = connectionId()
    const created = await companyCreateCrmCompany(core, {
      connectionId: conn,
      crmCompany: { name: 'Analytical Engines', domains: ['engines.example'], websites: ['https://engines.example'], employees: 12, isActive: true },
    })
    expect(created.ok).toBe(true)
    const listed = await companyListCrmCompanies(core, { connectionId: conn, query: 'engines.example', limit: 10 })
    if (!listed.ok) throw listed.error
    expect(listed.value).toHaveLength(1)
    expect(listed.value[0]).toMatchObject({ name: 'Analytical Engines', domains: ['engines.example'], employees: 12, isActive: true })
    expect(listed.value[0]!.updatedAt).toBeInstanceOf(Date)
  })

  it('events: create a note and a form event, list by lead and type, get, remove', async () => {
    const conn = connectionId()
    const note = await eventCreateCrmEvent(core, {
      connectionId: conn,
      crmEvent: { type: 'NOTE', leadIds: ['l1'], note: { title: 'Call back', description: 'Pricing' } },
    })
    if (!note.ok) throw note.error
    expect(note.value).toMatchObject({ type: 'NOTE', leadIds: ['l1'], note: { title: 'Call back', description: 'Pricing' } })
    const form = await eventCreateCrmEvent(core, {
      connectionId: conn,
      crmEvent: { type: 'FORM', leadIds: ['l1'], form: { name: 'Demo', fields: [{ name: 'email', type: 'EMAIL', required: true }] } },
    })
    expect(form.ok && form.value.form).toEqual({ name: 'Demo', fields: [{ name: 'email', type: 'EMAIL', required: true }] })
    const notes = await eventListCrmEvents(core, { connectionId: conn, leadId: 'l1', type: 'NOTE' })
    expect(notes.ok && notes.value.map((e) => e.id)).toEqual([note.value.id])
    const got = await eventGetCrmEvent(core, { connectionId: conn, id: note.value.id! })
    expect(got.ok && got.value.createdAt).toBeInstanceOf(Date)
    expect((await eventRemoveCrmEvent(core, { connectionId: conn, id: note.value.id! })).ok).toBe(true)
  })

  // Not the stand-in's doing: SDK 2.85.49 types names as string | undefined, so a CRM's null fails the whole
  // answer. The stand-in keeps nulls so the Worker's handling of this stays tested.
  it('rejects a lead list holding a null first_name (ResponseValidationError)', async () => {
    const conn = connectionId()
    await standinClient(inject('standinUrl')).seed(conn, 'lead', { first_name: null, emails: [{ email: 'ada@example.com' }] })
    const res = await crmListCrmLeads(core, { connectionId: conn, query: 'ada@example.com' })
    expect(!res.ok && res.error.name).toBe('ResponseValidationError')
  })

  it('sees a profile\'s 501 as an error with that status', async () => {
    const conn = connectionId()
    await standinClient(inject('standinUrl')).connection(conn, { profiles: ['no-leads'] })
    const res = await crmListCrmLeads(core, { connectionId: conn, query: 'ada' })
    expect(res.ok).toBe(false)
    expect(!res.ok && (res.error as { statusCode?: number }).statusCode).toBe(501)
  })
})

describe('a connection whose credentials are refused', () => {
  it('answers every call of that connection 401 with Unified’s error body until taken again; others answer', async () => {
    const { app, client } = fresh()
    expect(await client.credentials(CONN, true)).toEqual({ id: CONN, refused: true })
    const refused = await client.crm(CONN, 'lead').list({ limit: 1 })
    expect(refused).toMatchObject({ status: 401, error: { statusCode: 401, error: 'Unauthorized' } })
    expect((await client.unified.connection(CONN)).status).toBe(401)
    expect((await client.crm('conn-other', 'lead').list({ limit: 1 })).status).toBe(200)
    await client.credentials(CONN, false)
    expect((await client.crm(CONN, 'lead').list({ limit: 1 })).status).toBe(200)
    const bad = await app.request('/_standin/connections/x/credentials', { method: 'POST', body: '{"refused":"yes"}', headers: { 'content-type': 'application/json' } })
    expect(bad.status).toBe(400)
  })
})

/**
 * The stand-in's integrations: what each serves as Unified's connection and
 * support data (read by the real SDK), that the data says what it does, that it
 * agrees with Unified's published support data where that could be read, and
 * each realistic CRM's own rules over HTTP. Most tests drive a fresh stand-in
 * in-process; the SDK tests use the running one, each on its own connection.
 */
import { UnifiedToCore } from '@unified-api/typescript-sdk/core.js'
import { crmCreateCrmLead } from '@unified-api/typescript-sdk/funcs/crmCreateCrmLead.js'
import { crmListCrmLeads } from '@unified-api/typescript-sdk/funcs/crmListCrmLeads.js'
import { unifiedGetUnifiedConnection } from '@unified-api/typescript-sdk/funcs/unifiedGetUnifiedConnection.js'
import { unifiedListUnifiedIntegrations } from '@unified-api/typescript-sdk/funcs/unifiedListUnifiedIntegrations.js'
import { describe, expect, inject, it } from 'vitest'
import { type Kind, StandinState, standinApp } from '../standin/app'
import { type IntegrationName, type WireSupport, standinClient } from '../standin/client'
import published from './fixtures/unified-integrations/integrations.json'

const CONN = 'conn-crm'
const KINDS: Kind[] = ['lead', 'contact', 'company', 'event']
const NAMES: IntegrationName[] = ['standin', 'salesforce', 'hubspot', 'pipedrive', 'closeio', 'minimal']

/** A fresh stand-in and the shared client talking to it through `app.request`. */
function fresh() {
  const app = standinApp(new StandinState())
  const client = standinClient('http://standin.local', { fetch: (url, init) => app.request(url, init) })
  return { app, client }
}

/** A fresh stand-in with CONN behind `integration` (and other settings). */
async function behind(integration: IntegrationName, settings: Parameters<ReturnType<typeof standinClient>['connection']>[1] = {}) {
  const f = fresh()
  await f.client.connection(CONN, { ...settings, integration })
  return f
}

/** The support data served for a connection, per object. */
async function supportOf(client: ReturnType<typeof standinClient>, connection: string): Promise<Record<string, WireSupport>> {
  const { data: conn } = await client.unified.connection(connection)
  const { data: list } = await client.unified.integrations({ type: conn!.integration_type })
  expect(list).toHaveLength(1)
  return list![0]!.support ?? {}
}

const supported = (map: Record<string, string> | undefined) => Object.keys(map ?? {}).filter((k) => map![k] === 'supported').sort()
const ids = (res: { data?: { id: string }[] }) => res.data?.map((r) => r.id)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("Unified's connection and integration routes", () => {
  it('a connection names its integration type, permissions for the objects it has', async () => {
    const { client } = fresh()
    expect((await client.unified.connection(CONN)).data).toMatchObject({ id: CONN, integration_type: 'standin', categories: ['crm'] })
    await client.connection(CONN, { integration: 'hubspot' })
    const { data } = await client.unified.connection(CONN)
    expect(data!.integration_type).toBe('hubspot')
    expect(data!.permissions.filter((p) => p.startsWith('crm_lead'))).toEqual([])
    expect(data!.permissions).toEqual(expect.arrayContaining(['crm_contact_read', 'crm_contact_write', 'crm_event_write']))
    await client.connection(CONN, { integration: 'salesforce', profiles: ['no-leads', 'query-ignored'] })
    expect((await client.unified.connection(CONN)).data!.integration_type).toBe('salesforce+no-leads+query-ignored')
  })

  it('lists every integration; filters by type and category; pages', async () => {
    const { client } = fresh()
    const all = await client.unified.integrations()
    expect(all.data!.map((i) => i.type)).toEqual(NAMES)
    expect(all.data!.every((i) => i.categories.includes('crm'))).toBe(true)
    expect((await client.unified.integrations({ type: 'pipedrive' })).data!.map((i) => i.name)).toEqual(['Pipedrive (stand-in)'])
    expect((await client.unified.integrations({ type: 'zoho' })).data).toEqual([])
    expect((await client.unified.integrations({ type: 'standin+no-such' })).data).toEqual([])
    expect((await client.unified.integrations({ categories: ['hris'] })).data).toEqual([])
    expect((await client.unified.integrations({ categories: ['hris', 'crm'], limit: 2, offset: 1 })).data!.map((i) => i.type)).toEqual(['salesforce', 'hubspot'])
  })

  it("a restricted connection's type serves the restricted support", async () => {
    const { client } = fresh()
    await client.connection(CONN, { profiles: ['no-leads', 'query-ignored', 'no-form-events'] })
    const support = await supportOf(client, CONN)
    expect(Object.keys(support).sort()).toEqual(['crm_company', 'crm_contact', 'crm_event'])
    expect(support.crm_contact!.list_query).toBe('not-supported')
    expect(support.crm_contact!.search_email).toBe('not-supported')
    expect(support.crm_event!.outbound_fields!.form).toBe('not-supported')
    expect(support.crm_event!.outbound_fields!.note).toBe('supported')
  })

  it('need a key, are logged, and can be faulted', async () => {
    const { app, client } = fresh()
    const res = await app.request('/unified/integration')
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Unauthorized: missing API token' })
    await client.faults([{ operations: ['integration.list'], status: 503, retry_after: '7', times: 1 }])
    const failed = await client.unified.integrations({ type: 'standin' })
    expect(failed).toMatchObject({ status: 503, error: { statusCode: 503, error: 'Service Unavailable', message: 'Stand-in fault: 503' } })
    expect(failed.headers.get('retry-after')).toBe('7')
    expect((await client.unified.integrations({ type: 'standin' })).status).toBe(200)
    await client.unified.connection(CONN)
    expect(await client.counters()).toEqual({ 'integration.list': 2, 'connection.get': 1 })
    expect(await client.counters(CONN)).toEqual({ 'connection.get': 1 })
  })
})

describe('the SDK reads what the stand-in serves', () => {
  const core = new UnifiedToCore({ security: { jwt: 'sdk-test-key' }, serverURL: inject('standinUrl'), retryConfig: { strategy: 'none' } })
  const standin = standinClient(inject('standinUrl'))
  const connectionId = () => `sdk-crms-${crypto.randomUUID().slice(0, 8)}`

  it('getUnifiedConnection: the integration type and permissions', async () => {
    const id = connectionId()
    await standin.connection(id, { integration: 'salesforce' })
    const res = await unifiedGetUnifiedConnection(core, { id })
    if (!res.ok) throw res.error
    expect(res.value).toMatchObject({ id, integrationType: 'salesforce', categories: ['crm'], environment: 'Production' })
    expect(res.value.permissions).toEqual(expect.arrayContaining(['crm_lead_read', 'crm_lead_write', 'crm_event_write']))
  })

  it('listUnifiedIntegrations: every integration, each with its support map', async () => {
    const res = await unifiedListUnifiedIntegrations(core, { categories: ['crm'] })
    if (!res.ok) throw res.error
    expect(res.value.map((i) => i.type)).toEqual(NAMES)
  })

  it('listUnifiedIntegrations by type: methods, list options, search, fields', async () => {
    const res = await unifiedListUnifiedIntegrations(core, { type: 'salesforce', categories: ['crm'] })
    if (!res.ok) throw res.error
    expect(res.value).toHaveLength(1)
    const lead = res.value[0]!.support!.crm_lead!
    expect(lead.methods).toEqual({ list: true, get: true, create: true, update: true, remove: true })
    expect(lead).toMatchObject({ listQuery: 'supported', listLimit: 'supported', searchEmail: 'supported', searchName: 'supported', searchDomain: 'not-supported', rawObjects: ['Lead'] })
    expect(lead.outboundFields).toMatchObject({ last_name: 'supported', company_name: 'supported', status: 'supported', company_id: 'not-supported' })
    expect(res.value[0]!.support!.crm_event!.outboundFields).toMatchObject({ note: 'supported', form: 'not-supported', email: 'not-supported' })
    expect(res.value[0]!.rateLimitDescription).toContain('REQUEST_LIMIT_EXCEEDED')
  })

  it("a CRM's refusal: the SDK's error has the status, and Unified's body as text", async () => {
    const id = connectionId()
    await standin.connection(id, { integration: 'salesforce' })
    const res = await crmCreateCrmLead(core, { connectionId: id, crmLead: { firstName: 'Ada', emails: [{ email: 'ada@example.com' }] } })
    expect(res.ok).toBe(false)
    const error = (res as { error: { statusCode: number; body: string } }).error
    expect(error.statusCode).toBe(400)
    expect(JSON.parse(error.body)).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'REQUIRED_FIELD_MISSING: Required fields are missing: [LastName, Company]',
    })
  })

  it("Salesforce's request limit reaches the SDK as a 403, not a 429", async () => {
    const id = connectionId()
    await standin.connection(id, { integration: 'salesforce', request_limit: { calls: 1 } })
    expect((await crmListCrmLeads(core, { connectionId: id })).ok).toBe(true)
    const res = await crmListCrmLeads(core, { connectionId: id })
    const error = (res as { error: { statusCode: number; body: string; headers: Headers } }).error
    expect(error.statusCode).toBe(403)
    expect(JSON.parse(error.body).message).toBe('REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.')
    expect(error.headers.get('retry-after')).toBeNull()
  })
})

describe('every integration does what its support data says', () => {
  const RECORDS: Record<Kind, Record<string, unknown>> = {
    lead: { name: 'Ada Lovelace', last_name: 'Lovelace', company_name: 'Engines', emails: [{ email: 'ada@engines.example' }], contact_id: 'c1' },
    contact: { name: 'Ada Lovelace', last_name: 'Lovelace', emails: [{ email: 'ada@engines.example' }] },
    company: { name: 'Engines Ltd', emails: [{ email: 'hello@engines.example' }], domains: ['engines.example'] },
    event: { type: 'NOTE', note: { title: 'Call back' }, contact_ids: ['c1'] },
  }
  const EMAIL: Record<Kind, string> = { lead: 'ada@engines.example', contact: 'ada@engines.example', company: 'hello@engines.example', event: '' }

  it.each(NAMES)('%s: a method it lacks answers 501, one it has does not', async (name) => {
    const { client } = await behind(name)
    const support = await supportOf(client, CONN)
    for (const kind of KINDS) {
      const methods = support[`crm_${kind}`]?.methods ?? {}
      const crm = client.crm(CONN, kind)
      const answers = { list: await crm.list(), create: await crm.create({}), get: await crm.get('nope'), update: await crm.patch('nope', {}), remove: await crm.remove('nope') }
      for (const [method, res] of Object.entries(answers)) {
        expect([kind, method, res.status === 501]).toEqual([kind, method, !methods[method]])
      }
    }
  })

  it.each(NAMES)('%s: `query` is ignored where it is no option, and finds by email and name as search_* say', async (name) => {
    const { client } = await behind(name)
    const support = await supportOf(client, CONN)
    for (const kind of KINDS) {
      const s = support[`crm_${kind}`]
      if (!s?.methods?.list) continue
      const seeded = await client.seed(CONN, kind, RECORDS[kind] as never)
      const list = (query: string) => client.crm(CONN, kind).list({ query }).then(ids)
      if (s.list_query !== 'supported') {
        expect([kind, await list('nothing-matches-this')]).toEqual([kind, [seeded.id]])
        continue
      }
      expect([kind, await list('nothing-matches-this')]).toEqual([kind, []])
      if (kind === 'event') continue
      expect([kind, 'email', await list(EMAIL[kind])]).toEqual([kind, 'email', s.search_email === 'supported' ? [seeded.id] : []])
      expect([kind, 'name', await list(String(RECORDS[kind].name))]).toEqual([kind, 'name', s.search_name === 'supported' ? [seeded.id] : []])
    }
  })

  it.each(NAMES)('%s: a write keeps only the fields outbound_fields allow', async (name) => {
    const { client } = await behind(name, { properties: ['lead_score'] })
    const support = await supportOf(client, CONN)
    const contact = support.crm_contact
    if (!contact?.methods?.create) return
    const all = { name: 'Ada Lovelace', last_name: 'Lovelace', title: 'Countess', department: 'Maths', image_url: 'https://example.com/a.png', company: 'Engines', metadata: [{ slug: 'lead_score', value: 3 }] }
    const { data } = await client.crm(CONN, 'contact').create(all)
    const [stored] = await client.records(CONN, 'contact')
    for (const field of Object.keys(all)) {
      expect([field, field in stored!]).toEqual([field, contact.outbound_fields![field] === 'supported'])
    }
    expect(data).toBeDefined()
  })
})

describe("agrees with Unified's published support data, where it could be read", () => {
  type Published = { methods?: string[] | null; list_options?: string[] | null; readable_fields?: string[] | null; writable_fields?: string[] | null } & Record<string, unknown>
  const integrations = published.integrations as unknown as Record<string, { integration_type?: string; objects: Record<string, Published | null> }>
  /** Our type → the fixture's key. */
  const SOURCES: Partial<Record<IntegrationName, string>> = { pipedrive: 'pipedrive', closeio: 'close', minimal: 'helloleads' }
  const MODELLED_OPTIONS = ['query', 'limit', 'offset', 'updated_gte', 'user_id', 'company_id', 'contact_id', 'lead_id', 'deal_id', 'type']
  /** A list the page showed in full: no entry cut off, not marked truncated. */
  const clean = (o: Published, key: string, list: string[] | null | undefined) =>
    Array.isArray(list) && !o[`${key}_truncated`] && list.every((x) => /^[a-z_]+$/.test(x)) ? list : undefined
  const prefix = (list: string[] | null | undefined) => (list ?? []).filter((x) => /^[a-z_]+$/.test(x))

  it.each(Object.entries(SOURCES))('%s follows docs.unified.to (%s)', async (name, key) => {
    const { client } = await behind(name as IntegrationName)
    const support = await supportOf(client, CONN)
    const page = integrations[key]!
    if (page.integration_type) expect(name).toBe(page.integration_type)
    let compared = 0
    for (const [object, o] of Object.entries(page.objects)) {
      if (!o) continue
      const s = support[object]!
      expect(s, object).toBeDefined()
      const methods = clean(o, 'methods', o.methods)
      if (methods) expect([object, Object.keys(s.methods!).filter((m) => s.methods![m]).sort()]).toEqual([object, [...methods].sort()])
      const options = clean(o, 'list_options', o.list_options)
      if (options) {
        const served = MODELLED_OPTIONS.filter((x) => s[`list_${x}`] === 'supported')
        expect([object, served.sort()]).toEqual([object, options.filter((x) => MODELLED_OPTIONS.includes(x)).sort()])
      }
      const readable = clean(o, 'readable_fields', o.readable_fields)
      if (readable) expect([object, supported(s.inbound_fields)]).toEqual([object, [...readable].sort()])
      else expect([object, supported(s.inbound_fields)]).toEqual([object, expect.arrayContaining(prefix(o.readable_fields))])
      const writable = clean(o, 'writable_fields', o.writable_fields)
      if (writable) expect([object, supported(s.outbound_fields)]).toEqual([object, [...writable].sort()])
      else expect([object, supported(s.outbound_fields)]).toEqual([object, expect.arrayContaining(prefix(o.writable_fields))])
      compared += 1
    }
    expect(compared).toBeGreaterThan(0)
  })
})

describe('salesforce-like', () => {
  it('a lead needs LastName and Company: 400 with Salesforce\'s words in Unified\'s body, nothing written', async () => {
    const { client } = await behind('salesforce')
    const leads = client.crm(CONN, 'lead')
    expect(await leads.create({ first_name: 'Ada', emails: [{ email: 'ada@example.com' }] })).toMatchObject({
      status: 400,
      error: { statusCode: 400, error: 'Bad Request', message: 'REQUIRED_FIELD_MISSING: Required fields are missing: [LastName, Company]' },
    })
    expect((await leads.create({ last_name: 'Lovelace', company_name: '  ' })).message).toBe('REQUIRED_FIELD_MISSING: Required fields are missing: [Company]')
    expect(await client.records(CONN, 'lead')).toEqual([])
    const { status, data } = await leads.create({ last_name: 'Lovelace', company_name: 'Engines' })
    expect(status).toBe(200)
    expect((await leads.patch(data!.id, { last_name: null })).message).toBe('REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]')
    expect((await leads.patch(data!.id, { first_name: 'Ada' })).status).toBe(200)
  })

  it('Status is a restricted picklist: "New" is refused, none gets the default, a connection can set its own', async () => {
    const { client } = await behind('salesforce')
    const leads = client.crm(CONN, 'lead')
    const base = { last_name: 'Lovelace', company_name: 'Engines' }
    expect((await leads.create({ ...base, status: 'New' })).message).toBe(
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Lead Status: bad value for restricted picklist field: New',
    )
    const { data } = await leads.create(base)
    expect(data!.status).toBe('Open - Not Contacted')
    expect((await leads.patch(data!.id, { status: 'Working - Contacted' })).data!.status).toBe('Working - Contacted')
    expect((await leads.patch(data!.id, { status: null })).status).toBe(400)
    await client.connection(CONN, { integration: 'salesforce', picklists: { status: ['Fresh', 'New'] } })
    expect((await leads.create({ ...base, status: 'New' })).status).toBe(200)
    expect((await leads.create(base)).data!.status).toBe('Fresh')
  })

  it('keeps one email and two phones, dropping the rest without a word; an account keeps no email', async () => {
    const { client } = await behind('salesforce')
    const { status, data } = await client.crm(CONN, 'lead').create({
      last_name: 'Lovelace',
      company_name: 'Engines',
      emails: [{ email: 'ada@engines.example' }, { email: 'ada@home.example' }],
      telephones: [{ telephone: '+44 20 7946 0001' }, { telephone: '+44 20 7946 0002' }, { telephone: '+44 20 7946 0003' }],
    })
    expect(status).toBe(200)
    expect(data!.emails).toEqual([{ email: 'ada@engines.example' }])
    expect(data!.telephones!.map((t) => t.telephone)).toEqual(['+44 20 7946 0001', '+44 20 7946 0002'])
    const account = await client.crm(CONN, 'company').create({ name: 'Engines', emails: [{ email: 'hello@engines.example' }] })
    expect(account.status).toBe(200)
    expect(account.data).not.toHaveProperty('emails')
  })

  it('query matches emails and names, not phones or company names', async () => {
    const { client } = await behind('salesforce')
    const lead = await client.seed(CONN, 'lead', { first_name: 'Ada', last_name: 'Lovelace', company_name: 'Engines', emails: [{ email: 'ada@engines.example' }], telephones: [{ telephone: '+44 20 7946 0001' }] })
    const list = (query: string) => client.crm(CONN, 'lead').list({ query }).then(ids)
    expect(await list('ada@engines.example')).toEqual([lead.id])
    expect(await list('lovelace')).toEqual([lead.id])
    expect(await list('442079460001')).toEqual([])
    expect(await list('engines ltd')).toEqual([])
  })

  it('past its allowance every call is refused with 403 REQUEST_LIMIT_EXCEEDED (no Retry-After) until the window rolls', async () => {
    const { client } = await behind('salesforce', { request_limit: { calls: 2, window_seconds: 1 } })
    const contacts = client.crm(CONN, 'contact')
    expect((await contacts.list()).status).toBe(200)
    expect((await contacts.create({ last_name: 'Hopper' })).status).toBe(200)
    const refused = await contacts.create({ last_name: 'Turing' })
    expect(refused).toMatchObject({ status: 403, error: { statusCode: 403, error: 'Forbidden', message: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.' } })
    expect(refused.headers.get('retry-after')).toBeNull()
    expect((await client.crm(CONN, 'company').list()).status).toBe(403)
    expect((await client.records(CONN, 'contact')).map((c) => c.last_name)).toEqual(['Hopper'])
    expect(await client.counters(CONN, { status: 403 })).toEqual({ 'contact.create': 1, 'company.list': 1 })
    await sleep(1050)
    expect((await contacts.list()).status).toBe(200)
  })

  it('the permissive CRM answers its allowance with 429 and Retry-After; Unified\'s own limit stays 429', async () => {
    const { client } = await behind('standin', { request_limit: { calls: 1, window_seconds: 30 } })
    await client.crm(CONN, 'lead').list()
    const refused = await client.crm(CONN, 'lead').list()
    expect(refused).toMatchObject({ status: 429, message: 'Too Many Requests' })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(25)
    const sf = await behind('salesforce', { rate_limit: { calls_per_second: 1 } })
    await sf.client.crm(CONN, 'lead').list()
    expect((await sf.client.crm(CONN, 'lead').list()).status).toBe(429)
  })

  it('events: a NOTE on a record; no record is REQUIRED_FIELD_MISSING ParentId; FORM is a bad request, EMAIL not implemented', async () => {
    const { client } = await behind('salesforce')
    const events = client.crm(CONN, 'event')
    expect((await events.create({ type: 'NOTE', note: { title: 'Hi' }, lead_ids: ['00Q1'] })).status).toBe(200)
    expect((await events.create({ type: 'NOTE', note: { title: 'Hi' } })).message).toBe('REQUIRED_FIELD_MISSING: Required fields are missing: [ParentId]')
    expect(await events.create({ type: 'FORM', form: { name: 'Demo' }, lead_ids: ['00Q1'] })).toMatchObject({ status: 400, message: 'Unsupported event type' })
    expect(await events.create({ type: 'EMAIL', email: { subject: 'Hi' }, lead_ids: ['00Q1'] })).toMatchObject({ status: 501, message: 'Not implemented' })
    expect(await client.records(CONN, 'event')).toHaveLength(1)
  })
})

describe('hubspot-like', () => {
  it('has no leads: every lead route answers 501', async () => {
    const { client } = await behind('hubspot')
    const leads = client.crm(CONN, 'lead')
    for (const res of [await leads.list(), await leads.create({ name: 'Ada' }), await leads.get('x'), await leads.patch('x', {}), await leads.remove('x')]) {
      expect(res).toMatchObject({ status: 501, error: { statusCode: 501, error: 'Not Implemented', message: 'Not implemented' } })
    }
  })

  it('a custom property must exist: PROPERTY_DOESNT_EXIST names it; one the account has is written', async () => {
    const { client } = await behind('hubspot', { properties: ['lead_source_detail'] })
    const contacts = client.crm(CONN, 'contact')
    const refused = await contacts.create({ name: 'Ada', metadata: [{ slug: 'lead_source_detail', value: 'form' }, { slug: 'favourite_colour', value: 'green' }] })
    expect(refused.status).toBe(400)
    expect(refused.message).toContain('PROPERTY_DOESNT_EXIST')
    expect(refused.message).toContain('"favourite_colour"')
    expect(await client.records(CONN, 'contact')).toEqual([])
    const written = await contacts.create({ name: 'Ada', metadata: [{ slug: 'lead_source_detail', value: 'form' }] })
    expect(written.status).toBe(200)
    expect((await client.crm(CONN, 'company').patch('nope', { metadata: [{ slug: 'x', value: 1 }] })).status).toBe(404)
    const company = await client.crm(CONN, 'company').create({ name: 'Engines' })
    expect((await client.crm(CONN, 'company').patch(company.data!.id, { metadata: [{ slug: 'x', value: 1 }] })).message).toContain('"x"')
  })

  it('a note must be associated with a contact, company or deal (a lead is none of them)', async () => {
    const { client } = await behind('hubspot')
    const events = client.crm(CONN, 'event')
    expect((await events.create({ type: 'NOTE', note: { title: 'Hi' } })).status).toBe(400)
    expect((await events.create({ type: 'NOTE', note: { title: 'Hi' }, lead_ids: ['l1'] })).status).toBe(400)
    expect((await events.create({ type: 'NOTE', note: { title: 'Hi' }, contact_ids: ['c1'] })).status).toBe(200)
    expect((await events.create({ type: 'FORM', form: { name: 'Demo' }, contact_ids: ['c1'] })).status).toBe(400)
  })

  it('a company keeps one domain and is found by it; a contact is not found by phone', async () => {
    const { client } = await behind('hubspot')
    const { data } = await client.crm(CONN, 'company').create({ name: 'Engines', domains: ['engines.example', 'ae.example'] })
    expect(data!.domains).toEqual(['engines.example'])
    expect(ids(await client.crm(CONN, 'company').list({ query: 'engines.example' }))).toEqual([data!.id])
    await client.seed(CONN, 'contact', { name: 'Ada', telephones: [{ telephone: '+1 555 0100' }] })
    expect(ids(await client.crm(CONN, 'contact').list({ query: '5550100' }))).toEqual([])
  })
})

describe('pipedrive-like', () => {
  it('a lead must be linked to a person or an organization', async () => {
    const { client } = await behind('pipedrive')
    const leads = client.crm(CONN, 'lead')
    expect(await leads.create({ name: 'Ada' })).toMatchObject({ status: 400, message: 'One of the "person_id" or "organization_id" must be set.' })
    const { status, data } = await leads.create({ name: 'Ada', company_id: 'org-1' })
    expect(status).toBe(200)
    expect((await leads.create({ name: 'Bob', contact_id: 'p-1' })).status).toBe(200)
    expect((await leads.patch(data!.id, { company_id: null })).status).toBe(400)
    expect((await leads.patch(data!.id, { company_id: null, contact_id: 'p-2' })).status).toBe(200)
  })

  it('a lead is named, and holds no emails or phones of its own', async () => {
    const { client } = await behind('pipedrive')
    const leads = client.crm(CONN, 'lead')
    expect((await leads.create({ contact_id: 'p-1' })).message).toBe('Validation failed: title is required')
    const { data } = await leads.create({ name: 'Ada', contact_id: 'p-1', emails: [{ email: 'ada@example.com' }], telephones: [{ telephone: '+1 555 0100' }] })
    expect(data).not.toHaveProperty('emails')
    expect(data).not.toHaveProperty('telephones')
  })

  it('a person keeps every email and is found by phone too', async () => {
    const { client } = await behind('pipedrive')
    const { data } = await client.crm(CONN, 'contact').create({ name: 'Ada', emails: [{ email: 'a@one.example' }, { email: 'a@two.example' }], telephones: [{ telephone: '+1 (555) 010-0100' }] })
    expect(data!.emails).toHaveLength(2)
    expect(ids(await client.crm(CONN, 'contact').list({ query: '5550100100' }))).toEqual([data!.id])
  })

  it('a note must be associated with an organization, person, deal or lead', async () => {
    const { client } = await behind('pipedrive')
    const events = client.crm(CONN, 'event')
    expect(await events.create({ type: 'NOTE', note: { title: 'Hi' } })).toMatchObject({
      status: 400,
      message: 'Note must be associated with at least one organization, person, deal, lead or project.',
    })
    expect((await events.create({ type: 'NOTE', note: { title: 'Hi' }, lead_ids: ['l-1'] })).status).toBe(200)
  })
})

describe('close-like', () => {
  it('a list ignores query, updated_gte and filters, but pages', async () => {
    const { client } = await behind('closeio')
    const a = await client.seed(CONN, 'contact', { name: 'Grace', company_ids: ['co1'], updated_at: '2020-01-01T00:00:00.000Z' })
    const b = await client.seed(CONN, 'contact', { name: 'Alan' })
    const crm = client.crm(CONN, 'contact')
    expect(ids(await crm.list({ query: 'grace' }))).toEqual([a.id, b.id])
    expect(ids(await crm.list({ company_id: 'co2', updated_gte: '2024-01-01T00:00:00Z' }))).toEqual([a.id, b.id])
    expect(ids(await crm.list({ limit: 1, offset: 1 }))).toEqual([b.id])
  })

  it("a company's websites are written but not read back", async () => {
    const { client } = await behind('closeio')
    const { data } = await client.crm(CONN, 'company').create({ name: 'Engines', websites: ['https://engines.example'] })
    expect(data).toMatchObject({ name: 'Engines' })
    expect(data).not.toHaveProperty('websites')
    expect((await client.records(CONN, 'company'))[0]!.websites).toEqual(['https://engines.example'])
  })
})

describe('minimal', () => {
  it('list and create only: get, update and remove answer 501, events have no route at all', async () => {
    const { client } = await behind('minimal')
    const contacts = client.crm(CONN, 'contact')
    const { status, data } = await contacts.create({ name: 'Ada', emails: [{ email: 'a@one.example' }, { email: 'a@two.example' }] })
    expect(status).toBe(200)
    expect(data!.emails).toEqual([{ email: 'a@one.example' }])
    for (const res of [await contacts.get(data!.id), await contacts.patch(data!.id, { name: 'A' }), await contacts.update(data!.id, { name: 'A' }), await contacts.remove(data!.id)]) {
      expect(res.status).toBe(501)
    }
    const events = client.crm(CONN, 'event')
    for (const res of [await events.list(), await events.create({ type: 'NOTE', contact_ids: [data!.id] })]) expect(res.status).toBe(501)
  })

  it('answers its own page size whatever the limit, pages by offset, ignores query', async () => {
    const { client } = await behind('minimal')
    const all: string[] = []
    for (let i = 0; i < 45; i++) all.push((await client.seed(CONN, 'lead', { name: `Lead ${i}` })).id)
    const leads = client.crm(CONN, 'lead')
    expect(ids(await leads.list({ limit: 100 }))).toEqual(all.slice(0, 20))
    expect(ids(await leads.list({ limit: 5, offset: 40 }))).toEqual(all.slice(40))
    expect(ids(await leads.list({ query: 'Lead 44' }))).toEqual(all.slice(0, 20))
    await client.connection(CONN, { integration: 'minimal', page_size: 7 })
    expect(ids(await leads.list({ limit: 100, offset: 7 }))).toEqual(all.slice(7, 14))
  })
})

describe('connection settings', () => {
  it('refuse an unknown integration and malformed knobs, naming what is wrong', async () => {
    const { app } = fresh()
    const post = async (body: unknown) => {
      const res = await app.request(`/_standin/connections/${CONN}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
      return { status: res.status, message: ((await res.json()) as { message?: string }).message }
    }
    const unknown = await post({ integration: 'zoho' })
    expect(unknown.status).toBe(400)
    expect(unknown.message).toContain('"zoho"')
    expect(unknown.message).toContain('salesforce')
    expect((await post({ request_limit: { calls: -1 } })).message).toContain('request_limit')
    expect((await post({ request_limit: { calls: 3, window_seconds: 0 } })).message).toContain('request_limit')
    expect((await post({ properties: 'x' })).message).toContain('properties')
    expect((await post({ picklists: { status: [] } })).message).toContain('picklists')
    expect((await post({ page_size: 0 })).message).toContain('page_size')
    expect((await post({ integration: 'closeio', request_limit: { calls: 3 } })).status).toBe(200)
  })

  it('show the integration type their integration and profiles make', async () => {
    const { client } = fresh()
    expect(await client.connection(CONN, { integration: 'pipedrive', profiles: ['no-form-events'], request_limit: { calls: 5 } })).toMatchObject({
      integration: 'pipedrive',
      integration_type: 'pipedrive+no-form-events',
      request_limit: { calls: 5, window_seconds: null },
    })
  })
})

/**
 * The core write scenarios against every CRM the stand-in plays (issue 19's matrix): the
 * permissive stand-in, and Salesforce-, HubSpot-, Pipedrive-, Close-like and minimal
 * integrations, each behaving as Unified's support data and the CRM's own rules say. Per CRM:
 * one record per person, nothing submitted lost silently (each value is on the record, on the
 * note, or named in a warning), no update for a repeat that changes nothing on the record, a
 * double submit costs nothing, a lost create answer makes no second record, a company is made
 * once and linked where the CRM's records take a link, a burst past the CRM's own rate limit
 * (as that CRM signals it) is waited out without a failure, and a refusal fails with the CRM's
 * reason and the fix.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { client, fetchWith, idOf, noteAnswers, operatorApi, standin, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

const CONNECTION = 'conn-test'
const rand = () => crypto.randomUUID().slice(0, 8)

type Integration = 'standin' | 'salesforce' | 'hubspot' | 'pipedrive' | 'closeio' | 'minimal'

/** What a team using each CRM sets: Salesforce's required fields and its status picklist; HubSpot's properties. */
const SETUP: Record<Integration, { config: Record<string, unknown>; connection?: Record<string, unknown> }> = {
  standin: { config: {} },
  salesforce: { config: { status: 'Open - Not Contacted', defaults: { last_name: 'Unknown', company_name: 'Not provided' } } },
  hubspot: { config: {}, connection: { properties: ['budget'] } },
  pipedrive: { config: {} },
  closeio: { config: {} },
  minimal: { config: {} },
}

const INTEGRATIONS = Object.keys(SETUP) as Integration[]

async function post(integration: Integration, body: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const config = { rate_limit: false, name: 'Contact us', metadata: [{ field: 'budget', slug: 'budget' }], ...SETUP[integration].config, ...extra }
  const { res } = await fetchWith(
    '/forms/matrix',
    { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    { FORMS: { matrix: config } },
    { realQueue: true },
  )
  return idOf(res)
}

const records = <K extends 'lead' | 'contact' | 'company' | 'event'>(kind: K) => client.records(CONNECTION, kind)
const calls = async () => Object.values(await standin.counters()).reduce((a, b) => a + b, 0)
const updates = async () => {
  const c = await standin.counters()
  return (c['lead.update'] ?? 0) + (c['contact.update'] ?? 0)
}

const detail = async (id: string) =>
  (await (await operatorApi(`/submissions/${id}`)).json()) as { state: string; action: string; attempts: number; warnings: string[]; last_error: string | null }

/** Every record the person has, of any kind, by the email they gave (where the record keeps emails) or by the ids the log holds. */
async function personRecords(email: string) {
  const all = [...(await records('lead')), ...(await records('contact'))] as { id: string; emails?: { email?: string }[]; metadata?: { slug?: string; value?: unknown }[]; [k: string]: unknown }[]
  return all.filter((r) => r.emails?.some((e) => e.email === email))
}

describe.each(INTEGRATIONS)('on a %s-like CRM', (integration) => {
  beforeEach(() => client.connection(CONNECTION, { integration, ...SETUP[integration].connection }))

  it('writes a new person once, with nothing they sent lost silently', async () => {
    const email = `ada-${rand()}@analytical.test`
    const sent = { email, first_name: 'Ada', last_name: 'Lovelace', message: 'Please call me', budget: '5000' }
    const id = await post(integration, sent)
    const row = await waitForState(id, 'written')
    expect(row.action).toBe('created')
    const { warnings } = await detail(id)
    const people = await personRecords(email)
    const ids = JSON.parse((await operatorApi(`/submissions/${id}`).then((r) => r.json()) as { crm_ids: string }).crm_ids) as Record<string, string>
    // One record per kind, and where the CRM's lead keeps no email, the person is the contact beside it.
    expect(people.length).toBeLessThanOrEqual(1 + (ids.contact && ids.lead ? 1 : 0))
    expect(people.length).toBeGreaterThan(0)
    const events = (await records('event')).filter((e) => noteAnswers(e)['lead-intake submission'] === id)
    expect(events.length).toBeLessThanOrEqual(1)
    const onRecord = JSON.stringify(people)
    const onNote = events[0] ? noteAnswers(events[0]) : {}
    for (const [field, value] of Object.entries(sent)) {
      const kept = onRecord.includes(value) || onNote[field] === value || warnings.some((w) => w.includes(field))
      expect(kept, `${field} is on the record, on the note, or in a warning (${integration}); warnings: ${JSON.stringify(warnings)}`).toBe(true)
    }
  })

  it('sends no update for a repeat that changes nothing on the record, and nothing at all for a double submit', async () => {
    const email = `rep-${rand()}@analytical.test`
    const body = { email, first_name: 'Rita', last_name: 'Levi', budget: '10' }
    await waitForState(await post(integration, { ...body, message: 'first' }), 'written')
    const before = await updates()
    // The same record fields, another message (it goes on the note only): the record is left alone.
    const repeat = await post(integration, { ...body, message: 'second' })
    await waitForState(repeat, 'written')
    expect(await updates()).toBe(before)
    const mark = await calls()
    const double = await post(integration, { ...body, message: 'second' })
    expect(await waitForState(double, 'written')).toMatchObject({ action: 'repeat' })
    expect(await calls()).toBe(mark)
    expect((await personRecords(email)).length).toBeGreaterThan(0)
  })

  it('writes a changed repeat as an update where the CRM can update, else as written with a warning, never failed, never a second record', async () => {
    const email = `chg-${rand()}@analytical.test`
    await waitForState(await post(integration, { email, first_name: 'Grace', last_name: 'Hopper', budget: '10' }), 'written')
    const count = (await personRecords(email)).length
    const changed = await post(integration, { email, first_name: 'Grace', last_name: 'Hopper', budget: '20' })
    const row = await waitForState(changed, 'written')
    const { warnings } = await detail(changed)
    expect(row.action === 'updated' || warnings.length > 0, `${integration}: ${row.action} ${JSON.stringify(warnings)}`).toBe(true)
    expect((await personRecords(email)).length).toBe(count)
  })

  it('makes no second record when a create’s answer was lost', async () => {
    const email = `lost-${rand()}@analytical.test`
    await standin.faults([{ operations: ['lead.create', 'contact.create'], lose_response: true, times: 1 }])
    const id = await post(integration, { email, first_name: 'Lin', last_name: 'Lost' })
    await waitForState(id, 'written', 45_000)
    const ids = JSON.parse((await (await operatorApi(`/submissions/${id}`)).json() as { crm_ids: string }).crm_ids) as Record<string, string>
    const leads = await records('lead')
    const contacts = await records('contact')
    expect(leads.length).toBe(ids.lead ? 1 : 0)
    expect(contacts.length).toBe(ids.contact ? 1 : 0)
  })
})

/** Whether each CRM's person record (as `write = "auto"` makes it) can be linked to a company (its support data: the link field is written). */
const LINKS_COMPANY: Record<Integration, boolean> = { standin: true, salesforce: false, hubspot: true, pipedrive: true, closeio: true, minimal: false }

describe.each(INTEGRATIONS)('on a %s-like CRM, the company and the rate limit', (integration) => {
  it('finds or makes the people’s company once, and links each person to it where the CRM’s records take a link', async () => {
    await client.connection(CONNECTION, { integration, ...SETUP[integration].connection })
    const domain = `initech-${rand()}.test`
    const written: string[] = []
    for (const name of ['peter', 'joanna']) {
      const id = await post(integration, { email: `${name}@${domain}`, first_name: name, last_name: 'Initech', company_name: 'Initech' }, { company: true })
      expect((await waitForState(id, 'written', 45_000)).state).toBe('written')
      written.push(id)
    }
    const companies = (await records('company')).filter((c) => c.name === 'Initech')
    const people = [...(await records('lead')), ...(await records('contact'))] as { id: string; company_id?: string; company_ids?: string[]; company_name?: string; company?: string }[]
    const links = people.flatMap((p) => [...(p.company_id ? [p.company_id] : []), ...(p.company_ids ?? [])])
    expect(companies.length, `${integration}: one company for two colleagues`).toBeLessThanOrEqual(1)
    // A link names that one company, never another; and where the records take a link, every person has it.
    expect(links.every((l) => l === companies[0]?.id), `${integration}: ${JSON.stringify(links)}`).toBe(true)
    if (LINKS_COMPANY[integration]) {
      expect(companies).toHaveLength(1)
      for (const id of written) {
        const ids = JSON.parse(((await (await operatorApi(`/submissions/${id}`)).json()) as { crm_ids: string }).crm_ids) as Record<string, string>
        expect(ids.company, `${integration}: the submission names the company`).toBe(companies[0]!.id)
        const record = people.find((p) => p.id === (ids.contact ?? ids.lead))!
        expect([record.company_id, ...(record.company_ids ?? [])]).toContain(companies[0]!.id)
      }
    } else {
      // Where a record takes no link, the company's name still rides on it.
      expect(people.every((p) => (p.company_name ?? p.company) === 'Initech'), `${integration}: ${JSON.stringify(people)}`).toBe(true)
    }
  }, 90_000)

  it('writes a burst past the CRM’s own rate limit, one record per person, waiting it out without a failure or a spent attempt', async () => {
    // A connection of its own: what its pace learns here is no other test's business.
    const connection = `burst-${integration}-${rand()}`
    await client.connection(connection, { integration, ...SETUP[integration].connection, request_limit: { calls: 4, window_seconds: 2 } })
    const emails = Array.from({ length: 5 }, (_, i) => `burst-${i}-${rand()}@analytical.test`)
    const ids = await Promise.all(emails.map((email, i) => post(integration, { email, first_name: 'Bea', last_name: `Burst${i}` }, { connection })))
    const rows = await waitFor(async () => {
      const rows = await Promise.all(ids.map((id) => detail(id)))
      const failed = rows.find((r) => r.state === 'failed')
      if (failed) throw new Error(`${integration}: a submission failed: ${failed.last_error}`)
      return rows.every((r) => r.state === 'written') ? rows : undefined
    }, 90_000, `${integration}: every person of the burst written`)
    const refused = ((await client.calls()) as { connection: string; status: number }[]).filter((c) => c.connection === connection && (c.status === 429 || c.status === 403))
    // The CRM's limit was really met, as that CRM signals it (Salesforce: 403 REQUEST_LIMIT_EXCEEDED).
    expect(refused.length).toBeGreaterThan(0)
    expect(Math.max(...rows.map((r) => r.attempts))).toBeLessThanOrEqual(1)
    const people = [...(await client.records(connection, 'lead')), ...(await client.records(connection, 'contact'))]
    for (const [i, id] of ids.entries()) {
      const crm = JSON.parse(((await (await operatorApi(`/submissions/${id}`)).json()) as { crm_ids: string }).crm_ids) as Record<string, string>
      const mine = people.filter((p) => p.emails?.some((e) => e.email === emails[i]))
      // One record per person: the one the log names (and, where the CRM's lead keeps no email, its contact beside it).
      expect(mine.length, `${integration}: ${emails[i]}`).toBe(1)
      expect([crm.lead, crm.contact]).toContain(mine[0]!.id)
    }
  }, 120_000)
})

describe('a refusal says the CRM’s reason and the fix', () => {
  it('fails a Salesforce-like lead without its required fields, with the CRM’s words, the values masked, and the fix', async () => {
    await client.connection(CONNECTION, { integration: 'salesforce' })
    const email = `nolast-${rand()}@analytical.test`
    const id = await post('salesforce', { email, first_name: 'Ada' }, { status: 'Open - Not Contacted', defaults: {} })
    const row = await waitForState(id, 'failed')
    expect(row.last_error).toContain('REQUIRED_FIELD_MISSING: Required fields are missing: [LastName, Company]')
    expect(row.last_error).toContain('defaults')
    expect(row.last_error).not.toContain(email)
    expect(row.attempts).toBe(1)
  })

  it('masks every value of the submission out of a refusal that quotes it', async () => {
    await client.connection(CONNECTION, { integration: 'salesforce' })
    const id = await post('salesforce', { email: `pick-${rand()}@analytical.test`, last_name: 'Quoted' }, { status: 'Hot Prospect', defaults: { company_name: 'Acme' } })
    const row = await waitForState(id, 'failed')
    expect(row.last_error).toContain('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST')
    expect(row.last_error).not.toContain('Hot Prospect')
  })

  it('writes a HubSpot-like contact without a custom property the account lacks, keeping its value on the note, with a warning', async () => {
    await client.connection(CONNECTION, { integration: 'hubspot', properties: [] })
    const email = `prop-${rand()}@analytical.test`
    const id = await post('hubspot', { email, first_name: 'Hal', budget: '700' })
    await waitForState(id, 'written')
    const { warnings } = await detail(id)
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('custom field budget')]))
    const [event] = (await records('event')).filter((e) => noteAnswers(e)['lead-intake submission'] === id)
    expect(noteAnswers(event!).budget).toBe('700')
    // The repeat does not send the refused property again.
    const before = await standin.counters()
    await waitForState(await post('hubspot', { email, first_name: 'Hal', budget: '700', message: 'again' }), 'written')
    const after = await standin.counters()
    expect((after['contact.update'] ?? 0) - (before['contact.update'] ?? 0)).toBe(0)
  })
})

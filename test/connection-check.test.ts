/**
 * The connection check (`GET /operator/connection`, the console's "CRM connections", `npm run
 * check-connection`): each connection's integration and what it can do per object, from
 * Unified's support data, probed read-only only where that says nothing; and per source what
 * `auto` resolves to, what will fail with the setting that fixes it, and what works less well.
 * Against the stand-in's Salesforce-, HubSpot-, Close- and minimal-like integrations.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { ConnectionReport } from '../src/operator/connection'
import { client, fetchWith, standin } from './helpers'

beforeEach(() => standin.reset())

const CONNECTION = 'conn-test'
const auth = { headers: { authorization: 'Bearer test-operator-token' } }

/** The check as the operator API answers it, with these forms configured; returns conn-test's report. */
async function check(forms: Record<string, Record<string, unknown>>): Promise<ConnectionReport> {
  const { res } = await fetchWith('/operator/connection', auth, { FORMS: forms })
  expect(res.status).toBe(200)
  const { connections } = (await res.json()) as { connections: ConnectionReport[] }
  return connections.find((r) => r.connection === CONNECTION)!
}

const source = (r: ConnectionReport, form: string) => r.sources.find((s) => s.source === `form "${form}" ([vars.FORMS.${form}])`)!
const object = (r: ConnectionReport, name: string) => r.objects.find((o) => o.object === name)!

describe('from Unified’s support data', () => {
  it('salesforce-like: the integration and what it can do per object, with no call to the CRM itself', async () => {
    await client.connection(CONNECTION, { integration: 'salesforce' })
    const r = await check({ a: {}, both: { write: 'contact+lead', company: true, defaults: { title: 'Buyer', last_name: 'Unknown' } } })
    expect(r).toMatchObject({ integration: 'salesforce', support: 'unified' })
    expect(r.supportError).toBeUndefined()
    expect(r.objects.map((o) => [o.object, o.from])).toEqual([
      ['lead', 'unified'],
      ['contact', 'unified'],
      ['company', 'unified'],
      ['event', 'unified'],
    ])
    expect(object(r, 'lead')).toMatchObject({ methods: { list: 'yes', get: 'yes', create: 'yes', update: 'yes', remove: 'yes' }, query: 'yes', limit: 'yes', offset: 'yes' })
    expect(object(r, 'lead').writes).toEqual(expect.arrayContaining(['last_name', 'company_name', 'metadata']))
    expect(object(r, 'lead').writes).not.toContain('title')
    expect(source(r, 'a')).toEqual({
      source: 'form "a" ([vars.FORMS.a])',
      writes: ['lead', 'event'],
      problems: [],
      notes: [
        'write = "auto" writes a lead here (this CRM can create leads) (Unified’s support data)',
        'this CRM doesn’t write title on a lead: a submission’s value is not sent there (each submission says so in its warnings) (Unified’s support data)',
      ],
    })
    expect(source(r, 'both')).toMatchObject({ writes: ['contact', 'lead', 'company', 'event'], problems: [] })
    expect(source(r, 'both').notes).toEqual([
      'this CRM doesn’t write title on a lead: a submission’s value is not sent there (each submission says so in its warnings) (Unified’s support data)',
      'this CRM doesn’t write title on a lead: defaults.title on form "both" ([vars.FORMS.both]) has no effect there (Unified’s support data)',
    ])
    // Unified's two reads of the connection and its integration only: the CRM was not called.
    expect(await standin.counters()).toEqual({})
    expect(await client.counters(CONNECTION)).toEqual({ 'connection.get': 1 })
  })

  it('hubspot-like: no leads, so auto writes a contact, and a source asking for leads is named with its fix', async () => {
    await client.connection(CONNECTION, { integration: 'hubspot' })
    const r = await check({ a: {}, leads: { write: 'lead' }, both: { write: 'contact+lead' } })
    expect(r).toMatchObject({ integration: 'hubspot', support: 'unified' })
    expect(object(r, 'contact')).toMatchObject({ from: 'unified', query: 'yes' })
    // Unified lists CRM objects for it, but no lead: one it doesn't implement, said by the support data, no probe.
    expect(object(r, 'lead')).toMatchObject({ object: 'lead', from: 'unified', methods: { list: 'no', get: 'no', create: 'no', update: 'no', remove: 'no' } })
    expect(source(r, 'a')).toMatchObject({ writes: ['contact', 'event'], problems: [], notes: ['write = "auto" writes a contact here (this CRM can’t create leads) (Unified’s support data)'] })
    expect(source(r, 'leads').problems).toEqual(['this CRM has no leads: set write = "contact" on form "leads" ([vars.FORMS.leads]) (Unified’s support data)'])
    expect(source(r, 'both').problems).toEqual(['this CRM has no leads: set write = "contact" on form "both" ([vars.FORMS.both]) (Unified’s support data)'])
    // No call to the CRM itself.
    expect(await standin.counters()).toEqual({})
  })

  it('close-like: no search by query, and a note that can’t hang off a lead names the settings that give it a record', async () => {
    await client.connection(CONNECTION, { integration: 'closeio' })
    const r = await check({ a: { company: false } })
    expect(object(r, 'lead')).toMatchObject({ from: 'unified', query: 'no' })
    const a = source(r, 'a')
    expect(a.writes).toEqual(['lead', 'event'])
    expect(a.problems).toEqual([])
    expect(a.notes).toEqual([
      'write = "auto" writes a lead here (this CRM can create leads) (Unified’s support data)',
      'search by query not supported on leads: lead-intake reads every lead (up to 2,000) to find a person it has not seen, and fails a submission past that; people it has seen are found by its identity ledger (Unified’s support data)',
      'this CRM doesn’t write first_name, last_name, title on a lead: a submission’s values are not sent there (each submission says so in its warnings) (Unified’s support data)',
      'this CRM writes no custom fields on a lead: consent, UTM and other custom fields are not written (each submission says so in its warnings) (Unified’s support data)',
      'this CRM links a note only to a contact or company: its fields beyond the record’s are in the submission log only (until retention); for the note, set write = "contact+lead", or company = true on form "a" ([vars.FORMS.a]) (Unified’s support data)',
    ])
  })

  it('minimal: list and create only, no search, no timeline (Unified lists no events for it): the note goes to a custom field', async () => {
    await client.connection(CONNECTION, { integration: 'minimal' })
    const r = await check({ a: {}, c: { write: 'contact', timeline: false } })
    expect(r).toMatchObject({ integration: 'minimal', support: 'unified' })
    expect(object(r, 'lead')).toMatchObject({ from: 'unified', methods: { list: 'yes', get: 'no', create: 'yes', update: 'no', remove: 'no' }, query: 'no', limit: 'no', offset: 'yes' })
    expect(object(r, 'event')).toMatchObject({ object: 'event', from: 'unified', methods: { create: 'no' } })
    expect(source(r, 'a').problems).toEqual([])
    expect(source(r, 'a').notes).toEqual([
      'write = "auto" writes a lead here (this CRM can create leads) (Unified’s support data)',
      'search by query not supported on leads: lead-intake reads every lead (up to 2,000, in pages of the size the CRM picks) to find a person it has not seen, and fails a submission past that; people it has seen are found by its identity ledger (Unified’s support data)',
      'this CRM can’t read a lead back: a known person’s lead is not updated by later submissions (each says so in its warnings) (Unified’s support data)',
      'this CRM doesn’t write title on a lead: a submission’s value is not sent there (each submission says so in its warnings) (Unified’s support data)',
      'this CRM has no timeline notes: it is kept in the lead’s custom field lead_intake_note; set timeline = false on form "a" ([vars.FORMS.a]) if that is not wanted (Unified’s support data)',
    ])
    expect(source(r, 'c').notes).toContain(
      'this CRM writes no custom fields on a contact: consent, UTM and other custom fields are not written (each submission says so in its warnings) (Unified’s support data)',
    )
  })
})

describe('when Unified’s support data can’t be read', () => {
  it('says why, assumes nothing and probes every object read-only', async () => {
    await client.connection(CONNECTION, { integration: 'hubspot' })
    await standin.faults([{ operations: ['connection.get'], status: 500 }])
    const r = await check({ a: {}, leads: { write: 'lead' } })
    expect(r.support).toBe('fallback')
    expect(r.integration).toBeUndefined()
    expect(r.supportError).toMatch(/read connection/)
    expect(r.objects.map((o) => [o.object, o.from])).toEqual([
      ['lead', 'probe'],
      ['contact', 'probe'],
      ['company', 'probe'],
      ['event', 'probe'],
    ])
    expect(object(r, 'lead')).toMatchObject({ readable: 'no' })
    expect(object(r, 'contact')).toMatchObject({ readable: 'yes' })
    expect(source(r, 'a').notes[0]).toBe('write = "auto" writes a contact here (this CRM can’t create leads) (read-only probe)')
    expect(source(r, 'leads').problems).toEqual(['this CRM has no leads: set write = "contact" on form "leads" ([vars.FORMS.leads]) (read-only probe)'])
  })
})

describe('the console', () => {
  it('shows each connection’s integration and what it can do per object, escaped', async () => {
    await client.connection(CONNECTION, { integration: 'closeio' })
    const { res } = await fetchWith('/operator/', auth, { FORMS: { a: {} } })
    const page = await res.text()
    expect(page).toContain('Integration <code>closeio</code>: what it can do is Unified’s support data for it')
    expect(page).toContain('<tr><td>lead</td><td>Unified’s support data</td><td>yes</td><td>yes</td><td>yes</td><td>yes</td><td>reads every record</td>')
    expect(page).toContain('search by query not supported on leads')
    expect(page).toContain('for the note, set write = &#34;contact+lead&#34;, or company = true on form &#34;a&#34;')
  })
})

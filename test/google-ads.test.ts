/**
 * `preset = "google-ads"` through HTTP and the real queue: Google's own test payload (is_test:
 * acknowledged, not written unless `write_test_leads`), a real-looking lead written once, a
 * redelivered `lead_id` costing no call, a wrong or missing `google_key` refused with nothing
 * queued, a body that is no JSON refused, and int64 ids above 2^53 kept digit for digit.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import docsExample from './fixtures/google-ads/lead.docs-test-payload.json?raw'
import { fetchWith, leadsWithEmail, standin, waitForDelivery, waitForState, type WireLead } from './helpers'

beforeEach(() => standin.reset())

const KEY = 'gk-7d1c0f2a9e' // the key set on the lead form in Google Ads
const SECRETS = { WEBHOOK_SECRET_GOOGLE_LEADS: `gk-retired-0b3e,${KEY}` } // two, as during a rotation
const WEBHOOKS = { 'google-leads': { preset: 'google-ads' } }

const post = (body: string, { overrides = {} as Record<string, unknown>, realQueue = false } = {}) =>
  fetchWith('/webhooks/google-leads', { method: 'POST', body, headers: { 'content-type': 'application/json' } }, { WEBHOOKS, ...SECRETS, ...overrides }, { realQueue })

/** The docs' test payload, as Google sends it from the form's "send test data", with the key this endpoint expects. */
const docsBody = (key = KEY) => docsExample.replace('"google_key":"testkey"', `"google_key":"${key}"`)

/** Ids above 2^53 (9007199254740992): a JS number would round every one of them. */
const BIG = { campaign_id: '9223372036854775807', form_id: '9007199254740993', adgroup_id: '123456789012345678', creative_id: '18446744073709551' }

/**
 * A real lead as Google posts it: ids as bare JSON numbers (int64, written into the text so no JS
 * number ever holds them), predefined columns, a custom question without a column_name.
 */
function liveBody({ leadId = `TeSter-${crypto.randomUUID()}`, email = 'dana.reyes@example.com', key = KEY } = {}): string {
  return `{"lead_id":"${leadId}","user_column_data":[
    {"column_name":"First Name","string_value":"Dana","column_id":"FIRST_NAME"},
    {"column_name":"Last Name","string_value":"Reyes","column_id":"LAST_NAME"},
    {"column_name":"Work Email","string_value":"${email}","column_id":"WORK_EMAIL"},
    {"column_name":"Work Phone","string_value":"+1 415-555-0142","column_id":"WORK_PHONE"},
    {"column_name":"Company Name","string_value":"Reyes Logistics","column_id":"COMPANY_NAME"},
    {"column_name":"Job Title","string_value":"Operations Lead","column_id":"JOB_TITLE"},
    {"column_name":"City","string_value":"Oakland","column_id":"CITY"},
    {"column_name":"Postal Code","string_value":"94607","column_id":"POSTAL_CODE"},
    {"string_value":"50-200","column_id":"How many trucks do you run?"}],
  "api_version":"1.0","form_id":${BIG.form_id},"campaign_id":${BIG.campaign_id},"google_key":"${key}","is_test":false,
  "gcl_id":"EAIaIQobChMI5f3k-live","adgroup_id":${BIG.adgroup_id},"creative_id":${BIG.creative_id},
  "lead_stage":"SUBMITTED","lead_submit_time":"2026-11-20 14:03:11-08:00"}`
}

const metadataOf = (lead: WireLead) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))
const settle = () => new Promise((r) => setTimeout(r, 1500))

async function accepted(res: Response): Promise<string> {
  expect(res.status).toBe(200)
  const answer = (await res.json()) as { id: string; status: string }
  expect(answer.status).toBe('accepted')
  return answer.id
}

describe('google-ads: the docs test payload', () => {
  it('is acknowledged with exactly 200 and not written by default (is_test)', async () => {
    const { res, sent } = await post(docsBody(), { realQueue: true })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'test-lead' })
    expect(sent).toEqual([])
    await settle()
    expect(await standin.counters()).toEqual({})
    expect(await leadsWithEmail('test@example.com')).toEqual([])
  })

  it('is written, once, with write_test_leads = true: the mapped columns and ids as custom fields', async () => {
    const overrides = { WEBHOOKS: { 'google-leads': { preset: 'google-ads', write_test_leads: true } } }
    const id = await accepted((await post(docsBody(), { overrides, realQueue: true })).res)
    await waitForDelivery([id])
    const [lead, ...others] = await leadsWithEmail('test@example.com')
    expect(others).toEqual([])
    expect(lead).toMatchObject({ name: 'FirstName LastName', source: 'Google Ads', status: 'New' })
    expect(lead!.telephones?.map((t) => t.telephone)).toEqual(['+16505550123'])
    expect(metadataOf(lead!)).toEqual({
      gcl_id: 'Cj0KCQjwit_8BRCoARIsAIx3Rj7g-AeL6z35IWb6VYiZUygtTfwD3hDlgSGmY-XTTlK3lfV1wcuIwIAaAmMxEALw_wcB',
      campaign_id: '123456',
      form_id: '123456789',
      adgroup_id: '0',
      creative_id: '0',
    })
    const calls = await standin.counters()
    expect(calls['lead.create']).toBe(1)
    // Google's test button sends the same lead_id every time: the second press is a duplicate.
    const again = await post(docsBody(), { overrides, realQueue: true })
    expect(await again.res.json()).toEqual({ id, status: 'duplicate' })
    await settle()
    expect(await standin.counters()).toEqual(calls)
  })
})

describe('google-ads: a live lead', () => {
  it('is written once with every column mapped and the int64 ids exact; a redelivered lead_id costs no call', async () => {
    const leadId = `TeSter-${crypto.randomUUID()}`
    const { res } = await post(liveBody({ leadId }), { realQueue: true })
    const id = await accepted(res)
    await waitForDelivery([id])
    const calls = await standin.counters()
    expect(calls['lead.create']).toBe(1)
    const [lead, ...others] = await leadsWithEmail('dana.reyes@example.com')
    expect(others).toEqual([])
    expect(lead).toMatchObject({ first_name: 'Dana', last_name: 'Reyes', company_name: 'Reyes Logistics', source: 'Google Ads' })
    expect(lead!.telephones?.map((t) => t.telephone)).toEqual(['+14155550142'])
    // Name, email, phone, company and job title fill lead fields (a lead keeps the title as its custom field `title`);
    // address parts, custom questions and ids are custom fields.
    expect(metadataOf(lead!)).toEqual({
      title: 'Operations Lead',
      city: 'Oakland',
      postal_code: '94607',
      how_many_trucks_do_you_run: '50-200',
      gcl_id: 'EAIaIQobChMI5f3k-live',
      ...BIG,
    })

    // Google's retry of the same lead, even re-serialized (not the same bytes): the lead_id decides.
    const again = await post(liveBody({ leadId }).replaceAll('\n', ' '), { realQueue: true })
    expect(again.res.status).toBe(200)
    expect(await again.res.json()).toEqual({ id, status: 'duplicate' })
    await settle()
    expect(await standin.counters()).toEqual(calls)
  })

  it('queues the payload with the ids as their digits and without google_key', async () => {
    const { res, sent } = await post(liveBody())
    await accepted(res)
    expect(sent).toHaveLength(1)
    const body = (sent[0] as { payload: { input: { body: string } } }).payload.input.body
    expect(body).not.toContain('google_key')
    expect(body).not.toContain(KEY)
    for (const [name, digits] of Object.entries(BIG)) expect(body).toContain(`"${name}":"${digits}"`)
  })
})

describe('google-ads: a replay', () => {
  it('maps the stored payload again (its ids kept as text) and writes them exact', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const id = await accepted((await post(liveBody({ email: 'replay.reyes@example.com' }), { realQueue: true })).res)
    await waitForState(id, 'failed')
    await standin.faults([])
    const replay = await fetchWith(`/operator/submissions/${id}/replay`, { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } }, { WEBHOOKS, ...SECRETS }, { realQueue: true })
    expect(replay.res.status).toBe(202)
    await waitForState(id, 'written')
    const [lead, ...others] = await leadsWithEmail('replay.reyes@example.com')
    expect(others).toEqual([])
    expect(metadataOf(lead!)).toMatchObject(BIG)
  })
})

describe('google-ads: refused, nothing queued', () => {
  async function refused(body: string, status: number, type: string) {
    const { res, sent } = await post(body)
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(((await res.json()) as { type: string }).type).toBe(`urn:lead-intake:problem:${type}`)
    expect(sent).toEqual([])
  }

  it('a wrong google_key (the docs example as sent, "testkey"), an empty one, a missing one, one of another type: 401', async () => {
    await refused(docsExample, 401, 'invalid-key')
    await refused(liveBody({ key: `${KEY}x` }), 401, 'invalid-key')
    await refused(liveBody({ key: '' }), 401, 'invalid-key')
    await refused(liveBody().replace(`"google_key":"${KEY}",`, ''), 401, 'invalid-key')
    await refused(liveBody().replace(`"google_key":"${KEY}"`, '"google_key":12345'), 401, 'invalid-key')
  })

  it('a body that is no JSON object: 400', async () => {
    await refused('lead_id=1&google_key=' + KEY, 400, 'malformed-body')
    await refused(`[{"google_key":"${KEY}"}]`, 400, 'malformed-body')
    await refused(liveBody().slice(0, -1), 400, 'malformed-body')
  })

  it('a verified body that is no lead (no user_column_data): 400', async () => {
    await refused(`{"lead_id":"x-1","google_key":"${KEY}"}`, 400, 'malformed-body')
  })

  it('a lead with neither an email nor a phone is acknowledged and ignored', async () => {
    const body = liveBody().replace(/\{"column_name":"Work (Email|Phone)"[^}]*\},/g, '')
    const { res, sent } = await post(body)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'no-contact' })
    expect(sent).toEqual([])
  })
})

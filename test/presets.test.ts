/**
 * Configured webhook endpoints (`[vars.WEBHOOKS.<id>]`), one per preset, through HTTP: each
 * provider's own example payload (test/fixtures/SOURCES.md), signed here with Web Crypto as the
 * provider signs it, accepted and written with the expected person; forged, tampered, stale and
 * malformed deliveries refused with nothing queued; a redelivery acknowledged with no Unified
 * call; a missing secret, an unknown id, a wrong Jotform token and an ignored event type.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { fieldOfLabel, slugOf } from '../src/sources/presets/preset'
import calBooking from './fixtures/cal.com/BOOKING_CREATED.docs-example.json'
import calendlyPayload from './fixtures/calendly/invitee.payload.docs-example.json'
import jotformMultipart from './fixtures/jotform/response.zulip-fixture.multipart?raw'
import clerkUserCreated from './fixtures/standard-webhooks/clerk.user.created.docs-example.json'
import swVectors from './fixtures/standard-webhooks/spec-vectors.json'
import tallyExample from './fixtures/tally/form_response.docs-example.json'
import webflowSubmission from './fixtures/webflow/form_submission.docs-example.json'
import { b64, client, fetchWith, hex, hmac, leadsWithEmail, noteAnswers, standin, waitForDelivery, waitForState, type WireLead } from './helpers'

beforeEach(() => standin.reset())


const now = () => Math.floor(Date.now() / 1000)
const uid = () => crypto.randomUUID().slice(0, 8)

const SECRETS = {
  WEBHOOK_SECRET_SIGNUP: swVectors.vectors[0]!.secret, // a whsec_ secret from the spec's own tests
  WEBHOOK_SECRET_TALLY_FORMS: 'tally-retired-secret,tally-signing-secret-1', // two, as during a rotation
  WEBHOOK_SECRET_CALENDLY: 'calendly-signing-key-1',
  WEBHOOK_SECRET_CAL: 'calcom-webhook-secret-1',
  WEBHOOK_SECRET_WEBFLOW: 'webflow-client-secret-1',
  WEBHOOK_SECRET_JOTFORM: 'jotform-url-token-1',
}

const WEBHOOKS = {
  // The issue's own example: Clerk's user.created through Standard Webhooks.
  signup: {
    preset: 'standard-webhooks',
    event_types: ['user.created'],
    source: 'App signup',
    status: 'New',
    fields: { email: '/data/email_addresses/0/email_address', first_name: '/data/first_name', last_name: '/data/last_name', clerk_user_id: '/data/id' },
  },
  'tally-forms': { preset: 'tally' },
  calendly: { preset: 'calendly' },
  cal: { preset: 'cal.com' },
  webflow: { preset: 'webflow', status: 'Website lead' },
  jotform: { preset: 'jotform' },
}

/** A delivery as each provider sends it: body, headers, path. */
interface Delivery {
  path: string
  body: string
  headers: Record<string, string>
}

const post = (d: Delivery, overrides: Record<string, unknown> = {}, realQueue = false) =>
  fetchWith(d.path, { method: 'POST', body: d.body, headers: d.headers }, { WEBHOOKS, ...SECRETS, ...overrides }, { realQueue })

// --- signing, as each provider does ---

async function standardWebhooks(body: string, { id = `msg_${uid()}`, timestamp = now(), secret = SECRETS.WEBHOOK_SECRET_SIGNUP } = {}): Promise<Delivery> {
  const key = Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0))
  const signature = `v1,${b64(await hmac(key, `${id}.${timestamp}.${body}`))}`
  return { path: '/webhooks/signup', body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature } }
}

const tallySecret = 'tally-signing-secret-1'
async function tally(body: string, secret = tallySecret): Promise<Delivery> {
  return { path: '/webhooks/tally-forms', body, headers: { 'content-type': 'application/json', 'tally-signature': b64(await hmac(secret, body)) } }
}

async function calendly(body: string, { t = now(), secret = SECRETS.WEBHOOK_SECRET_CALENDLY } = {}): Promise<Delivery> {
  const signature = `t=${t},v1=${hex(await hmac(secret, `${t}.${body}`))}`
  return { path: '/webhooks/calendly', body, headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signature } }
}

async function calcom(body: string, secret = SECRETS.WEBHOOK_SECRET_CAL): Promise<Delivery> {
  return { path: '/webhooks/cal', body, headers: { 'content-type': 'application/json', 'x-cal-signature-256': hex(await hmac(secret, body)) } }
}

async function webflow(body: string, { timestamp = Date.now(), secret = SECRETS.WEBHOOK_SECRET_WEBFLOW } = {}): Promise<Delivery> {
  const signature = hex(await hmac(secret, `${timestamp}:${body}`))
  return { path: '/webhooks/webflow', body, headers: { 'content-type': 'application/json', 'x-webflow-timestamp': String(timestamp), 'x-webflow-signature': signature } }
}

const JOTFORM_TYPE = 'multipart/form-data; boundary=------------------------J1JNT4vbVO4FCC1qLG4HSv'
const jotform = (body: string, token = SECRETS.WEBHOOK_SECRET_JOTFORM): Delivery => ({ path: `/webhooks/jotform/${token}`, body, headers: { 'content-type': JOTFORM_TYPE } })

// --- the providers' examples, each with an id of its own so tests don't see each other's ---

const clerkBody = (changes: Record<string, unknown> = {}) => JSON.stringify({ ...clerkUserCreated, data: { ...clerkUserCreated.data, ...changes } })
const tallyBody = (changes: Record<string, unknown> = {}) => JSON.stringify({ ...tallyExample, eventId: `${tallyExample.eventId}-${uid()}`, ...changes })
/** The docs' invitee in the delivery envelope (the docs show the payload alone; SOURCES.md). */
const calendlyBody = (payload: Record<string, unknown> = {}, event = 'invitee.created') =>
  JSON.stringify({ created_at: '2020-11-23T17:51:18.000000Z', created_by: 'https://api.calendly.com/users/AAAAAAAAAAAAAAAA', event, payload: { ...calendlyPayload, uri: `${calendlyPayload.uri}-${uid()}`, ...payload } })
const calBody = (changes: Record<string, unknown> = {}, triggerEvent = 'BOOKING_CREATED') =>
  JSON.stringify({ ...calBooking, triggerEvent, payload: { ...calBooking.payload, uid: `${calBooking.payload.uid}-${uid()}`, ...changes } })
const webflowBody = (changes: Record<string, unknown> = {}, triggerType = 'form_submission') =>
  JSON.stringify({ triggerType, payload: { ...webflowSubmission.payload, id: `${webflowSubmission.payload.id}-${uid()}`, ...changes } })
/**
 * The captured Jotform delivery (CRLF on the wire), with a submission id of its own and, since
 * that form asks for no email, an email and a phone answer added to `rawRequest` the way Jotform
 * names them (`q<n>_<name>`) where `answers` says so.
 */
function jotformBody({ answers = true } = {}): string {
  let body = jotformMultipart.replaceAll('\r\n', '\n').replace('6084250982513018472', `60842509825${Math.floor(Math.random() * 1e8)}`)
  if (answers) body = body.replace('"q33_typeOf"', '"q4_email":"Niloth.P@example.com","q5_phoneNumber":{"full":"(202) 555-0143"},"q33_typeOf"')
  return body.replaceAll('\n', '\r\n')
}

// --- what was written ---

const metadataOf = (lead: WireLead) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))
const eventsOf = async (lead: WireLead) => (await client.records('conn-test', 'event')).filter((e) => e.lead_ids?.includes(lead.id!))
const formFields = noteAnswers
const settle = () => new Promise((r) => setTimeout(r, 1500))

/** Posts `d` for real, waits for the write, then posts it again: 200 duplicate with no Unified call. Returns the lead with `email`. */
async function acceptedOnce(d: Delivery, email: string): Promise<WireLead> {
  const { res } = await post(d, {}, true)
  expect(res.status).toBe(200)
  const answer = (await res.json()) as { id: string; status: string }
  expect(answer.status).toBe('accepted')
  await waitForDelivery([answer.id])
  const calls = await standin.counters()
  expect(calls['lead.create']).toBe(1)

  const again = await post(d, {}, true)
  expect(again.res.status).toBe(200)
  expect(await again.res.json()).toEqual({ id: answer.id, status: 'duplicate' })
  await settle()
  expect(await standin.counters()).toEqual(calls)
  const leads = await leadsWithEmail(email)
  expect(leads).toHaveLength(1)
  return leads[0]!
}

/** Posts and expects `status` with problem+json, and nothing sent to the queue. */
async function refused(d: Delivery, status: number, type?: string, overrides: Record<string, unknown> = {}) {
  const { res, sent } = await post(d, overrides)
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  const problem = (await res.json()) as { type: string; detail: string }
  if (type) expect(problem.type).toBe(`urn:lead-intake:problem:${type}`)
  expect(sent).toEqual([])
  return problem
}

const ignored = async (d: Delivery, reason = 'event-type') => {
  const { res, sent } = await post(d)
  expect(res.status).toBe(200)
  expect(await res.json()).toMatchObject({ status: 'ignored', reason })
  expect(sent).toEqual([])
}

describe('standard-webhooks (a Clerk user.created)', () => {
  it('writes the user as a verified lead, with the configured fields and a NOTE named after the event', async () => {
    const lead = await acceptedOnce(await standardWebhooks(clerkBody()), 'example@example.org')
    expect(lead).toMatchObject({ first_name: 'Example', last_name: 'Example', source: 'App signup', status: 'New' })
    expect(metadataOf(lead)).toEqual({ clerk_user_id: 'user_29w83sxmDNGwOuEthce5gg56FcC' })
    const [event] = await eventsOf(lead)
    expect(event).toMatchObject({ type: 'NOTE', note: { title: 'user.created' } })
  })

  it('accepts Svix-branded headers (Clerk sends svix-id, svix-timestamp, svix-signature)', async () => {
    const d = await standardWebhooks(clerkBody({ email_addresses: [{ email_address: 'svix@example.org' }] }))
    const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.replace(/^webhook-/, 'svix-'), v]))
    const { res, sent } = await post({ ...d, headers })
    expect(await res.json()).toMatchObject({ status: 'accepted' })
    expect(sent).toHaveLength(1)
  })

  it('refuses a forged, a tampered, a stale and a future delivery (401) and a malformed signature (400), queueing nothing', async () => {
    const body = clerkBody()
    await refused(await standardWebhooks(body, { secret: swVectors.vectors[1]!.secret }), 401, 'invalid-signature')
    const good = await standardWebhooks(body)
    await refused({ ...good, body: body.replace('example@example.org', 'mallory@example.org') }, 401, 'invalid-signature')
    await refused(await standardWebhooks(body, { timestamp: now() - 301 }), 401, 'stale-signature')
    await refused(await standardWebhooks(body, { timestamp: now() + 301 }), 401, 'stale-signature')
    await refused({ ...good, headers: { ...good.headers, 'webhook-signature': 'v1,not-a-signature' } }, 400, 'invalid-signature')
    const { 'webhook-signature': _, ...unsigned } = good.headers
    await refused({ ...good, headers: unsigned }, 401, 'invalid-signature')
  })

  it('acknowledges an event type it was not told about (200, ignored)', async () => {
    await ignored(await standardWebhooks(JSON.stringify({ ...clerkUserCreated, type: 'session.created' })))
  })

  it('answers 503 naming WEBHOOK_SECRET_SIGNUP while the secret is not set', async () => {
    const problem = await refused(await standardWebhooks(clerkBody()), 503, 'webhook-unconfigured', { WEBHOOK_SECRET_SIGNUP: '' })
    expect(problem.detail).toContain('WEBHOOK_SECRET_SIGNUP')
  })
})

describe('tally (the docs example)', () => {
  it('writes the respondent: email and phone by type, every other field and the hidden UTM as custom fields, the form on the timeline', async () => {
    const lead = await acceptedOnce(await tally(tallyBody()), 'alice@example.com')
    expect(lead).toMatchObject({ source: 'Tally', status: 'New', telephones: [{ telephone: '+32491223344', type: 'WORK' }] })
    expect(metadataOf(lead)).toMatchObject({
      utm_campaign: 'newsletter',
      score: 20,
      text: 'Hello',
      number: 10,
      date: '2023-06-28',
      long_text: 'Hello world',
      multiple_choice: 'In progress',
      checkboxes: ['Swimming', 'Skiing'],
      dropdown: 'Hard',
      multi_select: ['Surf', 'Golf'],
      payment_email: '[email protected]', // the docs' obfuscated second email: kept as a custom field, never an identity
      rating: 4,
      matrix: 'Quality: Satisfied; Speed: Neutral',
    })
    expect(metadataOf(lead)).not.toHaveProperty('checkboxes_soccer')
    expect(lead.link_urls).toEqual(['example.com']) // the "Website" link input
    const [event] = await eventsOf(lead)
    expect(event).toMatchObject({ type: 'NOTE', note: { title: 'Webhook payload' } })
    expect(formFields(event!)).toMatchObject({ Email: 'alice@example.com', 'Multiple choice': 'In progress', utm_campaign: 'newsletter' })
  })

  it('accepts a delivery signed with the retired secret during a rotation', async () => {
    const { res, sent } = await post(await tally(tallyBody(), 'tally-retired-secret'))
    expect(await res.json()).toMatchObject({ status: 'accepted' })
    expect(sent).toHaveLength(1)
  })

  it('refuses a forged and a tampered delivery (401), a signature that is not base64 of an HMAC (400), queueing nothing', async () => {
    const body = tallyBody()
    await refused(await tally(body, 'not-the-secret'), 401, 'invalid-signature')
    const good = await tally(body)
    await refused({ ...good, body: body.replace('alice@example.com', 'mallory@example.com') }, 401, 'invalid-signature')
    await refused({ ...good, headers: { ...good.headers, 'tally-signature': `sha256=${good.headers['tally-signature']}` } }, 400, 'invalid-signature')
  })

  it('acknowledges other event types (200, ignored)', async () => {
    await ignored(await tally(tallyBody({ eventType: 'FORM_PARTIAL' })))
  })

  it('answers 503 naming WEBHOOK_SECRET_TALLY_FORMS (the id upper-cased, "-" as "_") while the secret is not set', async () => {
    const problem = await refused(await tally(tallyBody()), 503, 'webhook-unconfigured', { WEBHOOK_SECRET_TALLY_FORMS: undefined })
    expect(problem.detail).toContain('WEBHOOK_SECRET_TALLY_FORMS')
  })
})

describe('calendly (the docs invitee)', () => {
  it('writes the invitee with their answers and UTMs, the meeting on the timeline', async () => {
    const body = calendlyBody({
      text_reminder_number: '+1 202-555-0143',
      questions_and_answers: [
        { question: 'Company', answer: 'Acme', position: 0 },
        { question: 'What would you like to discuss?', answer: 'Pricing\nand onboarding', position: 1 },
      ],
      tracking: { ...calendlyPayload.tracking, utm_source: 'newsletter', utm_campaign: 'spring' },
    })
    const lead = await acceptedOnce(await calendly(body), 'test@example.com')
    expect(lead).toMatchObject({ first_name: 'John', last_name: 'Doe', company_name: 'Acme', source: 'Calendly', telephones: [{ telephone: '+12025550143', type: 'WORK' }] })
    expect(metadataOf(lead)).toEqual({ what_would_you_like_to_discuss: 'Pricing and onboarding', utm_source: 'newsletter', utm_campaign: 'spring' })
    const [event] = await eventsOf(lead)
    expect(event).toMatchObject({ type: 'NOTE', note: { title: '15 Minute Meeting' } })
    expect(formFields(event!)).toMatchObject({ Email: 'test@example.com', Company: 'Acme', 'Start time': '2019-08-24T14:15:22.123456Z' })
  })

  it('refuses a forged, a tampered and a stale (over 3 minutes) delivery (401), and a header without v1 (400)', async () => {
    const body = calendlyBody()
    await refused(await calendly(body, { secret: 'not-the-key' }), 401, 'invalid-signature')
    const good = await calendly(body)
    await refused({ ...good, body: body.replace('test@example.com', 'mallory@example.com') }, 401, 'invalid-signature')
    await refused(await calendly(body, { t: now() - 181 }), 401, 'stale-signature')
    await refused({ ...good, headers: { ...good.headers, 'calendly-webhook-signature': `t=${now()}` } }, 400, 'invalid-signature')
  })

  it('takes a wider tolerance when configured', async () => {
    const body = calendlyBody()
    const { res } = await post(await calendly(body, { t: now() - 240 }), { WEBHOOKS: { calendly: { preset: 'calendly', tolerance_seconds: 300 } } })
    expect(await res.json()).toMatchObject({ status: 'accepted' })
  })

  it('acknowledges a cancellation (200, ignored)', async () => {
    await ignored(await calendly(calendlyBody({}, 'invitee.canceled')))
  })
})

describe('cal.com (the docs booking)', () => {
  it('writes the attendee from the booking responses, the event type on the timeline', async () => {
    const body = calBody({
      responses: { ...calBooking.payload.responses, attendeePhoneNumber: { label: 'phone_number', value: '+442079460001' }, company: { label: 'Company', value: 'Acme Ltd' }, notes: { label: 'additional_notes', value: 'Looking forward' } },
    })
    const lead = await acceptedOnce(await calcom(body), 'john.doe@example.com')
    expect(lead).toMatchObject({ first_name: 'John', last_name: 'Doe', company_name: 'Acme Ltd', source: 'Cal.com', telephones: [{ telephone: '+442079460001', type: 'WORK' }] })
    expect(metadataOf(lead)).toEqual({ notes: 'Looking forward' }) // location, guests: on the timeline only
    const [event] = await eventsOf(lead)
    expect(event).toMatchObject({ type: 'NOTE', note: { title: '60min' } })
    expect(formFields(event!)).toMatchObject({ your_name: 'John Doe', email_address: 'john.doe@example.com', location: 'inPerson', 'Start time': '2023-05-25T09:30:00Z' })
  })

  it('reads a split name and falls back to the attendee for what the responses lack', async () => {
    const body = calBody({ responses: { name: { label: 'your_name', value: { firstName: 'Jane', lastName: 'Roe' } } }, attendees: [{ email: 'jane.roe@example.com', name: 'Jane Roe' }] })
    const { sent } = await post(await calcom(body))
    const draft = (sent[0] as { payload: { draft: { firstName: string; lastName: string; emails: string[] } } }).payload.draft
    expect(draft).toMatchObject({ firstName: 'Jane', lastName: 'Roe', emails: ['jane.roe@example.com'] })
  })

  it("refuses a forged and a tampered delivery (401) and Cal.com's 'no-secret-provided' (400)", async () => {
    const body = calBody()
    await refused(await calcom(body, 'not-the-secret'), 401, 'invalid-signature')
    const good = await calcom(body)
    await refused({ ...good, body: body.replace('john.doe@example.com', 'mallory@example.com') }, 401, 'invalid-signature')
    await refused({ ...good, headers: { ...good.headers, 'x-cal-signature-256': 'no-secret-provided' } }, 400, 'invalid-signature')
  })

  it('acknowledges other triggers (200, ignored)', async () => {
    await ignored(await calcom(calBody({}, 'MEETING_ENDED')))
  })
})

describe('webflow (the docs form submission)', () => {
  it('writes the submission by its labels, the form on the timeline', async () => {
    const lead = await acceptedOnce(await webflow(webflowBody()), 'zaphod@heartofgold.ai')
    expect(lead).toMatchObject({ first_name: 'Zaphod', last_name: 'Beeblebrox', source: 'Webflow', status: 'Website lead', telephones: [{ telephone: '+15550000000', type: 'WORK' }] })
    const [event] = await eventsOf(lead)
    expect(event).toMatchObject({ type: 'NOTE', note: { title: 'Contact Us' } })
    expect(formFields(event!)).toMatchObject({ 'First Name': 'Zaphod', 'Phone Number': '15550000000' })
  })

  it('refuses a forged, a tampered and a stale (over 5 minutes) delivery (401), and a non-numeric timestamp (400)', async () => {
    const body = webflowBody()
    await refused(await webflow(body, { secret: 'not-the-secret' }), 401, 'invalid-signature')
    const good = await webflow(body)
    await refused({ ...good, body: body.replace('zaphod@heartofgold.ai', 'mallory@example.com') }, 401, 'invalid-signature')
    await refused(await webflow(body, { timestamp: Date.now() - 301_000 }), 401, 'stale-signature')
    await refused({ ...good, headers: { ...good.headers, 'x-webflow-timestamp': new Date().toISOString() } }, 400, 'invalid-signature')
  })

  it('acknowledges other triggers (200, ignored)', async () => {
    await ignored(await webflow(webflowBody({}, 'site_publish')))
  })
})

describe('jotform (a captured delivery; unsigned, a token in the URL)', () => {
  it('writes the submission: full name, email and phone answers, the rest as custom fields', async () => {
    const lead = await acceptedOnce(jotform(jotformBody()), 'niloth.p@example.com')
    expect(lead).toMatchObject({ first_name: 'Niloth', last_name: 'P', source: 'Jotform', telephones: [{ telephone: '+12025550143', type: 'WORK' }] })
    expect(metadataOf(lead)).toEqual({ type_of: 'Online Tutoring', subject_for: 'Math', grade: '12', prior_tutoring: 'No' })
    const [event] = await eventsOf(lead)
    expect(event).toMatchObject({ type: 'NOTE', note: { title: 'Tutor Appointment Form' } })
  })

  it('acknowledges the captured submission as is (200, ignored): that form asks for no email or phone', async () => {
    await ignored(jotform(jotformBody({ answers: false })), 'no-contact')
  })

  it('answers a wrong or missing token with 404, as an unknown endpoint, and queues nothing', async () => {
    await refused(jotform(jotformBody(), 'jotform-url-token-2'), 404, 'unknown-webhook')
    await refused({ ...jotform(jotformBody()), path: '/webhooks/jotform' }, 404, 'unknown-webhook')
  })

  it('answers 503 naming WEBHOOK_SECRET_JOTFORM while the token is not set', async () => {
    const problem = await refused(jotform(jotformBody()), 503, 'webhook-unconfigured', { WEBHOOK_SECRET_JOTFORM: '' })
    expect(problem.detail).toContain('WEBHOOK_SECRET_JOTFORM')
  })
})

describe('endpoints', () => {
  it.each([
    ['signup', 'WEBHOOK_SECRET_SIGNUP', () => standardWebhooks(clerkBody())],
    ['tally-forms', 'WEBHOOK_SECRET_TALLY_FORMS', () => tally(tallyBody())],
    ['calendly', 'WEBHOOK_SECRET_CALENDLY', () => calendly(calendlyBody())],
    ['cal', 'WEBHOOK_SECRET_CAL', () => calcom(calBody())],
    ['webflow', 'WEBHOOK_SECRET_WEBFLOW', () => webflow(webflowBody())],
    ['jotform', 'WEBHOOK_SECRET_JOTFORM', async () => jotform(jotformBody())],
  ])('answers /webhooks/%s with 503 and Retry-After, naming %s, while the secret is not set', async (_id, secret, delivery) => {
    const { res, sent } = await post(await delivery(), { [secret]: '' })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBeTruthy()
    expect(((await res.json()) as { detail: string }).detail).toContain(`npx wrangler secret put ${secret}`)
    expect(sent).toEqual([])
  })

  it('answers an unknown id with 404, and a token on a signed preset too', async () => {
    await refused({ ...(await tally(tallyBody())), path: '/webhooks/nope' }, 404, 'unknown-webhook')
    await refused({ ...(await tally(tallyBody())), path: '/webhooks/tally-forms/extra' }, 404, 'unknown-webhook')
  })

  it('takes WEBHOOKS as a JSON string', async () => {
    const { res } = await post(await tally(tallyBody()), { WEBHOOKS: JSON.stringify({ 'tally-forms': { preset: 'tally' } }) })
    expect(await res.json()).toMatchObject({ status: 'accepted' })
  })

  it.each([
    [{ signup: { preset: 'svix' } }, 'WEBHOOKS.signup.preset'],
    [{ signup: { preset: 'standard-webhooks', fields: { email: '/data/email' } } }, 'WEBHOOKS.signup.event_types'],
    [{ signup: { preset: 'standard-webhooks', event_types: ['user.created'], fields: { first_name: '/data/first_name' } } }, 'WEBHOOKS.signup.fields'],
    [{ signup: { preset: 'standard-webhooks', event_types: ['user.created'], fields: { email: 'data/email' } } }, 'WEBHOOKS.signup.fields.email'],
    [{ 'tally-forms': { preset: 'tally', tolerance_seconds: 60 } }, 'WEBHOOKS.tally-forms'],
    [{ Typeform: { preset: 'tally' } }, 'WEBHOOKS.Typeform'],
    [{ 'my-app': { preset: 'tally' }, my_app: { preset: 'tally' } }, 'WEBHOOKS.my_app'],
  ])('refuses a bad config with 503 naming the key (%j)', async (config, key) => {
    const problem = await refused(await tally(tallyBody()), 503, 'configuration-error', { WEBHOOKS: config })
    expect(problem.detail).toContain(key)
  })
})

describe('operating a configured endpoint', () => {
  const operator = (path: string, overrides: Record<string, unknown>, method = 'GET') =>
    fetchWith(`/operator${path}`, { method, headers: { authorization: 'Bearer test-operator-token' } }, { WEBHOOKS, ...overrides }, { realQueue: true })

  it('names [vars.WEBHOOKS.<id>] when the CRM lacks what it writes, and a replay maps the stored submission again under the fixed config', async () => {
    await client.connection('conn-test', { profiles: ['no-leads'] })
    // Asked for leads explicitly (the default, auto, would write a contact here).
    const { res } = await post(jotform(jotformBody()), { WEBHOOKS: { ...WEBHOOKS, jotform: { preset: 'jotform', write: 'lead' } } }, true)
    const { id } = (await res.json()) as { id: string }
    const failed = await waitForState(id, 'failed')
    expect(failed.last_error).toContain('this CRM has no leads: set write = "contact" on [vars.WEBHOOKS.jotform]')
    // The stored input is the multipart's fields as JSON: mapped again, now as a contact.
    const replayed = await operator(`/submissions/${id}/replay`, { WEBHOOKS: { ...WEBHOOKS, jotform: { preset: 'jotform', write: 'contact', status: 'Replayed' } } }, 'POST')
    expect(replayed.res.status).toBe(202)
    await waitForState(id, 'written')
    const contacts = await client.records('conn-test', 'contact')
    expect(contacts).toEqual([expect.objectContaining({ first_name: 'Niloth', last_name: 'P', emails: [expect.objectContaining({ email: 'niloth.p@example.com' })] })])
  })

  it('lists each configured endpoint among the sources the connection check looks at', async () => {
    const { res } = await operator('/connection', {})
    const { connections } = (await res.json()) as { connections: { sources: { source: string; writes: string[] }[] }[] }
    const sources = connections.flatMap((c) => c.sources.map((s) => s.source))
    for (const id of Object.keys(WEBHOOKS)) expect(sources).toContain(`[vars.WEBHOOKS.${id}]`)
  })
})

describe('labels', () => {
  it.each([
    ['Phone Number (mobile)', 'phone_number_mobile'],
    ['Téléphone', 'telephone'],
    ['電話番号', '電話番号'],
    ['Payment (email)', 'payment_email'],
    ['utm_source', 'utm_source'],
  ])('slug of %j is %j', (label, slug) => expect(slugOf(label)).toBe(slug))

  it.each([
    ['Email', 'email'],
    ['Work e-mail', 'email'],
    ['Phone Number', 'phone'],
    ['Mobile', 'phone'],
    ['First Name', 'first_name'],
    ['Surname', 'last_name'],
    ['Full name', 'name'],
    ['Your name', 'name'],
    ['Organisation', 'company_name'],
    ['Job title', 'title'],
    ['Website', 'website'],
    ['What would you like to discuss?', undefined],
    ['Name of your pet', undefined],
  ])('the label %j fills %s', (label, field) => expect(fieldOfLabel(label)).toBe(field))
})

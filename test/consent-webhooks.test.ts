/**
 * Consent captured from webhook sources, as forms capture it (test/privacy.test.ts): a Typeform
 * `[vars.TYPEFORM.consent]` (the legal and yes/no answers of Typeform's own docs example) and a
 * Tally endpoint's `consent`, through HTTP, signed as each sender signs, and the real queue. A
 * required consent that is not given is acknowledged (2xx) and logged as ignored, never a 422:
 * a sender would only retry it, then switch the webhook off.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import docsExample from './fixtures/typeform/form_response.docs-example.json'
import tallyExample from './fixtures/tally/form_response.docs-example.json'
import calendlyPayload from './fixtures/calendly/invitee.payload.docs-example.json'
import { b64, fetchWith, hex, hmac, idOf, leadsWithEmail, operatorApi, signTypeform, standin, submission, unique, waitForState, webhookInit, type WireLead } from './helpers'

beforeEach(() => standin.reset())

const WORDING = 'I agree to be contacted about my enquiry.'
const sha256 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, '0')).join('')
const metadataOf = (lead: WireLead) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))
const consentKeys = (lead: WireLead) => Object.keys(metadataOf(lead)).filter((k) => k.startsWith('consent'))
const consentVersionOf = async (id: string) => (await env.DB.prepare(`SELECT consent_version FROM submissions WHERE id = ?1`).bind(id).first<{ consent_version: string | null }>())!.consent_version
const consents = async () => ((await (await operatorApi('/consents')).json()) as { consents: Record<string, unknown>[] }).consents

/** The answer the config's `consent.field` names: the docs example's legal question (answered true) or its yes/no question (answered false). */
const LEGAL = 'readable_ref_legal'
const YES_NO = 'readable_ref_yes_no'

/** A delivery without a required consent: 200 ignored, the reason in the log for the operator, nothing written. */
async function ignoredForNoConsent(res: Response, email: string) {
  expect(res.status).toBe(200)
  const answer = (await res.json()) as { id: string; status: string; reason: string }
  expect(answer).toMatchObject({ status: 'ignored', reason: 'no-consent' })
  expect(await submission(answer.id)).toMatchObject({ state: 'ignored', last_error: 'no-consent' })
  await new Promise((r) => setTimeout(r, 1500))
  expect(await leadsWithEmail(email)).toEqual([])
  expect((await standin.counters())['lead.create'] ?? 0).toBe(0)
}

// --- Typeform ---

/** Typeform's docs example from `email`, with an event id of its own and a recent submitted_at. */
function typeformBody(email: string, submittedAt = new Date(Date.now() - 30_000).toISOString()): string {
  const payload = structuredClone(docsExample)
  payload.event_id = `consent-${crypto.randomUUID()}`
  payload.form_response.submitted_at = submittedAt
  ;(payload.form_response.answers.find((a) => a.type === 'email') as { email: string }).email = email
  return JSON.stringify(payload)
}

const postTypeform = async (body: string, typeform: Record<string, unknown>) =>
  (await fetchWith('/webhooks/typeform', webhookInit('typeform-signature', body, await signTypeform(body)), { TYPEFORM: typeform }, { realQueue: true })).res

const typeformConsent = (field: string, required: boolean, version = '2026-11-tf') => ({ consent: { field, text: WORDING, version, required } })

describe('Typeform consent', () => {
  it('records a checked legal answer as the three custom fields, in the log and by wording, given when Typeform says it was submitted', async () => {
    const email = unique('tf-consent')
    const submittedAt = '2026-11-02T09:30:00.000Z'
    const res = await postTypeform(typeformBody(email, submittedAt), typeformConsent(LEGAL, true))
    const id = await idOf(res)
    await waitForState(id, 'written')
    const meta = metadataOf((await leadsWithEmail(email))[0]!)
    expect(meta).toMatchObject({ consent_given_at: submittedAt, consent_version: '2026-11-tf', consent_text_sha256: await sha256(WORDING) })
    expect(await consentVersionOf(id)).toBe('2026-11-tf')
    expect(await consents()).toContainEqual(
      expect.objectContaining({ source: 'typeform', form: docsExample.form_response.form_id, version: '2026-11-tf', text: WORDING, text_sha256: await sha256(WORDING), submissions: 1 }),
    )
  })

  it('acknowledges a response without the required consent (200, ignored: no-consent) and writes nothing', async () => {
    const email = unique('tf-refused')
    await ignoredForNoConsent(await postTypeform(typeformBody(email), typeformConsent(YES_NO, true)), email)
  })

  it('writes the lead without consent fields when an optional consent is not given, and when Typeform asks for none', async () => {
    const optional = unique('tf-optional')
    const none = unique('tf-none')
    const optionalId = await idOf(await postTypeform(typeformBody(optional), typeformConsent(YES_NO, false, 'tf-optional')))
    const noneId = await idOf(await postTypeform(typeformBody(none), {}))
    await waitForState(optionalId, 'written')
    await waitForState(noneId, 'written')
    for (const [email, id] of [[optional, optionalId], [none, noneId]] as const) {
      expect(consentKeys((await leadsWithEmail(email))[0]!)).toEqual([])
      expect(await consentVersionOf(id)).toBeNull()
    }
    expect((await consents()).filter((c) => c.version === 'tf-optional')).toEqual([])
  })

  it('keeps the consent when a failed response is replayed (mapped again, with the wording’s hash)', async () => {
    const email = unique('tf-replay')
    const submittedAt = '2026-11-03T10:00:00.000Z'
    const typeform = typeformConsent(LEGAL, true)
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const id = await idOf(await postTypeform(typeformBody(email, submittedAt), typeform))
    await waitForState(id, 'failed')
    await standin.faults([])
    const replay = await fetchWith(`/operator/submissions/${id}/replay`, { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } }, { TYPEFORM: typeform }, { realQueue: true })
    expect(replay.res.status).toBe(202)
    await waitForState(id, 'written')
    expect(metadataOf((await leadsWithEmail(email))[0]!)).toMatchObject({ consent_given_at: submittedAt, consent_version: '2026-11-tf', consent_text_sha256: await sha256(WORDING) })
    expect(await consentVersionOf(id)).toBe('2026-11-tf')
  })
})

// --- Tally (a preset) ---

const TALLY_SECRET = 'tally-signing-secret-1'
/** Tally's checkbox question as the docs example shows one ("Checkboxes"): the list of chosen option ids, then a true/false field per option. */
const OPTION = '5a0c27c4-0d1e-4f5a-9b7e-3c1d2e4f6a70'
const consentQuestion = (ticked: boolean) => [
  { key: 'question_consent', label: 'Consent', type: 'CHECKBOXES', value: ticked ? [OPTION] : null, options: [{ id: OPTION, text: WORDING }] },
  { key: `question_consent_${OPTION}`, label: `Consent (${WORDING})`, type: 'CHECKBOXES', value: ticked },
]

/** The docs example from `email`, with an event id of its own and the consent question (ticked or not). */
function tallyBody(email: string, ticked: boolean): string {
  const fields = structuredClone(tallyExample.data.fields) as { type: string; value: unknown }[]
  fields.find((f) => f.type === 'INPUT_EMAIL')!.value = email
  const data = { ...tallyExample.data, fields: [...fields, ...consentQuestion(ticked)] }
  return JSON.stringify({ ...tallyExample, eventId: `${tallyExample.eventId}-${crypto.randomUUID().slice(0, 8)}`, data })
}

const postTally = async (body: string, consent: Record<string, unknown>) =>
  (
    await fetchWith(
      '/webhooks/tally-consent',
      { method: 'POST', body, headers: { 'content-type': 'application/json', 'tally-signature': b64(await hmac(TALLY_SECRET, body)) } },
      { WEBHOOKS: { 'tally-consent': { preset: 'tally', consent } }, WEBHOOK_SECRET_TALLY_CONSENT: TALLY_SECRET },
      { realQueue: true },
    )
  ).res

describe('Tally consent (a preset)', () => {
  const tallyConsent = { field: 'Consent', text: WORDING, version: '2026-11-tally', required: true }

  it('records a ticked consent checkbox, found by its label, as forms do', async () => {
    const email = unique('tally-consent')
    const before = Date.now()
    const id = await idOf(await postTally(tallyBody(email, true), tallyConsent))
    await waitForState(id, 'written')
    const meta = metadataOf((await leadsWithEmail(email))[0]!)
    expect(meta).toMatchObject({ consent_version: '2026-11-tally', consent_text_sha256: await sha256(WORDING) })
    expect(Date.parse(String(meta.consent_given_at))).toBeGreaterThanOrEqual(before - 1000) // Tally's payload has no submit time of the person's: when it was received
    expect(await consentVersionOf(id)).toBe('2026-11-tally')
    expect(await consents()).toContainEqual(expect.objectContaining({ source: 'tally-consent', form: tallyExample.data.formId, version: '2026-11-tally', text: WORDING }))
  })

  it('finds the consent by a JSON Pointer as well', async () => {
    const email = unique('tally-pointer')
    const field = `/data/fields/${tallyExample.data.fields.length + 1}/value` // the per-option true/false field
    const id = await idOf(await postTally(tallyBody(email, true), { ...tallyConsent, field }))
    await waitForState(id, 'written')
    expect(metadataOf((await leadsWithEmail(email))[0]!)).toMatchObject({ consent_version: '2026-11-tally' })
  })

  it('acknowledges a submission with the checkbox left unticked (200, ignored: no-consent) and writes nothing', async () => {
    const email = unique('tally-refused')
    await ignoredForNoConsent(await postTally(tallyBody(email, false), tallyConsent), email)
  })

  it('refuses a consent field that is neither a label nor a JSON Pointer, naming the key (503: the sender retries while it is fixed)', async () => {
    const res = await postTally(tallyBody(unique('tally-bad'), true), { ...tallyConsent, field: '/data/~2' })
    expect(res.status).toBe(503)
    expect(((await res.json()) as { detail: string }).detail).toContain('WEBHOOKS.tally-consent.consent.field')
  })
})

// --- Calendly (a preset whose answers carry no question type) ---

const CALENDLY_SECRET = 'calendly-signing-key-consent'
/**
 * The docs' invitee (fixtures/SOURCES.md) in its delivery envelope, from `email`, with a consent
 * question: a multi-select ("Checkboxes") question's answer is the ticked option's own text.
 */
function calendlyBody(email: string, answer: string | undefined): string {
  const questions = [{ question: 'Anything we should know?', answer: 'Call after 3pm', position: 0 }]
  if (answer !== undefined) questions.push({ question: 'Consent', answer, position: 1 })
  const payload = { ...calendlyPayload, email, uri: `${calendlyPayload.uri}-${crypto.randomUUID().slice(0, 8)}`, questions_and_answers: questions }
  return JSON.stringify({ created_at: '2020-11-23T17:51:18.000000Z', created_by: 'https://api.calendly.com/users/AAAAAAAAAAAAAAAA', event: 'invitee.created', payload })
}

async function postCalendly(body: string, values?: string[]): Promise<Response> {
  const t = Math.floor(Date.now() / 1000)
  const signature = `t=${t},v1=${hex(await hmac(CALENDLY_SECRET, `${t}.${body}`))}`
  const consent = { field: 'Consent', text: WORDING, version: '2026-11-cal', required: true, ...(values ? { values } : {}) }
  return (
    await fetchWith(
      '/webhooks/calendly-consent',
      { method: 'POST', body, headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signature } },
      { WEBHOOKS: { 'calendly-consent': { preset: 'calendly', consent } }, WEBHOOK_SECRET_CALENDLY_CONSENT: CALENDLY_SECRET },
      { realQueue: true },
    )
  ).res
}

describe('Calendly consent (answers are the ticked option’s text)', () => {
  it('records a ticked consent question whose answer is the option’s own wording', async () => {
    const email = unique('cal-consent')
    const id = await idOf(await postCalendly(calendlyBody(email, WORDING)))
    await waitForState(id, 'written')
    expect(metadataOf((await leadsWithEmail(email))[0]!)).toMatchObject({ consent_version: '2026-11-cal', consent_text_sha256: await sha256(WORDING) })
    expect(await consentVersionOf(id)).toBe('2026-11-cal')
  })

  it('acknowledges a booking without the consent question answered, or answered "No", and writes nothing', async () => {
    const unanswered = unique('cal-none')
    await ignoredForNoConsent(await postCalendly(calendlyBody(unanswered, undefined)), unanswered)
    const declined = unique('cal-no')
    await ignoredForNoConsent(await postCalendly(calendlyBody(declined, 'No, thanks')), declined)
  })

  it('never takes a refusal in words, anywhere in the answer and in other languages, for consent', async () => {
    for (const answer of ['I do not agree', "I don't consent", 'Disagree', 'Nein', 'Non', 'Ich stimme nicht zu', 'No estoy de acuerdo']) {
      const email = unique('cal-refused')
      await ignoredForNoConsent(await postCalendly(calendlyBody(email, answer)), email)
    }
  })

  it('takes an answer in doubt for no consent, unless the consent block names it in `values`', async () => {
    const unsure = unique('cal-unsure')
    await ignoredForNoConsent(await postCalendly(calendlyBody(unsure, 'Marketing emails')), unsure)
    const named = unique('cal-named')
    const id = await idOf(await postCalendly(calendlyBody(named, 'Marketing emails'), ['Marketing emails']))
    await waitForState(id, 'written')
    expect(await consentVersionOf(id)).toBe('2026-11-cal')
  })
})

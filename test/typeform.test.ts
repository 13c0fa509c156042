/** POST /webhooks/typeform: signature, mapping by type and by ref, allow-list, idempotency, failure answers. */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { verifyTypeform } from '../src/sources/webhook/typeform'
import docsExample from './fixtures/typeform/form_response.docs-example.json'
import pipedream from './fixtures/typeform/form_response.pipedream-raw-webhook-event.json'
import vector from './fixtures/typeform/signature-test-vector.json'
import { fetchWith, leadsWithEmail, request, standin, waitForDelivery, webhookInit, type WireLead } from './helpers'

beforeEach(() => standin.reset())

/** The second of the two secrets in vitest.config.ts (the first is a retired one, as during a rotation). */
const SECRET = 'my-webook-secret'
const RETIRED = 'tf-retired-secret-91c2'

/** Signs as Typeform does, independently of the code under test: sha256= + base64(HMAC-SHA256). */
async function sign(body: string, secret = SECRET): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body)))
  return `sha256=${btoa(String.fromCharCode(...mac))}`
}

/** A delivery of `payload` with its own event id, so tests do not see each other's ids. */
const fresh = <T extends { event_id: string }>(payload: T): string =>
  JSON.stringify({ ...payload, event_id: `${payload.event_id}-${crypto.randomUUID().slice(0, 8)}` })

const post = async (body: string, signature?: string) => request('/webhooks/typeform', webhookInit('typeform-signature', body, signature))

/** The Worker with `overrides` on its env; the queue records what is sent unless LEADS is overridden. */
const postWith = (body: string, signature: string | undefined, overrides: Record<string, unknown> = {}) =>
  fetchWith('/webhooks/typeform', webhookInit('typeform-signature', body, signature), overrides)

type Answer = { id?: string; status: string; reason?: string }

const accepted = async (res: Response): Promise<string> => {
  expect(res.status).toBe(200)
  const body = (await res.json()) as Answer
  expect(body.status).toBe('accepted')
  return body.id!
}

const metadataOf = (lead: WireLead) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, [m.value, m.format]]))

const settle = () => new Promise((r) => setTimeout(r, 1500))

describe('signature', () => {
  it("agrees with Typeform's own test vector", async () => {
    expect(await sign(vector.rawBody, vector.secret)).toBe(vector.typeformSignatureHeader)
    const body = new TextEncoder().encode(vector.rawBody).buffer as ArrayBuffer
    expect(await verifyTypeform([vector.secret], body, vector.typeformSignatureHeader)).toBe(true)
    expect(await verifyTypeform(['another-secret'], body, vector.typeformSignatureHeader)).toBe(false)
    // Through the route: the signature passes, then `{"foo":"bar"}` is refused as no Typeform event (400, not 401).
    const res = await post(vector.rawBody, vector.typeformSignatureHeader)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ type: 'urn:lead-intake:problem:malformed-body' })
  })

  it.each([
    ['a wrong secret', async (body: string) => ({ body, signature: await sign(body, 'not-the-secret') })],
    ['a tampered body', async (body: string) => ({ body: body.replace('laura@example.com', 'mallory@example.com'), signature: await sign(body) })],
    ['a missing header', async (body: string) => ({ body, signature: undefined })],
    ['a signature without sha256=', async (body: string) => ({ body, signature: (await sign(body)).slice('sha256='.length) })],
    ['garbage', async (body: string) => ({ body, signature: 'sha256=%%%not-base64' })],
  ])('refuses %s with 401 problem+json and queues nothing', async (_name, forge) => {
    const { body, signature } = await forge(fresh(docsExample))
    const { res, sent } = await postWith(body, signature, {})
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ type: 'urn:lead-intake:problem:invalid-signature', status: 401 })
    expect(sent).toEqual([])
  })

  it('accepts a delivery signed with the retired secret during a rotation', async () => {
    const body = fresh(docsExample)
    await waitForDelivery([await accepted(await post(body, await sign(body, RETIRED)))])
    expect(await leadsWithEmail('laura@example.com')).toHaveLength(1)
  })

  it('refuses everything, and says why, when no secret is set (fail closed)', async () => {
    const body = fresh(docsExample)
    const { res, sent } = await postWith(body, await sign(body), { TYPEFORM_WEBHOOK_SECRET: '' })
    expect(res.status).toBe(503) // Typeform retries a 503 for hours: nothing is lost while the secret is set
    expect(((await res.json()) as { detail: string }).detail).toContain('TYPEFORM_WEBHOOK_SECRET')
    expect(sent).toEqual([])
  })
})

describe('zero-config mapping', () => {
  it("turns Typeform's docs example into a lead: email by type, every other answer and hidden field as metadata", async () => {
    const body = JSON.stringify(docsExample) // the real event id, once in this file
    const id = await accepted(await post(body, await sign(body)))
    await waitForDelivery([id])
    const [lead, ...others] = await leadsWithEmail('laura@example.com')
    expect(others).toEqual([])
    expect(lead).toMatchObject({ source: 'Typeform', status: 'New' })
    expect(lead!.first_name).toBeUndefined() // a short_text is not a name until the config says so
    expect(metadataOf(lead!)).toEqual({
      readable_ref_long_text: [docsExample.form_response.answers[0]!.text, 'TEXTAREA'],
      readable_ref_short_text: ['Laura', 'TEXT'],
      readable_ref_date: ['2005-10-15', 'DATE'],
      readable_ref_picture_choice: [['London', 'Sydney'], 'MULTIPLE_SELECT'],
      readable_ref_number1: [5, 'NUMBER'],
      readable_ref_legal: [true, 'BOOLEAN'],
      readable_ref_multiple_choice: ['London', 'SINGLE_SELECT'],
      readable_ref_yes_no: [false, 'BOOLEAN'],
      readable_ref_opinion_scale: [2, 'NUMBER'],
      readable_ref_rating: [3, 'NUMBER'],
      readable_ref_number2: [4, 'NUMBER'],
      readable_ref_calendly: ['https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE', 'URL'],
      user_id: ['abc123456', 'TEXT'],
    })
  })

  it("maps a contact-info block's sub-fields to name, company, email and phone", async () => {
    // Constructed (no public sample has one): the block as the Create API defines it, its sub-fields answered
    // like any other field, with no ref on the answers.
    const sub = (id: string, key: string, type: string) => ({ id, ref: `contact-${key}`, subfield_key: key, type, title: key })
    const payload = {
      event_id: `contact-${crypto.randomUUID()}`,
      event_type: 'form_response',
      form_response: {
        form_id: 'Ct4Inf0',
        definition: {
          id: 'Ct4Inf0',
          fields: [
            {
              id: 'ci000000',
              ref: 'contact',
              type: 'contact_info',
              title: 'Your details',
              properties: {
                fields: [
                  sub('ci000001', 'first_name', 'short_text'),
                  sub('ci000002', 'last_name', 'short_text'),
                  sub('ci000003', 'email', 'email'),
                  sub('ci000004', 'phone_number', 'phone_number'),
                  sub('ci000005', 'company', 'short_text'),
                ],
              },
            },
          ],
        },
        answers: [
          { type: 'text', text: 'Grace', field: { id: 'ci000001', type: 'short_text' } },
          { type: 'text', text: 'Hopper', field: { id: 'ci000002', type: 'short_text' } },
          { type: 'email', email: 'Grace.Hopper@Example.com', field: { id: 'ci000003', type: 'email' } },
          { type: 'phone_number', phone_number: '+15550104477', field: { id: 'ci000004', type: 'phone_number' } },
          { type: 'text', text: 'US Navy', field: { id: 'ci000005', type: 'short_text' } },
        ],
        hidden: { utm_source: 'newsletter' },
      },
    }
    const body = JSON.stringify(payload)
    await waitForDelivery([await accepted(await post(body, await sign(body)))])
    const [lead] = await leadsWithEmail('grace.hopper@example.com')
    expect(lead).toMatchObject({
      first_name: 'Grace',
      last_name: 'Hopper',
      company_name: 'US Navy',
      telephones: [{ telephone: '+15550104477', type: 'WORK' }],
    })
    expect(metadataOf(lead!)).toEqual({ utm_source: ['newsletter', 'TEXT'] })
  })

  it('acknowledges a response with neither email nor phone (200, ignored) and writes nothing', async () => {
    const body = fresh(pipedream)
    const { res, sent } = await postWith(body, await sign(body), {})
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'no-contact' })
    expect(sent).toEqual([])
  })

  it('acknowledges other event types (200, ignored)', async () => {
    const body = fresh({ ...docsExample, event_type: 'form_response_partial' })
    const { res, sent } = await postWith(body, await sign(body), {})
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'event-type' })
    expect(sent).toEqual([])
  })
})

describe('TYPEFORM config', () => {
  const TYPEFORM = {
    source: 'Typeform survey',
    forms: {
      lT4Z3j: {
        status: 'Contacted',
        fields: {
          readable_ref_short_text: 'first_name',
          readable_ref_legal: false,
          readable_ref_long_text: { slug: 'where_they_live' },
          user_id: { slug: 'typeform_user', format: 'TEXT' },
        },
      },
    },
  }

  it('refines a form by field ref (resolved through the definition when the answer has none)', async () => {
    const body = fresh(docsExample)
    const { res } = await postWith(body, await sign(body), { TYPEFORM, LEADS: env.LEADS })
    await waitForDelivery([await accepted(res)])
    const [lead] = await leadsWithEmail('laura@example.com')
    expect(lead).toMatchObject({ first_name: 'Laura', source: 'Typeform survey', status: 'Contacted' })
    const meta = metadataOf(lead!)
    expect(meta.where_they_live?.[1]).toBe('TEXTAREA')
    expect(meta.typeform_user).toEqual(['abc123456', 'TEXT'])
    expect(meta).not.toHaveProperty('readable_ref_legal')
    expect(meta).not.toHaveProperty('readable_ref_short_text')
  })

  it('acknowledges a form outside the allow-list (200, ignored) and queues nothing', async () => {
    const body = fresh(docsExample)
    const { res, sent } = await postWith(body, await sign(body), { TYPEFORM: { forms: ['SomeOtherForm'] } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'form-not-allowed' })
    expect(sent).toEqual([])
  })

  it('answers a broken config with 503 naming the key, never 404 or a silent drop', async () => {
    const body = fresh(docsExample)
    const { res, sent } = await postWith(body, await sign(body), { TYPEFORM: { forms: { lT4Z3j: { fields: { x: 'surname' } } } } })
    expect(res.status).toBe(503)
    expect(((await res.json()) as { detail: string }).detail).toContain('TYPEFORM.forms.lT4Z3j.fields.x')
    expect(sent).toEqual([])
  })
})

describe('idempotency', () => {
  it('writes a redelivered event once: the second is acknowledged with no Unified call', async () => {
    const body = fresh(docsExample)
    const signature = await sign(body)
    const id = await accepted(await post(body, signature))
    await waitForDelivery([id])
    const after = await standin.counters()
    expect(after['lead.create']).toBe(1)

    const again = await post(body, signature)
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ id, status: 'duplicate' })
    await settle()
    expect(await standin.counters()).toEqual(after)
    expect(await leadsWithEmail('laura@example.com')).toHaveLength(1)
  })

  it('answers a queue failure with 503 and Retry-After, and accepts the retry', async () => {
    const body = fresh(docsExample)
    const signature = await sign(body)
    const broken = { send: async () => Promise.reject(new Error('queue down')) }
    const { res } = await postWith(body, signature, { LEADS: broken })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBeTruthy()
    // The claim was released: Typeform's retry is a first delivery, not a duplicate.
    await waitForDelivery([await accepted(await post(body, signature))])
    expect(await leadsWithEmail('laura@example.com')).toHaveLength(1)
  })
})

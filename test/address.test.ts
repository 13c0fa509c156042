/** Addresses (README "Addresses"): forms, Stripe and Typeform give the record an address with an ISO country code, and the phones their country. */
import { beforeEach, describe, expect, it } from 'vitest'
import sessionObject from './fixtures/stripe/checkout.session.object.json'
import envelope from './fixtures/stripe/event.envelope.json'
import clerkUserCreated from './fixtures/standard-webhooks/clerk.user.created.docs-example.json'
import swVectors from './fixtures/standard-webhooks/spec-vectors.json'
import docsExample from './fixtures/typeform/form_response.docs-example.json'
import { b64, fetchWith, hmac, idOf, leadsWithEmail, postWebhook, signStripe, signTypeform, standin, unique, waitForDelivery } from './helpers'

beforeEach(() => standin.reset())

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

/** Posts to form `addr` (its config `config`) through the real queue and waits for the write; the answer. */
async function post(body: Record<string, unknown>, config: Record<string, unknown> = {}): Promise<Response> {
  const { res } = await fetchWith('/forms/addr', json(body), { FORMS: { addr: { rate_limit: false, ...config } } }, { realQueue: true })
  if (res.status === 202) await waitForDelivery([await idOf(res.clone())])
  return res
}

const onlyLead = async () => {
  const leads = await standin.leads()
  expect(leads).toHaveLength(1)
  return leads[0]!
}

describe('form addresses', () => {
  it.each([
    ['Germany', 'DE'],
    ['United Kingdom', 'GB'],
    ['USA', 'US'],
    ['de', 'DE'],
    ['Côte d’Ivoire', 'CI'],
  ])('street, city, region, postal_code and country %j become the address, country_code %s', async (country, code) => {
    const email = unique('addr')
    expect((await post({ email, street: '12 Hauptstraße', city: 'Berlin', region: 'Berlin', postal_code: '10115', country })).status).toBe(202)
    expect((await leadsWithEmail(email))[0]!.address).toEqual({ address1: '12 Hauptstraße', city: 'Berlin', region: 'Berlin', postal_code: '10115', country, country_code: code })
  })

  it('keeps a country it can’t read as written, without a code', async () => {
    const email = unique('atlantis')
    await post({ email, city: 'Poseidonis', country: 'Atlantis' })
    expect((await leadsWithEmail(email))[0]!.address).toEqual({ city: 'Poseidonis', country: 'Atlantis' })
  })

  it('reads a phone without a country code in the address’s country when the form sets none', async () => {
    expect((await post({ phone: '030 1234 5678', country: 'Germany' })).status).toBe(202)
    expect((await onlyLead()).telephones).toEqual([{ telephone: '+493012345678', type: 'WORK' }])
  })

  it('lets the form’s default_country win over the address', async () => {
    await post({ phone: '020 7946 0001', country: 'Germany' }, { default_country: 'GB' })
    expect((await onlyLead()).telephones).toEqual([{ telephone: '+442079460001', type: 'WORK' }])
  })

  it('fills an address the record lacks, and never mixes a second one into one it has', async () => {
    const email = unique('twice')
    await post({ email, city: 'Berlin', country: 'DE' })
    await post({ email, city: 'Paris', country: 'France', first_name: 'Later' })
    expect((await leadsWithEmail(email))[0]).toMatchObject({ first_name: 'Later', address: { city: 'Berlin', country: 'DE', country_code: 'DE' } })
  })
})

describe('webhook addresses', () => {
  it('Stripe: customer_details.address becomes the address, its country the phone’s', async () => {
    const session = {
      ...sessionObject,
      customer_details: {
        ...sessionObject.customer_details,
        phone: '020 7946 0000',
        address: { line1: '12 St James’s Square', line2: 'Floor 2', city: 'London', state: null, postal_code: 'SW1Y 4JH', country: 'GB' },
      },
    }
    const body = JSON.stringify({ ...envelope, id: `evt_${crypto.randomUUID().slice(0, 8)}`, type: 'checkout.session.completed', data: { object: session } })
    await waitForDelivery([await idOf(await postWebhook('stripe', body, await signStripe(body)))])
    const [lead] = await leadsWithEmail('example@example.com')
    expect(lead!.address).toEqual({ address1: '12 St James’s Square, Floor 2', city: 'London', postal_code: 'SW1Y 4JH', country: 'GB', country_code: 'GB' })
    expect(lead!.telephones).toEqual([{ telephone: '+442079460000', type: 'WORK' }])
  })

  it('Typeform: an address block’s answers (by subfield_key) become the address', async () => {
    const fr = docsExample.form_response
    // The docs example has no address question: one is added in the shape of its contact-info block (a group whose sub-fields have subfield_keys).
    const parts = [
      ['tfAddr1', 'address_line1', 'Unter den Linden 1'],
      ['tfCity', 'city', 'Berlin'],
      ['tfZip', 'zip_code', '10117'],
      ['tfCountry', 'country', 'Germany'],
    ] as const
    const definition = {
      ...fr.definition,
      fields: [...fr.definition.fields, { id: 'tfAddress', type: 'address', title: 'Address', properties: { fields: parts.map(([id, key]) => ({ id, type: 'short_text', title: key, subfield_key: key })) } }],
    }
    const answers = [...fr.answers, ...parts.map(([id, , text]) => ({ type: 'text', text, field: { id, type: 'short_text' } }))]
    const body = JSON.stringify({ ...docsExample, event_id: `tf-${crypto.randomUUID().slice(0, 8)}`, form_response: { ...fr, definition, answers } })
    await waitForDelivery([await idOf(await postWebhook('typeform', body, await signTypeform(body)))])
    const [lead] = await leadsWithEmail('laura@example.com')
    expect(lead!.address).toEqual({ address1: 'Unter den Linden 1', city: 'Berlin', postal_code: '10117', country: 'Germany', country_code: 'DE' })
  })

  it('Typeform: answers whose ref is mapped to an address field', async () => {
    const fr = docsExample.form_response
    const answers = [...fr.answers, { type: 'text', text: 'Deutschland', field: { id: 'landQ', type: 'short_text', ref: 'land' } }]
    const body = JSON.stringify({ ...docsExample, event_id: `tf-${crypto.randomUUID().slice(0, 8)}`, form_response: { ...fr, answers } })
    const TYPEFORM = { fields: { land: 'country' } }
    const { res } = await fetchWith('/webhooks/typeform', { method: 'POST', body, headers: { 'content-type': 'application/json', 'typeform-signature': await signTypeform(body) } }, { TYPEFORM }, { realQueue: true })
    await waitForDelivery([await idOf(res)])
    expect((await leadsWithEmail('laura@example.com'))[0]!.address).toEqual({ country: 'Deutschland', country_code: 'DE' })
  })

  it('a preset: `fields` pointing at address parts (Standard Webhooks, Clerk’s user.created)', async () => {
    const secret = swVectors.vectors[0]!.secret
    const WEBHOOKS = {
      signup: {
        preset: 'standard-webhooks',
        event_types: ['user.created'],
        fields: { email: '/data/email_addresses/0/email_address', city: '/data/public_metadata/city', country: '/data/public_metadata/country' },
      },
    }
    const body = JSON.stringify({ ...clerkUserCreated, data: { ...clerkUserCreated.data, public_metadata: { city: 'Manchester', country: 'United Kingdom' } } })
    const [id, t] = [`msg_${crypto.randomUUID().slice(0, 8)}`, Math.floor(Date.now() / 1000)]
    const key = Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0))
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': `v1,${b64(await hmac(key, `${id}.${t}.${body}`))}` }
    const { res } = await fetchWith('/webhooks/signup', { method: 'POST', body, headers }, { WEBHOOKS, WEBHOOK_SECRET_SIGNUP: secret }, { realQueue: true })
    await waitForDelivery([await idOf(res)])
    expect((await leadsWithEmail('example@example.org'))[0]!.address).toEqual({ city: 'Manchester', country: 'United Kingdom', country_code: 'GB' })
  })
})

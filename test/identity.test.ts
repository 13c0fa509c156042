/**
 * One person, one record: a person is every identifier they bring (emails, E.164 phones,
 * source ids), resolved in the identity ledger before anything is created.
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../src/index'
import { newMessage } from '../src/delivery/enqueue'
import { writerFor } from '../src/delivery/lead-writer'
import { forgetPhoneMetadata, loadPhoneMetadata, parsePhone } from '../src/lead/identity'
import type { LeadMessage } from '../src/lead/message'
import customerObject from './fixtures/stripe/customer.object.json'
import envelope from './fixtures/stripe/event.envelope.json'
import docsExample from './fixtures/typeform/form_response.docs-example.json'
import {
  client,
  fetchWith,
  idOf,
  leadsWithEmail,
  postJson,
  postWebhook,
  signStripe,
  signTypeform,
  standin,
  unique,
  waitForDelivery,
  waitForState,
  type WireLead,
} from './helpers'

beforeEach(() => standin.reset())

const post = async (body: Record<string, unknown>, form = 'contact') => idOf(await postJson(`/forms/${form}`, body))
const submit = async (body: Record<string, unknown>) => {
  const id = await post(body)
  await waitForDelivery([id])
  return id
}

/** A number no other test uses: the stand-in is shared by every test in the file. */
const uniquePhone = () => `+1 202 555 ${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`
const digits = (s: string) => s.replace(/\D/g, '')
const withPhone = async (phone: string): Promise<WireLead[]> =>
  (await standin.leads()).filter((l) => l.telephones?.some((t) => digits(t.telephone).endsWith(digits(phone).slice(-10))))

describe('a person is every identifier they bring', () => {
  it('writes a phone-only post and a later email+phone post to one lead', async () => {
    const phone = uniquePhone()
    const email = unique('phonefirst')
    await submit({ phone, first_name: 'Grace' })
    await submit({ email, phone, last_name: 'Hopper' })
    const leads = await withPhone(phone)
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ first_name: 'Grace', last_name: 'Hopper' })
    expect((await standin.counters())['lead.create']).toBe(1)
  })

  it('turns 20 concurrent first posts mixing email-only, phone-only and email+phone into exactly one lead', async () => {
    // A slow search widens the window in which writers that only knew one identifier would each create.
    await standin.faults([{ operations: ['lead.list'], latency_ms: 200 }])
    const email = unique('burst')
    const phone = uniquePhone()
    const shapes = [{ email }, { phone }, { email, phone }]
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => post({ ...shapes[i % 3], message: `try ${i}` })))
    await waitForDelivery(ids, 45_000)
    expect((await standin.counters())['lead.create']).toBe(1)
    expect(await leadsWithEmail(email)).toHaveLength(1)
    expect(await withPhone(phone)).toHaveLength(1)
  })

  it('keeps a Stripe customer whose email changes on one lead, found by the customer id', async () => {
    const customer = `cus_${crypto.randomUUID().slice(0, 12)}`
    const [before, after] = [unique('stripe-old'), unique('stripe-new')]
    const event = (type: string, email: string) =>
      JSON.stringify({ ...envelope, id: `evt_${crypto.randomUUID().slice(0, 12)}`, type, data: { object: { ...customerObject, id: customer, email } } })
    const first = event('customer.created', before)
    await waitForDelivery([await idOf(await postWebhook('stripe', first, await signStripe(first)))])
    const second = event('customer.updated', after)
    await waitForDelivery([await idOf(await postWebhook('stripe', second, await signStripe(second)))])
    const leads = await leadsWithEmail(before)
    expect(leads).toHaveLength(1)
    // Stripe vouches for its customer: the new address joins the lead.
    expect(leads[0]!.emails?.map((e) => e.email)).toEqual([before, after])
    expect((await standin.counters())['lead.create']).toBe(1)
  })

  it('writes to the older of two known people who turn out to share an identifier, and never makes a third', async () => {
    const email = unique('known-a')
    const phone = uniquePhone()
    await submit({ email, first_name: 'Ada' })
    await submit({ phone, first_name: 'Bea' })
    await submit({ email, phone, company: 'Both Ltd' })
    const all = await standin.leads()
    expect(all).toHaveLength(2)
    const older = all.find((l) => l.first_name === 'Ada')!
    const newer = all.find((l) => l.first_name === 'Bea')!
    expect(older.company_name).toBe('Both Ltd')
    expect(newer.company_name).toBeUndefined()
    // The phone belongs to the other person: it is not copied onto the older one's lead.
    expect(older.telephones ?? []).toEqual([])
  })
})

describe('two known people behind one submission', () => {
  /** A signed Stripe customer event, delivered. */
  const stripeCustomer = async (type: string, id: string, fields: Record<string, string>) => {
    const event = JSON.stringify({ ...envelope, id: `evt_${crypto.randomUUID().slice(0, 12)}`, type, data: { object: { ...customerObject, id, ...fields } } })
    await waitForDelivery([await idOf(await postWebhook('stripe', event, await signStripe(event)))])
  }

  it('writes a Stripe customer to the lead its email names, not to an older person who shares its phone, and moves no email there', async () => {
    const phone = uniquePhone()
    const email = unique('web-lead')
    await submit({ phone, first_name: 'Olivia' }) // an older customer, known by an office line
    await submit({ email, first_name: 'Will' }) // the website lead
    await stripeCustomer('customer.created', `cus_${crypto.randomUUID().slice(0, 12)}`, { email, phone, name: 'Will Walker' })
    expect(await leadsWithEmail(email)).toEqual([expect.objectContaining({ first_name: 'Will', last_name: 'Walker' })])
    const older = (await standin.leads()).find((l) => l.first_name === 'Olivia')!
    expect(older.emails ?? []).toEqual([])
    expect(older.last_name).toBeUndefined()
    expect((await standin.counters())['lead.create']).toBe(2)
  })

  it('never copies an email another known person holds onto the record a stronger identifier names', async () => {
    const customer = `cus_${crypto.randomUUID().slice(0, 12)}`
    const [own, theirs] = [unique('customer'), unique('website')]
    await stripeCustomer('customer.created', customer, { email: own, name: 'Carla Customer' })
    await submit({ email: theirs, first_name: 'Wendy' })
    // Stripe now gives its customer the website lead's address: the customer id names the person, the address stays Wendy's.
    await stripeCustomer('customer.updated', customer, { email: theirs })
    expect((await leadsWithEmail(own))[0]!.emails?.map((e) => e.email)).toEqual([own])
    expect(await leadsWithEmail(theirs)).toEqual([expect.objectContaining({ first_name: 'Wendy' })])
    expect((await standin.counters())['lead.create']).toBe(2)
  })
})

describe('a remembered lead that is gone from the CRM', () => {
  it('is made again with every identifier of the post that finds it gone, which then belong to the person', async () => {
    const phone = uniquePhone()
    const email = unique('after-delete')
    const first = await submit({ phone, first_name: 'Dora' })
    // Known for longer than the new-person window, so a public post may not hang a new email on an existing lead.
    await env.DB.prepare(`UPDATE people SET created_at = created_at - 660000`).run()
    const [gone] = await withPhone(phone)
    expect((await client.crm('conn-test', 'lead').remove(gone!.id!)).status).toBeLessThan(300)
    const second = await submit({ phone, email, last_name: 'Deleted' })
    const [lead, ...more] = await withPhone(phone)
    expect(more).toEqual([])
    expect(lead!.id).not.toBe(gone!.id)
    expect(lead!.emails?.map((e) => e.email)).toEqual([email])
    // The email is on the person's own new lead, so it is theirs in the ledger: an email-only post is the same person.
    const third = await submit({ email, first_name: 'Again' })
    expect(await standin.leads()).toEqual([expect.objectContaining({ id: lead!.id, first_name: 'Again', last_name: 'Deleted' })])
    const people = await env.DB.prepare(`SELECT DISTINCT person FROM submissions WHERE id IN (?1, ?2, ?3)`).bind(first, second, third).all()
    expect(people.results).toHaveLength(1)
  })
})

describe('phones compare as E.164', () => {
  const ukForm = { uk: { default_country: 'GB', rate_limit: false } }
  const postUk = async (body: Record<string, unknown>) => {
    const { res } = await fetchWith('/forms/uk', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }, { FORMS: ukForm }, { realQueue: true })
    const id = await idOf(res)
    await waitForDelivery([id])
  }

  it('reads a national number with the form’s default_country: +44 20 7946 0001 and 020 7946 0001 are one lead', async () => {
    await postUk({ phone: '+44 20 7946 0001', first_name: 'Intl' })
    await postUk({ phone: '020 7946 0001', last_name: 'National' })
    const leads = await withPhone('2079460001')
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ first_name: 'Intl', last_name: 'National', telephones: [{ telephone: '+442079460001', type: 'WORK' }] })
  })

  it('treats +44 (0)20 7946 0002 as +44 20 7946 0002', async () => {
    await postUk({ phone: '+44 20 7946 0002', first_name: 'Plain' })
    await postUk({ phone: '+44 (0)20 7946 0002', last_name: 'Trunk' })
    expect(await withPhone('2079460002')).toHaveLength(1)
  })

  it('finds a CRM lead whose phone is written in another format', async () => {
    const seeded = await standin.seed({ telephones: [{ telephone: '(202) 555-0143' }], first_name: 'Formatted' })
    await submit({ phone: '+1 202-555-0143', last_name: 'Found' })
    expect(await standin.leads()).toEqual([expect.objectContaining({ id: seeded.id, first_name: 'Formatted', last_name: 'Found' })])
  })

  it('keeps a number it cannot read as a value, but never matches people by it', async () => {
    const junk = '12345 678'
    const [a, b] = [unique('junk'), unique('junk')]
    await submit({ email: a, phone: junk })
    await submit({ email: b, phone: junk })
    expect((await leadsWithEmail(a))[0]!.telephones).toEqual([{ telephone: junk, type: 'WORK' }])
    expect(await leadsWithEmail(b)).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(2)
  })

  it('refuses a phone-only post it cannot read, saying to add the country code', async () => {
    const res = await postJson('/forms/contact', { phone: '12345 678' })
    expect(res.status).toBe(422)
    expect(((await res.json()) as { detail: string }).detail).toContain('include the country code')
  })
})

describe('public forms cannot attach identities', () => {
  it('refuses two emails or two phones in one post (422), naming the field', async () => {
    for (const body of [{ email: [unique('victim'), 'attacker@evil.example'] }, { email: unique(), phone: [uniquePhone(), uniquePhone()] }]) {
      const res = await postJson('/forms/contact', body)
      expect(res.status).toBe(422)
      const problem = (await res.json()) as { 'invalid-params': { name: string; reason: string }[] }
      expect(problem['invalid-params'][0]!.reason).toMatch(/takes one/)
    }
    expect(await standin.counters()).toEqual({})
  })

  it('never hangs an attacker’s phone on a victim’s existing CRM lead, so the attacker cannot edit it later', async () => {
    const victim = unique('victim')
    const attacker = uniquePhone()
    const lead = await standin.seed({ emails: [{ email: victim }], first_name: 'Victoria', source: 'CRM' })
    await submit({ email: victim, phone: attacker, message: 'from the attacker' })
    // Later posts as the attacker alone reach a lead of their own, not the victim's.
    await submit({ phone: attacker, first_name: 'Mallory', message: 'edit attempt' })
    const victimLead = (await standin.leads()).find((l) => l.id === lead.id)!
    expect(victimLead.telephones ?? []).toEqual([])
    expect(victimLead.first_name).toBe('Victoria')
    const attackers = await withPhone(attacker)
    expect(attackers).toHaveLength(1)
    expect(attackers[0]!.id).not.toBe(lead.id)
  })

  it('never links a new identifier to a person known for longer than the new-person window', async () => {
    const victim = unique('victim-old')
    const attacker = uniquePhone()
    await submit({ email: victim, first_name: 'Olga' })
    // The victim was first seen 11 minutes ago.
    await env.DB.prepare(`UPDATE people SET created_at = created_at - 660000`).run()
    await submit({ email: victim, phone: attacker })
    await submit({ phone: attacker, first_name: 'Mallory' })
    const [victimLead, ...rest] = await leadsWithEmail(victim)
    expect(rest).toEqual([])
    expect(victimLead!.telephones ?? []).toEqual([])
    expect(victimLead!.first_name).toBe('Olga')
    expect(await withPhone(attacker)).toEqual([expect.objectContaining({ first_name: 'Mallory' })])
  })
})

describe('non-ASCII email addresses (RFC 6531)', () => {
  it('accepts josé@example.com from a form and writes it NFC-normalized', async () => {
    const decomposed = 'jose\u0301@example.com' // "josé" typed with a combining accent
    const id = await post({ email: decomposed })
    await waitForState(id, 'written')
    expect(await leadsWithEmail('jos\u00e9@example.com')).toHaveLength(1)
  })

  it('compares an IDN domain in one form: user@bücher.de and user@xn--bcher-kva.de are one person', async () => {
    const local = `user${crypto.randomUUID().slice(0, 6)}`
    await submit({ email: `${local}@Bücher.de`, first_name: 'Unicode' })
    await submit({ email: `${local}@xn--bcher-kva.de`, last_name: 'Ascii' })
    const leads = (await standin.leads()).filter((l) => l.emails?.some((e) => e.email?.startsWith(local)))
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ first_name: 'Unicode', last_name: 'Ascii', emails: [{ email: `${local}@bücher.de`, type: 'WORK' }] })
  })

  it('finds a CRM lead that holds the address in the other form: Unicode for a punycode post, punycode for a Unicode one', async () => {
    for (const [held, posted] of [['bücher.de', 'xn--bcher-kva.de'], ['xn--mnchen-3ya.de', 'münchen.de']] as const) {
      const local = `crm${crypto.randomUUID().slice(0, 6)}`
      const seeded = await standin.seed({ emails: [{ email: `${local}@${held}` }], first_name: 'Held' })
      await submit({ email: `${local}@${posted}`, last_name: 'Posted' })
      const leads = (await standin.leads()).filter((l) => l.emails?.some((e) => e.email?.startsWith(local)))
      expect(leads, posted).toEqual([expect.objectContaining({ id: seeded.id, first_name: 'Held', last_name: 'Posted' })])
    }
    // Both forms are searched for each post (an ASCII-only address is searched once).
    expect(await standin.counters()).toMatchObject({ 'lead.list': 4 })
    expect((await standin.counters())['lead.create']).toBeUndefined()
  })

  it('accepts a Typeform response whose email is non-ASCII instead of ignoring it', async () => {
    const payload = structuredClone(docsExample)
    payload.event_id = `nonascii-${crypto.randomUUID().slice(0, 8)}`
    const answer = payload.form_response.answers.find((a) => a.type === 'email') as { email: string }
    answer.email = 'zoë@bücher.de'
    const body = JSON.stringify(payload)
    const res = await postWebhook('typeform', body, await signTypeform(body))
    expect(await res.clone().json()).toMatchObject({ status: 'accepted' })
    await waitForDelivery([await idOf(res)])
    expect(await leadsWithEmail('zoë@bücher.de')).toHaveLength(1)
  })

  it('still refuses what is no address at all', async () => {
    for (const email of ['josé@', '@bücher.de', 'a b@example.com', 'user@localhost', 'user@[127.0.0.1]', 'x@exa mple.com']) {
      expect((await postJson('/forms/contact', { email })).status, email).toBe(422)
    }
  })
})

describe('phone metadata', () => {
  it('is the installed libphonenumber-js min metadata without its formatting rules (run `npm run phone-metadata` after upgrading it)', async () => {
    const { countriesOf, withoutFormats } = await import('../scripts/phone-metadata')
    const installed = (await import('libphonenumber-js/metadata.min.json')).default
    const trimmed = JSON.parse(JSON.stringify(withoutFormats(installed as Parameters<typeof withoutFormats>[0])))
    // What the Worker reads from its static assets, and the country list its bundle keeps.
    const shipped = await (await env.ASSETS.fetch('https://assets.local/phone-metadata.json')).json()
    expect(shipped).toEqual(trimmed)
    expect((await import('../src/lead/phone-countries.json')).default).toEqual(countriesOf(trimmed))
  })

  /** A number no other test uses, in the form a GB visitor types it. */
  const gbNumber = () => `020 7946 ${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`

  // The metadata is a static asset read once per isolate, not part of the bundle: each entry point
  // must read it before any number is parsed, as a fresh isolate (forgetPhoneMetadata) shows.
  it('is not in the bundle: reading a number before an entry point loaded it is a bug that says so', () => {
    forgetPhoneMetadata()
    expect(() => parsePhone('+1 202 555 0100')).toThrow(/not loaded/)
  })

  it('is loaded by a request in a fresh isolate', async () => {
    forgetPhoneMetadata()
    const phone = gbNumber()
    const res = await postJson('/forms/contact', { phone: `+44 ${phone.slice(1)}`, first_name: 'Fresh' })
    expect(res.status).toBe(202)
    await waitForDelivery([await idOf(res)])
    expect(await withPhone(phone)).toHaveLength(1)
  })

  it('asks a sender to retry (503, Retry-After) while it cannot be read, and reads it again on the next request', async () => {
    forgetPhoneMetadata()
    const broken = { fetch: async () => new Response('', { status: 500 }) }
    const body = { method: 'POST', body: JSON.stringify({ phone: `+44 ${gbNumber().slice(1)}` }), headers: { 'content-type': 'application/json' } }
    const { res } = await fetchWith('/forms/contact', body, { ASSETS: broken })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect((await fetchWith('/forms/contact', body)).res.status).toBe(202)
  })

  it('is loaded by a queue batch in a fresh isolate', async () => {
    const phone = gbNumber()
    const message = newMessage({ source: 'form', form: 'contact' }, {
      draft: { emails: [], phones: [phone], websites: [], metadata: [], source: 'Website', status: 'New', merge: {}, country: 'GB' },
    })
    forgetPhoneMetadata()
    const batch = createMessageBatch<LeadMessage>('lead-intake-leads', [{ id: 'fresh-1', timestamp: new Date(), attempts: 1, body: message }])
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['fresh-1'])
    expect(await withPhone(phone)).toHaveLength(1)
  })

  it('is loaded by a writer Durable Object in a fresh isolate', async () => {
    const phone = gbNumber()
    const draft = { emails: [], phones: [phone], websites: [], metadata: [], source: 'Website', status: 'New', merge: {}, country: 'GB' }
    forgetPhoneMetadata()
    // Straight to a new writer, as the consumer of another isolate would call it.
    const outcome = await writerFor(env, 'conn-test', { submission: crypto.randomUUID() }).write(crypto.randomUUID(), draft, 'conn-test')
    expect(outcome).toMatchObject({ ok: true, action: 'created' })
    expect(await withPhone(phone)).toHaveLength(1)
  })
})

describe('phone parsing on the trimmed metadata', () => {
  it('reads numbers exactly as libphonenumber-js with its full min metadata does', async () => {
    const { parsePhoneNumberFromString } = await import('libphonenumber-js/min')
    await loadPhoneMetadata(env.ASSETS)
    const cases: [string, string][] = [
      ['+1 555 010 4242', 'US'], ['020 7946 0001', 'GB'], ['+44 (0)20 7946 0002', 'US'], ['0171 1234567', 'DE'], ['06 12 34 56 78', 'FR'],
      ['(02) 9876 5432', 'AU'], ['090-1234-5678', 'JP'], ['011 44 20 7946 0001', 'US'], ['8 912 345-67-89', 'RU'], ['(11) 91234-5678', 'BR'],
      ['098765 43210', 'IN'], ['416 555 0199', 'CA'], ['01534 123456', 'JE'], ['+1 876 555 1234', 'US'], ['087 123 4567', 'IE'], ['+7 727 123 4567', 'US'],
    ]
    for (const [text, country] of cases) {
      const full = parsePhoneNumberFromString(text, country as never)
      expect(parsePhone(text, country)?.key, `${text} in ${country}`).toBe(full?.isPossible() ? full.number : undefined)
    }
  })
})

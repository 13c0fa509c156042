/**
 * Stripe: `POST /webhooks/stripe`, configured by `[vars.STRIPE]`, signed with
 * STRIPE_WEBHOOK_SECRET. Verifies `Stripe-Signature` as Stripe's libraries do, and maps a
 * paying customer (a completed Checkout Session, a customer created or updated) to a
 * LeadDraft, with the Stripe ids kept as custom fields so the CRM record leads back to Stripe.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { defaultCountry, formConfigSchema, planOf, writeOptions } from '../../config'
import type { LeadDraft, LeadMetadata } from '../../lead/draft'
import { DEFAULT_COUNTRY, parseEmail, parsePhone, phoneKey } from '../../lead/identity'
import { addressOf, cleanText, splitName } from '../../lead/normalize'
import { problem } from '../../http/problem'
import { LIMITS } from '../form'
import { anyMatch, concat, timedSignatures } from '../signature'
import type { WebhookLead, WebhookSource } from '../types'

/** Events that carry a person, and the only ones `STRIPE.events` may name. */
export const STRIPE_EVENTS = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'customer.created',
  'customer.updated',
] as const

const nonBlank = z.string().trim().min(1)

/** `[vars.STRIPE]`: every key has a default, so with only the secret set the webhook works. */
export const stripeSchema = z.strictObject({
  source: nonBlank.default('Stripe'),
  status: nonBlank.default('Customer'),
  events: z.array(z.enum(STRIPE_EVENTS)).min(1).default(['checkout.session.completed', 'customer.created', 'customer.updated']),
  /** Oldest signature timestamp accepted, in seconds (Stripe's libraries default to 300). */
  tolerance_seconds: z.number().int().positive().max(86_400).default(300),
  /** The country of phone numbers given without a country code. */
  default_country: defaultCountry,
  ...writeOptions,
  /** The same per-field write rules a form has (README "Merge policy"). */
  merge: formConfigSchema.shape.merge,
})
export type StripeConfig = z.output<typeof stripeSchema>

export type StripeCheck = 'ok' | 'missing' | 'malformed' | 'mismatch' | 'stale'

/**
 * `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: any v1 that is the HMAC-SHA256 of
 * `${t}.${raw body}` under any secret passes (v0, test mode's fake, never
 * counts); then the timestamp may be at most `tolerance` seconds old.
 */
export async function verifyStripe(
  secrets: string[],
  body: ArrayBuffer,
  header: string | undefined,
  tolerance: number,
  now = Date.now(),
): Promise<StripeCheck> {
  if (!header) return 'missing'
  const parsed = timedSignatures(header)
  if (!parsed) return 'malformed'
  if (!(await anyMatch(secrets, concat(`${parsed.t}.`, body), parsed.v1))) return 'mismatch'
  return Math.floor(now / 1000) - parsed.t > tolerance ? 'stale' : 'ok'
}

const text = z.string().nullish()

const addressSchema = z.object({ line1: text, line2: text, city: text, state: text, postal_code: text, country: text }).nullish()

/** What Checkout's customer_details and a Customer share; the current API adds business_name and individual_name. */
const personSchema = z.object({
  email: text,
  name: text,
  phone: text,
  address: addressSchema,
  business_name: text,
  individual_name: text,
})
type Person = z.output<typeof personSchema>

const customerSchema = personSchema.extend({
  object: z.literal('customer'),
  id: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
})

const sessionSchema = z.object({
  object: z.literal('checkout.session'),
  id: z.string(),
  customer: z.union([z.string(), z.object({ id: z.string() })]).nullish(),
  customer_email: text,
  // Absent or email/phone only on old (CLI, 2020) events; name and address on current ones.
  customer_details: personSchema.nullish(),
})

const eventSchema = z.object({
  id: z.string().min(1).max(200),
  /** When the event happened, in Unix seconds: a redelivery days later still says when the person paid. */
  created: z.number().int().positive().optional(),
  type: z.string().max(200),
  data: z.object({ object: z.unknown() }),
})


const oneLine = (a: NonNullable<z.output<typeof addressSchema>>): string =>
  [a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(' '), a.state, a.country]
    .map((part) => cleanText(part ?? ''))
    .filter(Boolean)
    .join(', ')

/**
 * Stripe vouches for its customers (an account, a payment), so the draft is
 * `verified`: a customer whose email changes keeps their lead, found by the
 * Stripe customer id, and the new address is added to it.
 */
function personDraft(config: StripeConfig, p: Person, email: string | null | undefined, metadata: LeadMetadata[], customer: string | undefined): LeadDraft {
  const business = cleanText(p.business_name ?? '') || undefined
  // `name` is the business's name when only that was collected: not a person's.
  const person = cleanText(p.individual_name ?? '') || (p.name && cleanText(p.name) !== business ? cleanText(p.name) : '') || undefined
  const address = p.address ? oneLine(p.address) : ''
  const a = p.address
  // The record's address (Stripe's `country` is already an ISO code); the one-line custom field stays as it was.
  const postal = a ? addressOf({ street: [a.line1, a.line2].filter(Boolean).join(', '), city: a.city, region: a.state, postalCode: a.postal_code, country: a.country }) : {}
  const country = config.default_country ?? postal.address?.countryCode ?? DEFAULT_COUNTRY
  const parsed = parseEmail(email ?? '')
  const phone = parsePhone(p.phone ?? '', country)
  return {
    ...(person ? splitName(person) : {}),
    name: person,
    companyName: business,
    emails: parsed ? [parsed.value] : [],
    phones: phone ? [phone.value] : [],
    websites: [],
    metadata: [...metadata, ...(address ? [{ slug: 'address', value: address, format: 'TEXT' as const }] : [])],
    source: config.source,
    status: config.status,
    merge: config.merge,
    sourceIds: customer ? [{ name: 'stripe_customer', value: customer }] : [],
    ...postal,
    country,
    verified: true,
    plan: planOf(config),
  }
}

/** A payment or a customer change on the record's timeline: what Stripe said of the person, and its ids. */
function withTimeline(config: StripeConfig, type: string, draft: LeadDraft): LeadDraft {
  if (!config.timeline) return draft
  const fields = [
    ...(draft.name ? [{ name: 'name', value: draft.name }] : []),
    ...draft.emails.map((value) => ({ name: 'email', value })),
    ...draft.phones.map((value) => ({ name: 'phone', value })),
    ...(draft.companyName ? [{ name: 'business name', value: draft.companyName }] : []),
    ...draft.metadata.map((m) => ({ name: m.slug, value: String(m.value) })),
  ]
  return { ...draft, timeline: { type: 'NOTE', title: `Stripe ${type}`, fields } }
}

const stripeId = (slug: string, value: string): LeadMetadata => ({ slug, value, format: 'TEXT' })

const malformed = () =>
  problem(400, 'malformed-body', 'Not a Stripe event', { detail: 'Expected a Stripe event: id, type and data.object.' })

/** Reads a verified event: a lead, or `ignored` (an event type not configured, or no email or phone). */
export function stripeLead(config: StripeConfig, body: unknown): WebhookLead {
  const event = eventSchema.safeParse(body)
  if (!event.success) throw malformed()
  const { type, data } = event.data
  if (!(config.events as readonly string[]).includes(type)) return { form: type, ignored: 'event-type' }
  let draft: LeadDraft
  if (type.startsWith('checkout.session.')) {
    const session = sessionSchema.safeParse(data.object)
    if (!session.success) throw malformed()
    const s = session.data
    const customer = typeof s.customer === 'string' ? s.customer : s.customer?.id
    const ids = [stripeId('stripe_checkout_session_id', s.id), ...(customer ? [stripeId('stripe_customer_id', customer)] : [])]
    draft = personDraft(config, s.customer_details ?? {}, s.customer_details?.email ?? s.customer_email, ids, customer ?? undefined)
  } else {
    const customer = customerSchema.safeParse(data.object)
    if (!customer.success) throw malformed()
    const c = customer.data
    // The merchant's own metadata on the customer becomes custom fields of the same names.
    const own = Object.entries(c.metadata ?? {})
      .filter((e): e is [string, string] => typeof e[1] === 'string' && cleanText(e[1]) !== '')
      .slice(0, LIMITS.fields)
      .map(([slug, value]) => ({ slug, value: cleanText(value), format: 'TEXT' as const }))
    draft = personDraft(config, c, c.email, [stripeId('stripe_customer_id', c.id), ...own], c.id)
  }
  if (draft.emails.length === 0 && !draft.phones.some((p) => phoneKey(p, draft.country))) return { form: type, ignored: 'no-contact' }
  const submittedAt = event.data.created ? { submittedAt: new Date(event.data.created * 1000).toISOString() } : {}
  return { form: type, draft: withTimeline(config, type, { ...draft, ...submittedAt }) }
}

/** The Stripe source: the event's `id` is its idempotency key (Stripe may deliver an event more than once). */
export const stripe: WebhookSource<StripeConfig> = {
  name: 'Stripe',
  schema: stripeSchema,
  auth: { kind: 'signature', header: 'Stripe-Signature' },
  verify: (secrets, { body, headers }, config) => verifyStripe(secrets, body, headers.get('stripe-signature') ?? undefined, config.tolerance_seconds),
  eventOf: async (_received, payload) => ({ id: (payload as { id: string }).id, type: (payload as { type: string }).type, from: 'provider' }),
  map: stripeLead,
}

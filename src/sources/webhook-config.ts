/**
 * Webhook settings: the vars `TYPEFORM` and `STRIPE` (a table in wrangler.toml,
 * or JSON), validated with zod the first time they are read. Every key has a
 * default, so with only the signing secret set both webhooks work. A bad
 * value throws ConfigError naming the key, like FORMS does.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { defaultCountry, formConfigSchema, varLoader, writeOptions } from '../config'
import { LEAD_FIELDS, METADATA_FORMATS } from '../lead/draft'

const nonBlank = z.string().trim().min(1)

/** The same per-field write rules a form has (README "Merge policy"). */
const merge = formConfigSchema.shape.merge

/**
 * What one Typeform answer (by its field's `ref`) or hidden field (by name) becomes:
 * a lead field, a custom field with its own slug/format, or nothing (`false`).
 */
const typeformTarget = z.union([
  z.enum(LEAD_FIELDS),
  z.literal(false),
  z.strictObject({ slug: nonBlank.optional(), format: z.enum(METADATA_FORMATS).optional() }),
])
export type TypeformTarget = z.output<typeof typeformTarget>

const typeformForm = z.strictObject({
  source: nonBlank.optional(),
  status: nonBlank.optional(),
  default_country: defaultCountry.optional(),
  fields: z.record(nonBlank, typeformTarget).default({}),
})

const formId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a Typeform form id is 1-64 letters, digits, "-" or "_"')

export const typeformSchema = z.strictObject({
  source: nonBlank.default('Typeform'),
  status: nonBlank.default('New'),
  /** The country of phone numbers answered without a country code. */
  default_country: defaultCountry,
  ...writeOptions,
  /** By `ref` (never by title: titles change, refs do not), for every form. */
  fields: z.record(nonBlank, typeformTarget).default({}),
  /**
   * The allow-list: absent = every form counts. A list of form ids, or a table
   * of form id → { source?, status?, fields? } that also refines each form.
   */
  forms: z
    .preprocess((v) => (Array.isArray(v) ? Object.fromEntries(v.map((id) => [id, {}])) : v), z.record(formId, typeformForm))
    .optional(),
  merge,
})
export type TypeformConfig = z.output<typeof typeformSchema>

/** Events that carry a person, and the only ones `STRIPE.events` may name. */
export const STRIPE_EVENTS = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'customer.created',
  'customer.updated',
] as const

export const stripeSchema = z.strictObject({
  source: nonBlank.default('Stripe'),
  status: nonBlank.default('Customer'),
  events: z.array(z.enum(STRIPE_EVENTS)).min(1).default(['checkout.session.completed', 'customer.created', 'customer.updated']),
  /** Oldest signature timestamp accepted, in seconds (Stripe's libraries default to 300). */
  tolerance_seconds: z.number().int().positive().max(86_400).default(300),
  /** The country of phone numbers given without a country code. */
  default_country: defaultCountry,
  ...writeOptions,
  merge,
})
export type StripeConfig = z.output<typeof stripeSchema>

/** The vars as the Worker sees them; not in wrangler.toml by default, hence not in the generated Env. */
export interface WebhookEnv {
  TYPEFORM?: unknown
  STRIPE?: unknown
  TYPEFORM_WEBHOOK_SECRET?: string
  STRIPE_WEBHOOK_SECRET?: string
}

export const loadTypeform = varLoader('TYPEFORM', typeformSchema)
export const loadStripe = varLoader('STRIPE', stripeSchema)

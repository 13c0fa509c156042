/**
 * Per-form configuration: declared once in wrangler.toml (`[vars.FORMS.<id>]`),
 * validated with zod the first time the Worker sees it. A bad config fails
 * loudly with the exact key path, never silently drops a field.
 */
// zod's v3 API: the Unified SDK bundles it anyway, so our schemas add no second zod to the Worker.
import { z } from 'zod/v3'
import { countryCode } from './lead/country'
import { DEFAULT_FIELDS, type DefaultField, LEAD_FIELDS, MERGE_RULES, METADATA_FORMATS, WRITE_MODES, type WritePlan } from './lead/draft'
import { isCountry } from './lead/identity'
import { DEFAULT_TOUCH_SLUGS, TOUCH_FIELDS, type TouchSlugs } from './lead/attribution'

const nonBlank = z.string().trim().min(1)

const mergeRule = z.enum(MERGE_RULES)

/**
 * ISO 3166 alpha-2, for phone numbers written without a country code ("020 7946 0001" with GB).
 * Unset: the submission's address's country, else US (lead/identity.ts DEFAULT_COUNTRY).
 */
export const defaultCountry = z
  .string()
  .transform((c) => c.toUpperCase())
  .refine(isCountry, 'must be an ISO 3166 alpha-2 country code, e.g. "US", "GB", "DE"')
  .optional()

const httpUrl = z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')

const metadataField = z.strictObject({
  /** The form field whose value is kept. */
  field: nonBlank,
  /** The custom field's slug in the CRM; defaults to the form field's name. */
  slug: nonBlank.optional(),
  format: z.enum(METADATA_FORMATS).default('TEXT'),
})

const userId = nonBlank.max(255)
const roundRobin = z.array(userId).min(1).max(100)

/** One of user_id or round_robin, where `required` (a rule; a plan without rules); never both. */
const onePick = (p: { user_id?: string; round_robin?: string[] }, ctx: z.RefinementCtx, required: boolean) => {
  if (p.user_id !== undefined && p.round_robin !== undefined) ctx.addIssue({ code: 'custom', message: 'give user_id or round_robin, not both' })
  else if (required && p.user_id === undefined && p.round_robin === undefined) ctx.addIssue({ code: 'custom', message: 'give user_id or round_robin' })
}

/** `{ field = "country", equals = "DE", user_id = "u4" }`: a country is compared as its ISO code, so it must be one a person could write. */
const ownerRule = z
  .strictObject({ field: nonBlank, equals: nonBlank.optional(), in: z.array(nonBlank).min(1).max(100).optional(), user_id: userId.optional(), round_robin: roundRobin.optional() })
  .superRefine((r, ctx) => {
    if ((r.equals === undefined) === (r.in === undefined)) ctx.addIssue({ code: 'custom', message: 'give equals or in (one of them)' })
    onePick(r, ctx, true)
    if (r.field !== 'country') return
    for (const [value, path] of [...(r.equals !== undefined ? [[r.equals, ['equals']] as const] : []), ...(r.in ?? []).map((v, i) => [v, ['in', i]] as const)]) {
      if (!countryCode(value)) ctx.addIssue({ code: 'custom', path: [...path], message: `"${value}" is not a country (an ISO 3166 code such as "DE", or its English name)` })
    }
  })

/** Who a created record belongs to (README "Owner"): `user_id`, `round_robin`, or `rules` (with either as their fallback). */
export const ownerSchema = z
  .strictObject({ user_id: userId.optional(), round_robin: roundRobin.optional(), rules: z.array(ownerRule).min(1).max(50).optional() })
  .superRefine((o, ctx) => onePick(o, ctx, o.rules === undefined))

/** What every source may say about what it writes (README "What gets written"); the same keys on forms and webhooks. */
export const writeOptions = {
  /** "auto" (default: a lead where the CRM has leads, else a contact), "lead", "contact", or "contact+lead". */
  write: z.enum(WRITE_MODES).default('auto'),
  /** Find or create the person's company by their email's domain (never a free-mail one) or the company name, and link them. */
  company: z.boolean().default(false),
  /** Record each submission as an event on the record. */
  timeline: z.boolean().default(true),
  /** The Unified connection this source writes to (default UNIFIED_CONNECTION_ID). */
  connection: nonBlank.optional(),
  /** Values a new record gets where the submission has none (`last_name = "Unknown"` for a CRM that requires one). */
  defaults: z.strictObject(Object.fromEntries(DEFAULT_FIELDS.map((f) => [f, nonBlank.max(255).optional()])) as Record<DefaultField, z.ZodOptional<typeof nonBlank>>).default({}),
  /** Who a created record belongs to; absent: the CRM's own default. */
  owner: ownerSchema.optional(),
  /** `[vars.CHANNELS.<name>]` told of each written submission (README "Notifications"); not part of the write plan. Checked against CHANNELS at start-up. */
  notify: z.array(nonBlank).default([]),
  /** `contact+lead` on a CRM that holds no lead without a contact: a contact just made gets its lead without a lead search (one call less). */
  leads_need_contacts: z.boolean().default(false),
}

/** A source's write options as the draft carries them. */
export const planOf = (c: {
  write: WritePlan['write']
  company: boolean
  timeline: boolean
  connection?: string
  defaults?: WritePlan['defaults']
  owner?: WritePlan['owner']
  leads_need_contacts?: boolean
}): WritePlan => ({
  write: c.write,
  company: c.company,
  timeline: c.timeline,
  ...(c.connection ? { connection: c.connection } : {}),
  ...(c.defaults && Object.keys(c.defaults).length ? { defaults: c.defaults } : {}),
  ...(c.owner ? { owner: c.owner } : {}),
  ...(c.leads_need_contacts ? { leadsNeedContacts: true as const } : {}),
})

/**
 * What a person agrees to: the checkbox (`field`: a form field, a Typeform ref, a
 * preset's answer), the wording shown beside it and its version. An accepted
 * submission records the consent as custom fields (slugs configurable) and in the
 * submission log; `required` refuses a form post without it (422 naming the
 * field) and acknowledges a webhook delivery without it as ignored (`no-consent`).
 */
export const consentSchema = z.strictObject({
  field: nonBlank,
  text: nonBlank,
  version: nonBlank,
  required: z.boolean().default(false),
  /** The answers that give consent, when your checkbox's `value` or option's wording is one no one could read as yes (sources/consent.ts). */
  values: z.array(nonBlank).min(1).optional(),
  slugs: z
    .strictObject({ given_at: nonBlank.default('consent_given_at'), version: nonBlank.default('consent_version'), text_sha256: nonBlank.default('consent_text_sha256') })
    .default({}),
})
export type ConsentConfig = z.output<typeof consentSchema>

/** A file is read whole into the Worker's memory (128 MB) before it is checked and stored: this keeps room for the rest. */
export const MAX_FILE_BYTES = 25_000_000

/** Types a form can never take, whatever it lists: served from the Worker's origin they could run there (files/check.ts). */
const UNSAFE_TYPES = /^(\*\/\*|text\/\*|text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/(x-)?javascript)$/

/**
 * A form's file upload (README "Files"): one file under `field`, of at most `max_bytes`, of one of `types`
 * (`image/*` for any image), kept in R2 and linked on the person's timeline note for `link_days`.
 */
export const filesSchema = z.strictObject({
  field: nonBlank,
  max_bytes: z.number().int().positive().max(MAX_FILE_BYTES, `must be at most ${MAX_FILE_BYTES} (a file is read whole into the Worker's memory)`).default(10_000_000),
  types: z
    .array(
      z
        .string()
        .transform((t) => t.trim().toLowerCase())
        .refine((t) => /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/.test(t), 'must be a media type such as "application/pdf" or "image/*"')
        .refine((t) => !UNSAFE_TYPES.test(t), 'is never accepted: HTML, SVG, XML and scripts could run when served back'),
    )
    .min(1),
  /** Days the signed link on the note works (the file itself goes with the submission's retention or erasure). */
  link_days: z.number().int().min(1).max(365).default(30),
})
export type FilesConfig = z.output<typeof filesSchema>

export const formConfigSchema = z.strictObject({
  /** The form's name on the record's timeline (default: its id). */
  name: nonBlank.optional(),
  /** The lead's `source` in the CRM. */
  source: nonBlank.default('Website'),
  /** The lead's `status` when it is created. */
  status: nonBlank.default('New'),
  /** Form field name → lead field. Unlisted fields that share a lead field's name map to it. */
  fields: z.record(nonBlank, z.enum(LEAD_FIELDS)).default({}),
  /** Extra form fields kept as CRM custom fields (`metadata[]`). */
  metadata: z.array(metadataField).default([]),
  /** Where a browser goes after a successful post; a built-in page when absent. */
  thank_you_url: httpUrl.optional(),
  /** Capture utm_*, referrer and landing page into metadata. */
  capture_attribution: z.boolean().default(true),
  /**
   * Which custom field each first/last-touch field of the /a.js snippet becomes
   * (`first_utm_source = "original_source"`), or false to drop it; unlisted ones keep their name.
   */
  attribution: z
    .record(z.enum(TOUCH_FIELDS), z.union([nonBlank.max(100), z.literal(false)]))
    .default({})
    .transform((slugs): TouchSlugs => ({ ...DEFAULT_TOUCH_SLUGS, ...slugs })),
  /** A hidden field that people leave empty and bots fill; `false` turns it off. */
  honeypot: z.union([nonBlank, z.literal(false)]).default('_gotcha'),
  /** Require a Cloudflare Turnstile token (`cf-turnstile-response`), checked with TURNSTILE_SECRET_KEY. */
  turnstile: z.boolean().default(false),
  /** Limit posts per client IP and form with the FORM_RATE_LIMIT binding. */
  rate_limit: z.boolean().default(true),
  /** Origins allowed to post with fetch (CORS); empty allows any. */
  allowed_origins: z.array(httpUrl.transform((u) => new URL(u).origin)).default([]),
  /** Also refuse plain browser form posts from other origins. */
  reject_other_origins: z.boolean().default(false),
  /** The country of phone numbers written without a country code. */
  default_country: defaultCountry,
  /** Consent capture (README "Privacy"); absent: nothing about consent is recorded. */
  consent: consentSchema.optional(),
  /** A file upload (README "Files"); absent: files posted to the form are ignored. */
  files: filesSchema.optional(),
  ...writeOptions,
  /** Per-field write rules for an existing lead; see README "Merge policy". */
  merge: z.record(z.enum(['first_name', 'last_name', 'name', 'company_name', 'title', 'department', 'emails', 'telephones', 'link_urls', 'metadata', 'source', 'status', 'address']), mergeRule).default({}),
})

export type FormConfig = z.output<typeof formConfigSchema>

const formId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a form id is 1-64 letters, digits, "-" or "_"')

export const formsSchema = z.record(formId, formConfigSchema)

/** The README section that lists each var's keys, for the fix a ConfigError names. */
const EXPLAINED_IN: Record<string, string> = {
  FORMS: 'Configure a form',
  TYPEFORM: 'Connect Typeform',
  STRIPE: 'Connect Stripe',
  WEBHOOKS: 'Connect any webhook source',
  CHANNELS: 'Notifications',
  ALERTS: 'Notifications',
  vars: 'Connection settings',
}

/** The wrangler.toml table a key is fixed in: `[vars.FORMS.contact]` for `FORMS.contact.fields.email`, `[vars]` for a plain var. */
const tableOf = (root: string, path: readonly (string | number)[]): string =>
  `${root === 'vars' || root === 'ALERTS' ? '[vars]' : (root === 'FORMS' || root === 'WEBHOOKS' || root === 'CHANNELS') && path.length ? `[vars.${root}.${String(path[0])}]` : `[vars.${root}]`} in wrangler.toml`

/**
 * A configuration mistake: each problem names its exact key (`FORMS.contact.fields.email: …`),
 * and the message ends with the fix: the wrangler.toml table to edit and the README section that
 * lists its keys. It is thrown when the Worker starts (index.ts), so `wrangler dev` and a deploy
 * print it, and by `npm run check-config` (scripts/), which wrangler runs before every build.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(problems: string, root: string, where: string[]) {
    const docs = EXPLAINED_IN[root] ? ` (README "${EXPLAINED_IN[root]}" lists its keys)` : ''
    super(`Invalid lead-intake configuration: ${problems}. To fix it, edit ${[...new Set(where)].join(' and ')}${docs}`)
  }
}

/** Formats zod issues as `FORMS.contact.fields.email: message` lines. */
const describe = (root: string, error: z.ZodError): string =>
  error.issues
    .map((i) => `${[root, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ')

/** A failed parse of `root` as a ConfigError; `json`: the var was a JSON string, so no wrangler.toml table holds it. */
const configError = (root: string, error: z.ZodError, json = false) =>
  new ConfigError(describe(root, error), root, json ? [jsonOf(root)] : error.issues.map((i) => tableOf(root, i.path)))
const jsonOf = (key: string) => `the JSON of ${key} (a var or secret)`

const UNSET = {}

/**
 * A loader for the var `key`: a wrangler.toml table or a JSON string (e.g. set
 * with `wrangler secret`), validated once per value; a mistake throws
 * ConfigError naming the exact key.
 */
export function varLoader<T>(key: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>) {
  const cache = new WeakMap<object, T>()
  return (env: object): T => {
    const raw = (env as Record<string, unknown>)[key] ?? UNSET
    const hit = typeof raw === 'object' && raw !== null ? cache.get(raw) : undefined
    if (hit) return hit
    let value = raw
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw)
      } catch {
        throw new ConfigError(`${key}: not valid JSON`, key, [jsonOf(key)])
      }
    }
    const parsed = schema.safeParse(value)
    if (!parsed.success) throw configError(key, parsed.error, typeof raw === 'string')
    if (typeof raw === 'object' && raw !== null) cache.set(raw, parsed.data)
    return parsed.data
  }
}

/** Validated forms for this env; throws ConfigError naming the bad key. */
export const loadForms = varLoader('FORMS', formsSchema)

/** The form `id` names, if configured: own keys only, so `/forms/constructor` is just an unknown form. */
export const formById = (env: object, id: string): FormConfig | undefined => {
  const forms = loadForms(env)
  return Object.hasOwn(forms, id) ? forms[id] : undefined
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)

/**
 * The queue's own `max_retries` (wrangler.toml). The consumer must give up
 * first, so that it is the consumer that marks a lead failed, with the reason.
 */
export const QUEUE_MAX_RETRIES = 30

const deliverySchema = z.object({
  /** Attempts before a retryable failure is marked failed; below the queue's max_retries. */
  DELIVERY_MAX_ATTEMPTS: positiveInt(20).refine((n) => n < QUEUE_MAX_RETRIES, {
    message: `must be below the queue's max_retries (${QUEUE_MAX_RETRIES} in wrangler.toml), or the queue dead-letters leads before lead-intake can say why`,
  }),
  /** First retry delay; doubles per attempt up to 15 minutes. */
  DELIVERY_BASE_DELAY_SECONDS: positiveInt(10),
  /** Days the submission log (and the personal data in it) is kept. */
  SUBMISSION_RETENTION_DAYS: positiveInt(30),
  /** How long one Unified call may take; a queue consumer has 15 minutes for a whole batch. */
  UNIFIED_TIMEOUT_MS: positiveInt(10_000).refine((n) => n >= 100 && n <= 60_000, { message: 'must be between 100 and 60000 (milliseconds)' }),
})

export type DeliverySettings = z.output<typeof deliverySchema>

/** Delivery settings from vars; empty strings mean "default". */
export function deliverySettings(env: object): DeliverySettings {
  const raw = Object.fromEntries(
    Object.keys(deliverySchema.shape).map((k) => [k, (env as Record<string, unknown>)[k] || undefined]),
  )
  const parsed = deliverySchema.safeParse(raw)
  if (!parsed.success) throw configError('vars', parsed.error)
  return parsed.data
}

/** What to change when the CRM lacks an object a source writes: named wherever that shows, so the fix is one edit (and a replay). */
export const UNSUPPORTED_FIX: Record<'lead' | 'contact' | 'company' | 'event', (where: string) => string> = {
  lead: (where) => `this CRM has no leads: set write = "contact" on ${where}`,
  contact: (where) => `this CRM has no contacts: set write = "lead" on ${where}`,
  event: (where) => `this CRM has no timeline events: set timeline = false on ${where}`,
  company: (where) => `this CRM has no companies: set company = false on ${where}`,
}

/** Webhook sources with an id, a var and a secret of their own; every other webhook endpoint is a `[vars.WEBHOOKS.<id>]` table. */
export const BUILT_IN_WEBHOOKS = ['typeform', 'stripe'] as const

/** Where a source's settings live, for messages that tell an operator what to change. */
export function whereConfigured(origin: { source: string; form: string }): string {
  if (origin.source === 'form') return `form "${origin.form}" ([vars.FORMS.${origin.form}])`
  if ((BUILT_IN_WEBHOOKS as readonly string[]).includes(origin.source)) return `[vars.${origin.source.toUpperCase()}]`
  return `[vars.WEBHOOKS.${origin.source}]`
}

/**
 * UNIFIED_MAX_CALLS_PER_SECOND: pins the pace of every connection ("10"), or
 * of some ("conn_a=10,conn_b=5"; others adapt by themselves). Undefined: adapt.
 */
export function maxCallsPerSecond(env: { UNIFIED_MAX_CALLS_PER_SECOND?: string }, connection: string): number | undefined {
  const raw = (env.UNIFIED_MAX_CALLS_PER_SECOND ?? '').trim()
  if (!raw) return undefined
  const rate = (text: string) => {
    const n = Number(text)
    if (!Number.isFinite(n) || n <= 0 || n > 1000) {
      throw new ConfigError(`vars.UNIFIED_MAX_CALLS_PER_SECOND: "${text}" is not a number of calls a second between 0 and 1000`, 'vars', ['[vars] in wrangler.toml'])
    }
    return n
  }
  if (!raw.includes('=')) return rate(raw)
  for (const pair of raw.split(',')) {
    const [name = '', value = ''] = pair.split('=').map((p) => p.trim())
    if (!name) throw new ConfigError('vars.UNIFIED_MAX_CALLS_PER_SECOND: give "<connection>=<calls a second>" pairs, comma-separated', 'vars', ['[vars] in wrangler.toml'])
    const n = rate(value)
    if (name === connection) return n
  }
  return undefined
}

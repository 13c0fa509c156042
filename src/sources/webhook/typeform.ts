/**
 * Typeform: `POST /webhooks/typeform`, configured by `[vars.TYPEFORM]`, signed with
 * TYPEFORM_WEBHOOK_SECRET. Verifies `Typeform-Signature`, reads a `form_response` and maps
 * its answers to a LeadDraft: by answer type when nothing is configured, by the field's
 * stable `ref` when it is.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { consentSchema, defaultCountry, formConfigSchema, planOf, writeOptions } from '../../config'
import { LEAD_FIELDS, METADATA_FORMATS, type LeadDraft, type LeadField, type LeadMetadata, type MetadataFormat, type MetadataValue, type TimelineEntry } from '../../lead/draft'
import { DEFAULT_COUNTRY, parseEmail, parsePhone } from '../../lead/identity'
import { cleanMultiline, cleanText, personFields } from '../../lead/normalize'
import { problem } from '../../http/problem'
import { givesConsent } from '../consent'
import { LIMITS } from '../form'
import { anyMatch, fromBase64 } from '../signature'
import type { WebhookLead, WebhookSource } from '../types'

const nonBlank = z.string().trim().min(1)

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

/** `[vars.TYPEFORM]`: every key has a default, so with only the secret set the webhook works. */
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
  /** The same per-field write rules a form has (README "Merge policy"). */
  merge: formConfigSchema.shape.merge,
  /** Consent capture (README "Privacy"), `field` being the question's ref (or a hidden field's name). */
  consent: consentSchema.optional(),
})
export type TypeformConfig = z.output<typeof typeformSchema>

/** `sha256=` + base64(HMAC-SHA256(secret, raw body)). */
export async function verifyTypeform(secrets: string[], body: ArrayBuffer, header: string | undefined): Promise<boolean> {
  const signature = header?.startsWith('sha256=') ? fromBase64(header.slice(7)) : undefined
  return signature !== undefined && anyMatch(secrets, body, [signature])
}

const text = z.string().nullish()

const answerSchema = z.object({
  type: z.string(),
  field: z.object({ id: z.string(), type: text, ref: text }),
  text,
  email: text,
  phone_number: text,
  number: z.number().nullish(),
  boolean: z.boolean().nullish(),
  date: text,
  url: text,
  file_url: text,
  choice: z.object({ label: text, other: text }).nullish(),
  choices: z.object({ labels: z.array(z.string()).nullish(), other: text }).nullish(),
  payment: z.object({ amount: text, success: z.boolean().nullish() }).nullish(),
})
type Answer = z.output<typeof answerSchema>

const envelopeSchema = z.object({
  event_id: z.string().min(1).max(200),
  event_type: z.string(),
  form_response: z
    .object({
      form_id: z.string().min(1).max(200),
      submitted_at: z.string().max(64).nullish(),
      answers: z.array(z.unknown()).nullish(),
      hidden: z.record(z.string(), z.unknown()).nullish(),
      definition: z.object({ title: z.string().nullish(), fields: z.unknown() }).nullish(),
    })
    .optional(),
})

interface FieldDef {
  title?: string
  ref?: string
  type?: string
  subfield_key?: string
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** A key of a plain object, never one it inherits (a ref or form id named `constructor` is just a name). */
const own = <T>(record: Record<string, T> | undefined, key: string): T | undefined =>
  record && Object.hasOwn(record, key) ? record[key] : undefined

/** Field id → its definition, including the sub-fields of a contact-info block or a group (`properties.fields`). */
function indexFields(fields: unknown, into = new Map<string, FieldDef>(), depth = 0): Map<string, FieldDef> {
  if (!Array.isArray(fields) || depth > 3) return into // Typeform nests one level (groups, contact info); odd input stops here
  for (const f of fields as Record<string, unknown>[]) {
    if (typeof f !== 'object' || f === null) continue
    if (typeof f.id === 'string') into.set(f.id, { title: str(f.title), ref: str(f.ref), type: str(f.type), subfield_key: str(f.subfield_key) })
    indexFields((f.properties as { fields?: unknown } | undefined)?.fields, into, depth + 1)
  }
  return into
}

/** The contact-info and address blocks' sub-fields, by `subfield_key` (an address's under the names Typeform has used for them). */
const CONTACT_INFO: Record<string, LeadField> = {
  first_name: 'first_name',
  last_name: 'last_name',
  company: 'company_name',
  email: 'email',
  phone_number: 'phone',
  address_line1: 'street',
  address_line_1: 'street',
  address_line2: 'street',
  address_line_2: 'street',
  city: 'city',
  city_town: 'city',
  state: 'region',
  state_province_region: 'region',
  state_region_province: 'region',
  zip: 'postal_code',
  zip_code: 'postal_code',
  zip_postal: 'postal_code',
  zip_postal_code: 'postal_code',
  postal_code: 'postal_code',
  country: 'country',
}

const clip = (s: string) => s.slice(0, LIMITS.valueLength)

/** An answer's value and the custom-field format that fits it; undefined for an empty or unknown answer. */
function valueOf(a: Answer, fieldType: string | undefined): { value: MetadataValue; format: MetadataFormat } | undefined {
  const one = (v: string | null | undefined, format: MetadataFormat) => {
    const clean = clip(format === 'TEXTAREA' ? cleanMultiline(v ?? '') : cleanText(v ?? ''))
    return clean ? { value: clean, format } : undefined
  }
  switch (a.type) {
    case 'text':
      return one(a.text, fieldType === 'long_text' ? 'TEXTAREA' : 'TEXT')
    case 'email':
    case 'phone_number':
      return one(a[a.type], 'TEXT')
    case 'date':
      return one(a.date, 'DATE')
    case 'url':
    case 'file_url':
      return one(a[a.type], 'URL')
    case 'choice':
      return one(a.choice?.label ?? a.choice?.other, 'SINGLE_SELECT')
    case 'choices': {
      const labels = [...(a.choices?.labels ?? []), a.choices?.other ?? ''].map((l) => clip(cleanText(l))).filter(Boolean)
      return labels.length ? { value: labels, format: 'MULTIPLE_SELECT' } : undefined
    }
    case 'number':
      return typeof a.number === 'number' ? { value: a.number, format: 'NUMBER' } : undefined
    case 'boolean':
      return typeof a.boolean === 'boolean' ? { value: a.boolean, format: 'BOOLEAN' } : undefined
    case 'payment': {
      const amount = Number(a.payment?.amount)
      return a.payment?.amount && Number.isFinite(amount) ? { value: amount, format: 'CURRENCY' } : one(a.payment?.amount, 'TEXT')
    }
    default:
      return undefined // a type Typeform may add later: kept out rather than guessed
  }
}

/** Zero-config: the email and phone answers, the contact-info block's sub-fields; the rest is metadata. */
const defaultTarget = (a: Answer, def: FieldDef | undefined): TypeformTarget =>
  own(CONTACT_INFO, def?.subfield_key ?? '') ?? (a.type === 'email' ? 'email' : a.type === 'phone_number' ? 'phone' : {})


/**
 * Reads a verified delivery. A body that is no Typeform event is a 400; one that is not
 * a lead (another event type, a form outside the allow-list, no email or
 * phone) comes back `ignored`, to be acknowledged without a write.
 */
export function typeformLead(config: TypeformConfig, body: unknown): WebhookLead {
  const parsed = envelopeSchema.safeParse(body)
  if (!parsed.success || (parsed.data.event_type === 'form_response' && !parsed.data.form_response)) {
    throw problem(400, 'malformed-body', 'Not a Typeform webhook', { detail: 'Expected a JSON object with event_id, event_type and form_response.' })
  }
  const { event_type, form_response: response } = parsed.data
  const formId = response?.form_id ?? 'unknown'
  if (event_type !== 'form_response' || !response) return { form: formId, ignored: 'event-type' }
  const form = own(config.forms, formId)
  if (config.forms && !form) return { form: formId, ignored: 'form-not-allowed' }
  const targets = { ...config.fields, ...form?.fields }
  const byId = indexFields(response.definition?.fields)

  const values = new Map<LeadField, string[]>()
  const metadata: LeadMetadata[] = []
  const apply = (target: TypeformTarget, slug: string, v: { value: MetadataValue; format: MetadataFormat }) => {
    if (target === false) return
    // A Typeform form is as public as a website form (anyone types anything): one email and one phone
    // identify the person; a second email or phone question is kept as a custom field, never as an identity.
    if ((target === 'email' || target === 'phone') && values.has(target)) target = {}
    if (typeof target === 'string') {
      const value = Array.isArray(v.value) ? v.value.join(', ') : cleanText(String(v.value))
      values.set(target, [...(values.get(target) ?? []), value])
    } else if (metadata.length < LIMITS.fields) {
      metadata.push({ slug: target.slug ?? slug, value: v.value, format: target.format ?? v.format })
    }
  }

  // Every answer as the person saw the question, for the record's timeline.
  const asked: TimelineEntry['fields'] = []
  let consented = false
  for (const raw of response.answers ?? []) {
    const answer = answerSchema.safeParse(raw)
    if (!answer.success) continue
    const a = answer.data
    const def = byId.get(a.field.id)
    // The docs' own example has no `ref` on most answers: the definition has it.
    const ref = a.field.ref ?? def?.ref ?? a.field.id
    const v = valueOf(a, a.field.type ?? def?.type)
    if (!v) continue
    if (ref === config.consent?.field) consented ||= givesConsent(v.value, config.consent.values)
    apply(own(targets, ref) ?? defaultTarget(a, def), ref, v)
    if (asked.length < LIMITS.fields) asked.push({ name: clip(cleanText(def?.title ?? '')) || ref, value: Array.isArray(v.value) ? v.value.join(', ') : String(v.value) })
  }
  // Hidden fields (utm_*, ids passed in the form's URL): metadata unless configured.
  for (const [name, raw] of Object.entries(response.hidden ?? {})) {
    const clean = typeof raw === 'string' ? clip(cleanText(raw)) : ''
    if (!clean) continue
    if (name === config.consent?.field) consented ||= givesConsent(clean, config.consent.values)
    apply(own(targets, name) ?? {}, name, { value: clean, format: 'TEXT' })
    if (asked.length < LIMITS.fields) asked.push({ name, value: clean })
  }

  const person = personFields(values)
  const country = form?.default_country ?? config.default_country ?? person.address?.countryCode ?? DEFAULT_COUNTRY
  const email = parseEmail(values.get('email')?.[0] ?? '')
  const phone = parsePhone(values.get('phone')?.[0] ?? '', country)
  if (!email && !phone?.key) return { form: formId, ignored: 'no-contact' }
  const emails = email ? [email.value] : []
  const phones = phone ? [phone.value] : []
  const draft: LeadDraft = {
    ...person,
    emails,
    phones,
    metadata,
    source: form?.source ?? config.source,
    status: form?.status ?? config.status,
    merge: config.merge,
    country,
    verified: false,
    ...(response.submitted_at && !Number.isNaN(Date.parse(response.submitted_at)) ? { submittedAt: new Date(response.submitted_at).toISOString() } : {}),
    plan: planOf(config),
    ...(config.timeline ? { timeline: { type: 'FORM', title: clip(cleanText(response.definition?.title ?? '')) || formId, fields: asked } } : {}),
  }
  return { form: formId, draft, ...(config.consent ? { consented } : {}) }
}

/** The Typeform source: `event_id` is Typeform's id of the delivery's event (kept across its retries). */
export const typeform: WebhookSource<TypeformConfig> = {
  name: 'Typeform',
  schema: typeformSchema,
  auth: { kind: 'signature', header: 'Typeform-Signature' },
  // Any failure is a 401, a header without `sha256=` too: as this route always answered.
  async verify(secrets, { body, headers }) {
    const header = headers.get('typeform-signature')
    if (!header) return 'missing'
    return (await verifyTypeform(secrets, body, header)) ? 'ok' : 'mismatch'
  },
  eventOf: async (_received, payload) => ({ id: (payload as { event_id: string }).event_id, type: (payload as { event_type: string }).event_type, from: 'provider' }),
  map: typeformLead,
}

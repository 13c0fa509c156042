/**
 * What the presets share: one configuration shape (`[vars.WEBHOOKS.<id>]`), one way from a
 * payload's answers to a LeadDraft, and the wiring of a signed preset to its verifier
 * (verify/). A preset module only says which answers its sender's payload holds.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { consentSchema, defaultCountry, formConfigSchema, planOf, writeOptions } from '../../config'
import { problem } from '../../http/problem'
import { type LeadDraft, type LeadField, LEAD_FIELDS, type LeadMetadata, type MetadataFormat, METADATA_FORMATS, type MetadataValue, type TimelineEntry } from '../../lead/draft'
import { countryCode } from '../../lead/country'
import { DEFAULT_COUNTRY, parseEmail, type ParsedPhone, parsePhone } from '../../lead/identity'
import { cleanMultiline, cleanText, personFields } from '../../lead/normalize'
import { givesConsent } from '../consent'
import { LIMITS } from '../form'
import { isPointer, resolvePointer } from '../json-pointer'
import type { WebhookLead, WebhookSource } from '../types'
import { SIGNED_PRESETS, type SignedPresetName } from '../verify'

const nonBlank = z.string().trim().min(1)
const pointer = z.string().refine(isPointer, 'must be a JSON Pointer (RFC 6901) into the payload, e.g. "/data/email"')

/** `fields`: lead field or custom field slug = a JSON Pointer, or `{ pointer, format }` to set a custom field's format. */
const fieldsSchema = z.record(nonBlank, z.union([pointer, z.strictObject({ pointer, format: z.enum(METADATA_FORMATS).optional() })]))

/** Event types that carry a lead (others: 200, ignored). Absent: the preset's own. */
export const eventTypes = { event_types: z.array(nonBlank).min(1).optional() }
/** Seconds a signed timestamp may be off, either way (absent: the preset's default). */
export const tolerance = { tolerance_seconds: z.number().int().positive().max(86_400).optional() }
/** For a sender whose payload has no shape lead-intake knows: `fields` must find an email or a phone. */
export const contactFields = {
  fields: fieldsSchema.refine((f) => Object.hasOwn(f, 'email') || Object.hasOwn(f, 'phone'), 'must map "email" or "phone" (or both) to a JSON Pointer into the payload'),
}

/**
 * Consent capture (README "Privacy"). `field` is a JSON Pointer into the payload, as `fields`
 * takes, or, not starting with "/", an answer's label as the preset reads it (Tally's question,
 * Webflow's field name, Jotform's field name, a `fields` key), matched by its slug.
 */
const presetConsent = consentSchema.refine((c) => !c.field.startsWith('/') || isPointer(c.field), {
  message: 'must be a JSON Pointer (RFC 6901) into the payload, or an answer\'s label',
  path: ['field'],
})

const common = {
  /** The lead's `source` (default: the sender's name). */
  source: nonBlank.optional(),
  status: nonBlank.default('New'),
  fields: fieldsSchema.default({}),
  default_country: defaultCountry,
  ...writeOptions,
  merge: formConfigSchema.shape.merge,
  consent: presetConsent.optional(),
}

/** One preset's `[vars.WEBHOOKS.<id>]` table: `preset = "<name>"`, the common keys, and `extra`. */
export const presetSchema = <N extends string, X extends z.ZodRawShape>(preset: N, extra: X) =>
  z.strictObject({ preset: z.literal(preset), ...common, ...extra })

/** What every preset's map can rely on. */
export type PresetConfig = z.output<ReturnType<typeof presetSchema<string, typeof eventTypes & typeof tolerance>>>

/** True when `type` is one of the endpoint's lead events. */
export const wanted = (config: PresetConfig, type: string | undefined, defaults: string[]): boolean =>
  type !== undefined && (config.event_types ?? defaults).includes(type)

// --- reading payloads ---

export type Json = Record<string, unknown>
export const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined)
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** A 400: the body verified, but it is not the payload this sender posts for a lead. */
export const malformed = (what: string) => problem(400, 'malformed-body', `Not a ${what}`, { detail: `The body verified, but it is not a ${what}.` })

/** "Phone Number (mobile)" → "phone_number_mobile", "Téléphone" → "telephone": a custom field slug from a label (other scripts' letters are kept). */
export const slugOf = (label: string): string =>
  label
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off Latin letters; other scripts' marks are kept, and recomposed
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64)

/** Label slugs that name a lead field; emails and phones are found more loosely (and checked as such). */
const BY_LABEL: [RegExp, LeadField][] = [
  [/e_?mail/, 'email'],
  [/phone|mobile/, 'phone'],
  [/^(first|given)(_?name)?$/, 'first_name'],
  [/^(last|family)(_?name)?$|^surname$/, 'last_name'],
  [/^(full_?|your_)?name$/, 'name'],
  [/^(company|organi[sz]ation)(_name)?$/, 'company_name'],
  [/^(job_)?title$/, 'title'],
  [/^department$/, 'department'],
  [/^(company_)?website$/, 'website'],
]

/** The lead field a form field feeds by its label ("Work email", "Phone Number", "First name", "Company"…). */
export const fieldOfLabel = (label: string): LeadField | undefined => BY_LABEL.find(([re]) => re.test(slugOf(label)))?.[1]

// --- answers → draft ---

/** One answer of a submission, as the preset found it. */
export interface Answer {
  /** As the person saw it: the question, the field's label. */
  label: string
  value: unknown
  /** The lead field it fills. An email or phone beyond the first valid one becomes a custom field. */
  field?: LeadField
  /** Its custom field's slug (default: the label's slug); null: on the timeline only. */
  slug?: string | null
  format?: MetadataFormat
}

export interface Submission {
  /** What it came from (a form id, an event type): Origin.form. */
  form: string
  /** The timeline entry's title: the form's or event's name, or (NOTE) the event type. */
  title: string
  answers: Answer[]
  /** The lead's `source` unless configured. */
  source: string
  /**
   * True when the sender vouches for the person (an app's own user): the draft may add
   * identifiers to a person it matches. Public forms and bookings are typed by anyone: false.
   */
  verified?: boolean
  /** A NOTE on the timeline (an app's event), not a FORM (a form or booking someone filled in). */
  note?: boolean
}

const clip = (s: string) => s.slice(0, LIMITS.valueLength)

/** An answer's value as a custom field would hold it, and as text; undefined when empty or not a value (an object). */
function valueOf(value: unknown, format: MetadataFormat | undefined): { value: MetadataValue; format: MetadataFormat; text: string } | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return { value, format: format ?? 'NUMBER', text: String(value) }
  if (typeof value === 'boolean') return { value, format: format ?? 'BOOLEAN', text: String(value) }
  if (typeof value === 'string') {
    const text = clip(format === 'TEXTAREA' ? cleanMultiline(value) : cleanText(value))
    return text ? { value: text, format: format ?? 'TEXT', text } : undefined
  }
  if (Array.isArray(value)) {
    const list = value.filter((v) => typeof v === 'string' || typeof v === 'number').map((v) => clip(cleanText(String(v)))).filter(Boolean)
    return list.length ? { value: list, format: format ?? 'MULTIPLE_SELECT', text: list.join(', ') } : undefined
  }
  return undefined
}

/**
 * The draft of a submission: the endpoint's configured `fields` (JSON Pointers into the
 * payload) first, then the preset's answers. The first valid email and the first phone
 * identify the person; other emails and phones, and every answer that fills no lead field,
 * become custom fields (first slug wins); every answer goes on the timeline. Neither an
 * email nor a readable phone: `ignored`, as for Typeform.
 */
export function toLead(config: PresetConfig, payload: unknown, s: Submission): WebhookLead {
  const configured: Answer[] = Object.entries(config.fields).map(([key, target]) => {
    const { pointer, format } = typeof target === 'string' ? { pointer: target, format: undefined } : target
    return { label: key, value: resolvePointer(payload, pointer), field: (LEAD_FIELDS as readonly string[]).includes(key) ? (key as LeadField) : undefined, slug: key, format }
  })
  const values = new Map<LeadField, string[]>()
  const metadata: LeadMetadata[] = []
  const asked: TimelineEntry['fields'] = []
  let email: string | undefined
  let phone: ParsedPhone | undefined
  const consent = config.consent
  const byPointer = consent?.field.startsWith('/') ? consent.field : undefined
  const consentLabel = consent && !byPointer ? slugOf(consent.field) : undefined
  let consented = byPointer !== undefined && givesConsent(resolvePointer(payload, byPointer), consent?.values)
  const all = [...configured, ...s.answers]
  // A phone without a country code is read in the configured country, else in the answered address's.
  const answeredCountry = all.filter((a) => a.field === 'country').map((a) => countryCode(valueOf(a.value, a.format)?.text)).find(Boolean)
  const country = config.default_country ?? answeredCountry ?? DEFAULT_COUNTRY
  for (const a of all) {
    const v = valueOf(a.value, a.format)
    if (!v) continue
    if (consentLabel && slugOf(a.label) === consentLabel) consented ||= givesConsent(v.value, consent?.values)
    if (asked.length < LIMITS.fields) asked.push({ name: clip(cleanText(a.label)), value: v.text })
    if (a.field === 'email') {
      const parsed = parseEmail(v.text)?.value
      if (parsed && (!email || email === parsed)) {
        email = parsed
        continue
      }
    } else if (a.field === 'phone') {
      const parsed = parsePhone(v.text, country)
      if (parsed && (!phone || phone.value === parsed.value)) {
        phone = parsed
        continue
      }
    } else if (a.field) {
      values.set(a.field, [...(values.get(a.field) ?? []), v.text])
      continue
    }
    const slug = a.slug === undefined ? slugOf(a.label) : a.slug
    if (slug && metadata.length < LIMITS.fields && !metadata.some((m) => m.slug === slug)) metadata.push({ slug, value: v.value, format: v.format })
  }
  if (!email && !phone?.key) return { form: s.form, ignored: 'no-contact' }
  const draft: LeadDraft = {
    ...personFields(values),
    emails: email ? [email] : [],
    phones: phone ? [phone.value] : [],
    metadata,
    source: config.source ?? s.source,
    status: config.status,
    merge: config.merge,
    country,
    verified: s.verified ?? false,
    plan: planOf(config),
    ...(config.timeline ? { timeline: { type: s.note ? 'NOTE' : 'FORM', title: clip(cleanText(s.title)) || s.form, fields: asked } } : {}),
  }
  return { form: s.form, draft, ...(consent ? { consented } : {}) }
}

// --- a signed preset ---

/**
 * A preset whose sender signs its deliveries: the verifier and event-id reader of verify/,
 * the header a rejection names, and the preset's own reading of a JSON object payload.
 */
export function signedPreset<C extends PresetConfig>(
  preset: SignedPresetName,
  name: string,
  header: string,
  schema: z.ZodType<C, z.ZodTypeDef, unknown>,
  map: (config: C, payload: Json, endpoint: string) => WebhookLead,
): WebhookSource<C> {
  const { verify, eventOf } = SIGNED_PRESETS[preset]
  return {
    name,
    schema,
    auth: { kind: 'signature', header },
    verify: (secrets, { body, headers }, config) => verify(secrets, body, headers, Date.now(), config.tolerance_seconds),
    eventOf: ({ body, headers }) => eventOf(body, headers),
    map: (config, payload, endpoint) => {
      const event = obj(payload)
      if (!event) throw malformed(`${name} webhook`)
      return map(config, event, endpoint)
    },
  }
}

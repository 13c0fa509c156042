/**
 * Website forms: `POST /forms/:formId` from a plain `<form>` (urlencoded or
 * multipart) or from `fetch` (JSON). Reads the fields, maps them to a
 * LeadDraft by the form's configuration, validates, and nothing else.
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { type FormConfig, planOf } from '../config'
import { type LeadDraft, type LeadField, LEAD_FIELDS, type LeadMetadata, type TimelineEntry } from '../lead/draft'
import { DEFAULT_COUNTRY, parseEmail, parsePhone } from '../lead/identity'
import type { SourceInput } from '../lead/message'
import { touchMetadata } from '../lead/attribution'
import { cleanMultiline, cleanText, personFields } from '../lead/normalize'
import { TOKEN_FIELD } from '../guards/turnstile'
import { type InvalidParam, problem } from '../http/problem'
import { log } from '../log'
import { givenConsent, givesConsent } from './consent'

/** Field name → every value sent under it, as text. */
export type FormFields = Map<string, string[]>
/** Field name → every file sent under it (multipart only). */
export type FormFiles = Map<string, File[]>

const add = (fields: FormFields, name: string, value: unknown) => {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    fields.set(name, [...(fields.get(name) ?? []), String(value)])
  }
  // Files and nested objects carry no lead data: skipped.
}

/** What one form post may hold; beyond these the post is refused with 400 (see README "Hostile input"). */
export const LIMITS = { fields: 100, nameLength: 100, valueLength: 10_000 } as const

const malformed = (title: string, detail: string) => problem(400, 'malformed-body', title, { detail })

const utf8 = (bytes: ArrayBuffer): string => {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw problem(400, 'invalid-encoding', 'Invalid UTF-8', { detail: 'The request body is not valid UTF-8.' })
  }
}

/** Strict urlencoded parsing: a bad percent-escape or invalid UTF-8 is an error, not a silent U+FFFD. */
function parseUrlencoded(text: string, fields: FormFields) {
  for (const pair of text.split('&')) {
    if (!pair) continue
    const at = pair.indexOf('=')
    const [name, value] = at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)]
    try {
      add(fields, decodeURIComponent(name.replace(/\+/g, ' ')), decodeURIComponent(value.replace(/\+/g, ' ')))
    } catch {
      throw problem(400, 'invalid-encoding', 'Malformed form encoding', { detail: 'A field is not valid percent-encoded UTF-8.' })
    }
  }
}

function checkLimits(fields: FormFields) {
  let count = 0
  for (const [name, values] of fields) {
    count += values.length
    if (name.length > LIMITS.nameLength) {
      throw problem(400, 'field-name-too-long', 'Field name too long', { detail: `Field names are at most ${LIMITS.nameLength} characters.` })
    }
    if (values.some((v) => v.length > LIMITS.valueLength)) {
      throw problem(400, 'field-too-long', 'Field too long', {
        detail: `${name} is longer than ${LIMITS.valueLength} characters.`,
        'invalid-params': [{ name, reason: `is longer than ${LIMITS.valueLength} characters` }],
      })
    }
  }
  if (count > LIMITS.fields) {
    throw problem(400, 'too-many-fields', 'Too many fields', { detail: `A post may have at most ${LIMITS.fields} fields.` })
  }
}

/** The post's fields; its files (multipart) go to `files` when given, else are skipped. */
export async function readFields(c: Context, files?: FormFiles): Promise<FormFields> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  const fields: FormFields = new Map()
  if (type === 'application/json') {
    let body: unknown
    try {
      body = JSON.parse(utf8(await c.req.arrayBuffer()))
    } catch (error) {
      if (error instanceof HTTPException) throw error
      throw malformed('Malformed JSON', 'The request body is not valid JSON.')
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw malformed('Malformed JSON', 'The JSON body must be an object of field names to values.')
    }
    for (const [name, value] of Object.entries(body)) {
      for (const v of Array.isArray(value) ? value : [value]) add(fields, name, v)
    }
  } else if (type === 'application/x-www-form-urlencoded') {
    parseUrlencoded(utf8(await c.req.arrayBuffer()), fields)
  } else if (type === 'multipart/form-data') {
    let body: Record<string, unknown>
    try {
      body = await c.req.parseBody({ all: true })
    } catch (error) {
      if (error instanceof HTTPException) throw error
      throw malformed('Malformed form body', 'The body is not valid multipart/form-data.')
    }
    for (const [name, value] of Object.entries(body)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        if (files && v instanceof File) files.set(name, [...(files.get(name) ?? []), v])
        else add(fields, name, v)
      }
    }
  } else {
    throw problem(415, 'unsupported-media-type', 'Unsupported content type', {
      detail: 'Send application/x-www-form-urlencoded, multipart/form-data or application/json.',
    })
  }
  checkLimits(fields)
  return fields
}

/** Captured into metadata by default (capture_attribution). */
export const ATTRIBUTION_PARAMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'gclid', 'fbclid'] as const

export interface RequestContext {
  url: string
  referer?: string
}

const urlParams = (text: string | undefined): URLSearchParams => {
  try {
    return text ? new URL(text).searchParams : new URLSearchParams()
  } catch {
    return new URLSearchParams()
  }
}

/** utm_* etc. from the body, then the post's own URL, then the page it came from; plus referrer and landing page. */
function attribution(fields: FormFields, request: RequestContext): LeadMetadata[] {
  const first = (name: string) => cleanText(fields.get(name)?.[0] ?? '')
  const fromUrl = urlParams(request.url)
  const fromPage = urlParams(request.referer)
  const out: LeadMetadata[] = []
  for (const name of ATTRIBUTION_PARAMS) {
    const value = first(name) || fromUrl.get(name) || fromPage.get(name)
    if (value) out.push({ slug: name, value: cleanText(value), format: 'TEXT' })
  }
  const referrer = first('referrer')
  if (referrer) out.push({ slug: 'referrer', value: referrer, format: 'URL' })
  let landing = first('landing_page')
  if (!landing && request.referer) {
    try {
      const page = new URL(request.referer)
      landing = page.origin + page.pathname
    } catch {
      // an unparseable Referer is no landing page
    }
  }
  if (landing) out.push({ slug: 'landing_page', value: landing, format: 'URL' })
  return out
}

/** Which lead field a form field feeds: the config's mapping, else a field named like a lead field. */
const leadFieldOf = (config: FormConfig, name: string): LeadField | undefined =>
  config.fields[name] ?? ((LEAD_FIELDS as readonly string[]).includes(name) ? (name as LeadField) : undefined)

/** What a replay needs to map the post again: the fields as received and where they were posted. */
export const formInput = (fields: FormFields, request: RequestContext): SourceInput => ({
  kind: 'form',
  fields: [...fields],
  url: request.url,
  ...(request.referer ? { referer: request.referer } : {}),
})

/**
 * Maps and validates; throws a 422 naming every bad field. A form is public:
 * anyone may type anything into it, so it gives one email and one phone at
 * most, and its draft is not `verified` (see LeadDraft.verified). `consentSha256` is
 * the SHA-256 of the form's consent wording (computed by the caller: Web
 * Crypto is asynchronous), when the form asks for consent.
 */
export function toDraft(
  config: FormConfig,
  fields: FormFields,
  request: RequestContext,
  formId: string,
  consentSha256?: string,
  /** When the person submitted (a replay maps again what was sent then). */
  at: Date = new Date(),
): LeadDraft {
  const values = new Map<LeadField, string[]>()
  const sourceName = new Map<LeadField, string>()
  for (const [name, raw] of fields) {
    const target = leadFieldOf(config, name)
    if (!target) continue
    const cleaned = raw.map(cleanText).filter(Boolean)
    values.set(target, [...(values.get(target) ?? []), ...cleaned])
    if (!sourceName.has(target)) sourceName.set(target, name)
  }
  const problems: InvalidParam[] = []
  const fieldName = (f: LeadField) => sourceName.get(f) ?? f
  const person = personFields(values)
  // A phone without a country code is read in the form's country, else in the address's.
  const country = config.default_country ?? person.address?.countryCode ?? DEFAULT_COUNTRY

  const emails: string[] = []
  const phones: string[] = []
  const rawEmails = values.get('email') ?? []
  const rawPhones = values.get('phone') ?? []
  if (rawEmails.length > 1) problems.push({ name: fieldName('email'), reason: 'takes one email address, not several' })
  if (rawPhones.length > 1) problems.push({ name: fieldName('phone'), reason: 'takes one phone number, not several' })
  for (const raw of rawEmails.slice(0, 1)) {
    const email = parseEmail(raw)
    if (email) emails.push(email.value)
    else problems.push({ name: fieldName('email'), reason: 'is not a valid email address' })
  }
  for (const raw of rawPhones.slice(0, 1)) {
    const phone = parsePhone(raw, country)
    if (!phone) problems.push({ name: fieldName('phone'), reason: 'is not a valid phone number' })
    else if (!phone.key && rawEmails.length === 0) {
      // Kept as a value beside an email, but alone it could not find the person again.
      problems.push({ name: fieldName('phone'), reason: `could not be read as a phone number; include the country code (e.g. +44) if it is not in ${country}` })
    } else phones.push(phone.value)
  }
  const consent = config.consent
  const consented = !!consent && (fields.get(consent.field) ?? []).some((v) => givesConsent(v, consent.values))
  if (consent?.required && !consented) problems.push({ name: consent.field, reason: 'must be checked to send this form' })
  if (rawEmails.length === 0 && rawPhones.length === 0) {
    problems.push(
      { name: fieldName('email'), reason: 'is required when no phone is given' },
      { name: fieldName('phone'), reason: 'is required when no email is given' },
    )
  }
  if (problems.length) {
    throw problem(422, 'invalid-fields', 'Some fields need fixing', {
      detail: problems.map((p) => `${p.name} ${p.reason}`).join('; ') + '.',
      'invalid-params': problems,
    })
  }

  const metadata: LeadMetadata[] = []
  for (const item of config.metadata) {
    const clean = item.format === 'TEXTAREA' ? cleanMultiline : cleanText
    const value = (fields.get(item.field) ?? []).map(clean).filter(Boolean)
    if (value.length === 0) continue
    metadata.push({
      slug: item.slug ?? item.field,
      value: item.format === 'MULTIPLE_SELECT' ? value : value.join(', '),
      format: item.format,
    })
  }
  if (config.capture_attribution) {
    metadata.push(...attribution(fields, request))
    const touches = touchMetadata((name) => fields.get(name)?.[0], config.attribution, at)
    metadata.push(...touches.metadata)
    // How many, never which: the values are the visitor's.
    if (touches.dropped) log('info', 'attribution values dropped', { form: formId, dropped: touches.dropped })
  }
  const given = consent && consented && consentSha256 ? givenConsent(consent, consentSha256, at) : undefined
  if (given) metadata.push(...given.metadata)

  return {
    ...person,
    emails,
    phones,
    metadata,
    source: config.source,
    status: config.status,
    merge: config.merge,
    country,
    verified: false,
    ...(given ? { consent: given.consent } : {}),
    plan: planOf(config),
    ...(config.timeline ? { timeline: timelineOf(config, fields, formId) } : {}),
  }
}

/** Every field as posted, for the record's timeline: the message and whatever the form has beyond the lead's fields. */
function timelineOf(config: FormConfig, fields: FormFields, formId: string): TimelineEntry {
  const hidden = new Set([TOKEN_FIELD, ...(config.honeypot ? [config.honeypot] : [])])
  const entries: TimelineEntry['fields'] = []
  for (const [name, values] of fields) {
    if (hidden.has(name)) continue
    const value = values.map(cleanMultiline).filter(Boolean).join(', ')
    if (value) entries.push({ name, value })
  }
  return { type: 'FORM', title: config.name ?? formId, fields: entries }
}

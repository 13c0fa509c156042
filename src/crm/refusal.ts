/**
 * A CRM's refusal, in its own words, made fit to keep. Unified passes the
 * integration's message through (`{statusCode, error, message}`): "Required
 * fields are missing: [LastName, Company]" is the fix an operator needs, and
 * "create lead: Unified answered 400" is not. But a CRM's message may quote
 * the record it refused (or another person's), so what is kept has every value
 * of the submission, and anything shaped like an email address or a phone
 * number, masked out of it, and is cut short. The unmasked words never leave
 * the writer.
 */
import type { LeadDraft } from '../lead/draft'

/** Longest refusal kept, after masking: enough for a field list, too short for a record. */
export const MAX_REASON = 300

const MASK = '…'

/** The message of an error body Unified answered with (its own, or the integration's passed through); undefined when there is none. */
export function reasonOf(body: string | undefined): string | undefined {
  if (!body) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return undefined // not Unified's JSON: an HTML error page or a proxy's text says nothing worth keeping
  }
  const b = parsed as { message?: unknown; error?: unknown }
  const text = [b.message, typeof b.error === 'string' && b.error !== b.message ? b.error : undefined].find((v) => typeof v === 'string' && v.trim())
  return typeof text === 'string' ? text : undefined
}

/** Every text value of a submission, as it may be quoted back: names, emails, phones, websites, custom fields, the timeline's answers. */
export function valuesOf(draft: LeadDraft): string[] {
  const values = [
    draft.firstName,
    draft.lastName,
    draft.name,
    draft.companyName,
    draft.title,
    draft.department,
    draft.source,
    draft.status,
    ...draft.emails,
    ...draft.phones,
    ...draft.websites,
    ...draft.metadata.flatMap((m) => (Array.isArray(m.value) ? m.value : [String(m.value)])),
    ...(draft.timeline?.fields.map((f) => f.value) ?? []),
    ...(draft.sourceIds?.map((s) => s.value) ?? []),
  ]
  // Short values ("1", "yes") would mask the CRM's own words; a value of three characters or more is masked.
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.trim().length >= 3).map((v) => v.trim()))].sort((a, b) => b.length - a.length)
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const EMAIL = /[^\s"'<>()[\]{},;:]+@[^\s"'<>()[\]{},;:]+/g
/** Seven digits or more, with the separators phone numbers are written with. */
const PHONE = /\+?\d[\d\s().-]{5,}\d/g

/** `reason` with every one of `values` and anything shaped like an email or phone masked, one line, at most MAX_REASON characters. */
export function maskReason(reason: string, values: string[]): string {
  let text = reason.replace(/\s+/g, ' ').trim()
  for (const v of values) text = text.replace(new RegExp(escape(v), 'gi'), MASK)
  text = text.replace(EMAIL, MASK).replace(PHONE, MASK)
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}${MASK}` : text
}

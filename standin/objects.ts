/**
 * The four CRM objects as Unified's wire format has them (field names from the
 * SDK's CrmLead/CrmContact/CrmCompany/CrmEvent schemas): which fields must be
 * lists, what a CRM's search looks at, and which list filters apply.
 */
import type { Json, Kind } from './state.ts'

export interface ObjectSpec {
  /** Fields (dotted paths into nested objects) that must be arrays when present. */
  lists: string[]
  /** Text a CRM's search would look in, lowercased. */
  searchable(record: Json): string
  /** List query parameters (besides query/limit/offset) and whether a record passes one. */
  filters: Record<string, (record: Json, value: string) => boolean>
}

const strings = (parts: unknown[]) => parts.filter((p) => typeof p === 'string').join(' ').toLowerCase()
const list = (value: unknown): Json[] => (Array.isArray(value) ? value : [])

/** Names, emails and telephones; phone search matches digits whatever the formatting, as CRMs' phone indexes do. */
const personText = (record: Json, companyField: string): string => {
  const parts: unknown[] = [record.name, record.first_name, record.last_name, record[companyField]]
  for (const e of list(record.emails)) parts.push(e.email)
  for (const t of list(record.telephones)) parts.push(t.telephone, String(t.telephone).replace(/\D/g, ''))
  return strings(parts)
}

/** The event's type-specific part (note, form, …) holds its text. */
const EVENT_TEXT: Record<string, string[]> = {
  note: ['title', 'description'],
  form: ['name'],
  email: ['subject', 'body'],
  marketing_email: ['name', 'subject', 'body'],
  meeting: ['title', 'description'],
  call: ['description'],
  task: ['name', 'description'],
  page_view: ['url'],
}

/** `field` equals the value. */
const equals = (field: string) => (record: Json, value: string) => record[field] === value
/** The id list `field` holds the value. */
const holds = (field: string) => (record: Json, value: string) => list(record[field]).includes(value as never)
/** Filters every list takes. */
const common = {
  user_id: equals('user_id'),
  updated_gte: (record: Json, value: string) => Date.parse(String(record.updated_at)) >= Date.parse(value),
}

const PERSON_LISTS = ['emails', 'telephones', 'link_urls', 'metadata']

export const OBJECTS: Record<Kind, ObjectSpec> = {
  lead: {
    lists: PERSON_LISTS,
    searchable: (r) => personText(r, 'company_name'),
    filters: { ...common, company_id: equals('company_id'), contact_id: equals('contact_id') },
  },
  contact: {
    lists: [...PERSON_LISTS, 'company_ids', 'deal_ids'],
    searchable: (r) => personText(r, 'company'),
    filters: { ...common, company_id: holds('company_ids'), deal_id: holds('deal_ids') },
  },
  company: {
    lists: [...PERSON_LISTS, 'contact_ids', 'deal_ids', 'domains', 'websites', 'tags'],
    searchable: (r) => strings([r.name, ...list(r.domains), ...list(r.websites)]),
    filters: { ...common, contact_id: holds('contact_ids'), deal_id: holds('deal_ids') },
  },
  event: {
    lists: ['company_ids', 'contact_ids', 'deal_ids', 'lead_ids', 'form.fields', 'email.to', 'email.cc', 'marketing_email.to', 'marketing_email.cc'],
    searchable: (r) =>
      strings(Object.entries(EVENT_TEXT).flatMap(([part, fields]) => fields.map((f) => (r[part] as Json | undefined)?.[f]))),
    filters: {
      ...common,
      company_id: holds('company_ids'),
      contact_id: holds('contact_ids'),
      lead_id: holds('lead_ids'),
      deal_id: holds('deal_ids'),
      type: equals('type'),
    },
  },
}

/** Fuzzy like real CRMs: every word of the query is a substring somewhere (so "alex@example.com" finds "alex@example.com.au"). */
export const fuzzyMatch = (kind: Kind, record: Json, query: string): boolean => {
  const haystack = OBJECTS[kind].searchable(record)
  return query.toLowerCase().split(/\s+/).filter(Boolean).every((word) => haystack.includes(word))
}

const at = (body: Json, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Json)[key] : undefined), body)

/** Rejects what Unified's API would: not an object, or lists that are not lists. */
export function invalid(kind: Kind, body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object'
  for (const field of OBJECTS[kind].lists) {
    const value = at(body as Json, field)
    if (value !== undefined && !Array.isArray(value)) return `${field} must be an array`
  }
  // The SDK's CrmTelephone requires `telephone`.
  const telephones = ((body as Json).telephones as Json[] | undefined) ?? []
  if (telephones.some((t) => typeof t?.telephone !== 'string')) return 'telephones[].telephone is required'
  return undefined
}

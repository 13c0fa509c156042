/**
 * The four CRM objects as Unified's wire format has them (field names from the
 * SDK's CrmLead/CrmContact/CrmCompany/CrmEvent schemas): which fields a client
 * can write, which must be lists, what a search can look at, and which list
 * filters apply. What one integration does with them is its profile's business
 * (integrations/).
 */
import type { Json, Kind } from './state.ts'

/**
 * What a `query` can look at. Unified announces email, name and domain
 * (`search_*` in an integration's support); phone, company and text are
 * things a CRM may do without saying.
 */
export const SEARCH_PARTS = ['email', 'name', 'domain', 'phone', 'company', 'text'] as const
export type SearchPart = (typeof SEARCH_PARTS)[number]

export interface ObjectSpec {
  /** Every field a client can write (the SDK's model less id and timestamps). */
  fields: string[]
  /** Fields (dotted paths into nested objects) that must be arrays when present. */
  lists: string[]
  /** Per search part, the values of a record it looks at. */
  search: Partial<Record<SearchPart, (record: Json) => unknown[]>>
  /** List query parameters (besides query/limit/offset) and whether a record passes one. */
  filters: Record<string, (record: Json, value: string) => boolean>
}

const list = (value: unknown): Json[] => (Array.isArray(value) ? value : [])

const names = (r: Json) => [r.name, r.first_name, r.last_name]
const emails = (r: Json) => list(r.emails).map((e) => e.email)
/** Phone search matches digits whatever the formatting, as CRMs' phone indexes do. */
const phones = (r: Json) => list(r.telephones).flatMap((t) => [t.telephone, String(t.telephone).replace(/\D/g, '')])

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
    fields: ['address', 'company_id', 'company_name', 'contact_id', 'creator_user_id', 'emails', 'first_name', 'is_active', 'last_name', 'link_urls', 'metadata', 'name', 'raw', 'source', 'status', 'telephones', 'user_id'],
    lists: PERSON_LISTS,
    search: { name: names, email: emails, phone: phones, company: (r) => [r.company_name] },
    filters: { ...common, company_id: equals('company_id'), contact_id: equals('contact_id') },
  },
  contact: {
    fields: ['address', 'company', 'company_ids', 'deal_ids', 'department', 'emails', 'first_name', 'image_url', 'last_name', 'link_urls', 'metadata', 'name', 'raw', 'telephones', 'title', 'user_id'],
    lists: [...PERSON_LISTS, 'company_ids', 'deal_ids'],
    search: { name: names, email: emails, phone: phones, company: (r) => [r.company] },
    filters: { ...common, company_id: holds('company_ids'), deal_id: holds('deal_ids') },
  },
  company: {
    fields: ['address', 'contact_ids', 'deal_ids', 'description', 'domains', 'emails', 'employees', 'industry', 'is_active', 'link_urls', 'metadata', 'name', 'raw', 'tags', 'telephones', 'timezone', 'user_id', 'websites'],
    lists: [...PERSON_LISTS, 'contact_ids', 'deal_ids', 'domains', 'websites', 'tags'],
    search: { name: (r) => [r.name], email: emails, phone: phones, domain: (r) => [...list(r.domains), ...list(r.websites)] },
    filters: { ...common, contact_id: holds('contact_ids'), deal_id: holds('deal_ids') },
  },
  event: {
    fields: ['call', 'company_ids', 'contact_ids', 'deal_ids', 'email', 'form', 'lead_ids', 'marketing_email', 'meeting', 'note', 'page_view', 'raw', 'task', 'type', 'user_id'],
    lists: ['company_ids', 'contact_ids', 'deal_ids', 'lead_ids', 'form.fields', 'email.to', 'email.cc', 'marketing_email.to', 'marketing_email.cc'],
    search: { text: (r) => Object.entries(EVENT_TEXT).flatMap(([part, fields]) => fields.map((f) => (r[part] as Json | undefined)?.[f])) },
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

/**
 * Fuzzy like real CRMs: every word of the query is a substring of what the
 * given parts look at (so "alex@example.com" finds "alex@example.com.au").
 */
export const fuzzyMatch = (kind: Kind, record: Json, query: string, parts: readonly SearchPart[]): boolean => {
  const search = OBJECTS[kind].search
  const haystack = parts
    .flatMap((p) => search[p]?.(record) ?? [])
    .filter((v) => typeof v === 'string')
    .join(' ')
    .toLowerCase()
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

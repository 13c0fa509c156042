/**
 * What an integration's profile does to a call, read from its table
 * (integrations/): which fields a write keeps, which it refuses and with what
 * words, what a list looks at and how many records a page holds, and which
 * fields a read shows. The same code for every CRM; only the tables differ.
 */
import type { ObjectProfile } from './integrations/index.ts'
import { OBJECTS, fuzzyMatch } from './objects.ts'
import type { ConnectionSettings, Json, Kind } from './state.ts'

export interface Refusal {
  status: number
  message: string
}

/** Event types Unified lets a client write (docs.unified.to/crm/event/model); FORM and the rest are read-only. */
const UNIFIED_WRITABLE_EVENTS = ['NOTE', 'EMAIL', 'TASK', 'MEETING', 'CALL']
/** The part of an event that holds each type's details. */
const EVENT_PART: Record<string, string> = {
  NOTE: 'note',
  EMAIL: 'email',
  TASK: 'task',
  MEETING: 'meeting',
  CALL: 'call',
  FORM: 'form',
  MARKETING_EMAIL: 'marketing_email',
  PAGE_VIEW: 'page_view',
}

const fill = (message: string, values: Record<string, string>) => message.replace(/\{(\w+)\}/g, (all, key: string) => values[key] ?? all)
const isEmpty = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && !v.trim()) || (Array.isArray(v) && v.length === 0)

/**
 * A create (`existing` undefined) or an update, as the integration takes it:
 * the fields it writes, or its refusal. Checked in the order a CRM would
 * meet them: the event type, required fields, picklists, custom properties,
 * links; then what it keeps of lists.
 */
export function planWrite(kind: Kind, rules: ObjectProfile, body: Json, existing: Json | undefined, settings: ConnectionSettings): { fields: Json } | { refusal: Refusal } {
  const refuse = (status: number, message: string) => ({ refusal: { status, message } })
  if (kind === 'event' && body.type !== undefined && body.type !== null) {
    const part = EVENT_PART[String(body.type)]
    if (!part || !rules.outbound.includes(part)) {
      // A type Unified writes but this CRM doesn't is "not implemented"; one Unified never writes is a bad request.
      return UNIFIED_WRITABLE_EVENTS.includes(String(body.type)) ? refuse(501, 'Not implemented') : refuse(400, 'Unsupported event type')
    }
  }
  const fields: Json = Object.fromEntries(Object.entries(body).filter(([f]) => rules.outbound.includes(f)))

  if (rules.required) {
    // A create must bring them; an update may leave them out but not empty them.
    const missing = Object.entries(rules.required.fields).filter(([f]) => (existing ? f in fields && isEmpty(fields[f]) : isEmpty(fields[f])))
    if (missing.length) return refuse(400, fill(rules.required.message, { fields: missing.map(([, name]) => name).join(', ') }))
  }
  for (const [field, picklist] of Object.entries(rules.picklists ?? {})) {
    const values = settings.picklists[field] ?? picklist.values
    if (field in fields) {
      if (!values.includes(fields[field] as string)) return refuse(400, fill(picklist.message, { value: String(fields[field]) }))
    } else if (!existing && picklist.default) {
      fields[field] = settings.picklists[field] ? values[0] : picklist.default
    }
  }
  if (rules.known_properties && Array.isArray(fields.metadata)) {
    const { message, entry } = rules.known_properties
    const unknown = (fields.metadata as Json[]).map((m) => String(m?.slug ?? m?.id ?? '')).filter((slug) => !settings.properties.includes(slug))
    if (unknown.length) {
      return refuse(400, entry ? fill(message, { entries: unknown.map((slug) => fill(entry, { slug })).join(',') }) : fill(message, { slug: unknown[0]! }))
    }
  }
  if (rules.link && (!existing || rules.link.any_of.some((f) => f in fields))) {
    const merged = { ...existing, ...fields }
    if (rules.link.any_of.every((f) => isEmpty(merged[f]))) return refuse(400, rules.link.message)
  }
  for (const [field, n] of Object.entries(rules.keep ?? {})) {
    if (Array.isArray(fields[field])) fields[field] = (fields[field] as unknown[]).slice(0, n)
  }
  return { fields }
}

/** A record as the integration reads it back: only its inbound fields. */
export function readable(rules: ObjectProfile, record: Json): Json {
  const inbound = inboundFields(rules)
  return inbound === 'all' ? record : Object.fromEntries(Object.entries(record).filter(([f]) => inbound.includes(f)))
}

export const inboundFields = (rules: ObjectProfile): string[] | 'all' => rules.inbound ?? ['id', 'created_at', 'updated_at', ...rules.outbound]

/** Unified's limit on a page, where an integration takes `limit`. */
const MAX_PAGE = 100

/**
 * One page of a list, as the integration answers it: list parameters it
 * doesn't take are ignored (a missing `limit` means the CRM's own page size),
 * and `query` matches only what its search looks at.
 */
export function listPage(kind: Kind, rules: ObjectProfile, params: (name: string) => string | undefined, records: Json[], settings: ConnectionSettings): Json[] {
  const takes = (option: string) => (rules.list.options as string[]).includes(option)
  const query = takes('query') ? (params('query') ?? '').trim() : ''
  const limit = takes('limit')
    ? Math.min(Number(params('limit') ?? MAX_PAGE) || MAX_PAGE, MAX_PAGE)
    : (settings.page_size ?? rules.list.page_size ?? MAX_PAGE)
  const offset = takes('offset') ? Number(params('offset') ?? 0) || 0 : 0
  const filters = Object.entries(OBJECTS[kind].filters).flatMap(([param, test]) => {
    const value = params(param)
    return value === undefined || !takes(param) ? [] : [(r: Json) => test(r, value)]
  })
  const all = records.filter((r) => (!query || fuzzyMatch(kind, r, query, rules.search)) && filters.every((f) => f(r)))
  return all.slice(offset, offset + limit).map((r) => readable(rules, r))
}

/**
 * What a CRM keeps of a write. Unified says which fields an integration
 * writes (`outbound_fields`): a field outside them is not sent, and the
 * submission says so. Some CRMs drop a value without a word (a second email,
 * a third phone): the record a create or update answers with is the CRM's own
 * copy, so it is compared with what was sent (no extra call), and what was not
 * kept is remembered, so that a repeat does not send it again (an identical
 * repeat never updates). What is remembered are descriptors, never values:
 * `title`, `emails:<key>`, `telephones:<key>`, `metadata:<slug>`.
 */
import { emailKey, phoneKey } from '../lead/identity'
import { keeps, shows } from './support'
import type { Capabilities } from './support'
import type { ObjectName } from './objects/name'

type Rec = Record<string, unknown>

/** A field's wire name (Unified's JSON): `companyName` → `company_name`. */
export const wire = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** Fields that carry links lead-intake made, not the person's words: never reported as not kept. */
const LINKS = new Set(['companyId', 'contactId', 'companyIds', 'contactIds', 'leadIds'])

const itemKey = (field: string, item: unknown, country?: string): string => {
  if (field === 'emails') return emailKey((item as { email?: string }).email)
  if (field === 'telephones') return phoneKey((item as { telephone?: string }).telephone, country) || String((item as { telephone?: string }).telephone ?? '')
  if (field === 'metadata') return String((item as { slug?: string }).slug ?? '')
  return typeof item === 'string' ? item : JSON.stringify(item)
}

/** The same entry: a custom field by its slug and value, an email or phone by its key. */
const sameItem = (field: string, a: unknown, b: unknown, country?: string): boolean =>
  itemKey(field, a, country) === itemKey(field, b, country) &&
  (field !== 'metadata' || JSON.stringify((a as { value?: unknown }).value) === JSON.stringify((b as { value?: unknown }).value))

const descriptor = (field: string, key?: string) => (key === undefined ? wire(field) : `${wire(field)}:${key}`)

/**
 * `record` as this CRM takes it: without the fields the integration does not write, and without
 * what it dropped before (`dropped`). A list left as `current` has it (nothing to add) is left out.
 * Returns the fields left out for not being written, by wire name.
 */
export function trim<R extends object>(
  object: ObjectName,
  record: R,
  caps: Capabilities | undefined,
  dropped: ReadonlySet<string>,
  current?: Rec,
  country?: string,
): { record: Partial<R>; notWritten: string[] } {
  const out: Rec = {}
  const notWritten: string[] = []
  for (const [field, value] of Object.entries(record)) {
    if (value === undefined) continue
    if (!keeps(caps, object, wire(field))) {
      if (!LINKS.has(field)) notWritten.push(wire(field))
      continue
    }
    if (dropped.has(descriptor(field))) continue
    if (Array.isArray(value) && (field === 'emails' || field === 'telephones' || field === 'metadata')) {
      const kept = value.filter((item) => !dropped.has(descriptor(field, itemKey(field, item, country))))
      const before = Array.isArray(current?.[field]) ? (current[field] as unknown[]) : undefined
      // Nothing left to add to what the record has: the field is not sent at all.
      if (kept.length === 0 || (before && kept.length === before.length && kept.every((k, i) => sameItem(field, k, before[i], country)))) continue
      out[field] = kept
      continue
    }
    out[field] = value
  }
  return { record: out as Partial<R>, notWritten }
}

const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0)

/** What was sent but is not in the record the CRM answered with: descriptors (see above). A field a read doesn't show can't be told. */
export function droppedBy(object: ObjectName, caps: Capabilities | undefined, sent: Rec, answered: Rec, country?: string): string[] {
  const out: string[] = []
  for (const [field, value] of Object.entries(sent)) {
    if (LINKS.has(field) || blank(value) || !shows(caps, object, wire(field))) continue
    const got = answered[field]
    if (Array.isArray(value)) {
      const have = new Set((Array.isArray(got) ? got : []).map((item) => itemKey(field, item, country)))
      for (const item of value) {
        const key = itemKey(field, item, country)
        if (key && !have.has(key)) out.push(descriptor(field, key))
      }
    } else if (blank(got)) {
      out.push(descriptor(field))
    }
  }
  return out
}

/** A descriptor as an operator reads it: `emails:<key>` is "an email", never the address itself. */
export function describeDropped(d: string): string {
  const [field, key] = [d.slice(0, d.includes(':') ? d.indexOf(':') : d.length), d.includes(':') ? d.slice(d.indexOf(':') + 1) : undefined]
  if (field === 'emails') return 'an email address'
  if (field === 'telephones') return 'a phone number'
  if (field === 'metadata') return `custom field ${key}`
  return field
}

/**
 * The merge policy: what a draft changes on a record the CRM already has.
 * Per-field rules (lead/draft.ts, MergeRule); a blank incoming value never
 * overwrites anything, and a plan with no change sends nothing. The pieces
 * here are shared by every person-like object (crm/people.ts says which
 * field of a lead or a contact each one fills).
 */
import type { CrmMetadata } from '@unified-api/typescript-sdk/sdk/models/shared/crmmetadata.js'
import { DEFAULT_MERGE_RULES, type LeadDraft, type LeadMetadata, type MergeRule, type MergeRules } from '../lead/draft'
import { emailKey, phoneKey } from '../lead/identity'

export const rulesOf = (draft: LeadDraft): MergeRules => ({ ...DEFAULT_MERGE_RULES, ...draft.merge })

export const fullName = (d: LeadDraft): string | undefined => d.name || [d.firstName, d.lastName].filter(Boolean).join(' ') || undefined

export const isBlank = (v: unknown): boolean =>
  v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0)

export const uniqueBy = <T>(items: T[], key: (t: T) => string): T[] => {
  const seen = new Set<string>()
  return items.filter((t) => {
    const k = key(t)
    if (!k || seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** Emails compare by their key form; phones by E.164 (in the draft's country), else by their digits when unreadable. */
export const byEmail = (e: { email?: string }) => emailKey(e.email) || (e.email ?? '').trim().toLowerCase()
export const byPhone = (country?: string) => (t: { telephone: string }) => phoneKey(t.telephone, country) || t.telephone.replace(/\D/g, '')

export const draftEmails = (d: LeadDraft) => uniqueBy(d.emails.map((email) => ({ email, type: 'WORK' as const })), byEmail)
export const draftPhones = (d: LeadDraft) => uniqueBy(d.phones.map((telephone) => ({ telephone, type: 'WORK' as const })), byPhone(d.country))

/** Drops blank fields, so a create sends only what the person gave. */
export const compact = <T extends object>(record: T): T => Object.fromEntries(Object.entries(record).filter(([, v]) => !isBlank(v))) as T

export function scalar(rule: MergeRule, current: string | undefined, incoming: string | undefined): string | undefined {
  if (isBlank(incoming) || rule === 'never') return undefined
  if (rule === 'always') return current === incoming ? undefined : incoming
  return isBlank(current) ? incoming : undefined // fill_if_empty; append means the same for a single value
}

export function list<T>(rule: MergeRule, current: T[] | undefined, incoming: T[], key: (t: T) => string): T[] | undefined {
  const have = current ?? []
  const fresh = uniqueBy(incoming, key)
  if (fresh.length === 0 || rule === 'never') return undefined
  if (rule === 'fill_if_empty') return have.length === 0 ? fresh : undefined
  if (rule === 'always') {
    const same = have.length === fresh.length && have.every((h, i) => key(h) === key(fresh[i]!))
    return same ? undefined : fresh
  }
  const known = new Set(have.map(key))
  const added = fresh.filter((t) => !known.has(key(t)))
  return added.length ? [...have, ...added] : undefined
}

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** The record holds the same value as the draft for the custom field `slug`. */
const sameStamped = (current: CrmMetadata[] | undefined, incoming: LeadMetadata[], slug: string): boolean => {
  const theirs = current?.find((m) => m.slug === slug)
  const ours = incoming.find((m) => m.slug === slug)
  return !!theirs && !!ours && sameValue(theirs.value, ours.value)
}

/** Upsert by slug; slugs the draft does not mention are kept as the CRM has them. */
export function metadata(rules: MergeRules, current: CrmMetadata[] | undefined, incoming: LeadMetadata[]): CrmMetadata[] | undefined {
  const merged = [...(current ?? [])]
  let changed = false
  for (const item of incoming) {
    const rule = item.slug === 'title' ? rules.title : item.slug === 'department' ? rules.department : rules.metadata
    if (isBlank(item.value) || rule === 'never') continue
    const at = merged.findIndex((m) => m.slug === item.slug)
    // The first time a value was given stays: a repeat of the same consent never moves it.
    if (item.stampOf && at !== -1 && !isBlank(merged[at]!.value) && sameStamped(current, incoming, item.stampOf)) continue
    // A first touch already on the record came before this one.
    if (item.firstWins && at !== -1 && !isBlank(merged[at]!.value)) continue
    if (at === -1) {
      merged.push({ slug: item.slug, value: item.value, format: item.format })
      changed = true
    } else if (rule === 'always' && !sameValue(merged[at]!.value, item.value)) {
      merged[at] = { ...merged[at], value: item.value }
      changed = true
    } else if (rule !== 'always' && isBlank(merged[at]!.value)) {
      merged[at] = { ...merged[at], value: item.value }
      changed = true
    }
  }
  return changed ? merged : undefined
}

/** The fields of a patch that change something, or null. */
export const changes = <T extends object>(patch: T): T | null => {
  const kept = Object.entries(patch).filter(([, v]) => v !== undefined)
  return kept.length ? (Object.fromEntries(kept) as T) : null
}

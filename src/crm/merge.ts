/**
 * The merge policy: what a draft changes on a lead the CRM already has.
 * Per-field rules (lead/draft.ts, MergeRule); a blank incoming value never
 * overwrites anything, and a plan with no change sends nothing.
 */
import type { CrmLead } from '@unified-api/typescript-sdk/sdk/models/shared/crmlead.js'
import type { CrmMetadata } from '@unified-api/typescript-sdk/sdk/models/shared/crmmetadata.js'
import {
  DEFAULT_MERGE_RULES,
  type LeadDraft,
  type LeadMetadata,
  type MergeRule,
  type MergeRules,
} from '../lead/draft'
import { emailKey, phoneKey } from '../lead/identity'

export type LeadPatch = Partial<
  Pick<
    CrmLead,
    'firstName' | 'lastName' | 'name' | 'companyName' | 'emails' | 'telephones' | 'linkUrls' | 'metadata' | 'source' | 'status'
  >
>

const rulesOf = (draft: LeadDraft): MergeRules => ({ ...DEFAULT_MERGE_RULES, ...draft.merge })

const fullName = (d: LeadDraft): string | undefined =>
  d.name || [d.firstName, d.lastName].filter(Boolean).join(' ') || undefined

/** `title` has no lead column in Unified's model: it travels as the custom field `title`. */
const metadataOf = (d: LeadDraft): LeadMetadata[] =>
  d.title ? [...d.metadata, { slug: 'title', value: d.title, format: 'TEXT' }] : d.metadata

const isBlank = (v: unknown): boolean =>
  v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0)

const uniqueBy = <T>(items: T[], key: (t: T) => string): T[] => {
  const seen = new Set<string>()
  return items.filter((t) => {
    const k = key(t)
    if (!k || seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** Emails compare by their key form; phones by E.164 (in the draft's country), else by their digits when unreadable. */
const byEmail = (e: { email?: string }) => emailKey(e.email) || (e.email ?? '').trim().toLowerCase()
const byPhone = (country?: string) => (t: { telephone: string }) => phoneKey(t.telephone, country) || t.telephone.replace(/\D/g, '')

/** The lead to create: every non-blank field, with source and status. */
export function planCreate(draft: LeadDraft): CrmLead {
  const lead: CrmLead = {
    firstName: draft.firstName,
    lastName: draft.lastName,
    name: fullName(draft),
    companyName: draft.companyName,
    emails: uniqueBy(draft.emails.map((email) => ({ email, type: 'WORK' as const })), byEmail),
    telephones: uniqueBy(draft.phones.map((telephone) => ({ telephone, type: 'WORK' as const })), byPhone(draft.country)),
    linkUrls: uniqueBy(draft.websites, (u) => u),
    metadata: metadataOf(draft).map(({ slug, value, format }) => ({ slug, value, format })),
    source: draft.source,
    status: draft.status,
  }
  return Object.fromEntries(Object.entries(lead).filter(([, v]) => !isBlank(v))) as CrmLead
}

function scalar(rule: MergeRule, current: string | undefined, incoming: string | undefined): string | undefined {
  if (isBlank(incoming) || rule === 'never') return undefined
  if (rule === 'always') return current === incoming ? undefined : incoming
  return isBlank(current) ? incoming : undefined // fill_if_empty; append means the same for a single value
}

function list<T>(rule: MergeRule, current: T[] | undefined, incoming: T[], key: (t: T) => string): T[] | undefined {
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

/** Upsert by slug; slugs the draft does not mention are kept as the CRM has them. */
function metadata(rules: MergeRules, current: CrmMetadata[] | undefined, incoming: LeadMetadata[]): CrmMetadata[] | undefined {
  const merged = [...(current ?? [])]
  let changed = false
  for (const item of incoming) {
    const rule = item.slug === 'title' ? rules.title : rules.metadata
    if (isBlank(item.value) || rule === 'never') continue
    const at = merged.findIndex((m) => m.slug === item.slug)
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

/**
 * The fields to send for an existing lead, or null when nothing changes.
 * `attach` false leaves the lead's emails and phones alone (a public form
 * matched to a record lead-intake did not make; see crm/writer.ts).
 */
export function planUpdate(existing: CrmLead, draft: LeadDraft, attach = true): LeadPatch | null {
  const rules = rulesOf(draft)
  const patch: LeadPatch = {
    firstName: scalar(rules.first_name, existing.firstName, draft.firstName),
    lastName: scalar(rules.last_name, existing.lastName, draft.lastName),
    name: scalar(rules.name, existing.name, fullName(draft)),
    companyName: scalar(rules.company_name, existing.companyName, draft.companyName),
    source: scalar(rules.source, existing.source, draft.source),
    status: scalar(rules.status, existing.status, draft.status),
    emails: attach ? list(rules.emails, existing.emails, draft.emails.map((email) => ({ email, type: 'WORK' as const })), byEmail) : undefined,
    telephones: attach
      ? list(rules.telephones, existing.telephones, draft.phones.map((telephone) => ({ telephone, type: 'WORK' as const })), byPhone(draft.country))
      : undefined,
    linkUrls: list(rules.link_urls, existing.linkUrls, draft.websites, (u) => u),
    metadata: metadata(rules, existing.metadata, metadataOf(draft)),
  }
  const changes = Object.entries(patch).filter(([, v]) => v !== undefined)
  return changes.length ? (Object.fromEntries(changes) as LeadPatch) : null
}

/**
 * Find-then-update against Unified. Knows LeadDrafts and identifiers, nothing
 * of where a lead came from.
 *
 * Finding is where duplicates are born, so it is strict: a record counts only
 * when one of its emails or phones equals one of the draft's exactly (CRM
 * search is fuzzy), and a search that could not look at every candidate is
 * never taken for "not found".
 */
import { crmCreateCrmLead } from '@unified-api/typescript-sdk/funcs/crmCreateCrmLead.js'
import { crmGetCrmLead } from '@unified-api/typescript-sdk/funcs/crmGetCrmLead.js'
import { crmListCrmLeads } from '@unified-api/typescript-sdk/funcs/crmListCrmLeads.js'
import { crmPatchCrmLead } from '@unified-api/typescript-sdk/funcs/crmPatchCrmLead.js'
import { type CrmLead, CrmLead$inboundSchema } from '@unified-api/typescript-sdk/sdk/models/shared/crmlead.js'
import type { LeadDraft } from '../lead/draft'
import { emailKey, parseEmail, parsePhone, phoneKey } from '../lead/identity'
import type { CrmTarget } from './client'
import { CrmError, classify } from './errors'
import { planCreate, planUpdate } from './merge'

/** A fuzzy search may return many near-misses: read this many per page… */
export const PAGE_SIZE = 100
/**
 * …and at most this many pages per identifier (2,000 candidates, ~20 calls).
 * Real CRMs return a handful of candidates for an address or number; a search
 * still going after 2,000 is not narrowing, and paging further would spend the
 * connection's rate limit on one lead. Past it the write fails, visibly.
 */
export const MAX_PAGES = 20

export type WriteAction = 'created' | 'updated' | 'unchanged'
export interface WriteResult {
  action: WriteAction
  leadId: string
  /** How the record was reached: made now, known from an earlier write, or found by a search. */
  via: 'created' | 'known' | 'found'
  /** The draft's identifiers (emails, phones as written) that the record did not take. */
  refused: string[]
}

/** What one search looks for: the text sent as `query`, and the exact test a candidate must pass. */
interface Term {
  label: 'email' | 'phone'
  query: string
  matches: (lead: CrmLead) => boolean
}

/** One term per email, then per readable phone (asked for by its national number, which any formatting contains). */
export function termsOf(draft: LeadDraft): Term[] {
  const terms: Term[] = []
  for (const email of draft.emails) {
    const parsed = parseEmail(email)
    if (parsed) terms.push({ label: 'email', query: parsed.value, matches: (l) => (l.emails ?? []).some((e) => emailKey(e.email) === parsed.key) })
  }
  for (const phone of draft.phones) {
    const parsed = parsePhone(phone, draft.country)
    if (parsed?.key && parsed.national) {
      const key = parsed.key
      terms.push({ label: 'phone', query: parsed.national, matches: (l) => (l.telephones ?? []).some((t) => phoneKey(t.telephone, draft.country) === key) })
    }
  }
  return terms
}

/** Several exact matches: the oldest lead wins (then the smallest id), so every run picks the same one. */
export function pickOne(leads: CrmLead[]): CrmLead | undefined {
  const time = (l: CrmLead) => l.createdAt?.getTime() ?? Number.POSITIVE_INFINITY
  return [...leads].sort((a, b) => time(a) - time(b) || (a.id ?? '').localeCompare(b.id ?? ''))[0]
}

/** JSON nulls as absent fields: Unified passes a CRM's nulls through where the SDK's model only allows absence. */
const withoutNulls = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(withoutNulls)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]))
      : value

/**
 * An SDK result, or its value read again without nulls when only the SDK's
 * response validation refused it (status 2xx). Anything still unreadable is a
 * retryable CrmError that names no field and quotes nothing.
 */
function unwrap<T>(operation: string, res: { ok: true; value: T } | { ok: false; error: unknown }, read: (raw: unknown) => T | undefined): T {
  if (res.ok) return res.value
  const error = res.error as { name?: string; rawValue?: unknown }
  if (error?.name === 'ResponseValidationError') {
    const again = read(withoutNulls(error.rawValue))
    if (again !== undefined) return again
  }
  throw classify(operation, res.error)
}

const readLead = (raw: unknown): CrmLead | undefined => {
  const parsed = CrmLead$inboundSchema.safeParse(raw)
  return parsed.success ? parsed.data : undefined
}
const readLeads = (raw: unknown): CrmLead[] | undefined => {
  if (!Array.isArray(raw)) return undefined
  const leads = raw.map(readLead)
  return leads.every((l): l is CrmLead => l !== undefined) ? leads : undefined
}

/** Text a CRM's search could have matched; a candidate sharing none of it with the query was not searched for. */
const searchable = (l: CrmLead): string =>
  [l.name, l.firstName, l.lastName, l.companyName, ...(l.emails ?? []).map((e) => e.email), ...(l.telephones ?? []).flatMap((t) => [t.telephone, t.telephone.replace(/\D/g, '')])]
    .filter(Boolean)
    .join(' ')
    .toLowerCase()

/**
 * Every exact match for one term, paging on until the CRM has no more.
 * Throws a permanent CrmError when that can't be known (the page budget ran
 * out, or the CRM ignores paging): creating then could duplicate the person.
 */
async function search(t: CrmTarget, term: Term): Promise<CrmLead[]> {
  const matches: CrmLead[] = []
  const seen = new Set<string>()
  let ignoredQuery = false
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await crmListCrmLeads(t.core, { connectionId: t.connectionId, query: term.query, limit: PAGE_SIZE, offset: page * PAGE_SIZE })
    const leads = unwrap('list leads', res, readLeads)
    for (const lead of leads) {
      if (lead.id && seen.has(lead.id)) throw cutOff(term, `the CRM repeated records across pages (it ignores offset)`)
      if (lead.id) seen.add(lead.id)
      if (!searchable(lead).includes(term.query.toLowerCase())) ignoredQuery = true
      if (term.matches(lead)) matches.push(lead)
    }
    if (leads.length > PAGE_SIZE) throw cutOff(term, `the CRM returned more than the ${PAGE_SIZE} records asked for (it ignores limit)`)
    if (leads.length < PAGE_SIZE) return matches
  }
  throw cutOff(term, ignoredQuery ? `the CRM ignores the search query and lists every lead` : `more than ${MAX_PAGES * PAGE_SIZE} candidates`)
}

const cutOff = (term: Term, why: string) =>
  new CrmError(
    `find lead by ${term.label}: search cut off (${why}); not created, so as not to duplicate an existing lead. See README "Troubleshooting"`,
    false,
  )

/** The first term's exact matches, else the next term's…; the oldest of them. */
export async function findLead(t: CrmTarget, terms: Term[]): Promise<CrmLead | undefined> {
  for (const term of terms) {
    const found = pickOne(await search(t, term))
    if (found) return found
  }
  return undefined
}

/** The lead by id, or undefined when the CRM no longer has it. */
async function getKnown(t: CrmTarget, id: string): Promise<CrmLead | undefined> {
  const res = await crmGetCrmLead(t.core, { connectionId: t.connectionId, id })
  if (!res.ok && (res.error as { statusCode?: number }).statusCode === 404) return undefined
  return unwrap('get lead', res, readLead)
}

const idOf = (lead: CrmLead, operation: string): string => {
  if (!lead.id) throw new CrmError(`${operation}: Unified returned a lead without an id`, false)
  return lead.id
}

export interface WriteOptions {
  /** The lead this person was written to before: a get by id is cheaper than a search and immune to search-index lag. */
  knownId?: string
  /** How the known lead was first reached; a record found by search takes no new identifiers from a public form. */
  knownVia?: WriteResult['via']
  /**
   * Runs once the writer is about to commit the person to a record it did not
   * know (before creating one, or before updating one it found); may throw to stop.
   */
  beforeCommit?: () => Promise<void>
  /** Runs just before a create is sent, so the caller can remember that one may have happened even if no answer arrives. */
  beforeCreate?: () => Promise<void>
}

/** Emails and phones of the draft that `lead` does not hold. */
function notOn(lead: CrmLead, draft: LeadDraft): string[] {
  const emails = new Set((lead.emails ?? []).map((e) => emailKey(e.email)))
  const phones = new Set((lead.telephones ?? []).map((p) => phoneKey(p.telephone, draft.country) || p.telephone))
  return [
    ...draft.emails.filter((e) => !emails.has(emailKey(e))),
    ...draft.phones.filter((p) => !phones.has(phoneKey(p, draft.country) || p)),
  ]
}

/** Writes one draft: finds the person's lead (known id, else a search per identifier), then updates it or creates one. */
export async function writeLead(t: CrmTarget, draft: LeadDraft, o: WriteOptions = {}): Promise<WriteResult> {
  const terms = termsOf(draft)
  let existing: CrmLead | undefined
  let via: WriteResult['via'] = 'found'
  if (o.knownId) {
    existing = await getKnown(t, o.knownId)
    if (existing) via = o.knownVia === 'created' ? 'created' : 'known'
  }
  if (!existing && terms.length) existing = await findLead(t, terms)
  if (via !== 'known' && via !== 'created') await o.beforeCommit?.()
  if (existing) {
    const leadId = idOf(existing, 'find lead')
    // A public form may reach a record by one identifier but not hang others on it: unless lead-intake made
    // this record for this person, its emails and phones stay as they are.
    const attach = draft.verified === true || via === 'created'
    const refused = attach ? [] : notOn(existing, draft)
    const patch = planUpdate(existing, draft, attach)
    if (!patch) return { action: 'unchanged', leadId, via, refused }
    const res = await crmPatchCrmLead(t.core, { connectionId: t.connectionId, id: leadId, crmLead: patch })
    unwrap('update lead', res, readLead)
    return { action: 'updated', leadId, via, refused }
  }
  await o.beforeCreate?.()
  const res = await crmCreateCrmLead(t.core, { connectionId: t.connectionId, crmLead: planCreate(draft) })
  return { action: 'created', leadId: idOf(unwrap('create lead', res, readLead), 'create lead'), via: 'created', refused: [] }
}

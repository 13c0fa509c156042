/**
 * Find-then-update against Unified. Knows LeadDrafts and dedup keys, nothing
 * of where a lead came from.
 */
import { crmCreateCrmLead } from '@unified-api/typescript-sdk/funcs/crmCreateCrmLead.js'
import { crmGetCrmLead } from '@unified-api/typescript-sdk/funcs/crmGetCrmLead.js'
import { crmListCrmLeads } from '@unified-api/typescript-sdk/funcs/crmListCrmLeads.js'
import { crmPatchCrmLead } from '@unified-api/typescript-sdk/funcs/crmPatchCrmLead.js'
import type { CrmLead } from '@unified-api/typescript-sdk/sdk/models/shared/crmlead.js'
import type { LeadDraft } from '../lead/draft'
import { type DedupKey, normalizeEmail, phoneDigits } from '../lead/normalize'
import type { CrmTarget } from './client'
import { CrmError, classify } from './errors'
import { planCreate, planUpdate } from './merge'

/** A fuzzy search may return many near-misses: read this many per page… */
export const PAGE_SIZE = 100
/** …and at most this many pages (500 candidates) before giving up the search. */
export const MAX_PAGES = 5

export type WriteAction = 'created' | 'updated' | 'unchanged'
export interface WriteResult {
  action: WriteAction
  leadId: string
}

/** CRM search is fuzzy: only an exact email (or phone digits) match is the same person. */
export function matchesKey(lead: CrmLead, key: DedupKey): boolean {
  return key.kind === 'email'
    ? (lead.emails ?? []).some((e) => normalizeEmail(e.email ?? '') === key.value)
    : (lead.telephones ?? []).some((t) => phoneDigits(t.telephone) === key.value)
}

/** Several exact matches: the oldest lead wins (then the smallest id), so every run picks the same one. */
export function pickOne(leads: CrmLead[]): CrmLead | undefined {
  const time = (l: CrmLead) => l.createdAt?.getTime() ?? Number.POSITIVE_INFINITY
  return [...leads].sort((a, b) => time(a) - time(b) || (a.id ?? '').localeCompare(b.id ?? ''))[0]
}

export async function findLead(t: CrmTarget, key: DedupKey): Promise<CrmLead | undefined> {
  const matches: CrmLead[] = []
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await crmListCrmLeads(t.core, {
      connectionId: t.connectionId,
      query: key.value,
      limit: PAGE_SIZE,
      offset: page * PAGE_SIZE,
    })
    if (!res.ok) throw classify('list leads', res.error)
    matches.push(...res.value.filter((lead) => matchesKey(lead, key)))
    if (res.value.length < PAGE_SIZE) break
  }
  return pickOne(matches)
}

/** The lead by id, or undefined when the CRM no longer has it (or it is no longer this person). */
async function getKnown(t: CrmTarget, id: string, key: DedupKey): Promise<CrmLead | undefined> {
  const res = await crmGetCrmLead(t.core, { connectionId: t.connectionId, id })
  if (!res.ok) {
    const error = classify('get lead', res.error)
    if (error.status === 404) return undefined
    throw error
  }
  return matchesKey(res.value, key) ? res.value : undefined
}

const idOf = (lead: CrmLead, operation: string): string => {
  if (!lead.id) throw new CrmError(`${operation}: Unified returned a lead without an id`, false)
  return lead.id
}

/**
 * Writes one draft. `knownId` is the lead this key was written to before: a
 * get by id is cheaper than a search and immune to a CRM's search-index lag.
 * `beforeCreate` runs just before a create is sent, so the caller can
 * remember that one may have happened even if its answer never arrives.
 */
export async function writeLead(
  t: CrmTarget,
  draft: LeadDraft,
  key: DedupKey | null,
  knownId?: string,
  beforeCreate?: () => Promise<void>,
): Promise<WriteResult> {
  let existing: CrmLead | undefined
  if (key) existing = (knownId && (await getKnown(t, knownId, key))) || (await findLead(t, key))
  if (existing) {
    const leadId = idOf(existing, 'find lead')
    const patch = planUpdate(existing, draft)
    if (!patch) return { action: 'unchanged', leadId }
    const res = await crmPatchCrmLead(t.core, { connectionId: t.connectionId, id: leadId, crmLead: patch })
    if (!res.ok) throw classify('update lead', res.error)
    return { action: 'updated', leadId }
  }
  await beforeCreate?.()
  const res = await crmCreateCrmLead(t.core, { connectionId: t.connectionId, crmLead: planCreate(draft) })
  if (!res.ok) throw classify('create lead', res.error)
  return { action: 'created', leadId: idOf(res.value, 'create lead') }
}

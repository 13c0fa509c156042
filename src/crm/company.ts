/**
 * The person's company: found by their email's domain (never a free-mail
 * one: gmail.com says nothing of an employer) or its exact normalized name,
 * in one search; created when absent, with its name and domain. A CRM that can't
 * search companies gets no company record: the lead's `company_name` and the
 * contact's `company` still carry the name.
 */
import type { CrmCompany } from '@unified-api/typescript-sdk/sdk/models/shared/crmcompany.js'
import freeMail from 'email-providers/common.json'
import type { LeadDraft } from '../lead/draft'
import { domainForms, parseEmail } from '../lead/identity'
import { cleanText } from '../lead/normalize'
import type { CrmTarget } from './client'
import { CrmError, refusedOutright } from './errors'
import { company } from './objects/company'
import { pickOldest, type Search, searchAll } from './search'

/**
 * The maintained list of common free-mail providers (email-providers' common.json, ~360 domains with a
 * Majestic Million rank under 100,000: gmail.com, outlook.com, yahoo.com, gmx.de, …). Its full list
 * (8,700 domains) would cost 43 KiB gzip of the Worker's 90.
 */
const FREE_MAIL = new Set<string>(freeMail)

export const isFreeMail = (domain: string): boolean => FREE_MAIL.has(domain) || FREE_MAIL.has(domain.replace(/^[^.]+\.(?=[^.]+\.[^.]+$)/, ''))

export interface CompanyQuery {
  /** The email's domain in A-labels, when it is no free-mail one. */
  domain?: string
  /** The company name the person gave. */
  name?: string
}

/** "ACME, Inc." and "Acme Inc" are one name; nothing else is stripped. */
export const normalizeName = (name: string): string =>
  cleanText(name.normalize('NFKC')).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim()

/** Where to look for the person's company, or undefined when there is nothing to go by (a name without a letter or digit names none). */
export function companyQueryOf(draft: LeadDraft): CompanyQuery | undefined {
  const domain = draft.emails.map((e) => parseEmail(e)?.domain).find((d): d is string => !!d && !isFreeMail(d))
  const name = draft.companyName && normalizeName(draft.companyName) ? cleanText(draft.companyName) : undefined
  return domain || name ? { ...(domain ? { domain } : {}), ...(name ? { name } : {}) } : undefined
}

/**
 * What a company is known by, strongest first: its domain, then its normalized name. The company
 * ledger (store/companies.ts) resolves them to one company, whichever of them a person brought.
 */
export const companyKeys = (q: CompanyQuery): string[] => [
  ...(q.domain ? [`domain:${q.domain}`] : []),
  ...(q.name && normalizeName(q.name) ? [`name:${normalizeName(q.name)}`] : []),
]

const host = (url: string): string => {
  try {
    return new URL(/^https?:\/\//i.test(url) ? url : `https://${url}`).hostname.replace(/^www\./, '')
  } catch {
    return ''
  }
}

const searchable = (c: CrmCompany) => [c.name, ...(c.domains ?? []), ...(c.websites ?? [])].filter(Boolean).join(' ').toLowerCase()

/**
 * One search that tries the domain and the name: its query is the name where the person gave one
 * (Unified promises name search; a domain is only a hint some CRMs search), else the domain (in each
 * form a CRM may hold it: Unicode and punycode); every candidate is then checked for either.
 */
function search(q: CompanyQuery): { forms: Search<CrmCompany>[]; byDomain: (c: CrmCompany) => boolean } {
  const domain = q.domain
  const byDomain = (c: CrmCompany) => !!domain && [...(c.domains ?? []), ...(c.websites ?? [])].some((d) => host(d.toLowerCase()) === domain)
  const name = q.name ? normalizeName(q.name) : ''
  const byName = (c: CrmCompany) => !!name && normalizeName(c.name ?? '') === name
  const matches = (c: CrmCompany) => byDomain(c) || byName(c)
  const queries = name ? [q.name!] : domain ? domainForms(domain) : []
  return { forms: queries.map((query) => ({ label: name ? 'name' : 'domain', query, searchable, matches })), byDomain }
}

export type CompanyResult = { id: string; action: 'found' | 'created' } | { unsupported: true }

const unsupported = (e: unknown) => e instanceof CrmError && e.unsupported === 'company'

/** Finds the company, else creates it; `{ unsupported }` when this CRM can't search or make companies. */
export async function findOrCreateCompany(
  t: CrmTarget,
  q: CompanyQuery,
  beforeCreate?: () => Promise<void>,
  createRefused?: () => Promise<void>,
): Promise<CompanyResult> {
  try {
    const { forms, byDomain } = search(q)
    const candidates: CrmCompany[] = []
    for (const s of forms) candidates.push(...(await searchAll(t, company, s)))
    // The domain names a company more surely than its name: a match by domain wins, then by name; the oldest of either.
    const found = pickOldest(candidates.filter(byDomain)) ?? pickOldest(candidates)
    if (found?.id) return { id: found.id, action: 'found' }
    await beforeCreate?.()
    const created = await company.create(t, { name: q.name ?? q.domain, ...(q.domain ? { domains: [q.domain] } : {}) }).catch(async (error: unknown) => {
      if (refusedOutright(error)) await createRefused?.()
      throw error
    })
    if (!created.id) throw new CrmError('create company: Unified returned a company without an id', false)
    return { id: created.id, action: 'created' }
  } catch (error) {
    if (unsupported(error)) return { unsupported: true }
    throw error
  }
}

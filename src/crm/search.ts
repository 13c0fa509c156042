/**
 * Paging through a fuzzy CRM search to the end. A search that could not look
 * at every candidate is never taken for "not found": creating then could
 * duplicate what the search did not reach.
 */
import type { CrmTarget } from './client'
import { CrmError } from './errors'
import type { ObjectName } from './objects/name'
import type { CrmObject, ListQuery } from './objects/types'

/** Read this many candidates per page… */
export const PAGE_SIZE = 100
/**
 * …and at most this many pages per search (2,000 candidates, ~20 calls).
 * Real CRMs return a handful of candidates for an address, a number or a
 * domain; a search still going after 2,000 is not narrowing, and paging on
 * would spend the connection's rate limit on one submission. Past it the write
 * fails, visibly.
 */
export const MAX_PAGES = 20

/** The integration ignores `limit` (Unified's support data): it answers pages of its own size, so a short page is not the end, an empty one is. */
const ownPages = (t: CrmTarget, name: ObjectName) => t.caps?.objects[name].limit === 'no'

export interface Search<R> {
  /** What is searched for, for messages: "email", "phone", "domain", "name". */
  label: string
  query: string
  /** The exact test a candidate must pass: CRM search is fuzzy. */
  matches(r: R): boolean
  /** Text a CRM's search could have matched on, to notice one that ignores `query`. */
  searchable(r: R): string
}

/** Every exact match, paging on until the CRM has no more; throws a permanent CrmError when that can't be known. */
export async function searchAll<R extends { id?: string }>(t: CrmTarget, object: CrmObject<R>, s: Search<R>): Promise<R[]> {
  const matches: R[] = []
  const seen = new Set<string>()
  let ignoredQuery = false
  const cutOff = (why: string) =>
    new CrmError(`find ${object.name} by ${s.label}: search cut off (${why}); not created, so as not to duplicate an existing ${object.name}. See README "Troubleshooting"`, false)
  const own = ownPages(t, object.name)
  let offset = 0
  for (let page = 0; page < MAX_PAGES; page++) {
    const records = await object.list(t, { query: s.query, limit: PAGE_SIZE, offset })
    offset += records.length
    for (const r of records) {
      if (r.id && seen.has(r.id)) throw cutOff('the CRM repeated records across pages (it ignores offset)')
      if (r.id) seen.add(r.id)
      if (!s.searchable(r).includes(s.query.toLowerCase())) ignoredQuery = true
      if (s.matches(r)) matches.push(r)
    }
    if (!own && records.length > PAGE_SIZE) throw cutOff(`the CRM returned more than the ${PAGE_SIZE} records asked for (it ignores limit)`)
    if (own ? records.length === 0 : records.length < PAGE_SIZE) return matches
  }
  throw cutOff(ignoredQuery ? `the CRM ignores the search query and lists every ${object.name}` : own ? `more than ${MAX_PAGES} pages of candidates` : `more than ${MAX_PAGES * PAGE_SIZE} candidates`)
}

/**
 * Every record of a filtered list (an object's events, say), paging on until the
 * CRM has no more: a record beyond the first page is still found. Throws a
 * permanent CrmError when the list can't be read to its end within MAX_PAGES.
 */
export async function listAll<R extends { id?: string }>(t: CrmTarget, object: CrmObject<R>, filters: ListQuery['filters'], what: string): Promise<R[]> {
  const all: R[] = []
  const seen = new Set<string>()
  const cutOff = (why: string) => new CrmError(`list ${object.name}s of ${what}: cut off (${why}); see README "Troubleshooting"`, false)
  const own = ownPages(t, object.name)
  let offset = 0
  for (let page = 0; page < MAX_PAGES; page++) {
    const records = await object.list(t, { limit: PAGE_SIZE, offset, filters })
    offset += records.length
    for (const r of records) {
      if (r.id && seen.has(r.id)) throw cutOff('the CRM repeated records across pages (it ignores offset)')
      if (r.id) seen.add(r.id)
      all.push(r)
    }
    if (records.length === 0 || (!own && records.length < PAGE_SIZE)) return all
  }
  throw cutOff(`more than ${MAX_PAGES * PAGE_SIZE} records`)
}

/** Several exact matches: the oldest wins (then the smallest id), so every run picks the same one. */
export function pickOldest<R extends { id?: string; createdAt?: Date | undefined }>(records: R[]): R | undefined {
  const time = (r: R) => r.createdAt?.getTime() ?? Number.POSITIVE_INFINITY
  return [...records].sort((a, b) => time(a) - time(b) || (a.id ?? '').localeCompare(b.id ?? ''))[0]
}

/**
 * The oldest exact match over the searches for one thing: each form a CRM may hold it in (an
 * address with its domain in Unicode and in punycode) is searched, and all are compared at once.
 */
export async function findOldest<R extends { id?: string; createdAt?: Date | undefined }>(t: CrmTarget, object: CrmObject<R>, forms: Search<R>[]): Promise<R | undefined> {
  const found: R[] = []
  for (const s of forms) found.push(...(await searchAll(t, object, s)))
  return pickOldest(found)
}

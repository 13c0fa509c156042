/**
 * Paging through a fuzzy CRM search to the end. A search that could not look
 * at every candidate is never taken for "not found": creating then could
 * duplicate what the search did not reach.
 */
import type { CrmTarget } from './client'
import { CrmError } from './errors'
import type { CrmObject, ListQuery } from './objects/types'

/** Ask for this many candidates per page… */
export const PAGE_SIZE = 100
/**
 * …and read at most this many per search (~20 calls where the CRM honours
 * `limit`). Real CRMs return a handful of candidates for an address, a number
 * or a domain; a search still going after 2,000 is not narrowing, and paging
 * on would spend the connection's rate limit on one submission. Past it the
 * write fails, visibly.
 */
export const MAX_CANDIDATES = 2_000
/** Calls one list may take where the CRM picks a smaller page size. */
const MAX_CALLS = 100

export interface Search<R> {
  /** What is searched for, for messages: "email", "phone", "domain", "name". */
  label: string
  query: string
  /** The exact test a candidate must pass: CRM search is fuzzy. */
  matches(r: R): boolean
  /** Text a CRM's search could have matched on, to notice one that ignores `query`. */
  searchable(r: R): string
}

/**
 * Reads a list to its end, handing each record to `each`. Pages move on by what
 * came back; a page shorter than asked for ends the list only where the CRM
 * honours `limit` (where it doesn't, it picks its own page size, and only an
 * empty page is the end). Throws `cutOff`'s error when the end can't be known.
 */
async function readAll<R extends { id?: string }>(
  t: CrmTarget,
  object: CrmObject<R>,
  q: Pick<ListQuery, 'query' | 'filters'>,
  each: (r: R) => void,
  cutOff: (why: string) => CrmError,
): Promise<void> {
  const honoursLimit = t.caps?.objects[object.name].limit !== 'no'
  const seen = new Set<string>()
  let offset = 0
  for (let call = 0; call < MAX_CALLS && seen.size < MAX_CANDIDATES; call++) {
    const records = await object.list(t, { ...q, limit: PAGE_SIZE, offset })
    for (const r of records) {
      if (r.id && seen.has(r.id)) throw cutOff('the CRM repeated records across pages (it ignores offset)')
      if (r.id) seen.add(r.id)
      each(r)
    }
    if (records.length === 0) return
    if (honoursLimit && records.length > PAGE_SIZE) throw cutOff(`the CRM returned more than the ${PAGE_SIZE} records asked for (it ignores limit)`)
    if (honoursLimit && records.length < PAGE_SIZE) return
    offset += records.length
  }
  throw cutOff(`more than ${MAX_CANDIDATES} candidates`)
}

/**
 * Every exact match, paging on until the CRM has no more; throws a permanent CrmError when that
 * can't be known. Where the CRM's support data says its list takes no `query`, none is sent: every
 * record is read (within the budget) and compared exactly.
 */
export async function searchAll<R extends { id?: string }>(t: CrmTarget, object: CrmObject<R>, s: Search<R>): Promise<R[]> {
  const matches: R[] = []
  const noQuery = t.caps?.objects[object.name].query === 'no'
  let ignoredQuery = false
  const cutOff = (why: string) =>
    new CrmError(
      `find ${object.name} by ${s.label}: search cut off (${noQuery || ignoredQuery ? `this CRM can't search ${object.name}s by query and has ${why}` : why}); not created, so as not to duplicate an existing ${object.name}. See README "Troubleshooting"`,
      false,
    )
  await readAll(t, object, noQuery ? {} : { query: s.query }, (r) => {
    if (!noQuery && !s.searchable(r).includes(s.query.toLowerCase())) ignoredQuery = true
    if (s.matches(r)) matches.push(r)
  }, cutOff)
  return matches
}

/**
 * Every record of a filtered list (an object's events, say), paging on until the
 * CRM has no more: a record beyond the first page is still found. Throws a
 * permanent CrmError when the list can't be read to its end within the budget.
 */
export async function listAll<R extends { id?: string }>(t: CrmTarget, object: CrmObject<R>, filters: ListQuery['filters'], what: string): Promise<R[]> {
  const all: R[] = []
  await readAll(t, object, { filters }, (r) => all.push(r), (why) => new CrmError(`list ${object.name}s of ${what}: cut off (${why}); see README "Troubleshooting"`, false))
  return all
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

/**
 * Everything the log and the identity ledger hold of one person, found by any
 * identifier's keyed hash, and its erasure: rows, stored payloads and files (R2), ledger
 * entries; then a tombstone per identifier (the hash and the time, nothing
 * else) so that anything of theirs received before it is dropped, not written.
 */
import { deleteBlobs } from './blobs'
import { erasedStatements } from './states'

export interface PersonRef {
  connection: string
  person: string
}

const list = (n: number, from: number) => Array.from({ length: n }, (_, i) => `?${i + from}`).join(', ')

/** The people (per connection) holding any of `hashes`, and every hash each of them holds. */
export async function peopleOf(db: D1Database, hashes: string[]): Promise<{ people: PersonRef[]; hashes: string[] }> {
  if (hashes.length === 0) return { people: [], hashes: [] }
  const { results: people } = await db
    .prepare(`SELECT DISTINCT connection, person FROM identities WHERE hash IN (${list(hashes.length, 1)})`)
    .bind(...hashes)
    .all<PersonRef>()
  const all = new Set(hashes)
  for (const p of people) {
    const { results } = await db.prepare(`SELECT hash FROM identities WHERE connection = ?1 AND person = ?2`).bind(p.connection, p.person).all<{ hash: string }>()
    for (const r of results) all.add(r.hash)
  }
  return { people, hashes: [...all] }
}

export interface HeldSubmission {
  id: string
  received_at: number
  source: string
  form: string
  state: string
  action: string | null
  crm_ids: string | null
  consent_version: string | null
  person: string | null
}

/**
 * The submission rows of these people, or that carry one of these hashes: as their key, or
 * among their identifiers (a row logged before its person was known, a dead letter, a row
 * found by its second email).
 */
export async function submissionsOf(db: D1Database, people: PersonRef[], hashes: string[]): Promise<HeldSubmission[]> {
  const persons = people.map((p) => p.person)
  if (persons.length === 0 && hashes.length === 0) return []
  const keyed = list(hashes.length, persons.length + 1)
  const where = [
    ...(persons.length ? [`person IN (${list(persons.length, 1)})`] : []),
    ...(hashes.length ? [`key_hash IN (${keyed})`, `id IN (SELECT submission_id FROM submission_keys WHERE hash IN (${keyed}))`] : []),
  ].join(' OR ')
  const { results } = await db
    .prepare(`SELECT id, received_at, source, form, state, action, crm_ids, consent_version, person FROM submissions WHERE ${where} ORDER BY received_at`)
    .bind(...persons, ...hashes)
    .all<HeldSubmission>()
  return results
}

const tombstone = (db: D1Database, hashes: string[], now: number) => {
  const tomb = db.prepare(`INSERT INTO tombstones (hash, erased_at) VALUES (?1, ?2) ON CONFLICT (hash) DO UPDATE SET erased_at = ?2`)
  return hashes.map((h) => tomb.bind(h, now))
}

/**
 * The first step of an erasure: a tombstone per hash, so that from now on nothing of the
 * person received before it is resolved, written or logged again (the consumer, the dead-letter
 * reader and every outcome check it), while the erasure stops their writers and deletes the rest.
 */
export async function tombstones(db: D1Database, hashes: string[], now = Date.now()): Promise<void> {
  if (hashes.length) await db.batch(tombstone(db, hashes, now))
}

/** Deletes the rows, the ledger's entries and people, and leaves a tombstone per hash; returns what was removed. */
export async function erase(db: D1Database, people: PersonRef[], hashes: string[], submissions: string[], now = Date.now()) {
  // erased: the submissions' last state, whatever they were in (held ones too); states.ts says how.
  const statements: D1PreparedStatement[] = erasedStatements(db, submissions)
  for (const p of people) {
    statements.push(db.prepare(`DELETE FROM identities WHERE connection = ?1 AND person = ?2`).bind(p.connection, p.person))
    statements.push(db.prepare(`DELETE FROM people WHERE connection = ?1 AND id = ?2`).bind(p.connection, p.person))
  }
  statements.push(...tombstone(db, hashes, now))
  if (statements.length) await db.batch(statements)
  return { submissions: submissions.length, identifiers: hashes.length, people: people.length }
}

/** When any of `hashes` was erased at or after `at` (epoch ms): the submission is the erased person's, and older. */
export async function erasedSince(db: D1Database, hashes: string[], at: number): Promise<boolean> {
  if (hashes.length === 0) return false
  const row = await db
    .prepare(`SELECT 1 AS hit FROM tombstones WHERE hash IN (${list(hashes.length, 2)}) AND erased_at >= ?1 LIMIT 1`)
    .bind(at, ...hashes)
    .first<{ hit: number }>()
  return row !== null
}

/** A dropped submission of an erased person: its row, its payload and its file go too. */
export async function forgetSubmission(env: Pick<Env, 'DB' | 'BUCKET'>, id: string): Promise<void> {
  await deleteBlobs(env.BUCKET, [id])
  await erase(env.DB, [], [], [id])
}

/** Every identifier's hash one submission holds (its key and the others it brought): whom an erasure by that submission is about. */
export async function hashesOfSubmission(db: D1Database, id: string): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT hash FROM submission_keys WHERE submission_id = ?1 UNION SELECT key_hash AS hash FROM submissions WHERE id = ?1 AND key_hash IS NOT NULL`)
    .bind(id)
    .all<{ hash: string }>()
  return results.map((r) => r.hash)
}

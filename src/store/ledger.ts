/**
 * The identity ledger (D1 `people`, `identities`): identifier hash → person,
 * per CRM connection. A submission's identifiers are resolved and claimed in
 * one D1 transaction before its person's writer runs, so two concurrent first
 * submissions that share any identifier become one person, whichever order
 * they arrive in; a Durable Object per email alone could not see that an
 * email-only and a phone-only post are the same person.
 *
 * People who meet before either has a CRM record are merged (an email-only
 * and a phone-only post, then one with both). A person is *locked* once its
 * writer commits to a record (creates or finds one): from then on it is never
 * merged away, and a writer whose person was merged re-routes instead of
 * creating. Two locked people sharing an identifier stay two, and no third is
 * made: the write goes to the one the submission's strongest identifier names
 * (a source's own customer id, then an email, then a phone), then the older.
 * A shared office or family phone must not pull a customer onto another
 * person's record just because that person came first.
 */
import type { IdentifierKind } from '../lead/identity'

/**
 * How long a new person may still gather identifiers from public (unverified)
 * submissions: a burst of first posts, or a corrected resubmit, joins up. After
 * that a form post matched by one identifier adds no other: anyone can type a
 * victim's email next to their own phone number.
 */
export const NEW_PERSON_WINDOW_MS = 10 * 60_000

/** How surely each kind of identifier names one person: a source's customer id, then an email, then a phone (shared by an office or a family). */
const STRENGTH: Record<IdentifierKind, number> = { source: 0, email: 1, phone: 2 }

/** One identifier of a submission, as the ledger sees it. */
export interface Claim {
  hash: string
  kind: IdentifierKind
}

export interface Resolution {
  /** The person this submission belongs to. */
  person: string
  /** True when this submission created the person. */
  created: boolean
  /** Hashes now linked to `person` (claimed by this or an earlier submission). */
  linked: string[]
  /** Hashes held by other people: never this person's to search for or write. */
  held: string[]
  /** Other (locked) people that also hold one of the hashes: a conflict, resolved to `person`. */
  others: string[]
  /** People merged into `person` by this submission. */
  merged: number
}

const newPersonId = () => `p${Date.now().toString(36).padStart(9, '0')}${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`

/**
 * Who wins among the people holding a submission's hashes (`i` the identity row, `p` its person): one
 * that has a CRM record (locked) before one that has none (that one can still be merged in), then the
 * one the strongest identifier links, then the oldest, then the smallest id. `first` is the parameter
 * number of the first hash; the hashes' strengths are numbers of ours, written into the SQL.
 */
const winnerOrder = (claims: Claim[], first: number) =>
  `ORDER BY (p.locked_at IS NULL), CASE i.hash ${claims.map((c, n) => `WHEN ?${n + first} THEN ${STRENGTH[c.kind]}`).join(' ')} END, p.created_at, p.id`

/**
 * Resolves `claims` (at least one, each hash once) to one person, claiming the
 * unclaimed ones for them and merging people without a record yet into them:
 * for a verified submission always, for a public one only while the person is
 * new (NEW_PERSON_WINDOW_MS).
 */
export async function resolvePerson(
  db: D1Database,
  connection: string,
  claims: Claim[],
  submission: string,
  verified: boolean,
  now = Date.now(),
): Promise<Resolution> {
  const hashes = claims.map((c) => c.hash)
  const WINNER_ORDER = winnerOrder(claims, 8)
  const fresh = newPersonId()
  // ?1 connection, ?2 the new person's id, ?3 now, ?4 submission, ?5 verified, ?6 window start, ?7 this hash, ?8… all hashes
  const list = hashes.map((_, i) => `?${i + 8}`).join(', ')
  const args = (h: string) => [connection, fresh, now, submission, verified ? 1 : 0, now - NEW_PERSON_WINDOW_MS, h, ...hashes]
  const holders = `SELECT i.person FROM identities i JOIN people p ON p.connection = i.connection AND p.id = i.person WHERE i.connection = ?1 AND i.hash IN (${list})`
  // The person the hashes belong to: a known one (not the one this call may create), else the new one.
  const chosen = `coalesce((${holders} AND i.person != ?2 ${WINNER_ORDER} LIMIT 1), ?2)`
  const target = `(${holders} ${WINNER_ORDER} LIMIT 1)`
  // A public submission may only join identifiers to a person that is still new.
  const mayJoin = (person: string) => `(?5 = 1 OR ${person} = ?2 OR (SELECT created_at FROM people WHERE connection = ?1 AND id = ${person}) > ?6)`
  const claim = db.prepare(
    `INSERT INTO identities (connection, hash, person, submission, linked_at)
     SELECT ?1, ?7, p.id, ?4, ?3 FROM people p WHERE p.connection = ?1 AND p.id = ${chosen} AND ${mayJoin('p.id')}
     ON CONFLICT (connection, hash) DO NOTHING`,
  )
  const merge = db.prepare(
    `UPDATE people SET merged_into = ${target}
     WHERE connection = ?1 AND id IN (${holders}) AND id != ${target} AND locked_at IS NULL AND merged_into IS NULL AND ${mayJoin(target)}`,
  )
  const relink = db.prepare(
    `UPDATE identities SET person = ${target}
     WHERE connection = ?1 AND person IN (SELECT id FROM people WHERE connection = ?1 AND merged_into = ${target})`,
  )
  const results = await db.batch<{ hash: string; person: string; locked: number }>([
    db.prepare(`INSERT INTO people (connection, id, created_at) VALUES (?1, ?2, ?3)`).bind(connection, fresh, now),
    ...hashes.map((h) => claim.bind(...args(h))),
    merge.bind(...args(hashes[0]!)),
    relink.bind(...args(hashes[0]!)),
    db
      .prepare(
        `SELECT i.hash, i.person, p.locked_at IS NOT NULL AS locked FROM identities i JOIN people p ON p.connection = i.connection AND p.id = i.person
         WHERE i.connection = ?1 AND i.hash IN (${hashes.map((_, i) => `?${i + 2}`).join(', ')}) ${winnerOrder(claims, 2)}`,
      )
      .bind(connection, ...hashes),
    // The person made above is kept only if it won a claim.
    db
      .prepare(`DELETE FROM people WHERE connection = ?1 AND id = ?2 AND NOT EXISTS (SELECT 1 FROM identities WHERE connection = ?1 AND person = ?2)`)
      .bind(connection, fresh),
  ])
  const merged = results[hashes.length + 1]!.meta.changes ?? 0
  const rows = results[hashes.length + 3]!.results
  const person = rows[0]?.person
  if (!person) throw new Error('identity ledger: no person after claiming') // the transaction guarantees one; a bug guard
  return {
    person,
    created: person === fresh,
    linked: rows.filter((r) => r.person === person).map((r) => r.hash),
    held: rows.filter((r) => r.person !== person).map((r) => r.hash),
    others: [...new Set(rows.filter((r) => r.person !== person).map((r) => r.person))],
    merged,
  }
}

/**
 * The person's writer commits to a CRM record: from now on the person is
 * never merged into another. False when it already was (the writer must not
 * create: the submission belongs to the person it was merged into).
 */
export async function lockPerson(db: D1Database, connection: string, person: string, now = Date.now()): Promise<boolean> {
  const row = await db
    .prepare(`UPDATE people SET locked_at = coalesce(locked_at, ?3) WHERE connection = ?1 AND id = ?2 AND merged_into IS NULL RETURNING id`)
    .bind(connection, person, now)
    .first<{ id: string }>()
  return row !== null
}

/**
 * Links identifiers nobody holds to `person`: a record created for the person carries them (see
 * WriteOutcome.carried). One another submission claimed meanwhile stays theirs.
 */
export async function linkIdentifiers(db: D1Database, connection: string, person: string, submission: string, hashes: string[], now = Date.now()): Promise<void> {
  if (hashes.length === 0) return
  const link = db.prepare(
    `INSERT INTO identities (connection, hash, person, submission, linked_at)
     SELECT ?1, ?5, id, ?3, ?4 FROM people WHERE connection = ?1 AND id = ?2 AND merged_into IS NULL
     ON CONFLICT (connection, hash) DO NOTHING`,
  )
  await db.batch(hashes.map((h) => link.bind(connection, person, submission, now, h)))
}

/** Undoes links this submission made that the CRM record did not take (see WriteOutcome.refused). */
export async function releaseLinks(db: D1Database, connection: string, person: string, submission: string, hashes: string[]): Promise<void> {
  if (hashes.length === 0) return
  await db
    .prepare(
      `DELETE FROM identities WHERE connection = ?1 AND person = ?2 AND submission = ?3 AND hash IN (${hashes.map((_, i) => `?${i + 4}`).join(', ')})`,
    )
    .bind(connection, person, submission, ...hashes)
    .run()
}

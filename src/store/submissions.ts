/**
 * The submission log (D1): what happened to every accepted submission, for
 * the operator. Identifiers are stored only as keyed hashes; the lead itself
 * (the payload: the draft and the raw input it was mapped from) is kept in R2
 * (store/blobs.ts, the row names its `payload_key`) only until it is written,
 * so a failed one can be mapped again and replayed. Rows from before R2 hold
 * it in their `payload` column, read the same way until the daily cron moves it.
 *
 * `gen` orders a submission's lives: a replay bumps it, and an outcome
 * reported for an older generation (a late retry, a dead letter of the
 * previous try) no longer changes the row.
 */
import { keyedHash } from '../lead/identity'
import type { Owner } from '../lead/draft'
import type { CrmRecordIds, Origin, Payload } from '../lead/message'
import { purgeAuditStatement } from './audit'
import { deleteBlobs, getPayload, payloadKey, putPayload, readPayload } from './blobs'
import { attemptStatement, keysStatement, purgeJourneyStatements } from './journey'
import { isSchemaError } from './schema'

import { mayReplay, type State } from './states'

// A submission's states and their legal moves live in states.ts; re-exported for readers of the log.
export { STATES, type State, STUCK_AFTER_MS } from './states'

export interface Submission {
  id: string
  received_at: number
  updated_at: number
  source: string
  form: string
  key_hash: string | null
  state: State
  attempts: number
  crm_lead_id: string | null
  /** The CRM records the submission wrote, per object (JSON of CrmRecordIds). */
  crm_ids: string | null
  action: string | null
  last_error: string | null
  gen: number
  /** JSON array of the warnings the write left (migration 0009), or null. */
  warnings: string | null
  /** JSON of the Owner a record it created got (migration 0013), or null. */
  owner: string | null
}

const COLUMNS = 'id, received_at, updated_at, source, form, key_hash, state, attempts, crm_lead_id, crm_ids, action, last_error, gen, warnings, owner'

/** A new row; an existing one (the consumer got there first) is left alone. */
export async function recordReceived(
  db: D1Database,
  row: {
    id: string
    receivedAt: string
    origin: Origin
    state: State
    /** The R2 key its payload is kept under (store/blobs.ts), when it holds one (a lead too large for its message). */
    payloadKey?: string
    /** Else the payload itself, serialized: the copy for a replay while the lead is in flight (cleared once written). */
    payload?: string
    /** Why it was not queued (an ignored delivery's reason), shown as the row's last error. */
    reason?: string
    /** Keyed hash of every identifier of the payload: a row that holds a person's data is findable by each of them from the start. */
    keys?: string[]
  },
): Promise<void> {
  const at = Date.parse(row.receivedAt)
  const insert = db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, state, payload_key, last_error, key_hash, hash_v, payload)
       VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?8 IS NULL THEN 1 ELSE 2 END, ?9) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(row.id, at, row.origin.source, row.origin.form, row.state, row.payloadKey ?? null, row.reason ?? null, row.keys?.[0] ?? null, row.payload ?? null)
  if (!row.keys?.length) {
    await insert.run()
    return
  }
  try {
    await db.batch([insert, keysStatement(db, row.id, at, row.keys)])
  } catch (error) {
    // Deployed before migration 0006: the row still counts, its keys wait for the schema.
    if (!isSchemaError(error)) throw error
    await insert.run()
  }
}

type Stores = Pick<Env, 'DB' | 'BUCKET'>

/**
 * A submission's stored payload: R2's, else (a row from before R2) its D1 column's. What the
 * consumer reads back for a message too large to carry it, what a replay maps again, what an export shows.
 */
export async function storedPayload(env: Stores, id: string): Promise<Payload | null> {
  const kept = await getPayload(env.BUCKET, id)
  if (kept) return kept
  const row = await env.DB.prepare(`SELECT payload FROM submissions WHERE id = ?1`).bind(id).first<{ payload: string | null }>()
  return row?.payload ? readPayload(row.payload) : null
}

export interface Replayable {
  row: Submission
  payload: Payload
}

/** The stored lead of a submission that may be replayed now, or null (with the row, to say why). */
export async function replayable(env: Stores, id: string, now = Date.now()): Promise<{ ok: Replayable } | { row: Submission | null }> {
  const found = await env.DB.prepare(`SELECT ${COLUMNS}, payload FROM submissions WHERE id = ?1`).bind(id).first<Submission & { payload: string | null }>()
  if (!found) return { row: null }
  const { payload: legacy, ...row } = found
  if (!mayReplay(row, now)) return { row }
  const payload = (await getPayload(env.BUCKET, id)) ?? (legacy ? readPayload(legacy) : null)
  return payload ? { ok: { row, payload } } : { row }
}

export interface Filters {
  state?: State
  source?: string
  since?: number
  until?: number
  limit?: number
}

export async function listSubmissions(db: D1Database, f: Filters = {}): Promise<Submission[]> {
  const where: string[] = []
  const args: unknown[] = []
  if (f.state) where.push(`state = ?${args.push(f.state)}`)
  if (f.source) where.push(`source = ?${args.push(f.source)}`)
  if (f.since !== undefined) where.push(`received_at >= ?${args.push(f.since)}`)
  if (f.until !== undefined) where.push(`received_at < ?${args.push(f.until)}`)
  const sql = `SELECT ${COLUMNS} FROM submissions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY received_at DESC LIMIT ?${args.push(Math.min(f.limit ?? 100, 500))}`
  const { results } = await db.prepare(sql).bind(...args).all<Submission>()
  return results
}

export async function getSubmission(db: D1Database, id: string): Promise<Submission | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM submissions WHERE id = ?1`).bind(id).first<Submission>()
}

export async function countByState(db: D1Database): Promise<Record<string, number>> {
  const { results } = await db.prepare(`SELECT state, count(*) AS n FROM submissions GROUP BY state`).all<{ state: string; n: number }>()
  return Object.fromEntries(results.map((r) => [r.state, r.n]))
}

/**
 * Retention: forget submissions (and the personal data in them) older than `days`,
 * with their identifier hashes, attempts, the audit rows of that time, and what R2
 * holds of them (payloads, files): `batch` rows a round, their objects first, so a
 * row goes only once nothing of it is left behind that no row would name.
 */
export async function purgeSubmissions(env: Stores, days: number, now = Date.now(), batch = 1000): Promise<number> {
  const db = env.DB
  const before = now - days * 86_400_000
  // The journey's rows are found through their submissions, so they go first.
  await db.batch([...purgeJourneyStatements(db, before), purgeAuditStatement(db, before)])
  let purged = 0
  for (;;) {
    const { results } = await db.prepare(`SELECT id FROM submissions WHERE received_at < ?1 LIMIT ?2`).bind(before, batch).all<{ id: string }>()
    if (results.length === 0) break
    const ids = results.map((r) => r.id)
    await deleteBlobs(env.BUCKET, ids)
    // D1 binds at most 100 parameters a statement.
    const deletes = []
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100)
      deletes.push(db.prepare(`DELETE FROM submissions WHERE id IN (${chunk.map((_, j) => `?${j + 1}`).join(', ')})`).bind(...chunk))
    }
    for (const done of await db.batch(deletes)) purged += done.meta.changes ?? 0
    if (results.length < batch) break
  }
  return purged
}

/**
 * Moves payloads kept in D1 (rows from before R2) to R2, `batch` rows per call; run by the
 * daily cron until none is left. A row is cleared only if its payload is still the one copied.
 */
export async function movePayloadsToR2(env: Stores, batch = 200, now = Date.now()): Promise<number> {
  // Not a lead in flight (its D1 copy goes when it is written): only rows a day without news.
  const { results } = await env.DB.prepare(`SELECT id, payload FROM submissions WHERE payload IS NOT NULL AND updated_at < ?2 LIMIT ?1`)
    .bind(batch, now - 24 * 60 * 60_000)
    .all<{ id: string; payload: string }>()
  if (results.length === 0) return 0
  const clear = env.DB.prepare(`UPDATE submissions SET payload = NULL, payload_key = ?2 WHERE id = ?1 AND payload = ?3`)
  const moved = await Promise.all(results.map(async (r) => clear.bind(r.id, await putPayload(env.BUCKET, r.id, r.payload), r.payload)))
  await env.DB.batch(moved)
  return results.length
}

/**
 * Moves rows written before HASH_SECRET (key_hash a plain SHA-256, `hash_v`
 * 1) to the keyed hash, `batch` rows per call: the keyed hash is an HMAC of
 * the plain one, so the identifier itself is not needed. Run by the daily cron.
 */
export async function rehashKeys(db: D1Database, secret: string, batch = 500): Promise<number> {
  const { results } = await db
    .prepare(`SELECT id, key_hash, received_at FROM submissions WHERE hash_v = 1 AND key_hash IS NOT NULL LIMIT ?1`)
    .bind(batch)
    .all<{ id: string; key_hash: string; received_at: number }>()
  if (results.length === 0) return 0
  const update = db.prepare(`UPDATE submissions SET key_hash = ?2, hash_v = 2 WHERE id = ?1 AND hash_v = 1`)
  const moves = await Promise.all(
    results.map(async (r) => {
      const hash = await keyedHash(secret, r.key_hash)
      // The operator finds the row by its keyed hash from now on.
      return [update.bind(r.id, hash), keysStatement(db, r.id, r.received_at, [hash])]
    }),
  )
  await db.batch(moves.flat())
  return results.length
}

/** Keeps the wording of a consent version the first time a submission agrees to it. */
export async function recordConsentText(db: D1Database, origin: Origin, c: { version: string; textSha256: string; text: string }): Promise<void> {
  await db
    .prepare(`INSERT INTO consent_texts (source, form, version, text_sha256, text, first_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING`)
    .bind(origin.source, origin.form, c.version, c.textSha256, c.text, Date.now())
    .run()
}

export interface ConsentText {
  source: string
  form: string
  version: string
  text_sha256: string
  text: string
  first_seen: number
  /** Submissions in the log that agreed to it. */
  submissions: number
}

/** Every consent wording ever agreed to, newest first, with how many logged submissions carry it. */
export async function listConsentTexts(db: D1Database): Promise<ConsentText[]> {
  const { results } = await db
    .prepare(
      `SELECT t.source, t.form, t.version, t.text_sha256, t.text, t.first_seen,
         (SELECT count(*) FROM submissions s WHERE s.source = t.source AND s.form = t.form AND s.consent_version = t.version) AS submissions
       FROM consent_texts t ORDER BY t.first_seen DESC`,
    )
    .all<ConsentText>()
  return results
}

/**
 * The submission log (D1): what happened to every accepted submission, for
 * the operator. Identifiers are stored only as keyed hashes; the lead itself
 * (`payload`: the draft and the raw input it was mapped from) is kept only
 * until it is written, so a failed one can be mapped again and replayed.
 *
 * `gen` orders a submission's lives: a replay bumps it, and an outcome
 * reported for an older generation (a late retry, a dead letter of the
 * previous try) no longer changes the row.
 */
import { keyedHash } from '../lead/identity'
import type { CrmRecordIds, Origin, Payload } from '../lead/message'
import { purgeAuditStatement } from './audit'
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
}

const COLUMNS = 'id, received_at, updated_at, source, form, key_hash, state, attempts, crm_lead_id, crm_ids, action, last_error, gen, warnings'

/** A new row; an existing one (the consumer got there first) is left alone. */
export async function recordReceived(
  db: D1Database,
  row: {
    id: string
    receivedAt: string
    origin: Origin
    state: State
    /** The payload, serialized. */
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
      `INSERT INTO submissions (id, received_at, updated_at, source, form, state, payload, last_error, key_hash, hash_v)
       VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?8 IS NULL THEN 1 ELSE 2 END) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(row.id, at, row.origin.source, row.origin.form, row.state, row.payload ?? null, row.reason ?? null, row.keys?.[0] ?? null)
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

/** What the queue consumer reads back for a message that was too large to carry its payload. */
export async function storedPayload(db: D1Database, id: string): Promise<Payload | null> {
  const row = await db.prepare(`SELECT payload FROM submissions WHERE id = ?1`).bind(id).first<{ payload: string | null }>()
  return row?.payload ? readPayload(row.payload) : null
}

/** A stored payload; rows from before replays re-mapped hold the whole queued message, whose `draft` is the same. */
const readPayload = (text: string): Payload => {
  const stored = JSON.parse(text) as { draft?: Payload['draft']; fetch?: Payload['fetch']; input?: Payload['input'] }
  return stored.fetch ? { fetch: stored.fetch, input: stored.input } : { draft: stored.draft!, input: stored.input }
}

export interface Replayable {
  row: Submission
  payload: Payload
}

/** The stored lead of a submission that may be replayed now, or null (with the row, to say why). */
export async function replayable(db: D1Database, id: string, now = Date.now()): Promise<{ ok: Replayable } | { row: Submission | null }> {
  const found = await db.prepare(`SELECT ${COLUMNS}, payload FROM submissions WHERE id = ?1`).bind(id).first<Submission & { payload: string | null }>()
  if (!found) return { row: null }
  const { payload, ...row } = found
  if (!mayReplay(row, now) || !payload) return { row }
  return { ok: { row, payload: readPayload(payload) } }
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
 * with their identifier hashes, attempts and the audit rows of that time.
 */
export async function purgeSubmissions(db: D1Database, days: number, now = Date.now()): Promise<number> {
  const before = now - days * 86_400_000
  const results = await db.batch([
    ...purgeJourneyStatements(db, before),
    purgeAuditStatement(db, before),
    db.prepare(`DELETE FROM submissions WHERE received_at < ?1`).bind(before),
  ])
  return results.at(-1)?.meta.changes ?? 0
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

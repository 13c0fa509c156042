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
import type { Owner } from '../lead/draft'
import type { CrmRecordIds, Origin, Payload } from '../lead/message'
import { purgeAuditStatement } from './audit'
import { attemptStatement, keysStatement, purgeJourneyStatements } from './journey'
import { isSchemaError } from './schema'

export const STATES = ['queued', 'retrying', 'written', 'failed', 'ignored', 'duplicate-delivery', 'spam'] as const
export type State = (typeof STATES)[number]

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

/** The rows of an erased person are never written again: a late outcome of theirs finds a tombstone for one of its keys. */
const notErased = (keys: string[], first: number) =>
  keys.length
    ? `NOT EXISTS (SELECT 1 FROM tombstones WHERE hash IN (${keys.map((_, i) => `?${i + first}`).join(', ')}) AND erased_at >= ?2)`
    : 'true'

export interface Outcome {
  state: State
  attempts: number
  crmIds?: CrmRecordIds
  action?: string
  /** The person of the identity ledger the submission belongs to (an erasure finds its rows by it). */
  person?: string
  /** The version of the consent wording the person agreed to with it. */
  consentVersion?: string
  lastError?: string
  /** HTTP status of the failed call, when there was one (the journey's attempt row). */
  status?: number
  /** How long the attempt took, ms (the journey's attempt row). */
  ms?: number
  /** Keyed hash of every identifier the submission brings, so the operator finds it by any of them. */
  keys?: string[]
  /** What the write did otherwise than asked (a written submission's); replaces the row's. */
  warnings?: string[]
  /** Who a record the write created belongs to (owner routing), and by which rule. */
  owner?: Owner
}

/**
 * The consumer's word on a message of generation `gen`; creates the row if
 * the intake's insert has not landed. `payload` undefined keeps the stored one.
 * Nothing is written for a person erased since the message was received.
 */
export async function recordOutcome(
  db: D1Database,
  m: { id: string; receivedAt: string; origin: Origin; gen: number; payload?: Payload },
  keyHash: string | null,
  o: Outcome,
  { unlessWritten = false } = {},
): Promise<void> {
  const keys = [...new Set(o.keys ?? (keyHash ? [keyHash] : []))].slice(0, 80)
  // The payload stays while the lead may need a replay, and goes once it is written.
  const payload = o.state === 'written' ? null : m.payload ? JSON.stringify(m.payload) : undefined
  const now = Date.now()
  const outcome = db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, key_hash, hash_v, state, attempts, crm_lead_id, action, last_error, payload, gen, crm_ids, person, consent_version, warnings, warned)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 2, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?16, ?17, ?18, ?19, json_array_length(?19) WHERE ${notErased(keys, 20)}
       ON CONFLICT (id) DO UPDATE SET updated_at = ?3, state = ?7, attempts = max(attempts, ?8),
         key_hash = coalesce(?6, key_hash), hash_v = CASE WHEN ?6 IS NULL THEN hash_v ELSE 2 END,
         crm_lead_id = coalesce(?9, crm_lead_id), crm_ids = coalesce(?16, crm_ids), action = coalesce(?10, action), last_error = ?11,
         person = coalesce(?17, person), consent_version = coalesce(?18, consent_version),
         warnings = CASE WHEN ?7 = 'written' THEN ?19 ELSE warnings END,
         warned = CASE WHEN ?7 = 'written' THEN json_array_length(?19) ELSE warned END,
         payload = CASE WHEN ?13 THEN payload ELSE ?12 END
       WHERE submissions.gen <= ?14 AND (?15 = 0 OR submissions.state != 'written')`,
    )
    .bind(
      m.id,
      Date.parse(m.receivedAt),
      now,
      m.origin.source,
      m.origin.form,
      keyHash,
      o.state,
      o.attempts,
      o.crmIds?.lead ?? null,
      o.action ?? null,
      o.lastError ?? null,
      payload ?? null,
      payload === undefined ? 1 : 0,
      m.gen,
      unlessWritten ? 1 : 0,
      o.crmIds ? JSON.stringify(o.crmIds) : null,
      o.person ?? null,
      o.consentVersion ?? null,
      o.warnings?.length ? JSON.stringify(o.warnings) : null,
      ...keys,
    )
  // The attempt is recorded even when a newer generation keeps the row from changing: it happened.
  const attempt = attemptStatement(db, { id: m.id, gen: m.gen, attempt: o.attempts, at: now, state: o.state, status: o.status, error: o.lastError, action: o.action, ms: o.ms })
  const keyRows = keys.length ? [keysStatement(db, m.id, Date.parse(m.receivedAt), keys)] : []
  // Beside the row the outcome wrote (none for an erased person), of this generation.
  const ownerRows = o.owner ? [db.prepare(`UPDATE submissions SET owner = ?2 WHERE id = ?1 AND gen = ?3`).bind(m.id, JSON.stringify(o.owner), m.gen)] : []
  try {
    await db.batch([outcome, attempt, ...keyRows, ...ownerRows])
  } catch (error) {
    // Deployed before migration 0006 (readiness says so): the outcome still counts, the journey waits for the schema.
    if (!isSchemaError(error)) throw error
    await outcome.run()
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

/**
 * A submission may be replayed when it failed, or when it has sat in
 * `queued`/`retrying` for this long: longer than any retry delay (15 min)
 * twice over, so its message is gone (a platform dead letter that never
 * reached the log, a lost message).
 */
export const STUCK_AFTER_MS = 60 * 60_000

export interface Replayable {
  row: Submission
  payload: Payload
}

/** The stored lead of a submission that may be replayed now, or null (with the row, to say why). */
export async function replayable(db: D1Database, id: string, now = Date.now()): Promise<{ ok: Replayable } | { row: Submission | null }> {
  const found = await db.prepare(`SELECT ${COLUMNS}, payload FROM submissions WHERE id = ?1`).bind(id).first<Submission & { payload: string | null }>()
  if (!found) return { row: null }
  const { payload, ...row } = found
  const stuck = (row.state === 'queued' || row.state === 'retrying') && row.updated_at < now - STUCK_AFTER_MS
  if ((row.state !== 'failed' && !stuck) || !payload) return { row }
  return { ok: { row, payload: readPayload(payload) } }
}

/**
 * Starts the next generation of a replayable row, if no one else did since it
 * was read at `gen`: state `queued`, payload the re-mapped one. Returns the new
 * generation, or null when the row moved on meanwhile.
 */
export async function startReplay(db: D1Database, id: string, gen: number, payload: Payload, now = Date.now()): Promise<number | null> {
  const row = await db
    .prepare(
      `UPDATE submissions SET state = 'queued', gen = gen + 1, updated_at = ?3, last_error = NULL, payload = ?4
       WHERE id = ?1 AND gen = ?2 AND (state = 'failed' OR (state IN ('queued', 'retrying') AND updated_at < ?5))
       RETURNING gen`,
    )
    .bind(id, gen, now, JSON.stringify(payload), now - STUCK_AFTER_MS)
    .first<{ gen: number }>()
  return row?.gen ?? null
}

/** A replay that could not be queued goes back to `failed`, unless something newer happened. */
export async function abandonReplay(db: D1Database, id: string, gen: number, error: string): Promise<void> {
  await db
    .prepare(`UPDATE submissions SET state = 'failed', last_error = ?3, updated_at = ?4 WHERE id = ?1 AND gen = ?2 AND state = 'queued'`)
    .bind(id, gen, error, Date.now())
    .run()
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

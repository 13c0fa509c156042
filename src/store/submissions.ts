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
    /** The R2 key its payload is kept under (store/blobs.ts), when it holds one. */
    payloadKey?: string
    /** Why it was not queued (an ignored delivery's reason), shown as the row's last error. */
    reason?: string
    /** Keyed hash of every identifier of the payload: a row that holds a person's data is findable by each of them from the start. */
    keys?: string[]
  },
): Promise<void> {
  const at = Date.parse(row.receivedAt)
  const insert = db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, state, payload_key, last_error, key_hash, hash_v)
       VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?8 IS NULL THEN 1 ELSE 2 END) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(row.id, at, row.origin.source, row.origin.form, row.state, row.payloadKey ?? null, row.reason ?? null, row.keys?.[0] ?? null)
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
 * the intake's insert has not landed. The payload itself is in R2 (the row
 * names its key until it is written; the consumer deletes it then).
 * Nothing is written for a person erased since the message was received.
 */
export async function recordOutcome(
  db: D1Database,
  m: { id: string; receivedAt: string; origin: Origin; gen: number },
  keyHash: string | null,
  o: Outcome,
  { unlessWritten = false } = {},
): Promise<void> {
  const keys = [...new Set(o.keys ?? (keyHash ? [keyHash] : []))].slice(0, 80)
  // The payload stays while the lead may need a replay, and goes once it is written (a legacy row's D1 copy too).
  const written = o.state === 'written'
  const now = Date.now()
  const outcome = db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, key_hash, hash_v, state, attempts, crm_lead_id, action, last_error, payload_key, gen, crm_ids, person, consent_version, warnings, warned)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 2, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?16, ?17, ?18, ?19, json_array_length(?19) WHERE ${notErased(keys, 20)}
       ON CONFLICT (id) DO UPDATE SET updated_at = ?3, state = ?7, attempts = max(attempts, ?8),
         key_hash = coalesce(?6, key_hash), hash_v = CASE WHEN ?6 IS NULL THEN hash_v ELSE 2 END,
         crm_lead_id = coalesce(?9, crm_lead_id), crm_ids = coalesce(?16, crm_ids), action = coalesce(?10, action), last_error = ?11,
         person = coalesce(?17, person), consent_version = coalesce(?18, consent_version),
         warnings = CASE WHEN ?7 = 'written' THEN ?19 ELSE warnings END,
         warned = CASE WHEN ?7 = 'written' THEN json_array_length(?19) ELSE warned END,
         payload = CASE WHEN ?13 THEN NULL ELSE payload END, payload_key = CASE WHEN ?13 THEN NULL WHEN payload IS NOT NULL THEN payload_key ELSE coalesce(payload_key, ?12) END
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
      written ? null : payloadKey(m.id),
      written ? 1 : 0,
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
export async function replayable(env: Stores, id: string, now = Date.now()): Promise<{ ok: Replayable } | { row: Submission | null }> {
  const found = await env.DB.prepare(`SELECT ${COLUMNS}, payload FROM submissions WHERE id = ?1`).bind(id).first<Submission & { payload: string | null }>()
  if (!found) return { row: null }
  const { payload: legacy, ...row } = found
  const stuck = (row.state === 'queued' || row.state === 'retrying') && row.updated_at < now - STUCK_AFTER_MS
  if (row.state !== 'failed' && !stuck) return { row }
  const payload = (await getPayload(env.BUCKET, id)) ?? (legacy ? readPayload(legacy) : null)
  return payload ? { ok: { row, payload } } : { row }
}

/**
 * Starts the next generation of a replayable row, if no one else did since it
 * was read at `gen`: state `queued`, payload the re-mapped one (put in R2 first,
 * so the row's D1 copy, if it had one, goes only once R2 holds its successor).
 * Returns the new generation, or null when the row moved on meanwhile.
 */
export async function startReplay(env: Stores, id: string, gen: number, payload: Payload, now = Date.now()): Promise<number | null> {
  const key = await putPayload(env.BUCKET, id, JSON.stringify(payload))
  const row = await env.DB
    .prepare(
      `UPDATE submissions SET state = 'queued', gen = gen + 1, updated_at = ?3, last_error = NULL, payload = NULL, payload_key = ?4
       WHERE id = ?1 AND gen = ?2 AND (state = 'failed' OR (state IN ('queued', 'retrying') AND updated_at < ?5))
       RETURNING gen`,
    )
    .bind(id, gen, now, key, now - STUCK_AFTER_MS)
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
export async function movePayloadsToR2(env: Stores, batch = 200): Promise<number> {
  const { results } = await env.DB.prepare(`SELECT id, payload FROM submissions WHERE payload IS NOT NULL LIMIT ?1`).bind(batch).all<{ id: string; payload: string }>()
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

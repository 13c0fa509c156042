/**
 * A submission's states and the moves between them, in one place: the consumer
 * (outcomes, held), replay (operator routes), the resume of a held connection
 * and erasure move a row only through here, so a late outcome, a redelivery or
 * an erasure in flight can't put a row where it may not go.
 *
 *   queued → retrying → written | failed | held | ignored
 *   held → queued (the connection answers again: resumeHeld)
 *   failed (or stuck queued/retrying) → queued (a replay: startReplay)
 *   erased: terminal, the row is gone (erasure.ts deletes it; a tombstone keeps
 *     any later outcome of that person from writing a row again)
 *
 * Besides the table, `gen` orders a submission's lives (a replay bumps it; an
 * outcome of an older generation no longer changes the row).
 */
import type { Owner } from '../lead/draft'
import type { CrmRecordIds, Origin, Payload } from '../lead/message'
import { payloadKey, putPayload } from './blobs'
import { attemptStatement, keysStatement } from './journey'
import { isSchemaError } from './schema'

export const STATES = ['queued', 'retrying', 'written', 'failed', 'held', 'ignored', 'duplicate-delivery', 'spam'] as const
export type State = (typeof STATES)[number]

/**
 * The states a consumer's outcome may move a row from, per state it reports. Written is the
 * truth once the CRM has the record (a late success still says so), but never becomes anything
 * else; nothing becomes failed while held (the lead waits for its connection, not the operator).
 */
export const MAY_BECOME: Record<'retrying' | 'written' | 'failed' | 'held' | 'ignored', readonly State[]> = {
  retrying: ['queued', 'retrying'],
  written: ['queued', 'retrying', 'written', 'failed', 'held'],
  failed: ['queued', 'retrying', 'failed'],
  held: ['queued', 'retrying', 'held'],
  ignored: ['queued', 'retrying', 'ignored'],
}
export type OutcomeState = keyof typeof MAY_BECOME

/** Whether a row in `from` may take the consumer's outcome `to`. */
export const mayBecome = (from: State, to: OutcomeState): boolean => MAY_BECOME[to].includes(from)

/**
 * A submission may be replayed when it failed, or when it has sat in
 * `queued`/`retrying` for this long: longer than any retry delay (15 min)
 * twice over, so its message is gone (a platform dead letter that never
 * reached the log, a lost message).
 */
export const STUCK_AFTER_MS = 60 * 60_000

/**
 * Whether a replay may start now: a failed row, or one queued or retrying with no news for
 * STUCK_AFTER_MS (its message was lost). A held row waits for its connection, not for a replay.
 */
export const mayReplay = (row: { state: string; updated_at: number }, now = Date.now()): boolean =>
  row.state === 'failed' || ((row.state === 'queued' || row.state === 'retrying') && row.updated_at < now - STUCK_AFTER_MS)

/** The rows of an erased person are never written again: a late outcome of theirs finds a tombstone for one of its keys. */
const notErased = (keys: string[], first: number) =>
  keys.length
    ? `NOT EXISTS (SELECT 1 FROM tombstones WHERE hash IN (${keys.map((_, i) => `?${i + first}`).join(', ')}) AND erased_at >= ?2)`
    : 'true'

export interface Outcome {
  state: OutcomeState
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
  /** The connection a `held` row waits for (resumeHeld finds it by this). */
  connection?: string
  /** Who a record the write created belongs to (owner routing), and by which rule. */
  owner?: Owner
}

/**
 * The consumer's word on a message of generation `gen`; creates the row if
 * the intake's insert has not landed. The payload itself is in R2 (the row
 * names its key until it is written; the consumer deletes it then, and keeps
 * it there before a row waits without its message: failed, held).
 * Nothing is written for a person erased since the message was received, for
 * an older generation, or where the row's state may not become `o.state`
 * (MAY_BECOME). `unlessWritten` is kept for callers that say so; the table
 * already refuses to fail a written row.
 */
export async function recordOutcome(
  db: D1Database,
  m: { id: string; receivedAt: string; origin: Origin; gen: number; payload?: Payload },
  keyHash: string | null,
  o: Outcome,
  { unlessWritten = false, kept = false } = {},
): Promise<void> {
  const keys = [...new Set(o.keys ?? (keyHash ? [keyHash] : []))].slice(0, 80)
  // Where the payload is: gone once written; in R2 once the consumer `kept` it there (a lead that waits without its
  // message: failed, held); else as it was (the intake's D1 copy, or R2's for a lead too large for its message).
  const written = o.state === 'written'
  const mode = written ? 1 : kept ? 2 : 0
  const now = Date.now()
  const outcome = db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, key_hash, hash_v, state, attempts, crm_lead_id, action, last_error, payload_key, gen, crm_ids, person, consent_version, warnings, warned, connection, payload)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 2, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?16, ?17, ?18, ?19, json_array_length(?19), ?21, ?22 WHERE ${notErased(keys, 23)}
       ON CONFLICT (id) DO UPDATE SET updated_at = ?3, state = ?7, attempts = max(attempts, ?8),
         key_hash = coalesce(?6, key_hash), hash_v = CASE WHEN ?6 IS NULL THEN hash_v ELSE 2 END,
         crm_lead_id = coalesce(?9, crm_lead_id), crm_ids = coalesce(?16, crm_ids), action = coalesce(?10, action), last_error = ?11,
         person = coalesce(?17, person), consent_version = coalesce(?18, consent_version),
         warnings = CASE WHEN ?7 = 'written' THEN ?19 ELSE warnings END,
         warned = CASE WHEN ?7 = 'written' THEN json_array_length(?19) ELSE warned END,
         payload = CASE WHEN ?13 > 0 THEN NULL ELSE payload END,
         payload_key = CASE WHEN ?13 = 1 THEN NULL WHEN ?13 = 2 THEN ?12 ELSE payload_key END,
         connection = ?21
       WHERE submissions.gen <= ?14 AND (?15 = 0 OR submissions.state != 'written')
         AND submissions.state IN (SELECT value FROM json_each(?20))`,
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
      mode === 2 ? payloadKey(m.id) : null,
      mode,
      m.gen,
      unlessWritten ? 1 : 0,
      o.crmIds ? JSON.stringify(o.crmIds) : null,
      o.person ?? null,
      o.consentVersion ?? null,
      o.warnings?.length ? JSON.stringify(o.warnings) : null,
      JSON.stringify(MAY_BECOME[o.state]),
      o.state === 'held' ? (o.connection ?? null) : null,
      // A row the consumer makes (its intake's write not landed yet) keeps the lead for a replay as the intake's would.
      mode === 0 && m.payload ? JSON.stringify(m.payload) : null,
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

/**
 * Starts the next generation of a replayable row, if no one else did since it
 * was read at `gen`: state `queued`, payload the re-mapped one (put in R2 first,
 * so the row's D1 copy, if it had one, goes only once R2 holds its successor).
 * Returns the new generation, or null when the row moved on meanwhile.
 */
export async function startReplay(env: Pick<Env, 'DB' | 'BUCKET'>, id: string, gen: number, payload: Payload, now = Date.now()): Promise<number | null> {
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

/** A held row as its resume re-queues it: the message to send again, in the same generation (a resume is no replay). */
export interface Resumed {
  id: string
  received_at: number
  source: string
  form: string
  gen: number
  /** Failed attempts spent before it was held (holding spends none). */
  attempts: number
  payload: string | null
}

/**
 * held → queued for up to `limit` of `connection`'s held rows, oldest first. The generation stays:
 * the held message was acknowledged, so nothing else of it is in flight but a stray redelivery,
 * which the person's writer recognises by the submission id. Rows erased meanwhile are gone and
 * so not among them. The caller queues each, and gives back (unresume) one it could not.
 */
export async function resumeHeld(db: D1Database, connection: string, limit = 100, now = Date.now()): Promise<Resumed[]> {
  const { results } = await db
    .prepare(
      `UPDATE submissions SET state = 'queued', updated_at = ?3, last_error = NULL, connection = NULL
       WHERE id IN (SELECT id FROM submissions INDEXED BY submissions_held WHERE connection = ?1 AND state = 'held' ORDER BY received_at LIMIT ?2)
         AND state = 'held'
       RETURNING id, received_at, source, form, gen, attempts, payload`,
    )
    .bind(connection, limit, now)
    .all<Resumed>()
  return results
}

/** A resumed row whose message could not be queued waits, held again, for the next resume. */
export async function unresume(db: D1Database, id: string, gen: number, connection: string, reason: string): Promise<void> {
  await db
    .prepare(`UPDATE submissions SET state = 'held', connection = ?3, last_error = ?4, updated_at = ?5 WHERE id = ?1 AND gen = ?2 AND state = 'queued'`)
    .bind(id, gen, connection, reason, Date.now())
    .run()
}

/** The tables that keep a submission by its id beside the log itself: every identifier's hash, each attempt. */
const SIDE_TABLES = ['submission_keys', 'submission_attempts']

/**
 * erased, from any state: the rows go with everything kept by their id (erasure.ts runs these in
 * the batch that leaves its tombstones). Terminal: no row is left to move, and recordOutcome's
 * tombstone check keeps a late outcome from making one again.
 */
export function erasedStatements(db: D1Database, ids: string[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = []
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50)
    const list = chunk.map((_, n) => `?${n + 1}`).join(', ')
    statements.push(db.prepare(`DELETE FROM submissions WHERE id IN (${list})`).bind(...chunk))
    for (const t of SIDE_TABLES) statements.push(db.prepare(`DELETE FROM ${t} WHERE submission_id IN (${list})`).bind(...chunk))
  }
  return statements
}

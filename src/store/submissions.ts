/**
 * The submission log (D1): what happened to every accepted submission, for
 * the operator. Keys are stored hashed; the lead itself (`payload`) is kept
 * only until it is written, so a failed one can be replayed.
 */
import type { LeadMessage } from '../delivery/message'

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
  action: string | null
  last_error: string | null
}

type Origin = LeadMessage['origin']

/** A new row; an existing one (the consumer got there first) is left alone. */
export async function recordReceived(
  db: D1Database,
  row: { id: string; receivedAt: string; origin: Origin; keyHash: string | null; state: State; payload?: LeadMessage },
): Promise<void> {
  const at = Date.parse(row.receivedAt)
  await db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, key_hash, state, payload)
       VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(row.id, at, row.origin.source, row.origin.form, row.keyHash, row.state, row.payload ? JSON.stringify(row.payload) : null)
    .run()
}

export interface Outcome {
  state: State
  attempts: number
  crmLeadId?: string
  action?: string
  lastError?: string
}

/** The consumer's word on a message; creates the row if the intake's insert has not landed. */
export async function recordOutcome(db: D1Database, message: LeadMessage, keyHash: string | null, o: Outcome): Promise<void> {
  // The payload stays while the lead may need a replay, and goes once it is written.
  const payload = o.state === 'written' ? null : JSON.stringify(message)
  await db
    .prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, key_hash, state, attempts, crm_lead_id, action, last_error, payload)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
       ON CONFLICT (id) DO UPDATE SET updated_at = ?3, state = ?7, attempts = max(attempts, ?8),
         crm_lead_id = coalesce(?9, crm_lead_id), action = coalesce(?10, action), last_error = ?11, payload = ?12`,
    )
    .bind(
      message.id,
      Date.parse(message.receivedAt),
      Date.now(),
      message.origin.source,
      message.origin.form,
      keyHash,
      o.state,
      o.attempts,
      o.crmLeadId ?? null,
      o.action ?? null,
      o.lastError ?? null,
      payload,
    )
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
  const sql = `SELECT id, received_at, updated_at, source, form, key_hash, state, attempts, crm_lead_id, action, last_error
    FROM submissions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY received_at DESC LIMIT ?${args.push(Math.min(f.limit ?? 100, 500))}`
  const { results } = await db.prepare(sql).bind(...args).all<Submission>()
  return results
}

export async function getSubmission(db: D1Database, id: string): Promise<Submission | null> {
  return db
    .prepare(
      `SELECT id, received_at, updated_at, source, form, key_hash, state, attempts, crm_lead_id, action, last_error
       FROM submissions WHERE id = ?1`,
    )
    .bind(id)
    .first<Submission>()
}

/** The stored lead of a submission that was not written, for a replay. */
export async function replayable(db: D1Database, id: string): Promise<LeadMessage | null> {
  const row = await db.prepare(`SELECT payload FROM submissions WHERE id = ?1 AND state = 'failed'`).bind(id).first<{ payload: string | null }>()
  return row?.payload ? (JSON.parse(row.payload) as LeadMessage) : null
}

export async function countByState(db: D1Database): Promise<Record<string, number>> {
  const { results } = await db.prepare(`SELECT state, count(*) AS n FROM submissions GROUP BY state`).all<{ state: string; n: number }>()
  return Object.fromEntries(results.map((r) => [r.state, r.n]))
}

/** Retention: forget submissions (and the personal data in them) older than `days`. */
export async function purgeSubmissions(db: D1Database, days: number, now = Date.now()): Promise<number> {
  const result = await db.prepare(`DELETE FROM submissions WHERE received_at < ?1`).bind(now - days * 86_400_000).run()
  return result.meta.changes ?? 0
}

/**
 * What the operator console reads besides the submission row: every
 * identifier hash a submission brought (to find a person by any email or
 * phone) and each delivery attempt (its journey). Both are written in the same
 * D1 batch as the consumer's outcome (recordOutcome), only beside a row that
 * exists, and purged and erased with the row.
 */

export interface Attempt {
  submission_id: string
  gen: number
  /** The queue's delivery count, from 1; 0 when the queue gave up on the message (dead letter). */
  attempt: number
  at: number
  state: string
  status: number | null
  error: string | null
  action: string | null
  ms: number | null
}

export const attemptStatement = (
  db: D1Database,
  a: { id: string; gen: number; attempt: number; at: number; state: string; status?: number; error?: string; action?: string; ms?: number },
): D1PreparedStatement =>
  db
    .prepare(
      `INSERT INTO submission_attempts (submission_id, gen, attempt, at, state, status, error, action, ms)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM submissions WHERE id = ?1)
       ON CONFLICT (submission_id, gen, attempt) DO UPDATE SET at = ?4, state = ?5, status = ?6, error = ?7, action = ?8, ms = ?9`,
    )
    .bind(a.id, a.gen, a.attempt, a.at, a.state, a.status ?? null, a.error ?? null, a.action ?? null, a.ms ?? null)

/**
 * One statement for a submission's identifier hashes (a few: its emails, phones and source ids; D1 binds 100 values at most).
 * Like an attempt, written only beside a row that exists: an erased person's late outcome leaves nothing behind.
 */
export const keysStatement = (db: D1Database, id: string, receivedAt: number, hashes: string[]): D1PreparedStatement => {
  const unique = [...new Set(hashes)].slice(0, 90)
  const values = unique.map((_, i) => `(?1, ?${i + 3}, ?2)`).join(', ')
  return db
    .prepare(
      `INSERT OR IGNORE INTO submission_keys (submission_id, hash, received_at)
       SELECT column1, column2, column3 FROM (VALUES ${values}) WHERE EXISTS (SELECT 1 FROM submissions WHERE id = ?1)`,
    )
    .bind(id, receivedAt, ...unique)
}

/** Deletes what belongs to submissions received before `before` (run before the submissions themselves go). */
export const purgeJourneyStatements = (db: D1Database, before: number): D1PreparedStatement[] => [
  db.prepare(`DELETE FROM submission_keys WHERE submission_id IN (SELECT id FROM submissions WHERE received_at < ?1)`).bind(before),
  db.prepare(`DELETE FROM submission_attempts WHERE submission_id IN (SELECT id FROM submissions WHERE received_at < ?1)`).bind(before),
]

/** A submission's attempts, every generation, in order. */
export async function attemptsOf(db: D1Database, id: string): Promise<Attempt[]> {
  const { results } = await db
    .prepare(`SELECT submission_id, gen, attempt, at, state, status, error, action, ms FROM submission_attempts WHERE submission_id = ?1 ORDER BY gen, at`)
    .bind(id)
    .all<Attempt>()
  return results
}

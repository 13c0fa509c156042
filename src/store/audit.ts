/**
 * The audit log: what an operator did (replay one, replay all failed, erase or export a person), when,
 * how (the console in a browser, or the API with the Bearer token) and to
 * which submissions. No personal data: ids and counts. Kept as long as the
 * submission log (SUBMISSION_RETENTION_DAYS).
 */

export interface AuditRow {
  id: number
  at: number
  /** Always "operator": one shared OPERATOR_TOKEN, so no one more precise can be named. */
  who: string
  /** `webhook`: a platform's deletion request (LinkedIn's DELETED lead), carried out as the operator's erasure. */
  via: 'console' | 'api' | 'webhook'
  action: 'replay' | 'replay-failed' | 'erasure' | 'export'
  submission_id: string | null
  detail: string | null
}

export type AuditEntry = Pick<AuditRow, 'via' | 'action'> & { submission?: string; detail?: string }

export async function recordAudit(db: D1Database, e: AuditEntry, now = Date.now()): Promise<void> {
  await db
    .prepare(`INSERT INTO audit (at, who, via, action, submission_id, detail) VALUES (?1, 'operator', ?2, ?3, ?4, ?5)`)
    .bind(now, e.via, e.action, e.submission ?? null, e.detail ?? null)
    .run()
}

const COLUMNS = 'id, at, who, via, action, submission_id, detail'

export async function recentAudit(db: D1Database, limit = 10): Promise<AuditRow[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY at DESC, id DESC LIMIT ?1`).bind(limit).all<AuditRow>()
  return results
}

/** What was done to one submission, oldest first. */
export async function auditOf(db: D1Database, id: string): Promise<AuditRow[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM audit WHERE submission_id = ?1 ORDER BY at, id`).bind(id).all<AuditRow>()
  return results
}

export const purgeAuditStatement = (db: D1Database, before: number): D1PreparedStatement => db.prepare(`DELETE FROM audit WHERE at < ?1`).bind(before)

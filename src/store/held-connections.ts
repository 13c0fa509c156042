/**
 * The connections held now (a 401, or a 403 that is not a rate limit), and
 * why: written by the connection's CrmGate on each transition, read by
 * `/healthz?ready`, the console and `/operator/connection`. The gate's own
 * storage decides; this is what everyone else reads. No personal data.
 */
import { isSchemaError } from './schema'

export interface HeldConnection {
  connection: string
  /** Status and the fix (delivery/held.ts heldReason); never a response body or a secret. */
  reason: string
  since: number
  probed_at: number | null
}

export async function markHeld(db: D1Database, connection: string, reason: string, since: number): Promise<void> {
  await db
    .prepare(`INSERT INTO held_connections (connection, reason, since) VALUES (?1, ?2, ?3) ON CONFLICT (connection) DO UPDATE SET reason = ?2`)
    .bind(connection, reason, since)
    .run()
}

export async function markProbed(db: D1Database, connection: string, at: number): Promise<void> {
  await db.prepare(`UPDATE held_connections SET probed_at = ?2 WHERE connection = ?1`).bind(connection, at).run()
}

export async function clearHeld(db: D1Database, connection: string): Promise<void> {
  await db.prepare(`DELETE FROM held_connections WHERE connection = ?1`).bind(connection).run()
}

/** The held connections, with how many submissions each holds; none before migration 0010 (readiness names the migration). */
export async function heldConnections(db: D1Database): Promise<(HeldConnection & { submissions: number })[]> {
  try {
    const { results } = await db
      .prepare(
        `SELECT h.connection, h.reason, h.since, h.probed_at,
           (SELECT count(*) FROM submissions s INDEXED BY submissions_held WHERE s.connection = h.connection AND s.state = 'held') AS submissions
         FROM held_connections h ORDER BY h.since`,
      )
      .all<HeldConnection & { submissions: number }>()
    return results
  } catch (error) {
    if (isSchemaError(error)) return []
    throw error
  }
}

/** Held submissions per source, of any age (few: the partial index of held rows leads to them). */
export async function heldBySource(db: D1Database): Promise<{ source: string; n: number }[]> {
  try {
    const { results } = await db
      .prepare(`SELECT source, count(*) AS n FROM submissions INDEXED BY submissions_held WHERE state = 'held' GROUP BY source`)
      .all<{ source: string; n: number }>()
    return results
  } catch (error) {
    if (isSchemaError(error)) return []
    throw error
  }
}

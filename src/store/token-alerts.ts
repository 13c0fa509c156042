/**
 * Ad platforms' refused tokens, per endpoint (D1 `token_alerts`, migration 0012): the console's
 * "At a glance" shows each (source, since when, the fix) until a read succeeds again. A refused
 * token holds every lead of its source, so it is one alert for the source, not a failure per person.
 */

export interface TokenAlert {
  source: string
  /** Epoch ms of the first refusal since the last read that worked. */
  since: number
  /** What was refused and the fix (no token, no personal data). */
  reason: string
}

/** Raised (or its reason updated), keeping when it began. */
export async function raiseTokenAlert(db: D1Database, source: string, reason: string, now = Date.now()): Promise<void> {
  await db
    .prepare(`INSERT INTO token_alerts (source, since, reason) VALUES (?1, ?2, ?3) ON CONFLICT (source) DO UPDATE SET reason = ?3`)
    .bind(source, now, reason)
    .run()
}

/** A read worked: the source's token is fine again. */
export async function clearTokenAlert(db: D1Database, source: string): Promise<void> {
  await db.prepare(`DELETE FROM token_alerts WHERE source = ?1`).bind(source).run()
}

/** The statement the overview reads them with (one row per source with a refused token: a handful at most). */
export const tokenAlertsQuery = (db: D1Database): D1PreparedStatement => db.prepare(`SELECT source, since, reason FROM token_alerts ORDER BY since`)

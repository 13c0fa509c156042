/**
 * Provider event ids already accepted (D1 `delivery_ids`), so a redelivery
 * is acknowledged without a second write. A row is first a *claim* (no
 * submission id: a delivery of this event is being queued right now) and
 * becomes *done* once the lead is queued. A claim whose queueing failed is
 * deleted; one that was never finished (the Worker died in between) expires
 * after CLAIM_TTL_MS, so the provider's retry is never mistaken for a duplicate.
 */

/** Kept 30 days: beyond Stripe's 3 days of retries and Typeform's 10 hours, and manual resends from Stripe's dashboard. */
export const DELIVERY_ID_RETENTION_MS = 30 * 86_400_000
/** An unfinished claim older than this is taken over by the next delivery of the event. */
export const CLAIM_TTL_MS = 60_000

export type Claim = { state: 'claimed' } | { state: 'done'; submission: string } | { state: 'in-flight' }

export async function claimDelivery(db: D1Database, provider: string, eventId: string, now = Date.now()): Promise<Claim> {
  const result = await db
    .prepare(
      `INSERT INTO delivery_ids (provider, event_id, received_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (provider, event_id) DO UPDATE SET received_at = ?3
       WHERE submission_id IS NULL AND received_at < ?4`,
    )
    .bind(provider, eventId, now, now - CLAIM_TTL_MS)
    .run()
  if (result.meta.changes === 1) return { state: 'claimed' }
  const row = await db
    .prepare(`SELECT submission_id FROM delivery_ids WHERE provider = ?1 AND event_id = ?2`)
    .bind(provider, eventId)
    .first<{ submission_id: string | null }>()
  // No submission yet (or the row went away in between): not known to be queued, so not a duplicate.
  return row?.submission_id ? { state: 'done', submission: row.submission_id } : { state: 'in-flight' }
}

/** The lead is queued: from now on a redelivery is a duplicate. */
export async function finishDelivery(db: D1Database, provider: string, eventId: string, submission: string): Promise<void> {
  await db
    .prepare(`UPDATE delivery_ids SET submission_id = ?3 WHERE provider = ?1 AND event_id = ?2`)
    .bind(provider, eventId, submission)
    .run()
}

/** Queueing failed: forget the claim so the provider's retry is accepted. */
export async function releaseDelivery(db: D1Database, provider: string, eventId: string): Promise<void> {
  await db
    .prepare(`DELETE FROM delivery_ids WHERE provider = ?1 AND event_id = ?2 AND submission_id IS NULL`)
    .bind(provider, eventId)
    .run()
}

export async function purgeDeliveryIds(db: D1Database, now = Date.now()): Promise<number> {
  const result = await db.prepare(`DELETE FROM delivery_ids WHERE received_at < ?1`).bind(now - DELIVERY_ID_RETENTION_MS).run()
  return result.meta.changes ?? 0
}

/** The submission a provider's event was queued as, if it was (and is still remembered: DELIVERY_ID_RETENTION_MS). */
export async function submissionOf(db: D1Database, provider: string, eventId: string): Promise<string | undefined> {
  const row = await db
    .prepare(`SELECT submission_id FROM delivery_ids WHERE provider = ?1 AND event_id = ?2 AND submission_id IS NOT NULL`)
    .bind(provider, eventId)
    .first<{ submission_id: string }>()
  return row?.submission_id
}

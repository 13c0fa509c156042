/**
 * The notifications outbox (D1, migration 0011): one row per message and channel, so a channel
 * is told of a submission's event at most once, whatever the queue redelivers or a replay
 * writes again. A claim is a lease: a consumer that dies mid-send leaves a row another may
 * take after the lease. The rows keep states and reasons only, never what was sent.
 */

/** Longer than a send's timeout: a live sender is not overtaken. */
export const LEASE_MS = 60_000

export type Claim = 'claimed' | 'done' | 'busy'

/** Takes the (key, channel) row for sending, if it is new or waits for a retry (or its sender's lease ran out). */
export async function claim(db: D1Database, key: string, channel: string, now = Date.now()): Promise<Claim> {
  const taken = await db
    .prepare(
      `INSERT INTO notifications (key, channel, state, attempts, lease_until, updated_at) VALUES (?1, ?2, 'sending', 0, ?3, ?4)
       ON CONFLICT (key, channel) DO UPDATE SET state = 'sending', lease_until = ?3, updated_at = ?4
         WHERE notifications.state = 'retry' OR (notifications.state = 'sending' AND notifications.lease_until < ?4)
       RETURNING state`,
    )
    .bind(key, channel, now + LEASE_MS, now)
    .first<{ state: string }>()
  if (taken) return 'claimed'
  const row = await db.prepare(`SELECT state FROM notifications WHERE key = ?1 AND channel = ?2`).bind(key, channel).first<{ state: string }>()
  return row?.state === 'sending' ? 'busy' : 'done'
}

/** The send's outcome: `sent`, `retry` (another attempt will come) or `failed` (given up). */
export async function settle(db: D1Database, key: string, channel: string, state: 'sent' | 'retry' | 'failed', error?: string, now = Date.now()): Promise<void> {
  await db
    .prepare(`UPDATE notifications SET state = ?3, attempts = attempts + 1, last_error = ?4, lease_until = 0, updated_at = ?5 WHERE key = ?1 AND channel = ?2`)
    .bind(key, channel, state, error ?? null, now)
    .run()
}

export interface ChannelHealth {
  channel: string
  /** Messages to it in the last 24 hours, per state. */
  sent: number
  retrying: number
  failed: number
  /** Its newest message did not get through: it is failing now. */
  failing: boolean
  /** Why the newest failing message did not get through (a status, a missing secret). */
  lastError: string | null
  lastAt: number | null
}

/** Each channel's last 24 hours; a channel whose newest message did not get through is `failing`. */
export async function channelHealth(db: D1Database, now = Date.now()): Promise<ChannelHealth[]> {
  const { results } = await db
    .prepare(
      `SELECT channel,
         sum(state = 'sent') AS sent, sum(state IN ('retry', 'sending')) AS retrying, sum(state = 'failed') AS failed,
         (SELECT n.state FROM notifications n WHERE n.channel = t.channel AND n.state != 'sending' ORDER BY n.updated_at DESC LIMIT 1) AS newest,
         (SELECT n.last_error FROM notifications n WHERE n.channel = t.channel AND n.last_error IS NOT NULL ORDER BY n.updated_at DESC LIMIT 1) AS last_error,
         max(updated_at) AS last_at
       FROM notifications t INDEXED BY notifications_updated WHERE updated_at >= ?1 GROUP BY channel ORDER BY channel`,
    )
    .bind(now - 86_400_000)
    .all<{ channel: string; sent: number; retrying: number; failed: number; newest: string | null; last_error: string | null; last_at: number | null }>()
  return results.map((r) => ({
    channel: r.channel,
    sent: r.sent ?? 0,
    retrying: r.retrying ?? 0,
    failed: r.failed ?? 0,
    failing: r.newest === 'retry' || r.newest === 'failed',
    lastError: r.newest === 'retry' || r.newest === 'failed' ? r.last_error : null,
    lastAt: r.last_at,
  }))
}

/** Retention, with the submission log's: outbox rows older than `days`. */
export async function purgeNotifications(db: D1Database, days: number, now = Date.now()): Promise<number> {
  const r = await db.prepare(`DELETE FROM notifications WHERE updated_at < ?1`).bind(now - days * 86_400_000).run()
  return r.meta.changes ?? 0
}

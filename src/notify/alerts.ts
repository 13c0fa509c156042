/**
 * Alerts to the operator (`ALERTS = ["ops", …]`): a condition that fires is told once, again at
 * most once an hour while it lasts, and a "resolved" message is sent when it clears. The state
 * lives in D1 (`alerts`, migration 0011); each telling is claimed there by a conditional write,
 * so two cron runs (or a cron run and a caller) never tell the same thing twice. The cron
 * (index.ts, every 5 minutes) evaluates the conditions the log shows; other code (a connection
 * found refusing our credentials) calls `alert` and `resolve` itself. Alerts say counts, names
 * and the fix, never a person's data.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { ConfigError } from '../config'
import { log } from '../log'
import { STUCK_AFTER_MS } from '../store/submissions'
import { loadAlertChannels } from './channels'
import { enqueueNotification } from './enqueue'

export const HOUR_MS = 60 * 60_000
/** The window the cron looks back over. */
export const WINDOW_MS = 15 * 60_000

/** The conditions the cron evaluates (and resolves); a caller may alert others under its own names. */
export const CRON_CONDITIONS = ['failures', 'dead-letters', 'stuck', 'secret-missing'] as const

/** ALERT_FAILURES: failed submissions within 15 minutes that make an alert. */
export function failureThreshold(env: object): number {
  const raw = (env as Record<string, unknown>).ALERT_FAILURES
  const parsed = z.coerce.number().int().positive().default(10).safeParse(raw === '' || raw === undefined ? undefined : raw)
  if (!parsed.success) throw new ConfigError('vars.ALERT_FAILURES: must be a whole number of failed submissions above 0', 'ALERTS', ['[vars] in wrangler.toml'])
  return parsed.data
}

/**
 * Fires `condition`: told now unless it was told within the hour. Returns whether it was told.
 * `title`: one line; `detail`: what to do. `now`: the cron's scheduled time.
 */
export async function alert(env: Env, condition: string, title: string, detail: string, now = Date.now()): Promise<boolean> {
  const told = await env.DB.prepare(
    `INSERT INTO alerts (condition, state, since, told_at, detail) VALUES (?1, 'firing', ?2, ?2, ?3)
     ON CONFLICT (condition) DO UPDATE SET
       since = CASE WHEN alerts.state = 'firing' THEN alerts.since ELSE ?2 END, state = 'firing', told_at = ?2, detail = ?3
     WHERE alerts.told_at <= ?2 - ${HOUR_MS}
     RETURNING since`,
  )
    .bind(condition, now, detail)
    .first<{ since: number }>()
  if (!told) return false
  const again = told.since < now
  await tell(env, { condition, state: 'firing', title: again ? `Still: ${title}` : title, detail, at: now, key: `${condition}:firing:${now}` })
  return true
}

/** Clears `condition`: a "resolved" message when it was firing (and told). Returns whether it was. */
export async function resolve(env: Env, condition: string, title: string, now = Date.now()): Promise<boolean> {
  const cleared = await env.DB.prepare(`UPDATE alerts SET state = 'resolved', detail = NULL WHERE condition = ?1 AND state = 'firing' RETURNING since`)
    .bind(condition)
    .first<{ since: number }>()
  if (!cleared) return false
  const minutes = Math.max(1, Math.round((now - cleared.since) / 60_000))
  await tell(env, { condition, state: 'resolved', title: `Resolved: ${title}`, detail: `It lasted about ${minutes} minute${minutes === 1 ? '' : 's'}.`, at: now, key: `${condition}:resolved:${now}` })
  return true
}

async function tell(env: Env, a: { condition: string; state: 'firing' | 'resolved'; title: string; detail: string; at: number; key: string }) {
  const channels = loadAlertChannels(env)
  log(a.state === 'firing' ? 'error' : 'info', a.state === 'firing' ? 'alert' : 'alert resolved', { condition: a.condition, channels: channels.length })
  if (!channels.length) return
  await enqueueNotification(env, { type: 'alert', condition: a.condition, state: a.state, title: a.title, detail: a.detail, at: new Date(a.at).toISOString(), key: a.key, channels })
}

/** Something the cron can't read from the log, noted when it happens: a delivery refused because `subject` (a secret's name) is not set. */
export async function recordSignal(db: D1Database, signal: 'secret-missing', subject: string, now = Date.now()): Promise<void> {
  await db.prepare(`INSERT INTO alert_signals (signal, subject, at) VALUES (?1, ?2, ?3)`).bind(signal, subject, now).run()
}

interface Finding {
  condition: (typeof CRON_CONDITIONS)[number]
  title: string
  /** Undefined: the condition holds no more. */
  detail?: string
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** What the log says of each cron condition at `now`. */
async function findings(env: Env, now: number): Promise<Finding[]> {
  const since = now - WINDOW_MS
  const threshold = failureThreshold(env)
  const [failed, dead, stuck, secrets] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(`SELECT count(*) AS n FROM submissions WHERE state = 'failed' AND updated_at >= ?1 AND updated_at <= ?2`).bind(since, now),
    env.DB.prepare(`SELECT count(DISTINCT submission_id) AS n FROM submission_attempts WHERE at >= ?1 AND at <= ?2 AND attempt = 0 AND state = 'failed'`).bind(since, now),
    env.DB.prepare(`SELECT count(*) AS n FROM submissions WHERE state IN ('queued', 'retrying') AND updated_at < ?1`).bind(now - STUCK_AFTER_MS),
    env.DB.prepare(`SELECT DISTINCT subject FROM alert_signals WHERE signal = 'secret-missing' AND at >= ?1 AND at <= ?2 ORDER BY subject LIMIT 10`).bind(since, now),
  ])
  const n = (r: D1Result<Record<string, unknown>> | undefined) => Number(r?.results[0]?.n ?? 0)
  const missing = (secrets?.results ?? []).map((r) => String(r.subject))
  return [
    {
      condition: 'failures',
      title: 'Submissions are failing',
      ...(n(failed) >= threshold
        ? { detail: `${plural(n(failed), 'submission')} failed in the last 15 minutes (the alert threshold, ALERT_FAILURES, is ${threshold}). The console's failed list says why; fix it, then replay them.` }
        : {}),
    },
    {
      condition: 'dead-letters',
      title: 'The queue gave up on submissions',
      ...(n(dead) ? { detail: `${plural(n(dead), 'submission')} reached the dead-letter queue in the last 15 minutes: every delivery of each threw (D1 or the CRM down). They are marked failed: replay them once it is fixed.` } : {}),
    },
    {
      condition: 'stuck',
      title: 'Submissions are stuck',
      ...(n(stuck) ? { detail: `${plural(n(stuck), 'submission has', 'submissions have')} had no news for over an hour (their message was lost). "Replay all failed" in the console takes them too.` } : {}),
    },
    {
      condition: 'secret-missing',
      title: 'Deliveries arrive for a source whose secret is not set',
      ...(missing.length ? { detail: `Refused (503) in the last 15 minutes for want of ${missing.join(', ')}. Set it with npx wrangler secret put ${missing[0]}; the senders retry.` } : {}),
    },
  ]
}

/** The cron's run: every condition fired or resolved as the log shows it at `now`. */
export async function evaluateAlerts(env: Env, now = Date.now()): Promise<{ fired: string[]; resolved: string[] }> {
  const fired: string[] = []
  const resolved: string[] = []
  for (const f of await findings(env, now)) {
    if (f.detail) {
      if (await alert(env, f.condition, f.title, f.detail, now)) fired.push(f.condition)
    } else if (await resolve(env, f.condition, f.title, now)) {
      resolved.push(f.condition)
    }
  }
  // The signals are read over 15 minutes only.
  await env.DB.prepare(`DELETE FROM alert_signals WHERE at < ?1`).bind(now - HOUR_MS).run()
  return { fired, resolved }
}

/** The alerts as the console shows them: those firing now. */
export async function firingAlerts(db: D1Database): Promise<{ condition: string; since: number; detail: string | null }[]> {
  const { results } = await db.prepare(`SELECT condition, since, detail FROM alerts WHERE state = 'firing' ORDER BY since`).all<{ condition: string; since: number; detail: string | null }>()
  return results
}

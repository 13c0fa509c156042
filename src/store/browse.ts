/**
 * The operator's reads of the submission log, sized for a million rows:
 * lists newest first, keyset-paginated on (received_at, id), each served by an
 * index (migration 0006; test/console-scale.test.ts checks the plans), a
 * person's submissions through their identifier hashes, and the overview's
 * numbers from the covering index on received_at.
 */
import type { State, Submission } from './submissions'

/** Where the previous page ended: the last row's (received_at, id). */
export interface Cursor {
  at: number
  id: string
}

export const encodeCursor = (c: Cursor): string => `${c.at}.${c.id}`

/** A cursor from its text, or undefined when it is not one. */
export function decodeCursor(text: string): Cursor | undefined {
  const dot = text.indexOf('.')
  const at = Number(text.slice(0, dot))
  const id = text.slice(dot + 1)
  return dot > 0 && Number.isSafeInteger(at) && at >= 0 && id.length > 0 && id.length <= 128 ? { at, id } : undefined
}

export interface PageFilters {
  state?: State
  source?: string
  /** A form id; only with `source` (form ids are per source). */
  form?: string
  since?: number
  until?: number
  /** A keyed identifier hash: that person's submissions only. */
  person?: string
  cursor?: Cursor
  limit?: number
}

export interface Page {
  submissions: Submission[]
  /** The cursor of the next (older) page, when there is one. */
  next?: string
}

const COLUMNS = ['id', 'received_at', 'updated_at', 'source', 'form', 'key_hash', 'state', 'attempts', 'crm_lead_id', 'crm_ids', 'action', 'last_error', 'gen']

/** States that are few (so their index is the narrowest way in), even in a log of written leads. */
const RARE: readonly string[] = ['queued', 'retrying', 'failed', 'held']

/**
 * The index a list reads: the narrowest one whose equality columns the filters
 * set, followed by (received_at, id) so the order comes from it too. Named
 * (INDEXED BY) because without ANALYZE statistics SQLite may pick a wider one.
 */
export function indexFor(f: Pick<PageFilters, 'state' | 'source' | 'form'>): string {
  if (f.state && (RARE.includes(f.state) || !f.source)) return 'submissions_state_received_id'
  if (f.source && f.form !== undefined) return 'submissions_source_form_received_id'
  if (f.source) return 'submissions_source_received_id'
  return 'submissions_received_id'
}

/** The SQL and arguments of one page (exported for the query-plan test). */
export function pageQuery(f: PageFilters): { sql: string; args: unknown[] } {
  const args: unknown[] = []
  const arg = (value: unknown) => `?${args.push(value)}`
  const limit = Math.min(f.limit ?? 50, 500)
  if (f.person) {
    // Through the person's identifier hashes: (hash, received_at, submission_id) gives the order.
    const where = [`k.hash = ${arg(f.person)}`]
    if (f.state) where.push(`s.state = ${arg(f.state)}`)
    if (f.source) where.push(`s.source = ${arg(f.source)}`)
    if (f.form !== undefined) where.push(`s.form = ${arg(f.form)}`)
    if (f.since !== undefined) where.push(`k.received_at >= ${arg(f.since)}`)
    if (f.until !== undefined) where.push(`k.received_at < ${arg(f.until)}`)
    if (f.cursor) where.push(`(k.received_at, k.submission_id) < (${arg(f.cursor.at)}, ${arg(f.cursor.id)})`)
    return {
      sql: `SELECT ${COLUMNS.map((c) => `s.${c}`).join(', ')} FROM submission_keys AS k INDEXED BY submission_keys_hash
        JOIN submissions AS s ON s.id = k.submission_id
        WHERE ${where.join(' AND ')} ORDER BY k.received_at DESC, k.submission_id DESC LIMIT ${arg(limit + 1)}`,
      args,
    }
  }
  const where: string[] = []
  if (f.state) where.push(`state = ${arg(f.state)}`)
  if (f.source) where.push(`source = ${arg(f.source)}`)
  if (f.form !== undefined) where.push(`form = ${arg(f.form)}`)
  if (f.since !== undefined) where.push(`received_at >= ${arg(f.since)}`)
  if (f.until !== undefined) where.push(`received_at < ${arg(f.until)}`)
  if (f.cursor) where.push(`(received_at, id) < (${arg(f.cursor.at)}, ${arg(f.cursor.id)})`)
  return {
    sql: `SELECT ${COLUMNS.join(', ')} FROM submissions INDEXED BY ${indexFor(f)}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, id DESC LIMIT ${arg(limit + 1)}`,
    args,
  }
}

/** One page of the log, newest first, and the cursor of the next. */
export async function pageSubmissions(db: D1Database, f: PageFilters): Promise<Page> {
  const { sql, args } = pageQuery(f)
  const { results } = await db.prepare(sql).bind(...args).all<Submission>()
  const limit = Math.min(f.limit ?? 50, 500)
  if (results.length <= limit) return { submissions: results }
  const shown = results.slice(0, limit)
  const last = shown.at(-1)!
  return { submissions: shown, next: encodeCursor({ at: last.received_at, id: last.id }) }
}

// --- the overview ---

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS

/** The chart's first hour: midnight UTC six days ago, so its seven columns are whole UTC days, today's the last. */
export const chartStart = (now: number): number => Math.floor(now / DAY_MS) * DAY_MS - 6 * DAY_MS

export interface Overview {
  /** Epoch ms the numbers were read at. */
  at: number
  /** Submissions per hour and state since chartStart (hours with none are absent). */
  hours: { hour: number; state: string; n: number }[]
  /** Over the last 24 hours, per source and state. */
  day: { source: string; state: string; n: number }[]
  /** Receipt to CRM (updated_at - received_at of written rows) over the last 24 hours, per source and for all ("*"). */
  timing: { source: string; n: number; median: number; p95: number }[]
  /** Over the last 24 hours, per source: submissions written with warnings (a field refused or dropped, an event not taken). */
  warned: { source: string; n: number }[]
  /** Submissions waiting now (queued, retrying), for the operator (failed) or for their connection (held), of any age. */
  open: Record<'queued' | 'retrying' | 'failed' | 'held', number>
  /** Queued or retrying with no news for an hour: their message was lost; replay them. */
  stuck: number
}

/** The overview's statements (exported for the query-plan test); all read indexes only but `stuck`'s. */
export function overviewQueries(db: D1Database, now: number, stuckBefore: number) {
  const weekStart = chartStart(now)
  const dayStart = now - DAY_MS
  // Nearest-rank percentiles: the median is the ceil(n/2)-th, p95 the ceil(0.95 n)-th shortest time.
  const ranked = (partition: string) => `SELECT ${partition} AS source, n,
      max(CASE WHEN rn = (n + 1) / 2 THEN d END) AS median, max(CASE WHEN rn = (95 * n + 99) / 100 THEN d END) AS p95
    FROM (SELECT source, updated_at - received_at AS d, count(*) OVER w AS n, row_number() OVER (w ORDER BY updated_at - received_at) AS rn
      FROM submissions INDEXED BY submissions_received_id WHERE received_at >= ?1 AND state = 'written'
      WINDOW w AS (PARTITION BY ${partition === 'source' ? 'source' : "'*'"}))
    GROUP BY ${partition === 'source' ? 'source' : '1'}`
  return {
    hours: db
      .prepare(`SELECT received_at / ${HOUR_MS} * ${HOUR_MS} AS hour, state, count(*) AS n FROM submissions INDEXED BY submissions_received_id
        WHERE received_at >= ?1 GROUP BY received_at / ${HOUR_MS}, state`)
      .bind(weekStart),
    day: db
      .prepare(`SELECT source, state, count(*) AS n FROM submissions INDEXED BY submissions_received_id WHERE received_at >= ?1 GROUP BY source, state`)
      .bind(dayStart),
    timing: db.prepare(`${ranked('source')} UNION ALL ${ranked("'*'")}`).bind(dayStart),
    warned: db
      .prepare(`SELECT source, count(*) AS n FROM submissions INDEXED BY submissions_warned WHERE received_at >= ?1 AND warned IS NOT NULL GROUP BY source`)
      .bind(dayStart),
    open: db.prepare(`SELECT state, count(*) AS n FROM submissions INDEXED BY submissions_state_received_id WHERE state IN ('queued', 'retrying', 'failed', 'held') GROUP BY state`),
    stuck: db
      .prepare(`SELECT count(*) AS n FROM submissions INDEXED BY submissions_state_received_id WHERE state IN ('queued', 'retrying') AND updated_at < ?1`)
      .bind(stuckBefore),
  }
}

/** Everything the overview shows, in one round trip to D1. */
export async function overview(db: D1Database, stuckAfterMs: number, now = Date.now()): Promise<Overview> {
  const q = overviewQueries(db, now, now - stuckAfterMs)
  const [hours, day, timing, open, stuck, warned] = await db.batch<Record<string, unknown>>([q.hours, q.day, q.timing, q.open, q.stuck, q.warned])
  const counts = Object.fromEntries((open!.results as { state: string; n: number }[]).map((r) => [r.state, r.n]))
  return {
    at: now,
    hours: hours!.results as Overview['hours'],
    day: day!.results as Overview['day'],
    timing: timing!.results as Overview['timing'],
    warned: warned!.results as Overview['warned'],
    open: { queued: counts.queued ?? 0, retrying: counts.retrying ?? 0, failed: counts.failed ?? 0, held: counts.held ?? 0 },
    stuck: ((stuck!.results[0] as { n: number } | undefined)?.n ?? 0),
  }
}

/**
 * The operator's reads of the submission log, sized for a million rows:
 * lists newest first, keyset-paginated on (received_at, id), each served by an
 * index (migration 0006; test/console-scale.test.ts checks the plans), a
 * person's submissions through their identifier hashes, and the overview's
 * numbers from the covering index on received_at.
 */
import type { State, Submission } from './submissions'
import { type TokenAlert, tokenAlertsQuery } from './token-alerts'

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
  /** Over the last 24 hours (from the start of the hour they begin in), per source and state. */
  day: { source: string; state: string; n: number }[]
  /** Receipt to CRM (updated_at - received_at of written rows) over the last 24 hours, per source and for all ("*"). */
  timing: { source: string; n: number; median: number; p95: number }[]
  /** Over the last 24 hours, per source: submissions written with warnings (a field refused or dropped, an event not taken). */
  warned: { source: string; n: number }[]
  /** Submissions waiting now (queued, retrying), for the operator (failed) or for their connection (held), of any age. */
  open: Record<'queued' | 'retrying' | 'failed' | 'held', number>
  /** Queued or retrying with no news for an hour: their message was lost; replay them. Counted up to STUCK_CAP. */
  stuck: number
  /** Ad platforms' sources whose token is refused now: their leads are held (store/token-alerts.ts). */
  tokens: TokenAlert[]
}

/**
 * Upper bounds (ms) of the receipt → CRM buckets in submission_timing: the same list as migration
 * 0015_overview_rollup's triggers (a written row's bucket is the first bound above its time; past the
 * last, the open bucket after it).
 */
export const TIMING_EDGES = [250, 500, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 300000, 600000, 1800000, 3600000, 7200000, 21600000, 86400000]
/** Up to this many submissions in the day, the median and p95 are ranked exactly from the log; above, read from the buckets. */
export const EXACT_TIMING_ROWS = 5000
/** "Stuck" is counted up to this many: past it the number means "at least". */
export const STUCK_CAP = 1000

/** The day the overview covers: the last 24 hours, from the start of the hour they begin in (the rollup counts whole hours). */
export const dayStart = (now: number): number => Math.floor((now - DAY_MS) / HOUR_MS) * HOUR_MS

/**
 * The overview's statements (exported for the query-plan test). All but `stuck` read the rollup that
 * migration 0015's triggers keep (per hour, source and state), never the log, so a refresh reads a few
 * thousand rows however long the log is; `stuck` reads the log's index, capped at STUCK_CAP rows.
 */
export function overviewQueries(db: D1Database, now: number, stuckBefore: number) {
  const weekStart = chartStart(now)
  const day = dayStart(now)
  return {
    hours: db
      .prepare(`SELECT hour, state, sum(n) AS n FROM submission_hours WHERE hour >= ?1 GROUP BY hour, state HAVING sum(n) > 0`)
      .bind(weekStart),
    day: db.prepare(`SELECT source, state, sum(n) AS n FROM submission_hours WHERE hour >= ?1 GROUP BY source, state HAVING sum(n) > 0`).bind(day),
    buckets: db
      .prepare(`SELECT source, bucket, sum(n) AS n FROM submission_timing WHERE hour >= ?1 GROUP BY source, bucket HAVING sum(n) > 0`)
      .bind(day),
    warned: db.prepare(`SELECT source, sum(warned) AS n FROM submission_hours WHERE hour >= ?1 GROUP BY source HAVING sum(warned) > 0`).bind(day),
    open: db.prepare(`SELECT state, n FROM submission_states WHERE state IN ('queued', 'retrying', 'failed', 'held')`),
    stuck: db
      .prepare(
        `SELECT count(*) AS n FROM (SELECT 1 FROM submissions INDEXED BY submissions_state_received_id
          WHERE state IN ('queued', 'retrying') AND received_at < ?1 AND updated_at < ?1 LIMIT ${STUCK_CAP})`,
      )
      .bind(stuckBefore),
  }
}

/** Receipt → CRM of the day's written submissions ranked exactly, per source and for all: for a day of few rows. */
export function exactTimingQuery(db: D1Database, now: number) {
  // Nearest-rank percentiles: the median is the ceil(n/2)-th, p95 the ceil(0.95 n)-th shortest time.
  const ranked = (partition: string) => `SELECT ${partition} AS source, n,
      max(CASE WHEN rn = (n + 1) / 2 THEN d END) AS median, max(CASE WHEN rn = (95 * n + 99) / 100 THEN d END) AS p95
    FROM (SELECT source, updated_at - received_at AS d, count(*) OVER w AS n, row_number() OVER (w ORDER BY updated_at - received_at) AS rn
      FROM submissions INDEXED BY submissions_received_id WHERE received_at >= ?1 AND state = 'written'
      WINDOW w AS (PARTITION BY ${partition === 'source' ? 'source' : "'*'"}))
    GROUP BY ${partition === 'source' ? 'source' : '1'}`
  return db.prepare(`${ranked('source')} UNION ALL ${ranked("'*'")}`).bind(dayStart(now))
}

/** Median and p95 per source and for all ("*") from bucket counts: each the upper bound of the bucket its rank falls in. */
export function timingFromBuckets(rows: { source: string; bucket: number; n: number }[]): Overview['timing'] {
  const bySource = new Map<string, number[]>()
  const add = (source: string, bucket: number, n: number) => {
    const counts = bySource.get(source) ?? new Array<number>(TIMING_EDGES.length + 1).fill(0)
    counts[bucket] = (counts[bucket] ?? 0) + n
    bySource.set(source, counts)
  }
  for (const r of rows) {
    add(r.source, r.bucket, r.n)
    add('*', r.bucket, r.n)
  }
  const at = (counts: number[], rank: number) => {
    let seen = 0
    for (let b = 0; b < counts.length; b++) {
      seen += counts[b]!
      // The open bucket past the last bound has no upper one: its lower bound stands for it.
      if (seen >= rank) return TIMING_EDGES[b] ?? TIMING_EDGES.at(-1)!
    }
    return TIMING_EDGES.at(-1)!
  }
  return [...bySource].map(([source, counts]) => {
    const n = counts.reduce((a, b) => a + b, 0)
    return { source, n, median: at(counts, Math.ceil(n / 2)), p95: at(counts, Math.ceil((95 * n) / 100)) }
  })
}

/** Everything the overview shows: one round trip to D1, and a second to rank a small day's times exactly. */
export async function overview(db: D1Database, stuckAfterMs: number, now = Date.now()): Promise<Overview> {
  const q = overviewQueries(db, now, now - stuckAfterMs)
  const [hours, day, buckets, open, stuck, warned, tokens] = await db.batch<Record<string, unknown>>([q.hours, q.day, q.buckets, q.open, q.stuck, q.warned, tokenAlertsQuery(db)])
  const counts = Object.fromEntries((open!.results as { state: string; n: number }[]).map((r) => [r.state, r.n]))
  const dayRows = (day!.results as { n: number }[]).reduce((a, r) => a + r.n, 0)
  const timing =
    dayRows <= EXACT_TIMING_ROWS
      ? ((await exactTimingQuery(db, now).all()).results as Overview['timing'])
      : timingFromBuckets(buckets!.results as { source: string; bucket: number; n: number }[])
  return {
    at: now,
    hours: hours!.results as Overview['hours'],
    day: day!.results as Overview['day'],
    timing,
    warned: warned!.results as Overview['warned'],
    open: { queued: counts.queued ?? 0, retrying: counts.retrying ?? 0, failed: counts.failed ?? 0, held: counts.held ?? 0 },
    stuck: ((stuck!.results[0] as { n: number } | undefined)?.n ?? 0),
    tokens: tokens!.results as unknown as TokenAlert[],
  }
}

/** Daily: the rollup's hours that retention has emptied (their counts are 0 once their rows are purged). */
export async function purgeRollup(db: D1Database, retentionDays: number, now = Date.now()): Promise<void> {
  const before = now - retentionDays * DAY_MS - DAY_MS
  await db.batch([
    db.prepare(`DELETE FROM submission_hours WHERE hour < ?1 AND n <= 0`).bind(before),
    db.prepare(`DELETE FROM submission_timing WHERE hour < ?1 AND n <= 0`).bind(before),
  ])
}

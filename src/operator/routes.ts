/**
 * `/operator/*`: the submission log for the person running lead-intake, as
 * JSON (list, show, replay) and as one read-only status page.
 */
import { Hono } from 'hono'
import { z } from 'zod/v3'
import { enqueueLead, newMessage } from '../delivery/enqueue'
import { problem, ProblemError } from '../http/problem'
import { log } from '../log'
import { remap } from '../sources/remap'
import {
  abandonReplay,
  countByState,
  getSubmission,
  listConsentTexts,
  listSubmissions,
  replayable,
  STATES,
  STUCK_AFTER_MS,
  startReplay,
  type Submission,
} from '../store/submissions'
import { operatorAuth, sameSiteOnly } from './auth'
import { type ConnectionReport, checkConnections } from './connection'
import { privacy } from './privacy'
import { statusPage } from './status-page'

const time = z.union([z.coerce.number().int().nonnegative(), z.string().datetime({ offset: true }).transform((s) => Date.parse(s))])

const filters = z.strictObject({
  state: z.enum(STATES).optional(),
  source: z.string().max(64).optional(),
  since: time.optional(),
  until: time.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
})

export const operator = new Hono<{ Bindings: Env }>()

operator.use(operatorAuth(), sameSiteOnly())

/** The status page's connection check, reused for a few minutes: each costs eight Unified calls per connection. */
let probed: { at: number; reports: ConnectionReport[] } | undefined
const PROBE_FRESH_MS = 5 * 60_000

operator.get('/', async (c) => {
  const fresh = probed && Date.now() - probed.at < PROBE_FRESH_MS ? probed : undefined
  const [counts, recent, failures, retrying, connections] = await Promise.all([
    countByState(c.env.DB),
    listSubmissions(c.env.DB, { limit: 50 }),
    listSubmissions(c.env.DB, { state: 'failed', limit: 50 }),
    listSubmissions(c.env.DB, { state: 'retrying', limit: 50 }),
    fresh ? fresh.reports : checkConnections(c.env).catch(() => []),
  ])
  if (!fresh && connections.length) probed = { at: Date.now(), reports: connections }
  return c.html(statusPage({ counts, recent, failures, retrying, connections, crmConfigured: !!c.env.UNIFIED_API_KEY }))
})

operator.route('/', privacy)

/** Every consent wording ever agreed to, by source, form and version, with how many logged submissions carry it. */
operator.get('/consents', async (c) => c.json({ consents: await listConsentTexts(c.env.DB) }))

/** What each connection's CRM accepts, probed now, read-only, and what the configured sources need of it. */
operator.get('/connection', async (c) => c.json({ connections: await checkConnections(c.env) }))

operator.get('/submissions', async (c) => {
  const parsed = filters.safeParse(c.req.query())
  if (!parsed.success) {
    throw problem(400, 'invalid-query', 'Invalid filters', {
      'invalid-params': parsed.error.issues.map((i) => ({ name: i.path.join('.') || String(i.message), reason: i.message })),
    })
  }
  return c.json({ submissions: await listSubmissions(c.env.DB, parsed.data) })
})

const found = async (db: D1Database, id: string): Promise<Submission> => {
  const row = await getSubmission(db, id)
  if (!row) throw problem(404, 'unknown-submission', 'Unknown submission', { detail: 'No submission has that id.' })
  return row
}

operator.get('/submissions/:id', async (c) => c.json(await found(c.env.DB, c.req.param('id'))))

/**
 * Re-queues a failed (or stuck) submission under its own id, in a new
 * generation, with its input mapped again under today's configuration. The
 * writer still finds before it creates, so a replay never duplicates.
 * Throws a problem saying why when it can't be replayed.
 */
async function replay(env: Env, id: string): Promise<number> {
  const r = await replayable(env.DB, id)
  if (!('ok' in r)) {
    if (!r.row) throw problem(404, 'unknown-submission', 'Unknown submission', { detail: 'No submission has that id.' })
    throw problem(409, 'not-replayable', 'Only failed submissions can be replayed', {
      detail: `This submission is ${r.row.state}; one that is queued or retrying can be replayed once it has not moved for an hour.`,
    })
  }
  const { row, payload } = r.ok
  const origin = { source: row.source, form: row.form }
  const next = await remap(env, origin, payload, new Date(row.received_at))
  const gen = await startReplay(env.DB, id, row.gen, next)
  if (gen === null) throw problem(409, 'not-replayable', 'This submission changed meanwhile', { detail: 'Look at it again, then replay.' })
  const message = { ...newMessage(origin, next, id, gen), receivedAt: new Date(row.received_at).toISOString() }
  try {
    await enqueueLead(env, message)
  } catch (error) {
    await abandonReplay(env.DB, id, gen, 'the replay could not be queued; try again')
    throw error
  }
  log('info', 'submission replayed', { submission: id, gen })
  return gen
}

operator.post('/submissions/:id/replay', async (c) => {
  const id = c.req.param('id')
  const gen = await replay(c.env, id)
  return c.json({ id, status: 'queued', gen }, 202)
})

/** Replays every failed submission (and stuck ones), up to 500; says how many were queued and why others were not. */
operator.post('/replay-failed', async (c) => {
  const now = Date.now()
  const [failed, queued, retrying] = await Promise.all([
    listSubmissions(c.env.DB, { state: 'failed', limit: 500 }),
    listSubmissions(c.env.DB, { state: 'queued', until: now - STUCK_AFTER_MS, limit: 500 }),
    listSubmissions(c.env.DB, { state: 'retrying', until: now - STUCK_AFTER_MS, limit: 500 }),
  ])
  let count = 0
  const skipped: Record<string, number> = {}
  for (const row of [...failed, ...queued, ...retrying].slice(0, 500)) {
    try {
      await replay(c.env, row.id)
      count += 1
    } catch (error) {
      if (!(error instanceof ProblemError) || error.problem.status >= 500) throw error
      skipped[error.problem.type] = (skipped[error.problem.type] ?? 0) + 1
    }
  }
  return c.json({ queued: count, ...(Object.keys(skipped).length ? { skipped } : {}) }, 202)
})

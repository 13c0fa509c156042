/**
 * `/operator/*`: the submission log for the person running lead-intake, as
 * JSON (list, show, replay) and as one read-only status page.
 */
import { Hono } from 'hono'
import { z } from 'zod/v3'
import { enqueueLead } from '../delivery/enqueue'
import { problem } from '../http/problem'
import { log } from '../log'
import {
  countByState,
  getSubmission,
  listSubmissions,
  recordOutcome,
  replayable,
  STATES,
  type Submission,
} from '../store/submissions'
import { operatorAuth } from './auth'
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

operator.use(operatorAuth())

operator.get('/', async (c) => {
  const [counts, recent, failures, retrying] = await Promise.all([
    countByState(c.env.DB),
    listSubmissions(c.env.DB, { limit: 50 }),
    listSubmissions(c.env.DB, { state: 'failed', limit: 50 }),
    listSubmissions(c.env.DB, { state: 'retrying', limit: 50 }),
  ])
  return c.html(statusPage({ counts, recent, failures, retrying, connection: c.env.UNIFIED_CONNECTION_ID, crmConfigured: !!c.env.UNIFIED_API_KEY }))
})

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

/** Re-queues a failed submission under its own id: the writer still finds-then-updates, so no duplicate. */
async function replay(env: Env, id: string): Promise<boolean> {
  const message = await replayable(env.DB, id)
  if (!message) return false
  await enqueueLead(env.LEADS, message.origin, message.draft, message)
  const row = await getSubmission(env.DB, id)
  await recordOutcome(env.DB, message, row?.key_hash ?? null, { state: 'queued', attempts: row?.attempts ?? 0, lastError: row?.last_error ?? undefined })
  log('info', 'submission replayed', { submission: id })
  return true
}

operator.post('/submissions/:id/replay', async (c) => {
  const row = await found(c.env.DB, c.req.param('id'))
  if (!(await replay(c.env, row.id))) {
    throw problem(409, 'not-replayable', 'Only failed submissions can be replayed', { detail: `This submission is ${row.state}.` })
  }
  return c.json({ id: row.id, status: 'queued' }, 202)
})

operator.post('/replay-failed', async (c) => {
  const failed = await listSubmissions(c.env.DB, { state: 'failed', limit: 500 })
  let queued = 0
  for (const row of failed) if (await replay(c.env, row.id)) queued += 1
  return c.json({ queued }, 202)
})

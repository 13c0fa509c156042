/**
 * `/operator/*`: the submission log for the person running lead-intake. The
 * console in a browser (overview, search, journey; console.ts) and the same
 * as JSON for scripts (list, show, replay). Every replay is audited.
 */
import { Hono } from 'hono/tiny'
import { secureHeaders } from 'hono/secure-headers'
import { z } from 'zod/v3'
import { loadForms } from '../config'
import { capabilitiesFor } from '../delivery/crm-gate'
import { enqueueLead, newMessage } from '../delivery/enqueue'
import { problem, ProblemError } from '../http/problem'
import type { Owner } from '../lead/draft'
import { hashIdentifier, parseEmail, parsePhone } from '../lead/identity'
import { log } from '../log'
import { meterOn, readMeter } from '../meter'
import { firingAlerts } from '../notify/alerts'
import { loadChannels } from '../notify/channels'
import { channelHealth } from '../notify/outbox'
import { remap } from '../sources/remap'
import { type AuditEntry, auditOf, recentAudit, recordAudit } from '../store/audit'
import { DAY_MS, decodeCursor, overview, type PageFilters, pageSubmissions } from '../store/browse'
import { heldBySource, heldConnections } from '../store/held-connections'
import { attemptsOf } from '../store/journey'
import { abandonReplay, type State, STATES, STUCK_AFTER_MS, startReplay } from '../store/states'
import { getSubmission, listConsentTexts, listSubmissions, replayable, type Submission } from '../store/submissions'
import { operatorAuth, sameSiteOnly } from './auth'
import { type ConnectionReport, checkConnections } from './connection'
import { glance, type HeldView, journeyPage, journeySection, type ListFilters, type NotifyStatus, overviewPage, unknownPage } from './console'
import { privacy } from './privacy'

const time = z.union([z.coerce.number().int().nonnegative(), z.string().datetime({ offset: true }).transform((s) => Date.parse(s))])

const filters = z.strictObject({
  state: z.enum(STATES).optional(),
  source: z.string().max(64).optional(),
  form: z.string().max(128).optional(),
  since: time.optional(),
  until: time.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  /** Where the previous page ended (its `next`). */
  cursor: z.string().max(200).optional(),
  /** A person by one identifier: hashed here as the consumer hashes it, never stored or logged. */
  email: z.string().max(320).optional(),
  phone: z.string().max(64).optional(),
  /** For a phone written without +: the country to read it in (ISO 3166 alpha-2, default US). */
  country: z.string().regex(/^[A-Za-z]{2}$/).optional(),
  /** The keyed hash itself (what the console's search leads to). */
  person: z.string().regex(/^[0-9a-f]{64}$/).optional(),
})

type OperatorEnv = { Bindings: Env }

export const operator = new Hono<OperatorEnv>()

operator.use(operatorAuth(), sameSiteOnly())

/**
 * The console's pages: a strict CSP (its own stylesheet and script only, no inline
 * code, nothing from elsewhere, forms post here only), not cached.
 */
const consoleHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: 'DENY',
})

const NO_STORE = { 'cache-control': 'no-store' }

/** Why a replay was made: a browser's Basic credentials (the console) or the Bearer token (a script). */
const via = (authorization: string | undefined): AuditEntry['via'] => (/^bearer\s/i.test(authorization ?? '') ? 'api' : 'console')

/** A person's browser, which wants to be sent back to a page rather than read JSON. */
const browser = (accept: string | undefined) => (accept ?? '').includes('text/html')

/** The last connection check, reused for a few minutes: each costs Unified calls per connection (up to eight where its support data is unknown). */
let probed: { at: number; reports: ConnectionReport[] } | undefined
const PROBE_FRESH_MS = 5 * 60_000

async function connectionReports(env: Env): Promise<ConnectionReport[]> {
  if (probed && Date.now() - probed.at < PROBE_FRESH_MS) return probed.reports
  const reports = await checkConnections(env, (connection) => capabilitiesFor(env, connection)).catch(() => [])
  if (reports.length) probed = { at: Date.now(), reports }
  return reports
}

/** The connections held now and what waits for them (the console's alert). */
const heldView = async (db: D1Database): Promise<HeldView> => {
  const [connections, bySource] = await Promise.all([heldConnections(db), heldBySource(db)])
  return { connections, bySource }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/
const HASH = /^[0-9a-f]{64}$/

/** The console's filters from its URL; anything malformed is dropped, as a person may have typed it. */
function listFilters(q: Record<string, string>): { view: ListFilters; query: PageFilters } {
  const view: ListFilters = {}
  const query: PageFilters = { limit: 50 }
  if ((STATES as readonly string[]).includes(q.state ?? '')) query.state = view.state = q.state as State
  if (q.src && q.src.length <= 200) {
    view.src = q.src
    const slash = q.src.indexOf('/')
    query.source = slash < 0 ? q.src : q.src.slice(0, slash)
    if (slash >= 0) query.form = q.src.slice(slash + 1)
  }
  const day = (text: string | undefined) => (text && DATE.test(text) && !Number.isNaN(Date.parse(text)) ? Date.parse(text) : undefined)
  const from = day(q.from)
  const to = day(q.to)
  if (from !== undefined) (view.from = q.from), (query.since = from)
  if (to !== undefined) (view.to = q.to), (query.until = to + DAY_MS) // "to" is a whole day, included
  if (q.person && HASH.test(q.person)) {
    query.person = view.person = q.person
    view.by = q.by === 'phone' ? 'phone' : 'email'
  }
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined
  if (cursor) (query.cursor = cursor), (view.cursor = q.cursor)
  return { view, query }
}

/** What the console says after a redirect (a search that found nothing, a replay of all failed). */
function noticeOf(q: Record<string, string>): string | undefined {
  if (q.replayed !== undefined) {
    const n = Number(q.replayed) || 0
    const skipped = Number(q.skipped) || 0
    return `Queued ${n} submission${n === 1 ? '' : 's'} for a replay${skipped ? `; ${skipped} could not be replayed` : ''}.`
  }
  const find: Record<string, string> = {
    'not-found': 'Nothing matched: that is no submission id in the log, and no email address or phone number.',
    'no-secret': 'Searching by email or phone needs HASH_SECRET, the key the log hashes them with: npx wrangler secret put HASH_SECRET',
  }
  return q.find ? find[q.find] : undefined
}

/** Channels' health and the alerts firing; a schema from before migration 0011 shows none rather than failing the console. */
const notifyStatus = async (db: D1Database): Promise<NotifyStatus> => {
  const [channels, alerts] = await Promise.all([channelHealth(db).catch(() => []), firingAlerts(db).catch(() => [])])
  return { channels, alerts }
}

operator.get('/', consoleHeaders, async (c) => {
  const q = c.req.query()
  const now = Date.now()
  if (q.part === 'glance') {
    // The 30 s refresh: the numbers only, and the connection check as last seen (not probed again).
    const [o, notify, held] = await Promise.all([overview(c.env.DB, STUCK_AFTER_MS, now), notifyStatus(c.env.DB), heldView(c.env.DB)])
    return c.html(glance(o, probed?.reports ?? [], !!c.env.UNIFIED_API_KEY, notify, held), 200, NO_STORE)
  }
  const { view, query } = listFilters(q)
  const [o, page, audit, connections, notify, held] = await Promise.all([
    overview(c.env.DB, STUCK_AFTER_MS, now),
    pageSubmissions(c.env.DB, query),
    recentAudit(c.env.DB, 10),
    connectionReports(c.env),
    notifyStatus(c.env.DB),
    heldView(c.env.DB),
  ])
  const forms = Object.keys(loadForms(c.env)).map((id) => `form/${id}`)
  const webhooks = [c.env.TYPEFORM_WEBHOOK_SECRET ? 'typeform' : '', c.env.STRIPE_WEBHOOK_SECRET ? 'stripe' : '']
  const sources = [...new Set(['form', ...forms, ...webhooks, ...o.day.map((r) => r.source), view.src ?? ''].filter(Boolean))].sort()
  const html = overviewPage({
    overview: o,
    page,
    filters: view,
    sources,
    audit,
    connections,
    crmConfigured: !!c.env.UNIFIED_API_KEY,
    notice: noticeOf(q),
    notify,
    held,
  })
  return c.html(html, 200, NO_STORE)
})

/** The keyed hash of an email or phone, as the consumer computes it for the same text; undefined when it is neither. */
async function personHash(secret: string, kind: 'email' | 'phone', text: string, country?: string): Promise<string | undefined> {
  const key = kind === 'email' ? parseEmail(text)?.key : parsePhone(text, country?.toUpperCase())?.key
  return key ? hashIdentifier(secret, { kind, value: key }) : undefined
}

/**
 * The console's search box: a submission id opens its journey; an email or a
 * phone is hashed and the console shows that person's submissions. A POST, so
 * the address is in no URL (history, logs, Referer): only its keyed hash is.
 */
operator.post('/find', async (c) => {
  const body = await c.req.parseBody()
  const text = typeof body.q === 'string' ? body.q.trim().slice(0, 320) : ''
  const country = typeof body.country === 'string' && /^[A-Za-z]{2}$/.test(body.country.trim()) ? body.country.trim() : undefined
  const back = (params: string) => c.redirect(`/operator/?${params}#list`, 303)
  if (!text) return back('find=not-found')
  if (!text.includes('@') && (await getSubmission(c.env.DB, text))) return c.redirect(`/operator/journey/${encodeURIComponent(text)}`, 303)
  if (!c.env.HASH_SECRET) return back('find=no-secret')
  const kind = text.includes('@') ? 'email' : 'phone'
  const hash = await personHash(c.env.HASH_SECRET, kind, text, country)
  return back(hash ? `person=${hash}&by=${kind}` : 'find=not-found')
})

operator.get('/journey/:id', consoleHeaders, async (c) => {
  const id = c.req.param('id')
  const row = await getSubmission(c.env.DB, id)
  if (!row) return c.html(unknownPage(), 404, NO_STORE)
  const [attempts, audit] = await Promise.all([attemptsOf(c.env.DB, id), auditOf(c.env.DB, id)])
  const view = { submission: row, attempts, audit, now: Date.now(), stuckAfterMs: STUCK_AFTER_MS }
  return c.html(c.req.query('part') === 'journey' ? journeySection(view) : journeyPage(view), 200, NO_STORE)
})

/**
 * The console's stylesheet and script, from the Worker's static assets (static/operator/),
 * behind the same auth; the browser revalidates them by ETag.
 */
const asset = async (c: { env: Env; req: { raw: Request } }) => {
  const res = await c.env.ASSETS.fetch(c.req.raw)
  const headers = new Headers(res.headers)
  headers.set('cache-control', 'private, no-cache')
  return new Response(res.body, { status: res.status, headers })
}
operator.get('/console.css', asset)
operator.get('/console.js', asset)

operator.route('/', privacy)

/** Each notification channel (README "Notifications"): its kind, its last 24 hours, whether it is failing and why; and the alerts firing. */
operator.get('/channels', async (c) => {
  const { channels: health, alerts } = await notifyStatus(c.env.DB)
  const channels = Object.values(loadChannels(c.env)).map((ch) => {
    const h = health.find((x) => x.channel === ch.name)
    return { name: ch.name, kind: ch.kind, sent: h?.sent ?? 0, retrying: h?.retrying ?? 0, failed: h?.failed ?? 0, failing: h?.failing ?? false, last_error: h?.lastError ?? null }
  })
  return c.json({ channels, alerts })
})

// Operation counts for `npm run bench -- cost` (meter.ts); absent unless METER_OPERATIONS = "true".
operator.get('/meter', (c) => (meterOn(c.env) ? c.json(readMeter(c.req.query('reset') === '1')) : c.notFound()))

/** Every consent wording ever agreed to, by source, form and version, with how many logged submissions carry it. */
operator.get('/consents', async (c) => c.json({ consents: await listConsentTexts(c.env.DB) }))

/** What each connection's CRM accepts, read now (its integration's support data, probed read-only where that is unknown), and what the configured sources need of it. */
operator.get('/connection', async (c) => {
  const [connections, held] = await Promise.all([checkConnections(c.env, (connection) => capabilitiesFor(c.env, connection, true)), heldConnections(c.env.DB)])
  // A held connection refuses our credentials: said beside its report (and listed, for one no source names any more).
  const holdOf = (connection: string) => held.find((h) => h.connection === connection)
  const asHeld = (h: (typeof held)[number]) => ({ reason: h.reason, since: new Date(h.since).toISOString(), submissions: h.submissions })
  return c.json({
    connections: connections.map((r) => (holdOf(r.connection) ? { ...r, held: asHeld(holdOf(r.connection)!) } : r)),
    held: held.map((h) => ({ connection: h.connection, ...asHeld(h) })),
  })
})

const invalid = (name: string, reason: string) => problem(400, 'invalid-query', 'Invalid filters', { 'invalid-params': [{ name, reason }] })

operator.get('/submissions', async (c) => {
  const parsed = filters.safeParse(c.req.query())
  if (!parsed.success) {
    throw problem(400, 'invalid-query', 'Invalid filters', {
      'invalid-params': parsed.error.issues.map((i) => ({ name: i.path.join('.') || String(i.message), reason: i.message })),
    })
  }
  const { email, phone, country, cursor: cursorText, ...rest } = parsed.data
  const query: PageFilters = rest
  if (rest.form !== undefined && !rest.source) throw invalid('form', 'form ids are per source: give source too')
  if ([email, phone, rest.person].filter((v) => v !== undefined).length > 1) throw invalid('email', 'search by one of email, phone or person')
  if (cursorText !== undefined) {
    query.cursor = decodeCursor(cursorText)
    if (!query.cursor) throw invalid('cursor', 'not a cursor this API gave (its "next")')
  }
  if (email !== undefined || phone !== undefined) {
    // The address is neither echoed, logged nor stored: only its keyed hash is looked up.
    if (!c.env.HASH_SECRET) throw problem(503, 'no-hash-secret', 'Search is not configured', { detail: 'Set HASH_SECRET: npx wrangler secret put HASH_SECRET' })
    const kind = email !== undefined ? 'email' : 'phone'
    query.person = await personHash(c.env.HASH_SECRET, kind, (email ?? phone)!, country)
    if (!query.person) throw invalid(kind, kind === 'email' ? 'not an email address' : 'not a phone number that can be read (give country for one without +)')
  }
  return c.json(await pageSubmissions(c.env.DB, query))
})

const found = async (db: D1Database, id: string): Promise<Submission> => {
  const row = await getSubmission(db, id)
  if (!row) throw problem(404, 'unknown-submission', 'Unknown submission', { detail: 'No submission has that id.' })
  return row
}

/** A submission, with its journey: every delivery attempt and what operators did to it. */
operator.get('/submissions/:id', async (c) => {
  const row = await found(c.env.DB, c.req.param('id'))
  const [journey, actions] = await Promise.all([attemptsOf(c.env.DB, row.id), auditOf(c.env.DB, row.id)])
  return c.json({ ...row, warnings: row.warnings ? (JSON.parse(row.warnings) as string[]) : [], owner: row.owner ? (JSON.parse(row.owner) as Owner) : null, journey, actions })
})

/**
 * Re-queues a failed (or stuck) submission under its own id, in a new
 * generation, with its input mapped again under today's configuration. The
 * writer still finds before it creates, so a replay never duplicates.
 * Throws a problem saying why when it can't be replayed. Audited.
 */
async function replay(env: Env, id: string, by: AuditEntry['via'], why = ''): Promise<number> {
  const r = await replayable(env, id)
  if (!('ok' in r)) {
    if (!r.row) throw problem(404, 'unknown-submission', 'Unknown submission', { detail: 'No submission has that id.' })
    throw problem(409, 'not-replayable', 'Only failed submissions can be replayed', {
      detail: `This submission is ${r.row.state}; one that is queued or retrying can be replayed once it has not moved for an hour.`,
    })
  }
  const { row, payload } = r.ok
  const origin = { source: row.source, form: row.form }
  const next = await remap(env, origin, payload, new Date(row.received_at))
  // The re-mapped payload goes to R2 before the row moves on: a replay queued from here always finds it.
  const gen = await startReplay(env, id, row.gen, next)
  if (gen === null) throw problem(409, 'not-replayable', 'This submission changed meanwhile', { detail: 'Look at it again, then replay.' })
  const message = { ...newMessage(origin, next, id, gen), receivedAt: new Date(row.received_at).toISOString() }
  try {
    await enqueueLead(env, message, { stored: true })
  } catch (error) {
    await abandonReplay(env.DB, id, gen, 'the replay could not be queued; try again')
    throw error
  }
  log('info', 'submission replayed', { submission: id, gen })
  await audit(env, { via: by, action: 'replay', submission: id, detail: `was ${row.state}, queued as replay ${gen}${why}` })
  return gen
}

/** An audit row; a failure to write one is logged, and does not undo (or fail) what was done. */
async function audit(env: Env, entry: AuditEntry): Promise<void> {
  try {
    await recordAudit(env.DB, entry)
  } catch (error) {
    log('error', 'audit write failed', { action: entry.action, submission: entry.submission, error: (error as Error).name })
  }
}

operator.post('/submissions/:id/replay', async (c) => {
  const id = c.req.param('id')
  const gen = await replay(c.env, id, via(c.req.header('authorization')))
  if (browser(c.req.header('accept'))) return c.redirect(`/operator/journey/${encodeURIComponent(id)}`, 303)
  return c.json({ id, status: 'queued', gen }, 202)
})

/** Replays every failed submission (and stuck ones), up to 500; says how many were queued and why others were not. */
operator.post('/replay-failed', async (c) => {
  const now = Date.now()
  const by = via(c.req.header('authorization'))
  const [failed, queued, retrying] = await Promise.all([
    listSubmissions(c.env.DB, { state: 'failed', limit: 500 }),
    listSubmissions(c.env.DB, { state: 'queued', until: now - STUCK_AFTER_MS, limit: 500 }),
    listSubmissions(c.env.DB, { state: 'retrying', until: now - STUCK_AFTER_MS, limit: 500 }),
  ])
  let count = 0
  const skipped: Record<string, number> = {}
  for (const row of [...failed, ...queued, ...retrying].slice(0, 500)) {
    try {
      await replay(c.env, row.id, by, ' (replay all failed)')
      count += 1
    } catch (error) {
      if (!(error instanceof ProblemError) || error.problem.status >= 500) throw error
      skipped[error.problem.type] = (skipped[error.problem.type] ?? 0) + 1
    }
  }
  const skippedCount = Object.values(skipped).reduce((a, b) => a + b, 0)
  const detail = `${count} queued` + Object.entries(skipped).map(([type, n]) => `, ${n} skipped (${type})`).join('')
  await audit(c.env, { via: by, action: 'replay-failed', detail })
  if (browser(c.req.header('accept'))) return c.redirect(`/operator/?replayed=${count}${skippedCount ? `&skipped=${skippedCount}` : ''}#glance`, 303)
  return c.json({ queued: count, ...(Object.keys(skipped).length ? { skipped } : {}) }, 202)
})

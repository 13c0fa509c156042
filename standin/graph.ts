/**
 * The stand-in plays Meta's Graph API for lead reads (developers.facebook.com,
 * marketing-api/guides/lead-ads/retrieving), so the consumer's read-back is tested through HTTP:
 *
 *   GET  /graph/{version}/{leadgen_id}?fields=…&access_token=…  (or Authorization: Bearer)
 *        the seeded lead; unknown: Graph's error 100/33 ("does not exist"); a revoked token: 190
 *   GET  /graph/{version}/{form_id}/leads?filtering=[{field:"time_created",operator:"GREATER_THAN",value:<unix>}]&limit=&after=
 *        the seeded leads of that form created after the time, newest first, in pages with Graph's cursor
 *        paging (`paging.cursors.after`, and `paging.next` while there is more); a revoked token: 190
 *   POST /_standin/graph/leads    {id, …lead}: seeds (replaces) a lead, as Graph would return it
 *   POST /_standin/graph/errors   [{code, error_subcode?}…]: the next reads answer these, one each
 *   POST /_standin/graph/tokens   {revoked: [token…]}: reads with these get OAuth error 190
 *   POST /_standin/graph/list-errors [{code, error_subcode?}…]: the next form leads listings answer these, one each
 *   POST /_standin/graph/page-size {size}: leads per listing page at most (default: the asked limit, else 25)
 *   GET  /_standin/graph/calls    [{id, token}…] every lead read, in order
 *   GET  /_standin/graph/list-calls [{form, token, filtering, after}…] every form leads listing, in order
 *
 * Leads, filters and paging as developers.facebook.com documents them (marketing-api/guides/lead-ads/retrieving,
 * graph-api/results); the listing's newest-first order is what Graph does, so the Worker must not rely on any.
 */
import { Hono } from 'hono'

export interface GraphError {
  code: number
  error_subcode?: number
}

export class GraphState {
  leads = new Map<string, Record<string, unknown>>()
  errors: GraphError[] = []
  revoked = new Set<string>()
  calls: { id: string; token: string }[] = []
  listErrors: GraphError[] = []
  pageSize: number | undefined
  listCalls: { form: string; token: string; filtering: string | null; after: string | null }[] = []
  reset(): void {
    this.leads.clear()
    this.errors = []
    this.revoked.clear()
    this.calls = []
    this.listErrors = []
    this.pageSize = undefined
    this.listCalls = []
  }
}

const MESSAGES: Record<number, [string, string, number]> = {
  4: ['OAuthException', 'Application request limit reached', 400],
  17: ['OAuthException', 'User request limit reached', 400],
  32: ['OAuthException', 'Page request limit reached', 400],
  613: ['OAuthException', 'Calls to this api have exceeded the rate limit.', 400],
  190: ['OAuthException', 'Error validating access token: Session has expired.', 400],
  100: ['GraphMethodException', 'Unsupported get request. Object with ID does not exist, cannot be loaded due to missing permissions, or does not support this operation.', 400],
}

export function graphRoutes(graph: GraphState) {
  const app = new Hono()
  const fail = (e: GraphError) => {
    const [type, message, status] = MESSAGES[e.code] ?? ['OAuthException', 'An unknown error occurred', 500]
    return Response.json({ error: { message, type, code: e.code, ...(e.error_subcode ? { error_subcode: e.error_subcode } : {}), fbtrace_id: 'standin' } }, { status })
  }
  const tokenOf = (c: { req: { query(k: string): string | undefined; header(k: string): string | undefined } }) =>
    c.req.query('access_token') ?? c.req.header('authorization')?.replace(/^Bearer /, '') ?? ''
  /** `filtering`'s time_created GREATER_THAN value (unix seconds); undefined when there is none; null when it is not Graph's shape. */
  const createdAfter = (filtering: string | undefined): number | undefined | null => {
    if (filtering === undefined) return undefined
    try {
      const filters = JSON.parse(filtering) as { field?: string; operator?: string; value?: unknown }[]
      const f = filters.find((x) => x.field === 'time_created')
      if (!f) return undefined
      return f.operator === 'GREATER_THAN' && Number.isFinite(Number(f.value)) ? Number(f.value) : null
    } catch {
      return null
    }
  }
  app.get('/graph/:version/:form/leads', (c) => {
    const form = c.req.param('form')
    const token = tokenOf(c)
    graph.listCalls.push({ form, token, filtering: c.req.query('filtering') ?? null, after: c.req.query('after') ?? null })
    if (!token || graph.revoked.has(token)) return fail({ code: 190 })
    const queued = graph.listErrors.shift()
    if (queued) return fail(queued)
    const after = createdAfter(c.req.query('filtering'))
    if (after === null) return fail({ code: 100 })
    const createdAt = (l: Record<string, unknown>) => Date.parse(String(l.created_time)) / 1000
    const all = [...graph.leads.values()]
      .filter((l) => String(l.form_id) === form && (after === undefined || createdAt(l) > after))
      .sort((a, b) => createdAt(b) - createdAt(a))
    const size = graph.pageSize ?? (Number(c.req.query('limit')) || 25)
    // A cursor is opaque to the caller: here, the offset of the page it starts, in base64.
    const start = c.req.query('after') ? Number(atob(c.req.query('after')!)) : 0
    const page = all.slice(start, start + size)
    const fields = c.req.query('fields')?.split(',')
    const data = page.map((l) => (fields ? Object.fromEntries(fields.filter((f) => f in l).map((f) => [f, l[f]])) : l))
    const more = start + size < all.length
    const cursors = { before: btoa(String(start)), after: btoa(String(start + page.length)) }
    const url = new URL(c.req.url)
    url.searchParams.set('after', cursors.after)
    return c.json({ data, paging: { cursors, ...(more ? { next: url.toString() } : {}) } })
  })
  app.get('/graph/:version/:id', (c) => {
    const id = c.req.param('id')
    const token = tokenOf(c)
    graph.calls.push({ id, token })
    if (!token || graph.revoked.has(token)) return fail({ code: 190 })
    const queued = graph.errors.shift()
    if (queued) return fail(queued)
    const lead = graph.leads.get(id)
    if (!lead) return fail({ code: 100, error_subcode: 33 })
    return c.json(lead)
  })
  app.post('/_standin/graph/leads', async (c) => {
    const lead = (await c.req.json()) as Record<string, unknown>
    graph.leads.set(String(lead.id), lead)
    return c.json({ ok: true })
  })
  app.post('/_standin/graph/errors', async (c) => {
    graph.errors = (await c.req.json()) as GraphError[]
    return c.json({ ok: true })
  })
  app.post('/_standin/graph/tokens', async (c) => {
    graph.revoked = new Set(((await c.req.json()) as { revoked: string[] }).revoked)
    return c.json({ ok: true })
  })
  app.post('/_standin/graph/list-errors', async (c) => {
    graph.listErrors = (await c.req.json()) as GraphError[]
    return c.json({ ok: true })
  })
  app.post('/_standin/graph/page-size', async (c) => {
    graph.pageSize = ((await c.req.json()) as { size?: number }).size
    return c.json({ ok: true })
  })
  app.get('/_standin/graph/calls', (c) => c.json(graph.calls))
  app.get('/_standin/graph/list-calls', (c) => c.json(graph.listCalls))
  return app
}

/**
 * The stand-in plays Meta's Graph API for lead reads (developers.facebook.com,
 * marketing-api/guides/lead-ads/retrieving), so the consumer's read-back is tested through HTTP:
 *
 *   GET  /graph/{version}/{leadgen_id}?fields=…&access_token=…  (or Authorization: Bearer)
 *        the seeded lead; unknown: Graph's error 100/33 ("does not exist"); a revoked token: 190
 *   POST /_standin/graph/leads    {id, …lead}: seeds (replaces) a lead, as Graph would return it
 *   POST /_standin/graph/errors   [{code, error_subcode?}…]: the next reads answer these, one each
 *   POST /_standin/graph/tokens   {revoked: [token…]}: reads with these get OAuth error 190
 *   GET  /_standin/graph/calls    [{id, token}…] every lead read, in order
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
  reset(): void {
    this.leads.clear()
    this.errors = []
    this.revoked.clear()
    this.calls = []
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
  app.get('/graph/:version/:id', (c) => {
    const id = c.req.param('id')
    const token = c.req.query('access_token') ?? c.req.header('authorization')?.replace(/^Bearer /, '') ?? ''
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
  app.get('/_standin/graph/calls', (c) => c.json(graph.calls))
  return app
}

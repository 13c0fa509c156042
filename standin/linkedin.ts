/**
 * The stand-in plays LinkedIn's lead reads (learn.microsoft.com linkedin/marketing/lead-sync/leadsync),
 * so the linkedin-lead-gen preset's read-back is tested through HTTP:
 *
 *   GET  /linkedin/rest/leadFormResponses/{id}   the seeded lead form response; unknown: 404; a revoked token: 401
 *   GET  /linkedin/rest/leadForms/{id}           the seeded form (its questions' predefined fields); unknown: 404
 *   POST /_standin/linkedin/leads   {id, …response}: seeds (replaces) a lead form response
 *   POST /_standin/linkedin/forms   {id, …form}: seeds (replaces) a form
 *   POST /_standin/linkedin/errors  [status…]: the next reads answer these, one each (429, 500…)
 *   POST /_standin/linkedin/tokens  {revoked: [token…]}: reads with these get 401
 *   GET  /_standin/linkedin/calls   [{path, token, version}…] every read, in order
 *
 * Errors have LinkedIn's body shape ({status, serviceErrorCode, code, message}); the shapes of the lead and form
 * are the docs' field lists (test/fixtures/SOURCES.md says which values are made up).
 */
import { Hono } from 'hono'

export class LinkedInState {
  leads = new Map<string, Record<string, unknown>>()
  forms = new Map<string, Record<string, unknown>>()
  errors: number[] = []
  revoked = new Set<string>()
  calls: { path: string; token: string; version: string | null }[] = []
  reset(): void {
    this.leads.clear()
    this.forms.clear()
    this.errors = []
    this.revoked.clear()
    this.calls = []
  }
}

const CODES: Record<number, string> = { 401: 'REVOKED_ACCESS_TOKEN', 403: 'ACCESS_DENIED', 404: 'NOT_FOUND', 429: 'TOO_MANY_REQUESTS', 500: 'INTERNAL_SERVER_ERROR' }

export function linkedInRoutes(li: LinkedInState) {
  const app = new Hono()
  const fail = (status: number) => Response.json({ status, serviceErrorCode: 0, code: CODES[status] ?? 'ERROR', message: 'stand-in' }, { status })
  const read = (store: Map<string, Record<string, unknown>>) => (c: { req: { path: string; param(k: 'id'): string; header(k: string): string | undefined } }) => {
    const token = c.req.header('authorization')?.replace(/^Bearer /, '') ?? ''
    li.calls.push({ path: c.req.path.replace(/^\/linkedin\/rest\//, ''), token, version: c.req.header('linkedin-version') ?? null })
    if (!token || li.revoked.has(token)) return fail(401)
    const queued = li.errors.shift()
    if (queued) return fail(queued)
    const found = store.get(decodeURIComponent(c.req.param('id')))
    return found ? Response.json(found) : fail(404)
  }
  app.get('/linkedin/rest/leadFormResponses/:id', read(li.leads))
  app.get('/linkedin/rest/leadForms/:id', read(li.forms))
  const seed = (store: Map<string, Record<string, unknown>>) => async (c: { req: { json(): Promise<unknown> }; json(v: unknown): Response }) => {
    const item = (await c.req.json()) as Record<string, unknown>
    store.set(String(item.id), item)
    return c.json({ ok: true })
  }
  app.post('/_standin/linkedin/leads', seed(li.leads))
  app.post('/_standin/linkedin/forms', seed(li.forms))
  app.post('/_standin/linkedin/errors', async (c) => {
    li.errors = (await c.req.json()) as number[]
    return c.json({ ok: true })
  })
  app.post('/_standin/linkedin/tokens', async (c) => {
    li.revoked = new Set(((await c.req.json()) as { revoked: string[] }).revoked)
    return c.json({ ok: true })
  })
  app.get('/_standin/linkedin/calls', (c) => c.json(li.calls))
  return app
}

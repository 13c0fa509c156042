/**
 * The stand-in's control surface, `/_standin/*`, for tests, the bench and people
 * (standin/client.ts wraps it). None of it is Unified's.
 *
 *   GET  /_standin/health                      {ok: true}
 *   POST /_standin/reset                       forget records, faults, calls and connection settings
 *   POST /_standin/faults                      [Fault…] or {faults: [Fault…]}: replaces the faults
 *   GET  /_standin/counters[?connection=&status=]  {"lead.create": 2, …} calls per operation
 *   GET  /_standin/calls                       [Call…] every CRM call, in order, with its status
 *   GET  /_standin/connections                 [{id, integration_type, …settings}…] connections with settings
 *   GET  /_standin/connections/{id}            {id, integration_type, integration, profiles, rate_limit, request_limit,
 *                                              latency_ms, properties, picklists, page_size}
 *   POST /_standin/connections/{id}            {integration?, profile?, profiles?, rate_limit?, request_limit?, latency_ms?,
 *                                              properties?, picklists?, page_size?}: replaces the connection's settings
 *                                              (what is left out goes back to its default; see ConnectionSettings)
 *   POST /_standin/connections/{id}/credentials  {refused: boolean}: the connection's credentials are refused (every
 *                                              CRM call and its /unified/connection read answer 401 with Unified's
 *                                              error body) or taken again; reset takes them again too
 *   GET  /_standin/{connection}/{leads|contacts|companies|events}   the records, as stored
 *   POST /_standin/{connection}/{leads|contacts|companies|events}   seed one record as if the CRM had it:
 *                                              validated like a create, but not logged or counted and deaf to
 *                                              profiles, rate limit, latency and faults; may bring created_at/updated_at
 */
import { Hono } from 'hono'
import { insert } from './crm.ts'
import { integrationOf } from './integrations/index.ts'
import { invalid } from './objects.ts'
import { parseSettings } from './settings.ts'
import { type Fault, KINDS, type Kind, type StandinState } from './state.ts'

const PLURALS: Record<string, Kind> = { leads: 'lead', contacts: 'contact', companies: 'company', events: 'event' }
export const PLURAL_OF = Object.fromEntries(Object.entries(PLURALS).map(([plural, kind]) => [kind, plural])) as Record<Kind, string>

export function controlRoutes(state: StandinState) {
  const app = new Hono()
  const settings = (id: string) => {
    const s = state.settingsOf(id)
    return { id, integration_type: integrationOf(s.integration, s.profiles).type, ...s }
  }

  app.get('/_standin/health', (c) => c.json({ ok: true }))
  app.post('/_standin/reset', (c) => {
    state.reset()
    return c.json({ ok: true })
  })
  app.post('/_standin/faults', async (c) => {
    const body = (await c.req.json()) as { faults?: Fault[] } | Fault[]
    state.faults = Array.isArray(body) ? body : (body.faults ?? [])
    return c.json({ ok: true, faults: state.faults })
  })
  app.get('/_standin/counters', (c) => {
    const status = c.req.query('status')
    return c.json(state.counters(c.req.query('connection'), status === undefined ? undefined : Number(status)))
  })
  app.get('/_standin/calls', (c) => c.json(state.calls))

  // Before `/_standin/{connection}/…`, so these win for the literal path segment "connections".
  app.get('/_standin/connections', (c) => c.json([...state.settings.keys()].map(settings)))
  app.get('/_standin/connections/:id', (c) => c.json(settings(c.req.param('id'))))
  app.post('/_standin/connections/:id', async (c) => {
    const parsed = parseSettings(await c.req.json().catch(() => undefined))
    if (typeof parsed === 'string') return c.json({ message: parsed }, 400)
    state.settings.set(c.req.param('id'), parsed)
    return c.json(settings(c.req.param('id')))
  })

  app.post('/_standin/connections/:id/credentials', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { refused?: unknown } | undefined
    if (typeof body?.refused !== 'boolean') return c.json({ message: 'body must be {"refused": true | false}' }, 400)
    if (body.refused) state.refused.add(c.req.param('id'))
    else state.refused.delete(c.req.param('id'))
    return c.json({ id: c.req.param('id'), refused: body.refused })
  })

  app.get('/_standin/:connection/:plural', (c) => {
    const kind = PLURALS[c.req.param('plural')]
    if (!kind) return c.notFound()
    return c.json([...state.connection(c.req.param('connection'))[kind].values()])
  })
  app.post('/_standin/:connection/:plural', async (c) => {
    const kind = PLURALS[c.req.param('plural')]
    if (!kind) return c.notFound()
    const body = await c.req.json().catch(() => undefined)
    const problem = invalid(kind, body)
    if (problem) return c.json({ message: problem }, 400)
    const { id: _id, ...fields } = body as Record<string, unknown>
    return c.json(insert(state, state.connection(c.req.param('connection'))[kind], fields), 201)
  })

  app.get('/', (c) =>
    c.html(
      `<!doctype html><title>Unified stand-in</title><h1>Unified stand-in</h1><ul>${[...state.connections.keys()]
        .map((id) => {
          const records = state.connection(id)
          const links = KINDS.map(
            (kind) => `<a href="/_standin/${encodeURIComponent(id)}/${PLURAL_OF[kind]}">${records[kind].size} ${PLURAL_OF[kind]}</a>`,
          )
          return `<li>${id}: ${links.join(', ')}</li>`
        })
        .join('')}</ul><p><a href="/_standin/counters">call counters</a></p>`,
    ),
  )
  return app
}

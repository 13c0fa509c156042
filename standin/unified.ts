/**
 * Unified's own routes the Worker reads a connection's integration from:
 * `GET /unified/connection/{id}` (every id is a connection here) and
 * `GET /unified/integration` with the SDK's query parameters (`type`,
 * `categories`, `limit`, `offset`; `active`, `summary`, `env` and
 * `updated_gte` change nothing here). Logged and faultable like CRM calls
 * (`connection.get`, `integration.list`); no rate limit or latency applies,
 * those model the CRM.
 */
import { type Context, Hono } from 'hono'
import { requireKey } from './auth.ts'
import { refusedCredentials, unifiedError } from './errors.ts'
import { INTEGRATIONS, integrationByType, integrationOf } from './integrations/index.ts'
import type { Call, Operation, StandinState } from './state.ts'
import { connectionWire, integrationWire } from './support.ts'

export function unifiedRoutes(state: StandinState) {
  const app = new Hono()
  app.use('/unified/*', requireKey)

  /** Logs the call and applies any fault, then answers. */
  const logged = (op: Operation, connection: string, answer: (c: Context) => Response) => (c: Context) => {
    const call: Call = { op, connection, status: 0, at: Date.now() }
    state.calls.push(call)
    const fault = state.takeFault(op)
    const response = connection && state.refused.has(connection)
      ? refusedCredentials(c)
      : fault?.status
      ? unifiedError(c, fault.status, `Stand-in fault: ${fault.status}`, fault.retry_after ? { 'retry-after': fault.retry_after } : {})
      : answer(c)
    call.status = response.status
    return response
  }

  app.get('/unified/connection/:id', (c) => {
    const id = c.req.param('id')
    return logged('connection.get', id, () => {
      const { integration, profiles } = state.settingsOf(id)
      return c.json(connectionWire(id, integrationOf(integration, profiles)))
    })(c)
  })

  app.get(
    '/unified/integration',
    logged('integration.list', '', (c) => {
      const type = c.req.query('type')
      // The SDK sends categories as repeated parameters; a comma list is read too.
      const categories = (c.req.queries('categories') ?? []).flatMap((v) => v.split(','))
      const found = type === undefined ? Object.values(INTEGRATIONS) : [integrationByType(type)].filter((p) => p !== undefined)
      const wanted = categories.length && !categories.includes('crm') ? [] : found
      const offset = Number(c.req.query('offset') ?? 0) || 0
      const limit = Number(c.req.query('limit') ?? 100) || 100
      return c.json(wanted.slice(offset, offset + limit).map(integrationWire))
    }),
  )
  return app
}

/**
 * Unified's CRM routes for lead, contact, company and event:
 * `/crm/{connection_id}/{object}` (list, create) and `/crm/{connection_id}/{object}/{id}`
 * (get, put, patch, delete). Every call is logged, then meets, in order: the
 * connection's rate limit and latency, any fault, the connection's profiles,
 * and finally the records.
 */
import { Hono } from 'hono'
import { OBJECTS, fuzzyMatch, invalid } from './objects.ts'
import { type Call, type Json, KINDS, type Operation, type StandinState } from './state.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const notImplemented = (c: any) => c.json({ message: 'Not implemented' }, 501)

/** Server-set fields: a client cannot write them. */
export const withoutReadOnly = (body: Json): Json => {
  const { id: _id, created_at: _c, updated_at: _u, ...rest } = body
  return rest
}

/** Has the list call a search term? A blank `query` is none. */
const searchTerm = (c: any): string => (c.req.query('query') ?? '').trim()

export function crmRoutes(state: StandinState) {
  const api = new Hono()

  api.use('/crm/*', async (c, next) => {
    // The SDK sends the key as the whole header; people send "bearer <key>". Both count.
    if (!/\S/.test((c.req.header('authorization') ?? '').replace(/^bearer\s*/i, ''))) {
      return c.json({ message: 'Unauthorized: missing API token' }, 401)
    }
    await next()
  })

  for (const kind of KINDS) {
    /** Logs the call, applies rate limit, latency, faults and profiles, then runs `handler`. */
    const op =
      (name: Operation, write: boolean, handler: (c: any, store: Map<string, Json>) => Promise<Response> | Response) =>
      async (c: any) => {
        const connection = c.req.param('connection') as string
        const call: Call = { op: name, connection, id: c.req.param('id'), query: c.req.query('query'), status: 0, at: Date.now() }
        state.calls.push(call)
        // Decided on arrival, answered after the latency: a burst is judged by when it came.
        const retryAfter = state.admit(connection, call.at)
        const { latency_ms } = state.settingsOf(connection)
        if (latency_ms) await sleep(latency_ms)
        if (retryAfter !== undefined) {
          call.status = 429
          return c.json({ message: 'Too Many Requests' }, 429, { 'retry-after': String(retryAfter) })
        }
        const fault = state.takeFault(name)
        if (fault?.latency_ms) await sleep(fault.latency_ms)
        if (fault?.status) {
          call.status = fault.status
          const headers: Record<string, string> = fault.retry_after ? { 'retry-after': fault.retry_after } : {}
          return c.json({ message: `Stand-in fault: ${fault.status}` }, fault.status, headers)
        }
        const response = (await refused(c, connection, name)) ?? (await handler(c, state.connection(connection)[kind]))
        call.status = response.status
        if (fault?.lose_response && write) {
          call.status = 504
          return c.json({ message: 'Gateway Timeout' }, 504)
        }
        return response
      }

    /** What the connection's integration cannot do, answered as Unified answers it. */
    const refused = async (c: any, connection: string, name: Operation): Promise<Response | undefined> => {
      if (kind === 'lead' && state.has(connection, 'no-leads')) return notImplemented(c)
      if (name === 'company.list' && searchTerm(c) && state.has(connection, 'no-company-search')) return notImplemented(c)
      if ((name === 'event.create' || name === 'event.update') && state.has(connection, 'no-form-events')) {
        // Hono caches the parsed body, so the handler reads it again for free.
        const body = (await c.req.json().catch(() => undefined)) as Json | undefined
        if (body?.type === 'FORM') return c.json({ message: 'Unsupported event type' }, 400)
      }
      return undefined
    }

    const base = `/crm/:connection/${kind}`
    const notFound = (c: any) => c.json({ message: `${kind} not found` }, 404)

    api.get(
      base,
      op(`${kind}.list`, false, (c, store) => {
        const connection = c.req.param('connection') as string
        const query = state.has(connection, 'query-ignored') ? '' : (c.req.query('query') ?? '')
        const limit = Math.min(Number(c.req.query('limit') ?? 100) || 100, 100)
        const offset = Number(c.req.query('offset') ?? 0) || 0
        const filters = Object.entries(OBJECTS[kind].filters).flatMap(([param, test]) => {
          const value = c.req.query(param)
          return value === undefined ? [] : [(r: Json) => test(r, value)]
        })
        const all = [...store.values()].filter((r) => (!query || fuzzyMatch(kind, r, query)) && filters.every((f) => f(r)))
        return c.json(all.slice(offset, offset + limit))
      }),
    )
    api.post(
      base,
      op(`${kind}.create`, true, async (c, store) => {
        const body = await c.req.json().catch(() => undefined)
        const problem = invalid(kind, body)
        if (problem) return c.json({ message: problem }, 400)
        return c.json(insert(state, store, withoutReadOnly(body)))
      }),
    )
    api.get(
      `${base}/:id`,
      op(`${kind}.get`, false, (c, store) => {
        const record = store.get(c.req.param('id'))
        return record ? c.json(record) : notFound(c)
      }),
    )
    const update = op(`${kind}.update`, true, async (c, store) => {
      const record = store.get(c.req.param('id'))
      if (!record) return notFound(c)
      const body = await c.req.json().catch(() => undefined)
      const problem = invalid(kind, body)
      if (problem) return c.json({ message: problem }, 400)
      // Unified updates only the fields sent; a list sent replaces the list.
      const next = { ...record, ...withoutReadOnly(body), updated_at: new Date().toISOString() }
      store.set(record.id as string, next)
      return c.json(next)
    })
    api.put(`${base}/:id`, update)
    api.patch(`${base}/:id`, update)
    api.delete(
      `${base}/:id`,
      op(`${kind}.remove`, true, (c, store) => (store.delete(c.req.param('id')) ? c.body(null, 200) : notFound(c))),
    )
  }
  return api
}

/** Stores a new record with server-set id and timestamps (a seed may bring its own timestamps). */
export function insert(state: StandinState, store: Map<string, Json>, fields: Json): Json {
  const now = new Date().toISOString()
  const record = { ...fields, id: state.newId(), created_at: fields.created_at ?? now, updated_at: fields.updated_at ?? fields.created_at ?? now }
  store.set(record.id, record)
  return record
}

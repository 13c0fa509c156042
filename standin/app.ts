/**
 * A stand-in for Unified's CRM lead and contact endpoints, for tests and
 * `npm run dev`: the same paths and snake_case JSON, a fuzzy `query` like real
 * CRMs' search, 404 for unknown ids, bearer auth. It also counts calls per
 * operation and can be told to fail (see `Fault`), through `/_standin/*`.
 */
import { Hono } from 'hono'

type Json = Record<string, unknown>
type Kind = 'lead' | 'contact'
export type Operation = `${Kind}.${'list' | 'get' | 'create' | 'update' | 'remove'}`

/**
 * A switchable fault. Matches calls by operation (all when absent) and fires
 * `times` times (forever when absent) or until `until_ms` (epoch ms).
 * - status: answer this status instead (e.g. 500, 503, 429) and do nothing
 * - retry_after: with status, the Retry-After header to send
 * - latency_ms: wait this long before answering
 * - lose_response: do the write, then answer 504 as if the response was lost
 */
export interface Fault {
  operations?: Operation[]
  status?: number
  retry_after?: string
  latency_ms?: number
  lose_response?: boolean
  times?: number
  until_ms?: number
}

export interface Call {
  op: Operation
  connection: string
  id?: string
  query?: string
  status: number
  at: number
}

interface Connection {
  lead: Map<string, Json>
  contact: Map<string, Json>
}

export class StandinState {
  connections = new Map<string, Connection>()
  faults: Fault[] = []
  calls: Call[] = []
  #seq = 0

  connection(id: string): Connection {
    let c = this.connections.get(id)
    if (!c) this.connections.set(id, (c = { lead: new Map(), contact: new Map() }))
    return c
  }

  newId(): string {
    this.#seq += 1
    return `${Date.now().toString(16)}${this.#seq.toString(16).padStart(8, '0')}`
  }

  reset(): void {
    this.connections.clear()
    this.faults = []
    this.calls = []
  }

  counters(connection?: string): Record<string, number> {
    const out: Record<string, number> = {}
    for (const call of this.calls) {
      if (connection && call.connection !== connection) continue
      out[call.op] = (out[call.op] ?? 0) + 1
    }
    return out
  }

  /** The fault for this call, if any; spends one of its `times`. */
  takeFault(op: Operation): Fault | undefined {
    const now = Date.now()
    const fault = this.faults.find(
      (f) =>
        (!f.operations || f.operations.includes(op)) &&
        (f.times === undefined || f.times > 0) &&
        (f.until_ms === undefined || now < f.until_ms),
    )
    if (fault && fault.times !== undefined) fault.times -= 1
    return fault
  }
}

/** Text a CRM's search would look in. */
const searchable = (record: Json): string => {
  const parts: unknown[] = [record.name, record.first_name, record.last_name, record.company_name]
  for (const e of (record.emails as Json[] | undefined) ?? []) parts.push(e.email)
  // Phone search matches digits whatever the formatting, as CRMs' phone indexes do.
  for (const t of (record.telephones as Json[] | undefined) ?? []) parts.push(t.telephone, String(t.telephone).replace(/\D/g, ''))
  return parts.filter((p) => typeof p === 'string').join(' ').toLowerCase()
}

/** Fuzzy like real CRMs: every word of the query is a substring somewhere (so "alex@example.com" finds "alex@example.com.au"). */
const fuzzyMatch = (record: Json, query: string): boolean => {
  const haystack = searchable(record)
  return query.toLowerCase().split(/\s+/).filter(Boolean).every((word) => haystack.includes(word))
}

const LIST_FIELDS = ['emails', 'telephones', 'link_urls', 'metadata'] as const

/** Rejects what Unified's API would: not an object, or lists that are not lists. */
function invalid(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object'
  for (const field of LIST_FIELDS) {
    const value = (body as Json)[field]
    if (value !== undefined && !Array.isArray(value)) return `${field} must be an array`
  }
  const telephones = ((body as Json).telephones as Json[] | undefined) ?? []
  if (telephones.some((t) => typeof t?.telephone !== 'string')) return 'telephones[].telephone is required'
  return undefined
}

const withoutReadOnly = (body: Json): Json => {
  const { id: _id, created_at: _c, updated_at: _u, ...rest } = body
  return rest
}

export function standinApp(state = new StandinState()) {
  const app = new Hono()

  // --- control surface for tests and people ---
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
  app.get('/_standin/counters', (c) => c.json(state.counters(c.req.query('connection'))))
  app.get('/_standin/calls', (c) => c.json(state.calls))
  app.get('/_standin/:connection/leads', (c) => c.json([...state.connection(c.req.param('connection')).lead.values()]))
  app.get('/_standin/:connection/contacts', (c) => c.json([...state.connection(c.req.param('connection')).contact.values()]))
  app.get('/', (c) =>
    c.html(
      `<!doctype html><title>Unified stand-in</title><h1>Unified stand-in</h1><ul>${[...state.connections.keys()]
        .map((id) => `<li><a href="/_standin/${encodeURIComponent(id)}/leads">${id}: ${state.connection(id).lead.size} leads</a></li>`)
        .join('')}</ul><p><a href="/_standin/counters">call counters</a></p>`,
    ),
  )

  // --- Cloudflare Turnstile's siteverify, with its documented test secrets ---
  app.post('/turnstile/v0/siteverify', async (c) => {
    const body = await c.req.parseBody()
    const fail = (code: string) => c.json({ success: false, 'error-codes': [code] })
    if (!body.response) return fail('missing-input-response')
    switch (body.secret) {
      case '1x0000000000000000000000000000000AA':
        return c.json({ success: true, 'error-codes': [], hostname: 'example.com', challenge_ts: new Date().toISOString() })
      case '2x0000000000000000000000000000000AA':
        return fail('invalid-input-response')
      case '3x0000000000000000000000000000000AA':
        return fail('timeout-or-duplicate')
      default:
        return fail('invalid-input-secret')
    }
  })

  // --- Unified's CRM API ---
  const api = new Hono<{ Variables: { op: Operation; connection: string } }>()

  api.use('/crm/*', async (c, next) => {
    // The SDK sends the key as the whole header; people send "bearer <key>". Both count.
    if (!/\S/.test((c.req.header('authorization') ?? '').replace(/^bearer\s*/i, ''))) {
      return c.json({ message: 'Unauthorized: missing API token' }, 401)
    }
    await next()
  })

  const kinds: Kind[] = ['lead', 'contact']
  for (const kind of kinds) {
    /** Counts the call, applies any fault, then runs `handler`. */
    const op =
      (name: Operation, write: boolean, handler: (c: any, store: Map<string, Json>) => Promise<Response> | Response) =>
      async (c: any) => {
        const connection = c.req.param('connection') as string
        const call: Call = { op: name, connection, id: c.req.param('id'), query: c.req.query('query'), status: 0, at: Date.now() }
        state.calls.push(call)
        const fault = state.takeFault(name)
        if (fault?.latency_ms) await new Promise((r) => setTimeout(r, fault.latency_ms))
        if (fault?.status) {
          call.status = fault.status
          const headers: Record<string, string> = fault.retry_after ? { 'retry-after': fault.retry_after } : {}
          return c.json({ message: `Stand-in fault: ${fault.status}` }, fault.status, headers)
        }
        const response = await handler(c, state.connection(connection)[kind])
        call.status = response.status
        if (fault?.lose_response && write) {
          call.status = 504
          return c.json({ message: 'Gateway Timeout' }, 504)
        }
        return response
      }

    const base = `/crm/:connection/${kind}`
    api.get(
      base,
      op(`${kind}.list`, false, (c, store) => {
        const query = c.req.query('query') ?? ''
        const limit = Math.min(Number(c.req.query('limit') ?? 100) || 100, 100)
        const offset = Number(c.req.query('offset') ?? 0) || 0
        const all = [...store.values()].filter((r) => !query || fuzzyMatch(r, query))
        return c.json(all.slice(offset, offset + limit))
      }),
    )
    api.post(
      base,
      op(`${kind}.create`, true, async (c, store) => {
        const body = await c.req.json().catch(() => undefined)
        const problem = invalid(body)
        if (problem) return c.json({ message: problem }, 400)
        const now = new Date().toISOString()
        const record = { ...withoutReadOnly(body), id: state.newId(), created_at: now, updated_at: now }
        store.set(record.id, record)
        return c.json(record)
      }),
    )
    api.get(
      `${base}/:id`,
      op(`${kind}.get`, false, (c, store) => {
        const record = store.get(c.req.param('id'))
        return record ? c.json(record) : c.json({ message: `${kind} not found` }, 404)
      }),
    )
    const update = op(`${kind}.update`, true, async (c, store) => {
      const record = store.get(c.req.param('id'))
      if (!record) return c.json({ message: `${kind} not found` }, 404)
      const body = await c.req.json().catch(() => undefined)
      const problem = invalid(body)
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
      op(`${kind}.remove`, true, (c, store) =>
        store.delete(c.req.param('id')) ? c.body(null, 200) : c.json({ message: `${kind} not found` }, 404),
      ),
    )
  }
  app.route('/', api)
  return app
}

/**
 * Unified's CRM routes for lead, contact, company and event:
 * `/crm/{connection_id}/{object}` (list, create) and `/crm/{connection_id}/{object}/{id}`
 * (get, put, patch, delete). Every call is logged, then meets, in order:
 * Unified's rate limit, the CRM's own allowance, the connection's latency,
 * any fault, what the connection's integration lacks, and finally the records
 * as that integration treats them (rules.ts). Errors are Unified's
 * `{statusCode, error, message}`.
 */
import { type Context, Hono } from 'hono'
import { requireKey } from './auth.ts'
import { notImplemented, refusedCredentials, unifiedError } from './errors.ts'
import { type IntegrationProfile, type ObjectProfile, integrationOf } from './integrations/index.ts'
import type { Method } from './integrations/types.ts'
import { invalid } from './objects.ts'
import { listPage, planWrite, readable } from './rules.ts'
import { type Call, type ConnectionSettings, type Json, KINDS, type StandinState } from './state.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Server-set fields: a client cannot write them. */
export const withoutReadOnly = (body: Json): Json => {
  const { id: _id, created_at: _c, updated_at: _u, ...rest } = body
  return rest
}

/** What a handler gets: the connection's records of the object, its integration's rules for it, its settings. */
interface Scope {
  store: Map<string, Json>
  rules: ObjectProfile
  settings: ConnectionSettings
}

/** Whole seconds to wait, at least 1, for a Retry-After. */
const seconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)))

export function crmRoutes(state: StandinState) {
  const api = new Hono()
  api.use('/crm/*', requireKey)

  for (const kind of KINDS) {
    /** Logs the call, applies the limits, latency, faults and what the integration lacks, then runs `handler`. */
    const op =
      (method: Method, write: boolean, handler: (c: Context, scope: Scope) => Promise<Response> | Response) =>
      async (c: Context) => {
        const name = `${kind}.${method}` as const
        const connection = c.req.param('connection') as string
        const call: Call = { op: name, connection, id: c.req.param('id'), query: c.req.query('query'), status: 0, at: Date.now() }
        state.calls.push(call)
        const settings = state.settingsOf(connection)
        const integration = integrationOf(settings.integration, settings.profiles)
        const answer = (response: Response) => {
          call.status = response.status
          return response
        }
        // A connection whose credentials are refused answers nothing else, and counts against no limit.
        if (state.refused.has(connection)) return answer(refusedCredentials(c))
        // Decided on arrival, answered after the latency: a burst is judged by when it came.
        const { calls_per_second: perSecond, calls_per_minute: perMinute, retry_after: sayWhen = true } = settings.rate_limit ?? {}
        // Unified's limits, per second and per rolling minute (its workspace limit), before the CRM's own allowance;
        // a refused call takes no slot in the limits after the one that refused it.
        const limited = perSecond ? state.admit(`rate:${connection}`, perSecond, 1000, call.at) : undefined
        const minuteLimited = limited === undefined && perMinute ? state.admit(`minute:${connection}`, perMinute, 60_000, call.at) : undefined
        const overAllowance =
          limited === undefined && minuteLimited === undefined && settings.request_limit
            ? state.admit(`allowance:${connection}`, settings.request_limit.calls, (settings.request_limit.window_seconds ?? Infinity) * 1000, call.at)
            : undefined
        if (settings.latency_ms) await sleep(settings.latency_ms)
        const when = (ms: number): Record<string, string> => (sayWhen ? { 'retry-after': seconds(ms) } : {})
        if (limited !== undefined) return answer(unifiedError(c, 429, 'Too Many Requests', when(limited)))
        if (minuteLimited !== undefined) {
          // Worded as Unified words its workspace limit (docs.unified.to/guides/rate_limits_and_retries).
          const message = `Too many requests to unified.to API; max requests per minute: ${perMinute}`
          return answer(unifiedError(c, 429, message, when(minuteLimited)))
        }
        if (overAllowance !== undefined) return answer(overLimit(c, integration, overAllowance))
        const fault = state.takeFault(name)
        if (fault?.latency_ms) await sleep(fault.latency_ms)
        if (fault?.status) {
          return answer(unifiedError(c, fault.status, `Stand-in fault: ${fault.status}`, fault.retry_after ? { 'retry-after': fault.retry_after } : {}))
        }
        const rules = integration.objects[kind]
        const lacking = !rules || !rules.methods.includes(method) || (method === 'list' && refusesQuery(c, rules))
        const response = lacking ? notImplemented(c) : await handler(c, { store: state.connection(connection)[kind], rules, settings })
        call.status = response.status
        if (fault?.lose_response && write) {
          call.status = 504
          return unifiedError(c, 504, 'Gateway Timeout')
        }
        return response
      }

    const base = `/crm/:connection/${kind}`
    const notFound = (c: Context) => unifiedError(c, 404, `${kind} not found`)

    api.get(
      base,
      op('list', false, (c, { store, rules, settings }) => c.json(listPage(kind, rules, (p) => c.req.query(p), [...store.values()], settings))),
    )
    api.post(
      base,
      op('create', true, async (c, { store, rules, settings }) => {
        const body = await c.req.json().catch(() => undefined)
        const problem = invalid(kind, body)
        if (problem) return unifiedError(c, 400, problem)
        const plan = planWrite(kind, rules, withoutReadOnly(body), undefined, settings)
        if ('refusal' in plan) return unifiedError(c, plan.refusal.status, plan.refusal.message)
        return c.json(readable(rules, insert(state, store, plan.fields)))
      }),
    )
    api.get(
      `${base}/:id`,
      op('get', false, (c, { store, rules }) => {
        const record = store.get(c.req.param('id') as string)
        return record ? c.json(readable(rules, record)) : notFound(c)
      }),
    )
    const update = op('update', true, async (c, { store, rules, settings }) => {
      const record = store.get(c.req.param('id') as string)
      if (!record) return notFound(c)
      const body = await c.req.json().catch(() => undefined)
      const problem = invalid(kind, body)
      if (problem) return unifiedError(c, 400, problem)
      const plan = planWrite(kind, rules, withoutReadOnly(body), record, settings)
      if ('refusal' in plan) return unifiedError(c, plan.refusal.status, plan.refusal.message)
      // Unified updates only the fields sent; a list sent replaces the list.
      const next = { ...record, ...plan.fields, updated_at: new Date().toISOString() }
      store.set(record.id as string, next)
      return c.json(readable(rules, next))
    })
    api.put(`${base}/:id`, update)
    api.patch(`${base}/:id`, update)
    api.delete(
      `${base}/:id`,
      op('remove', true, (c, { store }) => (store.delete(c.req.param('id') as string) ? c.body(null, 200) : notFound(c))),
    )
  }
  return api
}

/** A non-blank `query` where the integration refuses one it does not take. */
const refusesQuery = (c: Context, rules: ObjectProfile) =>
  rules.list.unsupported_query === 'refused' && !rules.list.options.includes('query') && !!(c.req.query('query') ?? '').trim()

/** A call past the CRM's allowance, answered as that CRM answers it. */
function overLimit(c: Context, integration: IntegrationProfile, waitMs: number): Response {
  const { status, message, retry_after } = integration.over_limit
  return unifiedError(c, status, message, retry_after && Number.isFinite(waitMs) ? { 'retry-after': seconds(waitMs) } : {})
}

/** Stores a new record with server-set id and timestamps (a seed may bring its own timestamps). */
export function insert(state: StandinState, store: Map<string, Json>, fields: Json): Json {
  const now = new Date().toISOString()
  const record = { ...fields, id: state.newId(), created_at: fields.created_at ?? now, updated_at: fields.updated_at ?? fields.created_at ?? now }
  store.set(record.id, record)
  return record
}

/**
 * Structured JSON logs. Callers pass ids, counts and outcomes only: never an
 * email, phone, name, body or secret. Inside a request, every line carries
 * its request id (from hono's context storage).
 */
import type { MiddlewareHandler } from 'hono'
import { tryGetContext } from 'hono/context-storage'

type Level = 'info' | 'warn' | 'error'
type Fields = Record<string, string | number | boolean | null | undefined>

export function log(level: Level, msg: string, fields: Fields = {}): void {
  const requestId = tryGetContext<{ Variables: { requestId: string } }>()?.var.requestId
  console[level](JSON.stringify({ level, msg, ...(requestId ? { requestId } : {}), ...fields }))
}

/** One line per request: method, route (the pattern, not the URL), status, outcome, time, and the submission id if one was accepted. */
export const requestLog = (): MiddlewareHandler<{ Variables: { submission?: string } }> =>
  async function requestLog(c, next) {
    const started = Date.now()
    await next()
    const status = c.res.status
    log(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', 'request', {
      method: c.req.method,
      route: c.req.routePath,
      status,
      outcome: status < 400 ? 'ok' : status < 500 ? 'rejected' : 'failed',
      ms: Date.now() - started,
      submission: c.get('submission'),
    })
  }

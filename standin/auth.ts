/** Unified's bearer auth, for its CRM and its own routes: no key, 401. */
import type { MiddlewareHandler } from 'hono'
import { unifiedError } from './errors.ts'

export const requireKey: MiddlewareHandler = async function requireKey(c, next) {
  // The SDK sends the key as the whole header; people send "bearer <key>". Both count.
  if (!/\S/.test((c.req.header('authorization') ?? '').replace(/^bearer\s*/i, ''))) {
    return unifiedError(c, 401, 'Unauthorized: missing API token')
  }
  await next()
}

/**
 * Operator access: `Authorization: Bearer <OPERATOR_TOKEN>` for scripts, or
 * HTTP Basic with the token as password so a browser can open the status
 * page. Compared in constant time; no token configured means no access.
 */
import type { MiddlewareHandler } from 'hono'
import { csrf } from 'hono/csrf'
import { problem } from '../http/problem'
import { sameSecret } from '../sources/signature'


function presented(header: string | undefined): string | undefined {
  if (!header) return undefined
  const [scheme, value = ''] = header.split(/\s+/, 2)
  if (/^bearer$/i.test(scheme ?? '')) return value
  if (/^basic$/i.test(scheme ?? '')) {
    try {
      const decoded = atob(value)
      return decoded.slice(decoded.indexOf(':') + 1)
    } catch {
      return undefined
    }
  }
  return undefined
}

export const operatorAuth = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function operatorAuth(c, next) {
    const expected = c.env.OPERATOR_TOKEN
    const given = presented(c.req.header('authorization'))
    if (!expected || given === undefined || !(await sameSecret(given, expected))) {
      throw problem(401, 'unauthorized', 'Unauthorized', {}, { 'www-authenticate': 'Basic realm="lead-intake operator", charset="UTF-8"' })
    }
    await next()
  }

const sameOrigin = csrf()

/**
 * A browser sends cached Basic credentials with any site's form post, so a
 * state-changing request authenticated by Basic must come from this origin
 * (hono's csrf: Sec-Fetch-Site or Origin). A Bearer token is never sent by a
 * browser on its own, so scripts using one are not asked.
 */
export const sameSiteOnly = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function sameSiteOnly(c, next) {
    if (/^bearer\s/i.test(c.req.header('authorization') ?? '')) return next()
    return sameOrigin(c, next)
  }

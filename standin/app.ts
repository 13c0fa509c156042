/**
 * A stand-in for Unified's CRM API (lead, contact, company, event), for tests,
 * `npm run dev` and the bench: the same paths and snake_case JSON, a fuzzy
 * `query` like real CRMs' search, list filters, 404 for unknown ids, bearer
 * auth. Through `/_standin/*` it counts calls per operation, can be told to
 * fail (see `Fault`), and gives each connection a capability profile, a rate
 * limit and latency (see `ConnectionSettings`).
 *
 *   state.ts    records, faults, calls, connection settings
 *   objects.ts  the four objects: list fields, search, filters
 *   crm.ts      Unified's /crm/{connection_id}/{object}[/{id}] routes
 *   control.ts  the /_standin/* control surface
 *   client.ts   a typed client over both, for tests and scripts
 */
import { Hono } from 'hono'
import { controlRoutes } from './control.ts'
import { crmRoutes } from './crm.ts'
import { StandinState } from './state.ts'

export { StandinState }
export type { Call, ConnectionSettings, Fault, Kind, Operation, Profile } from './state.ts'

export function standinApp(state = new StandinState()) {
  const app = new Hono()
  app.route('/', controlRoutes(state))

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

  app.route('/', crmRoutes(state))
  return app
}

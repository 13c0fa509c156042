/**
 * A stand-in for Unified's CRM API (lead, contact, company, event), for tests,
 * `npm run dev` and the bench: the same paths and snake_case JSON, list
 * filters, 404 for unknown ids, bearer auth, Unified's error body. Each
 * connection is behind an integration (permissive by default; Salesforce-,
 * HubSpot-, Pipedrive-, Close-like and minimal ones) whose table decides what
 * it writes, refuses, searches and serves as its support data. Through
 * `/_standin/*` it counts calls per operation, can be told to fail (see
 * `Fault`), and sets each connection's integration, restrictions, limits and
 * latency (see `ConnectionSettings`).
 *
 *   state.ts         records, faults, calls, connection settings
 *   settings.ts      reading a connection's settings
 *   objects.ts       the four objects: fields, list fields, search parts, filters
 *   integrations/    one table per integration, and the restrictions
 *   rules.ts         what an integration's table does to a write, a list, a read
 *   support.ts       the Connection and Integration (support) wire shapes
 *   crm.ts           Unified's /crm/{connection_id}/{object}[/{id}] routes
 *   unified.ts       Unified's /unified/connection/{id} and /unified/integration
 *   errors.ts        Unified's error body; auth.ts its bearer check
 *   control.ts       the /_standin/* control surface
 *   graph.ts         Meta's Graph lead reads and form leads listing, for the meta-lead-ads preset
 *   linkedin.ts      LinkedIn's lead form response and form reads, for the linkedin-lead-gen preset
 *   sinks.ts         receivers for the Worker's notifications (Slack, Teams, webhooks)
 *   client.ts        a typed client over all of it, for tests and scripts
 */
import { Hono } from 'hono'
import { controlRoutes } from './control.ts'
import { crmRoutes } from './crm.ts'
import { graphRoutes } from './graph.ts'
import { linkedInRoutes } from './linkedin.ts'
import { sinkRoutes } from './sinks.ts'
import { StandinState } from './state.ts'
import { unifiedRoutes } from './unified.ts'

export { StandinState }
export type { Call, ConnectionSettings, Fault, Kind, Operation, Profile } from './state.ts'

export function standinApp(state = new StandinState()) {
  const app = new Hono()
  // Before the control routes: `/_standin/graph/leads` would otherwise be read as connection "graph"'s leads.
  app.route('/', graphRoutes(state.graph))
  app.route('/', linkedInRoutes(state.linkedin))
  // Before the control routes too: `/_standin/sinks/{name}` is no connection's records.
  app.route('/', sinkRoutes(state.sinks))
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
  app.route('/', unifiedRoutes(state))
  return app
}

/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { env } from 'cloudflare:workers'
import { app } from './app'
import { deliverySettings, loadForms } from './config'
import { handleBatch } from './delivery/consumer'
import type { LeadMessage } from './delivery/message'
import { log } from './log'
import { loadStripe, loadTypeform } from './sources/webhook-config'
import { purgeSubmissions } from './store/submissions'

// A bad configuration fails when the Worker starts (so `wrangler dev` and `wrangler deploy`
// refuse it), naming the key; requests would report the same error, never act on it.
for (const load of [loadForms, loadTypeform, loadStripe, deliverySettings]) load(env)

export { CrmGate } from './delivery/crm-gate'
export { LeadWriter } from './delivery/lead-writer'

export default {
  fetch: app.fetch,
  queue: handleBatch,
  /** Daily retention: the submission log forgets what is older than SUBMISSION_RETENTION_DAYS. */
  async scheduled(_controller, env, _ctx) {
    const days = deliverySettings(env).SUBMISSION_RETENTION_DAYS
    const purged = await purgeSubmissions(env.DB, days)
    log('info', 'retention purge', { purged, days })
  },
} satisfies ExportedHandler<Env, LeadMessage>

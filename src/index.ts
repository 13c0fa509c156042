/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { env } from 'cloudflare:workers'
import { app } from './app'
import { deliverySettings, loadForms } from './config'
import { handleBatch } from './delivery/consumer'
import type { LeadMessage } from './delivery/message'
import { log } from './log'
import { loadStripe, loadTypeform } from './sources/webhook-config'
import { purgeDeliveryIds } from './store/delivery-ids'
import { purgeSubmissions } from './store/submissions'

// A bad configuration fails when the Worker starts (so `wrangler dev` and `wrangler deploy`
// refuse it), naming the key; requests would report the same error, never act on it.
for (const load of [loadForms, loadTypeform, loadStripe, deliverySettings]) load(env)

export { CrmGate } from './delivery/crm-gate'
export { LeadWriter } from './delivery/lead-writer'

export default {
  fetch: app.fetch,
  queue: handleBatch,
  /** Daily retention: the submission log after SUBMISSION_RETENTION_DAYS, webhook event ids after 30 days. */
  async scheduled(_controller, env, _ctx) {
    const days = deliverySettings(env).SUBMISSION_RETENTION_DAYS
    const [submissions, deliveryIds] = await Promise.all([purgeSubmissions(env.DB, days), purgeDeliveryIds(env.DB)])
    log('info', 'retention purge', { submissions, deliveryIds, days })
  },
} satisfies ExportedHandler<Env, LeadMessage>

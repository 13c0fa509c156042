/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { app } from './app'
import { deliverySettings } from './config'
import { handleBatch } from './delivery/consumer'
import type { LeadMessage } from './delivery/message'
import { log } from './log'
import { purgeSubmissions } from './store/submissions'

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

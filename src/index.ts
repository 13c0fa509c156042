/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { env } from 'cloudflare:workers'
import { app } from './app'
import { deliverySettings } from './config'
import { handleBatch } from './delivery/consumer'
import { loadPhoneMetadata } from './lead/identity'
import type { AnyLeadMessage } from './lead/message'
import { log } from './log'
import { CATCH_UP_CRON, catchUp } from './sources/catch-up'
import { readLead } from './sources/lead-reader'
import { checkConfig } from './startup'
import { purgeDeliveryIds } from './store/delivery-ids'
import { purgeSubmissions, rehashKeys } from './store/submissions'

// A bad configuration fails when the Worker starts, naming the key and the fix: a Worker that
// can't start takes no traffic (a configuration it can't read is never acted on half-way).
checkConfig(env)

export { CrmGate } from './delivery/crm-gate'
export { LeadWriter } from './delivery/lead-writer'

export default {
  fetch: app.fetch,
  // A batch whose phone metadata can't be read throws: the queue delivers it again.
  queue: async (batch, env, _ctx) => {
    await loadPhoneMetadata(env.ASSETS)
    // Ad platforms' leads are read back from the platform (sources/lead-reader.ts) before they are written.
    await handleBatch(batch, env, readLead)
  },
  /**
   * Every 15 minutes (CATCH_UP_CRON): Meta Lead Ads' catch-up, the leads of each configured form whose webhook never came.
   * Daily (any other cron): retention (the submission log after SUBMISSION_RETENTION_DAYS, webhook event ids after
   * 30 days), and rows from before HASH_SECRET moved to the keyed hash.
   */
  async scheduled(controller, env, ctx) {
    if (controller.cron === CATCH_UP_CRON) {
      await catchUp(env, ctx, controller.scheduledTime)
      return
    }
    const days = deliverySettings(env).SUBMISSION_RETENTION_DAYS
    const [submissions, deliveryIds] = await Promise.all([purgeSubmissions(env.DB, days), purgeDeliveryIds(env.DB)])
    let rehashed = 0
    while (env.HASH_SECRET && rehashed < 50_000) {
      const n = await rehashKeys(env.DB, env.HASH_SECRET)
      if (n === 0) break
      rehashed += n
    }
    log('info', 'retention purge', { submissions, deliveryIds, days, rehashed })
  },
} satisfies ExportedHandler<Env, AnyLeadMessage>

/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { env } from 'cloudflare:workers'
import { app } from './app'
import { deliverySettings } from './config'
import { handleBatch } from './delivery/consumer'
import { handleNotifications } from './delivery/notifications'
import { loadPhoneMetadata } from './lead/identity'
import type { AnyLeadMessage } from './lead/message'
import { log } from './log'
import { evaluateAlerts } from './notify/alerts'
import { NOTIFICATIONS_QUEUE, type NotifyMessage } from './notify/message'
import { purgeNotifications } from './notify/outbox'
import { readLead } from './sources/lead-reader'
import { notifyOf } from './sources/registry'
import { checkConfig } from './startup'
import { purgeDeliveryIds } from './store/delivery-ids'
import { purgeSubmissions, rehashKeys } from './store/submissions'

// A bad configuration fails when the Worker starts, naming the key and the fix: a Worker that
// can't start takes no traffic (a configuration it can't read is never acted on half-way).
checkConfig(env)

export { CrmGate } from './delivery/crm-gate'
export { LeadWriter } from './delivery/lead-writer'

/** The alerts' cron in wrangler.toml; the other (daily) is the retention purge. */
const ALERTS_CRON = '*/5 * * * *'

export default {
  fetch: app.fetch,
  // A batch whose phone metadata can't be read throws: the queue delivers it again.
  queue: async (batch, env, _ctx) => {
    // Notifications have a queue of their own: a slow channel never holds a lead.
    if (batch.queue === NOTIFICATIONS_QUEUE) return handleNotifications(batch as unknown as MessageBatch<NotifyMessage>, env, notifyOf)
    await loadPhoneMetadata(env.ASSETS)
    // Ad platforms' leads are read back from the platform (sources/lead-reader.ts) before they are written.
    await handleBatch(batch, env, readLead)
  },
  /**
   * Daily: retention (the submission log and the notifications outbox after SUBMISSION_RETENTION_DAYS, webhook event ids after 30 days),
   * and rows from before HASH_SECRET moved to the keyed hash.
   */
  async scheduled(controller, env, _ctx) {
    // Every 5 minutes: the operator's alerts, as of the run's scheduled time.
    if (controller.cron === ALERTS_CRON) {
      const { fired, resolved } = await evaluateAlerts(env, controller.scheduledTime)
      if (fired.length || resolved.length) log('info', 'alerts evaluated', { fired: fired.join(',') || undefined, resolved: resolved.join(',') || undefined })
      return
    }
    const days = deliverySettings(env).SUBMISSION_RETENTION_DAYS
    const [submissions, deliveryIds] = await Promise.all([purgeSubmissions(env.DB, days), purgeDeliveryIds(env.DB), purgeNotifications(env.DB, days)])
    let rehashed = 0
    while (env.HASH_SECRET && rehashed < 50_000) {
      const n = await rehashKeys(env.DB, env.HASH_SECRET)
      if (n === 0) break
      rehashed += n
    }
    log('info', 'retention purge', { submissions, deliveryIds, days, rehashed })
  },
} satisfies ExportedHandler<Env, AnyLeadMessage>

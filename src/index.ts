/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { env } from 'cloudflare:workers'
import { app } from './app'
import { deliverySettings } from './config'
import { handleBatch } from './delivery/consumer'
import { handleNotifications } from './delivery/notifications'
import { loadPhoneMetadata } from './lead/identity'
import type { AnyLeadMessage } from './lead/message'
import { log } from './log'
import { count, metered, meterOn } from './meter'
import { CATCH_UP_CRON, catchUp } from './sources/catch-up'
import { evaluateAlerts } from './notify/alerts'
import { NOTIFICATIONS_QUEUE, type NotifyMessage } from './notify/message'
import { purgeNotifications } from './notify/outbox'
import { readLead } from './sources/lead-reader'
import { notifyOf } from './sources/registry'
import { checkConfig } from './startup'
import { purgeRollup } from './store/browse'
import { purgeDeliveryIds } from './store/delivery-ids'
import { movePayloadsToR2, purgeSubmissions, rehashKeys } from './store/submissions'

// A bad configuration fails when the Worker starts, naming the key and the fix: a Worker that
// can't start takes no traffic (a configuration it can't read is never acted on half-way).
checkConfig(env)

export { CrmGate } from './delivery/crm-gate'
export { LeadWriter } from './delivery/lead-writer'

/** The alerts' cron in wrangler.toml; the other (daily) is the retention purge. */
const ALERTS_CRON = '*/5 * * * *'

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => {
    if (meterOn(env)) count('invocations')
    return app.fetch(request, metered(env), ctx)
  },
  // A batch whose phone metadata can't be read throws: the queue delivers it again.
  queue: async (batch, rawEnv, _ctx) => {
    const env = metered(rawEnv)
    if (meterOn(env)) {
      // One invocation a batch; each message is read, then acknowledged (deleted): two queue operations.
      count('invocations')
      count('queueOperations', 2 * batch.messages.length)
    }
    // Notifications have a queue of their own: a slow channel never holds a lead.
    if (batch.queue === NOTIFICATIONS_QUEUE) return handleNotifications(batch as unknown as MessageBatch<NotifyMessage>, env, notifyOf)
    await loadPhoneMetadata(env.ASSETS)
    // Ad platforms' leads are read back from the platform (sources/lead-reader.ts) before they are written.
    await handleBatch(batch, env, readLead)
  },
  /**
   * Every 5 minutes (ALERTS_CRON): the operator's alerts. Every 15 minutes (CATCH_UP_CRON): Meta Lead Ads' catch-up,
   * the leads of each configured form whose webhook never came. Daily (any other cron): retention (the submission log
   * and the notifications outbox after SUBMISSION_RETENTION_DAYS, webhook event ids after 30 days), rows from before
   * HASH_SECRET moved to the keyed hash, and payloads from before R2 moved there.
   */
  async scheduled(controller, rawEnv, ctx) {
    const env = metered(rawEnv)
    if (meterOn(env)) count('invocations')
    if (controller.cron === ALERTS_CRON) {
      const { fired, resolved } = await evaluateAlerts(env, controller.scheduledTime)
      if (fired.length || resolved.length) log('info', 'alerts evaluated', { fired: fired.join(',') || undefined, resolved: resolved.join(',') || undefined })
      return
    }
    if (controller.cron === CATCH_UP_CRON) {
      await catchUp(env, ctx, controller.scheduledTime)
      return
    }
    const days = deliverySettings(env).SUBMISSION_RETENTION_DAYS
    const [submissions, deliveryIds] = await Promise.all([purgeSubmissions(env, days), purgeDeliveryIds(env.DB), purgeNotifications(env.DB, days)])
    await purgeRollup(env.DB, days)
    let rehashed = 0
    while (env.HASH_SECRET && rehashed < 50_000) {
      const n = await rehashKeys(env.DB, env.HASH_SECRET)
      if (n === 0) break
      rehashed += n
    }
    let moved = 0
    while (moved < 20_000) {
      const n = await movePayloadsToR2(env)
      if (n === 0) break
      moved += n
    }
    log('info', 'retention purge', { submissions, deliveryIds, days, rehashed, moved })
  },
} satisfies ExportedHandler<Env, AnyLeadMessage>

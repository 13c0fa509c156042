/**
 * The notifications queue's consumer: each message to the channels it is for, each channel at
 * most once (the outbox's claim), a channel that fails tried again with the lead queue's backoff
 * until DELIVERY_MAX_ATTEMPTS, then given up and shown as failing (console, /operator/channels).
 * Apart from the lead queue, so a slow or broken channel never holds a CRM write. Logs carry the
 * channel, the submission id and why, never what the message said.
 */
import { deliverySettings } from '../config'
import type { Origin } from '../lead/message'
import { log } from '../log'
import { type Channel, loadChannels } from '../notify/channels'
import { keyOf, type NotifyMessage } from '../notify/message'
import { claim, settle } from '../notify/outbox'
import { SendFailed, send } from '../notify/send'
import { getSubmission } from '../store/submissions'
import { retryDelay } from './backoff'

/** The channels a source names in `notify` (index.ts passes the sources' own lookup: sources sit above delivery). */
export type ChannelsOf = (env: Env, origin: Origin) => string[]

/** Slack, Teams and email are told of written leads; a webhook channel of the events it takes. Alerts go to ALERTS as given. */
function channelsFor(env: Env, m: NotifyMessage, channelsOf: ChannelsOf): Channel[] {
  const channels = loadChannels(env)
  const names = m.type === 'alert' ? m.channels : channelsOf(env, m.origin)
  return [...new Set(names)]
    .filter((n) => Object.hasOwn(channels, n))
    .map((n) => channels[n]!)
    .filter((c) => m.type === 'alert' || (c.kind === 'webhook' ? c.events.includes(m.event) : m.event === 'lead.written'))
}

export async function notifyOne(message: Message<NotifyMessage>, env: Env, channelsOf: ChannelsOf): Promise<void> {
  const m = message.body
  const { DELIVERY_MAX_ATTEMPTS, DELIVERY_BASE_DELAY_SECONDS } = deliverySettings(env)
  const last = message.attempts >= DELIVERY_MAX_ATTEMPTS
  const key = keyOf(m)
  const about = m.type === 'event' ? { event: m.event, submission: m.submission } : { alert: m.condition, state: m.state }
  // The person was erased (or the row purged) since this was queued: what it says of them goes nowhere.
  if (m.type === 'event' && !(await getSubmission(env.DB, m.submission))) {
    message.ack()
    log('info', 'notification dropped: its submission is gone (erased or purged)', about)
    return
  }
  const outcomes = await Promise.all(
    channelsFor(env, m, channelsOf).map(async (channel): Promise<'done' | 'again'> => {
      const claimed = await claim(env.DB, key, channel.name)
      if (claimed === 'done') return 'done'
      // Another delivery of the same message is sending it now: look again later.
      if (claimed === 'busy') return 'again'
      try {
        await send(env, channel, m, key)
        await settle(env.DB, key, channel.name, 'sent')
        return 'done'
      } catch (error) {
        const why = error instanceof SendFailed ? error.message : `error (${(error as Error).name})`
        await settle(env.DB, key, channel.name, last ? 'failed' : 'retry', why)
        log(last ? 'error' : 'warn', last ? 'notification given up' : 'notification will be retried', { channel: channel.name, kind: channel.kind, ...about, attempts: message.attempts, error: why })
        return 'again'
      }
    }),
  )
  if (outcomes.includes('again') && !last) message.retry({ delaySeconds: retryDelay(message.attempts, undefined, DELIVERY_BASE_DELAY_SECONDS) })
  else message.ack()
}

export async function handleNotifications(batch: MessageBatch<NotifyMessage>, env: Env, channelsOf: ChannelsOf): Promise<void> {
  await Promise.all(
    batch.messages.map((message) =>
      notifyOne(message, env, channelsOf).catch((error: unknown) => {
        // D1 unavailable, a configuration it can't read: the whole message again later.
        log('error', 'notification failed', { queue: batch.queue, error: (error as Error).name })
        message.retry({ delaySeconds: retryDelay(message.attempts, undefined, deliverySettings(env).DELIVERY_BASE_DELAY_SECONDS) })
      }),
    ),
  )
}

/**
 * How the rest of the Worker asks for a notification: one queue message per event, sent only
 * after the submission's outcome is recorded, and never able to delay or fail it (a queue that
 * refuses the message costs the notification, not the lead; the log line says so, without any
 * of its content). The notifications consumer (delivery/notifications.ts) fans it out to the
 * source's channels and keeps each channel's sends at most once.
 */
import type { LeadDraft } from '../lead/draft'
import type { CrmRecordIds, Origin } from '../lead/message'
import { log } from '../log'
import type { NotifyEvent } from './channels'
import { loadChannels } from './channels'
import { type EventMessage, type NotifyMessage, summarize } from './message'

/** Queues `m`; false when it could not be (logged, never thrown). */
export async function enqueueNotification(env: Env, m: NotifyMessage): Promise<boolean> {
  try {
    await env.NOTIFICATIONS.send(m, { contentType: 'json' })
    return true
  } catch (error) {
    log('error', 'notification not queued', { type: m.type, ...(m.type === 'event' ? { event: m.event, submission: m.submission } : { condition: m.condition }), error: (error as Error).name })
    return false
  }
}

/** Without any channel nothing is queued: a deployment without notifications pays no queue operation per lead. */
const hasChannels = (env: Env): boolean => {
  try {
    return Object.keys(loadChannels(env)).length > 0
  } catch {
    return false
  }
}

async function notify(env: Env, event: NotifyEvent, m: { id: string; origin: Origin }, fields: Omit<EventMessage, 'type' | 'event' | 'submission' | 'origin' | 'at'>): Promise<void> {
  if (!hasChannels(env)) return
  await enqueueNotification(env, { type: 'event', event, submission: m.id, origin: m.origin, at: new Date().toISOString(), ...fields })
}

/** A submission written to the CRM: `lead.written` to the source's channels. `action` `created`: the person is new to the CRM. */
export const notifyWritten = (env: Env, m: { id: string; origin: Origin }, draft: LeadDraft, action: string, records: CrmRecordIds): Promise<void> =>
  notify(env, 'lead.written', m, { lead: summarize(draft), person: action === 'created' ? 'new' : 'known', records })

/** A submission marked failed (permanent, out of attempts, dead-lettered): `submission.failed` to the source's webhook channels. */
export const notifyFailed = (env: Env, m: { id: string; origin: Origin }, draft: LeadDraft | undefined, reason: string): Promise<void> =>
  notify(env, 'submission.failed', m, { ...(draft ? { lead: summarize(draft) } : {}), reason })

/** A submission held while its CRM connection is broken: `submission.held` to the source's webhook channels. For the held state to call. */
export const notifyHeld = (env: Env, m: { id: string; origin: Origin }, draft: LeadDraft | undefined, reason: string): Promise<void> =>
  notify(env, 'submission.held', m, { ...(draft ? { lead: summarize(draft) } : {}), reason })

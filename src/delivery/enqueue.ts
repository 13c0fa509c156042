/**
 * Acknowledge only what is durably queued: a failed send is a 503 with
 * Retry-After, so the sender (browser, Typeform, Stripe) tries again.
 */
import type { Context } from 'hono'
import type { LeadDraft } from '../lead/draft'
import { problem } from '../http/problem'
import { dedupKey, hashKey } from '../lead/normalize'
import { log } from '../log'
import { recordReceived, type State } from '../store/submissions'
import type { LeadMessage } from './message'

/** Seconds a sender is asked to wait when the queue refuses a lead. */
export const QUEUE_RETRY_AFTER = 30

export const newMessage = (origin: LeadMessage['origin'], draft: LeadDraft): LeadMessage => ({
  v: 1,
  id: crypto.randomUUID(),
  receivedAt: new Date().toISOString(),
  origin,
  draft,
})

export async function enqueueLead(
  queue: Pick<Queue<LeadMessage>, 'send'>,
  origin: LeadMessage['origin'],
  draft: LeadDraft,
  message = newMessage(origin, draft),
): Promise<string> {
  try {
    await queue.send(message, { contentType: 'json' })
  } catch (error) {
    log('error', 'queue send failed', { source: origin.source, form: origin.form, error: (error as Error).name })
    throw problem(503, 'queue-unavailable', 'Temporarily unable to accept submissions', {
      detail: `Nothing was saved. Please try again in ${QUEUE_RETRY_AFTER} seconds.`,
    }, { 'retry-after': String(QUEUE_RETRY_AFTER) })
  }
  return message.id
}

/**
 * Queue the lead, then log it as `queued` in the submission log after the
 * answer has gone out (the queue, not the log, is what makes it durable).
 */
export async function acceptLead(
  c: Pick<Context<{ Bindings: Env }>, 'env' | 'executionCtx'>,
  origin: LeadMessage['origin'],
  draft: LeadDraft,
): Promise<string> {
  const message = newMessage(origin, draft)
  await enqueueLead(c.env.LEADS, origin, draft, message)
  c.executionCtx.waitUntil(
    (async () => {
      const key = dedupKey(draft)
      await recordReceived(c.env.DB, { ...message, keyHash: key ? await hashKey(key) : null, state: 'queued', payload: message })
    })().catch((error: unknown) => log('error', 'submission log write failed', { submission: message.id, error: (error as Error).name })),
  )
  return message.id
}

/**
 * Logs a submission that is answered but not queued (spam, ignored, a
 * redelivery) and returns the id it was logged under. Nothing of the lead is kept.
 */
export function recordUnqueued(c: Pick<Context<{ Bindings: Env }>, 'env' | 'executionCtx'>, origin: LeadMessage['origin'], state: State): string {
  const id = crypto.randomUUID()
  c.executionCtx.waitUntil(
    recordReceived(c.env.DB, { id, receivedAt: new Date().toISOString(), origin, keyHash: null, state }).catch((error: unknown) =>
      log('error', 'submission log write failed', { submission: id, error: (error as Error).name }),
    ),
  )
  return id
}

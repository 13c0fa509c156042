/**
 * Acknowledge only what is durably queued: a failed send is a 503 with
 * Retry-After, so the sender (browser, Typeform, Stripe) tries again.
 */
import type { LeadDraft } from '../lead/draft'
import { problem } from '../http/problem'
import { log } from '../log'
import type { LeadMessage } from './message'

/** Seconds a sender is asked to wait when the queue refuses a lead. */
export const QUEUE_RETRY_AFTER = 30

export async function enqueueLead(
  queue: Pick<Queue<LeadMessage>, 'send'>,
  origin: LeadMessage['origin'],
  draft: LeadDraft,
): Promise<string> {
  const message: LeadMessage = { v: 1, id: crypto.randomUUID(), receivedAt: new Date().toISOString(), origin, draft }
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

/**
 * Acknowledge only what is durably queued: a failed send is a 503 with
 * Retry-After, so the sender (browser, Typeform, Stripe) tries again. A lead
 * too large for a queue message (128 KB) is kept in R2 first and queued by
 * reference, so size is never a reason to fail, let alone a temporary one.
 * Before the answer: the queue send only (and the R2 put of a large lead);
 * the payload's R2 copy (for a replay) and the log row follow in waitUntil.
 */
import type { Context } from 'hono'
import { problem } from '../http/problem'
import { hashesOf } from '../lead/identity'
import type { LeadMessage, Origin, Payload } from '../lead/message'
import { log } from '../log'
import { payloadKey, putPayload } from '../store/blobs'
import { describeStorageError } from '../store/schema'
import type { State } from '../store/states'
import { recordConsentText, recordReceived } from '../store/submissions'

/** Seconds a sender is asked to wait when the queue refuses a lead. */
export const QUEUE_RETRY_AFTER = 30
/** Queue messages are at most 128 KB; a payload past this (leaving room for the envelope) goes by reference. */
export const MAX_INLINE_BYTES = 96 * 1024

export const newMessage = (origin: Origin, payload: Payload, id: string = crypto.randomUUID(), gen = 0): LeadMessage => ({
  v: 2,
  id,
  receivedAt: new Date().toISOString(),
  origin,
  gen,
  payload,
})

const encoder = new TextEncoder()

const unavailable = (what: string) =>
  problem(503, 'queue-unavailable', 'Temporarily unable to accept submissions', {
    detail: `Nothing was saved${what}. Please try again in ${QUEUE_RETRY_AFTER} seconds.`,
  }, { 'retry-after': String(QUEUE_RETRY_AFTER) })

/**
 * Queues `message` (a 503 when the queue refuses it). A large one is put in
 * R2 first (store/blobs.ts) and queued without its payload; the consumer reads
 * it back from there. `stored`: R2 already holds this payload (a replay's).
 * Returns the serialized payload when R2 is still to get it, or null.
 */
export async function enqueueLead(env: Pick<Env, 'LEADS' | 'BUCKET'>, message: LeadMessage, { stored = false } = {}): Promise<string | null> {
  const text = JSON.stringify(message.payload)
  const inline = encoder.encode(text).length <= MAX_INLINE_BYTES
  if (!inline && !stored) {
    try {
      await putPayload(env.BUCKET, message.id, text)
    } catch (error) {
      log('error', 'large submission could not be stored', { submission: message.id, source: message.origin.source, error: (error as Error).name })
      throw unavailable('')
    }
  }
  try {
    await env.LEADS.send(inline ? message : { ...message, payload: undefined }, { contentType: 'json' })
  } catch (error) {
    log('error', 'queue send failed', { source: message.origin.source, form: message.origin.form, error: (error as Error).name })
    throw unavailable(inline ? '' : ' in the queue')
  }
  return inline && !stored ? text : null
}

/**
 * Queue the lead, then log it as `queued` (with its payload, for a replay) in
 * the submission log after the answer has gone out (the queue, which carries
 * the payload, not the log, is what makes it durable).
 * `consentText`: the source's consent wording, kept once per version when the
 * draft records a consent (GET /operator/consents). `id`: the submission's id
 * when the source needed it first (a form's file is stored under it).
 */
export async function acceptLead(
  c: Pick<Context<{ Bindings: Env }>, 'env' | 'executionCtx'>,
  origin: Origin,
  payload: Payload,
  consentText?: string,
  id?: string,
): Promise<string> {
  const message = newMessage(origin, payload, id)
  // The row holds the person's data from now on, so it is findable (and erasable) by each of their identifiers from now on.
  // A lead still to be read back (payload.fetch) holds no identifier yet: the consumer keys its row once it has read it.
  const keys = c.env.HASH_SECRET && payload.draft ? await hashesOf(payload.draft, c.env.HASH_SECRET) : undefined
  const unstored = await enqueueLead(c.env, message)
  // The log row, after the answer (the queue, which carries the payload, is what makes the lead durable). It keeps the
  // payload for a replay while the lead is in flight: in the same D1 write, not one more R2 put for every lead; a lead
  // that has to wait without its message (failed, held) is moved to R2 by the consumer, and the written one's is cleared.
  c.executionCtx.waitUntil(
    recordReceived(c.env.DB, { id: message.id, receivedAt: message.receivedAt, origin: message.origin, state: 'queued', ...(unstored !== null ? { payload: unstored } : { payloadKey: payloadKey(message.id) }), keys }).catch(
      (error: unknown) => log('error', 'submission log write failed', { submission: message.id, error: describeStorageError(error) }),
    ),
  )
  const consent = payload.draft?.consent
  if (consent && consentText !== undefined) {
    // The exact wording agreed to, kept once per version (GET /operator/consents).
    c.executionCtx.waitUntil(
      recordConsentText(c.env.DB, origin, { ...consent, text: consentText }).catch((error: unknown) =>
        log('error', 'consent text not recorded', { submission: message.id, error: describeStorageError(error) }),
      ),
    )
  }
  return message.id
}

/**
 * Logs a submission that is answered but not queued (spam, ignored, a
 * redelivery) and returns the id it was logged under. Nothing of the lead is
 * kept; `reason` (why an ignored one was) is, so the operator sees it.
 */
export function recordUnqueued(c: Pick<Context<{ Bindings: Env }>, 'env' | 'executionCtx'>, origin: Origin, state: State, reason?: string): string {
  const id = crypto.randomUUID()
  c.executionCtx.waitUntil(
    recordReceived(c.env.DB, { id, receivedAt: new Date().toISOString(), origin, state, reason }).catch((error: unknown) =>
      log('error', 'submission log write failed', { submission: id, error: describeStorageError(error) }),
    ),
  )
  return id
}

/**
 * Acknowledge only what is durably queued: a failed send is a 503 with
 * Retry-After, so the sender (browser, Typeform, Stripe) tries again. A lead
 * too large for a queue message (128 KB) is kept in D1 first and queued by
 * reference, so size is never a reason to fail, let alone a temporary one.
 */
import type { Context } from 'hono'
import { problem } from '../http/problem'
import { hashesOf } from '../lead/identity'
import type { LeadMessage, Origin, Payload } from '../lead/message'
import { log } from '../log'
import { describeStorageError } from '../store/schema'
import type { State } from '../store/states'
import { recordConsentText, recordReceived } from '../store/submissions'

/** Seconds a sender is asked to wait when the queue refuses a lead. */
export const QUEUE_RETRY_AFTER = 30
/** Queue messages are at most 128 KB; a payload past this (leaving room for the envelope) goes by reference. */
export const MAX_INLINE_BYTES = 96 * 1024
/** D1 keeps a row of at most 2 MB: a payload past this keeps the draft but not the raw input (replay re-sends the draft). */
export const MAX_STORED_BYTES = 1_900_000

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

/** The payload as the log stores it, serialized once: without the raw input when that alone would overflow a D1 row. */
function storable(message: LeadMessage): { text: string; bytes: number } {
  const text = JSON.stringify(message.payload)
  const bytes = encoder.encode(text).length
  if (bytes <= MAX_STORED_BYTES) return { text, bytes }
  const draftOnly = JSON.stringify({ draft: message.payload!.draft })
  if (encoder.encode(draftOnly).length <= MAX_STORED_BYTES) {
    log('warn', 'raw input too large to keep for replay', { submission: message.id, source: message.origin.source })
    return { text: draftOnly, bytes }
  }
  // Bounded by the body limits, so a sender can't get here; if one does, it is their problem, said once.
  throw problem(413, 'payload-too-large', 'Submission too large', { detail: 'The submission maps to more data than a lead can hold.' })
}

/**
 * Queues `message` (a 503 when the queue refuses it). A large one is written
 * to the submission log first and queued without its payload; the consumer
 * reads it back from there. Returns the serialized payload when the log row
 * is still to be written, or null when it already was.
 */
export async function enqueueLead(env: Pick<Env, 'LEADS' | 'DB'>, message: LeadMessage, keys?: string[]): Promise<string | null> {
  const payload = storable(message)
  const inline = payload.bytes <= MAX_INLINE_BYTES
  if (!inline) {
    try {
      await recordReceived(env.DB, { ...message, state: 'queued', payload: payload.text, keys })
    } catch (error) {
      log('error', 'large submission could not be stored', { submission: message.id, source: message.origin.source, error: describeStorageError(error) })
      throw unavailable('')
    }
  }
  try {
    await env.LEADS.send(inline ? message : { ...message, payload: undefined }, { contentType: 'json' })
  } catch (error) {
    log('error', 'queue send failed', { source: message.origin.source, form: message.origin.form, error: (error as Error).name })
    throw unavailable(inline ? '' : ' in the queue')
  }
  return inline ? payload.text : null
}

/**
 * Queue the lead, then log it as `queued` in the submission log after the
 * answer has gone out (the queue, not the log, is what makes it durable).
 * `consentText`: the source's consent wording, kept once per version when the
 * draft records a consent (GET /operator/consents).
 */
export async function acceptLead(c: Pick<Context<{ Bindings: Env }>, 'env' | 'executionCtx'>, origin: Origin, payload: Payload, consentText?: string): Promise<string> {
  const message = newMessage(origin, payload)
  // The row holds the person's data from now on, so it is findable (and erasable) by each of their identifiers from now on.
  // A lead still to be read back (payload.fetch) holds no identifier yet: the consumer keys its row once it has read it.
  const keys = c.env.HASH_SECRET && payload.draft ? await hashesOf(payload.draft, c.env.HASH_SECRET) : undefined
  const unlogged = await enqueueLead(c.env, message, keys)
  if (unlogged !== null) {
    c.executionCtx.waitUntil(
      recordReceived(c.env.DB, { ...message, state: 'queued', payload: unlogged, keys }).catch((error: unknown) =>
        log('error', 'submission log write failed', { submission: message.id, error: describeStorageError(error) }),
      ),
    )
  }
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

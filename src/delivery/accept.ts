/**
 * Accept a webhook delivery once, whatever its source: its event id is claimed in D1
 * (store/delivery-ids.ts) before its lead is queued, released when queueing fails (so the
 * sender's retry is a first delivery again), and finished once queued (from then on a
 * redelivery is a `200 duplicate`, written nowhere and costing no Unified call). Events
 * that carry no lead are acknowledged and logged as `ignored`, never queued.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../http/context'
import { retryLater } from '../http/problem'
import type { LeadDraft } from '../lead/draft'
import type { LeadRef, SourceInput } from '../lead/message'
import { log } from '../log'
import { type Claim, claimDelivery, finishDelivery, releaseDelivery } from '../store/delivery-ids'
import { describeStorageError } from '../store/schema'
import { acceptLead, recordUnqueued } from './enqueue'

/** Which delivery: the endpoint it came to (the namespace of its event ids, and the submission's source), what it came from, its event id. */
export interface WebhookDelivery {
  source: string
  form: string
  eventId: string
}

/** What the source made of it: a lead (or, ad platforms, what to read back) with the input a replay maps again, or why there is none. */
export type DeliveryOutcome = { draft: LeadDraft; input: SourceInput } | { fetch: LeadRef; input: SourceInput } | { ignored: string }

/** What the sender is told of one delivery (or one lead of a batch). */
export interface Accepted {
  id: string
  status: 'accepted' | 'duplicate' | 'ignored'
  reason?: string
}

/**
 * Answers `200 {id, status}`: accepted, duplicate or ignored; a 503 with Retry-After when it
 * could not be made durable. `consentText`: the source's consent wording (see acceptLead).
 */
export async function acceptDelivery(c: Context<AppEnv>, delivery: WebhookDelivery, outcome: DeliveryOutcome, consentText?: string): Promise<Response> {
  return c.json(await acceptOnce(c, delivery, outcome, consentText))
}

/**
 * One delivery, or one lead of a batch, accepted once (see acceptDelivery); throws the 503 problem when it could not be made durable.
 * `quiet`: a duplicate is not logged as a submission row (the catch-up meets every lead the webhook brought again).
 * `c` is a request's context, or the cron's env and execution context (sources/catch-up.ts).
 */
export async function acceptOnce(
  c: Pick<Context<AppEnv>, 'env' | 'executionCtx'>,
  delivery: WebhookDelivery,
  outcome: DeliveryOutcome,
  consentText?: string,
  { quiet = false } = {},
): Promise<Accepted> {
  const { source, form, eventId } = delivery
  const origin = { source, form }
  const ids = { source, form, event: eventId }
  if ('ignored' in outcome) {
    const id = recordUnqueued(c, origin, 'ignored', outcome.ignored)
    log('info', 'webhook ignored', { ...ids, reason: outcome.ignored, submission: id })
    return { id, status: 'ignored', reason: outcome.ignored }
  }
  const db = c.env.DB
  let claim: Claim
  try {
    claim = await claimDelivery(db, source, eventId)
  } catch (error) {
    log('error', 'delivery id claim failed', { ...ids, error: describeStorageError(error) })
    throw retryLater('storage-unavailable', 'Temporarily unable to accept deliveries', 'Nothing was saved. Please retry.')
  }
  if (claim.state === 'done') {
    if (quiet) return { id: claim.submission, status: 'duplicate' }
    const logged = recordUnqueued(c, origin, 'duplicate-delivery')
    log('info', 'webhook redelivery acknowledged', { ...ids, submission: claim.submission, logged })
    return { id: claim.submission, status: 'duplicate' }
  }
  if (claim.state === 'in-flight') {
    // Another delivery of this event is being queued right now; acknowledging this one could lose the lead if that one fails.
    throw retryLater('delivery-in-progress', 'This event is being processed', 'Another delivery of this event is in progress. Please retry.')
  }
  let id: string
  try {
    id = await acceptLead(c, origin, outcome, consentText)
  } catch (error) {
    await releaseDelivery(db, source, eventId).catch((e: unknown) =>
      // The claim then expires on its own (store/delivery-ids.ts), so the retry is still accepted.
      log('error', 'delivery id release failed', { ...ids, error: describeStorageError(e) }),
    )
    throw error
  }
  // Queued, so the answer is 200 whatever happens next; an unfinished claim expires and a later
  // redelivery is queued again, which the writer's find-then-update makes harmless.
  await finishDelivery(db, source, eventId, id).catch((e: unknown) =>
    log('error', 'delivery id finish failed', { ...ids, submission: id, error: describeStorageError(e) }),
  )
  log('info', 'webhook accepted', { ...ids, submission: id })
  return { id, status: 'accepted' }
}

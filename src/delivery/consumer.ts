/**
 * The queue consumer: each message to its person's writer; ack only what was
 * written (and logged), retry what may succeed later, dead-letter what never
 * will or has run out of attempts. Nothing is dropped silently.
 */
import { deliverySettings } from '../config'
import { dedupKey, hashKey } from '../lead/normalize'
import { log } from '../log'
import { recordOutcome } from '../store/submissions'
import { retryDelay } from './backoff'
import { writerFor } from './lead-writer'
import type { LeadMessage, WriteOutcome } from './message'

export async function deliver(message: Message<LeadMessage>, env: Env): Promise<void> {
  const body = message.body
  const { DELIVERY_MAX_ATTEMPTS, DELIVERY_BASE_DELAY_SECONDS } = deliverySettings(env)
  const key = dedupKey(body.draft)
  const keyHash = key ? await hashKey(key) : null
  const ids = { submission: body.id, source: body.origin.source, form: body.origin.form, attempts: message.attempts }
  let outcome: WriteOutcome
  try {
    outcome = await writerFor(env, body).write(body)
  } catch (error) {
    // The Durable Object itself failed (reset, overloaded): always worth another try.
    outcome = { ok: false, error: `lead writer: ${(error as Error).message}`, retryable: true }
  }
  const attempts = message.attempts
  if (outcome.ok) {
    await recordOutcome(env.DB, body, keyHash, { state: 'written', attempts, crmLeadId: outcome.leadId, action: outcome.action })
    message.ack()
    log('info', 'lead delivered', { ...ids, action: outcome.action, repeat: outcome.repeat, dedup: key ? key.kind : 'none' })
    return
  }
  if (outcome.retryable && attempts < DELIVERY_MAX_ATTEMPTS) {
    const delaySeconds = retryDelay(attempts, outcome.retryAfter, DELIVERY_BASE_DELAY_SECONDS)
    await recordOutcome(env.DB, body, keyHash, { state: 'retrying', attempts, lastError: outcome.error })
    message.retry({ delaySeconds })
    log('warn', 'lead write will be retried', { ...ids, status: outcome.status, delaySeconds })
    return
  }
  // Permanent, or out of attempts: keep the lead and the CRM's reason, then let the message go.
  await env.DEAD_LETTERS.send({ ...body, error: outcome.error, failedAt: new Date().toISOString() }, { contentType: 'json' })
  await recordOutcome(env.DB, body, keyHash, { state: 'failed', attempts, lastError: outcome.error })
  message.ack()
  log('error', 'lead dead-lettered', { ...ids, status: outcome.status, retryable: outcome.retryable })
}

export async function handleBatch(batch: MessageBatch<LeadMessage>, env: Env): Promise<void> {
  // One message's failure (e.g. D1 unavailable) must not block the others: each settles alone,
  // and one that threw is retried on its own.
  await Promise.all(
    batch.messages.map((message) =>
      deliver(message, env).catch((error: unknown) => {
        log('error', 'delivery failed', { submission: message.body.id, error: (error as Error).name })
        message.retry({ delaySeconds: retryDelay(message.attempts, undefined, deliverySettings(env).DELIVERY_BASE_DELAY_SECONDS) })
      }),
    ),
  )
}

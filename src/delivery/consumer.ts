/**
 * The queue consumer: each message to its person's writer; ack only what was
 * written, retry what may succeed later, dead-letter what never will.
 */
import { log } from '../log'
import { retryDelay } from './backoff'
import { writerFor } from './lead-writer'
import type { LeadMessage, WriteOutcome } from './message'

export async function deliver(message: Message<LeadMessage>, env: Env): Promise<void> {
  const body = message.body
  const ids = { submission: body.id, source: body.origin.source, form: body.origin.form, attempts: message.attempts }
  let outcome: WriteOutcome
  try {
    outcome = await writerFor(env, body).write(body)
  } catch (error) {
    // The Durable Object itself failed (reset, overloaded): always worth another try.
    outcome = { ok: false, error: `lead writer: ${(error as Error).message}`, retryable: true }
  }
  if (outcome.ok) {
    message.ack()
    log('info', 'lead delivered', { ...ids, action: outcome.action, repeat: outcome.repeat })
    return
  }
  if (outcome.retryable) {
    const delaySeconds = retryDelay(message.attempts, outcome.retryAfter)
    message.retry({ delaySeconds })
    log('warn', 'lead write will be retried', { ...ids, status: outcome.status, delaySeconds })
    return
  }
  // Permanent: keep the lead and the CRM's reason, then let the message go.
  await env.DEAD_LETTERS.send({ ...body, error: outcome.error, failedAt: new Date().toISOString() }, { contentType: 'json' })
  message.ack()
  log('error', 'lead dead-lettered', { ...ids, status: outcome.status })
}

export async function handleBatch(batch: MessageBatch<LeadMessage>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => deliver(message, env)))
}

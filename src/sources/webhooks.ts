/**
 * `/webhooks/*`: Typeform and Stripe. One path for both: secret set → raw
 * body verified → parsed and mapped (typeform.ts, stripe.ts) → event id
 * claimed in D1 → queued → 200. The CRM is written later, by the consumer.
 *
 * Status codes are chosen for the senders' retry rules: Typeform disables a
 * webhook at once on 404/410 (never sent here) and retries 408/423/429/503
 * for ~10 h; Stripe retries anything but 2xx for 3 days. Whatever may succeed
 * later (no secret yet, bad config, queue or D1 down) is therefore a 503.
 */
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from '../http/context'
import { ConfigError } from '../config'
import { acceptLead, recordUnqueued } from '../delivery/enqueue'
import { problem } from '../http/problem'
import { log } from '../log'
import { describeStorageError } from '../store/schema'
import { type Claim, claimDelivery, finishDelivery, releaseDelivery } from '../store/delivery-ids'
import { secretsOf } from './signature'
import { type StripeCheck, stripeLead, verifyStripe } from './stripe'
import { typeformLead, verifyTypeform } from './typeform'
import type { WebhookLead } from './types'
import { loadStripe, loadTypeform, type WebhookEnv } from './webhook-config'


type Provider = 'typeform' | 'stripe'

/** Typeform sends the form's whole definition with every response: room for large forms, still far below the queue's 128 KB per lead. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024

const later = (type: string, title: string, detail: string, seconds = 60) =>
  problem(503, type, title, { detail }, { 'retry-after': String(seconds) })

function secretsFor(value: string | undefined, name: string): string[] {
  const secrets = secretsOf(value)
  if (secrets.length > 0) return secrets
  // Fail closed: without a secret nothing can be verified. A 503, so both providers keep the delivery and retry.
  log('error', 'webhook secret not set', { secret: name })
  throw later('webhook-unconfigured', 'This webhook is not set up yet', `${name} is not set, so deliveries cannot be verified and all are refused. Set it with \`npx wrangler secret put ${name}\`.`, 300)
}

function settings<T>(load: () => T): T {
  try {
    return load()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    log('error', 'configuration error', { error: error.message })
    throw later('configuration-error', 'lead-intake is misconfigured', `${error.message}. Fix wrangler.toml and redeploy.`, 300)
  }
}

/** The body as text (kept for a replay's re-mapping) and as JSON. */
function readJson(body: ArrayBuffer): { text: string; json: unknown } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body)
    return { text, json: JSON.parse(text) }
  } catch {
    throw problem(400, 'malformed-body', 'Malformed JSON', { detail: 'The request body is not valid UTF-8 JSON.' })
  }
}

const STRIPE_REJECTIONS: Record<Exclude<StripeCheck, 'ok'>, () => Error> = {
  missing: () => problem(401, 'invalid-signature', 'Missing signature', { detail: 'The Stripe-Signature header is missing.' }),
  malformed: () => problem(400, 'invalid-signature', 'Malformed signature', { detail: 'Stripe-Signature needs t= and at least one v1=.' }),
  mismatch: () => problem(401, 'invalid-signature', 'Invalid signature', { detail: 'No v1 signature matches the body under the configured secret(s).' }),
  stale: () => problem(401, 'stale-signature', 'Signature too old', { detail: 'The signed timestamp is outside the tolerance window.' }),
}

async function accept(c: Context<AppEnv>, provider: Provider, lead: WebhookLead, body: string): Promise<Response> {
  const origin = { source: provider, form: lead.form }
  const ids = { source: provider, form: lead.form, event: lead.eventId }
  if (!lead.draft) {
    const id = recordUnqueued(c, origin, 'ignored')
    log('info', 'webhook ignored', { ...ids, reason: lead.ignored, submission: id })
    return c.json({ id, status: 'ignored', reason: lead.ignored })
  }
  const db = c.env.DB
  let claim: Claim
  try {
    claim = await claimDelivery(db, provider, lead.eventId)
  } catch (error) {
    log('error', 'delivery id claim failed', { ...ids, error: describeStorageError(error) })
    throw later('storage-unavailable', 'Temporarily unable to accept deliveries', 'Nothing was saved. Please retry.')
  }
  if (claim.state === 'done') {
    const logged = recordUnqueued(c, origin, 'duplicate-delivery')
    log('info', 'webhook redelivery acknowledged', { ...ids, submission: claim.submission, logged })
    return c.json({ id: claim.submission, status: 'duplicate' })
  }
  if (claim.state === 'in-flight') {
    // Another delivery of this event is being queued right now; acknowledging this one could lose the lead if that one fails.
    throw later('delivery-in-progress', 'This event is being processed', 'Another delivery of this event is in progress. Please retry.')
  }
  let id: string
  try {
    id = await acceptLead(c, origin, { draft: lead.draft, input: { kind: 'webhook', body } })
  } catch (error) {
    await releaseDelivery(db, provider, lead.eventId).catch((e: unknown) =>
      // The claim then expires on its own (store/delivery-ids.ts), so the retry is still accepted.
      log('error', 'delivery id release failed', { ...ids, error: describeStorageError(e) }),
    )
    throw error
  }
  // Queued, so the answer is 200 whatever happens next; an unfinished claim expires and a later
  // redelivery is queued again, which the writer's find-then-update makes harmless.
  await finishDelivery(db, provider, lead.eventId, id).catch((e: unknown) =>
    log('error', 'delivery id finish failed', { ...ids, submission: id, error: describeStorageError(e) }),
  )
  log('info', 'webhook accepted', { ...ids, submission: id })
  return c.json({ id, status: 'accepted' })
}

export const webhooks = new Hono<AppEnv>()

webhooks.use(
  bodyLimit({
    maxSize: MAX_WEBHOOK_BYTES,
    onError: () => {
      throw problem(413, 'payload-too-large', 'Request body too large', { detail: `The limit is ${MAX_WEBHOOK_BYTES} bytes.` })
    },
  }),
)

webhooks.post('/typeform', async (c) => {
  const env = c.env as Env & WebhookEnv
  const secrets = secretsFor(env.TYPEFORM_WEBHOOK_SECRET, 'TYPEFORM_WEBHOOK_SECRET')
  const body = await c.req.arrayBuffer()
  if (!(await verifyTypeform(secrets, body, c.req.header('typeform-signature')))) {
    throw problem(401, 'invalid-signature', 'Invalid signature', { detail: 'Typeform-Signature is missing or does not match the body.' })
  }
  const { text, json } = readJson(body)
  return accept(c, 'typeform', typeformLead(settings(() => loadTypeform(env)), json), text)
})

webhooks.post('/stripe', async (c) => {
  const env = c.env as Env & WebhookEnv
  const secrets = secretsFor(env.STRIPE_WEBHOOK_SECRET, 'STRIPE_WEBHOOK_SECRET')
  const config = settings(() => loadStripe(env))
  const body = await c.req.arrayBuffer()
  const check = await verifyStripe(secrets, body, c.req.header('stripe-signature'), config.tolerance_seconds)
  if (check !== 'ok') throw STRIPE_REJECTIONS[check]()
  const { text, json } = readJson(body)
  return accept(c, 'stripe', stripeLead(config, json), text)
})

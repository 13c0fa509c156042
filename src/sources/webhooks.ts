/**
 * `/webhooks/:id` (and `/webhooks/:id/:token` for a source with a URL token): every
 * registered source (registry.ts) through one path: endpoint known → secret set → raw body
 * verified → read and mapped (the source's module) → event id → accepted once
 * (delivery/accept.ts) → 200. The CRM is written later, by the consumer.
 *
 * Status codes are chosen for the senders' retry rules. Typeform disables a webhook at once
 * on 404/410, so `/webhooks/typeform` is always mounted and never answers either; nothing here
 * answers 410, which Calendly and Standard Webhooks senders also take as "switch it off".
 * Whatever may succeed later (no secret yet, bad config, queue or D1 down) is a 503 with
 * Retry-After; a sender's mistake (bad signature, body that is no payload) is a 4xx.
 */
import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { bodyLimit } from 'hono/body-limit'
import { ConfigError } from '../config'
import { type Accepted, acceptOnce, type DeliveryOutcome } from '../delivery/accept'
import { eraseLead } from '../delivery/erase-lead'
import type { AppEnv } from '../http/context'
import { problem, retryLater } from '../http/problem'
import { log } from '../log'
import { recordSignal } from '../notify/alerts'
import { describeStorageError } from '../store/schema'
import { withConsent } from './consent'
import { type Endpoint, endpointOf, secretVar } from './registry'
import { secretsOf } from './signature'
import type { Check, Received, WebhookLead } from './types'

/** Typeform sends the form's whole definition with every response: room for large forms, still far below the queue's 128 KB per lead. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024

function secretsFor(env: object, name: string): string[] {
  const secrets = secretsOf((env as Record<string, unknown>)[name] as string | undefined)
  if (secrets.length > 0) return secrets
  // Fail closed: without a secret nothing can be verified. A 503, so the sender keeps the delivery and retries.
  log('error', 'webhook secret not set', { secret: name })
  throw retryLater('webhook-unconfigured', 'This webhook is not set up yet', `${name} is not set, so deliveries cannot be verified and all are refused. Set it with \`npx wrangler secret put ${name}\`.`, 300)
}

/** As secretsFor, for a delivery: one refused for want of its secret is noted for the operator's alert (notify/alerts.ts). */
async function deliverySecrets(env: Env, name: string): Promise<string[]> {
  try {
    return secretsFor(env, name)
  } catch (error) {
    await recordSignal(env.DB, 'secret-missing', name).catch(() => undefined)
    throw error
  }
}

/** The endpoint at `id`; a broken configuration is a 503 (the sender retries while it is fixed), never a 404. */
function endpoint(env: object, id: string): Endpoint | undefined {
  try {
    return endpointOf(env, id)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    log('error', 'configuration error', { error: error.message })
    throw retryLater('configuration-error', 'lead-intake is misconfigured', `${error.message}, then deploy again.`, 300)
  }
}

const unknown = (id: string) => problem(404, 'unknown-webhook', 'Unknown webhook', { detail: `No webhook "${id.slice(0, 64)}" is configured.` })

/** For a sender that echoes its key in the body: a body that can't be read has no key, the sender's malformed request. */
function keyRejection(field: string, check: Exclude<Check, 'ok'>) {
  if (check === 'malformed') return problem(400, 'malformed-body', 'Malformed JSON', { detail: 'The request body is not a UTF-8 JSON object.' })
  const detail = check === 'missing' ? `The body has no ${field}.` : `${field} does not match the configured secret(s).`
  return problem(401, 'invalid-key', check === 'missing' ? 'Missing key' : 'Invalid key', { detail })
}

function rejection(header: string, check: Exclude<Check, 'ok'>) {
  if (check === 'malformed') return problem(400, 'invalid-signature', 'Malformed signature', { detail: `${header} is not in the form this sender uses.` })
  if (check === 'stale') return problem(401, 'stale-signature', 'Signature too old', { detail: 'The signed timestamp is outside the tolerance window.' })
  const detail = check === 'missing' ? `The ${header} header is missing.` : `${header} does not match the body under the configured secret(s).`
  return problem(401, 'invalid-signature', check === 'missing' ? 'Missing signature' : 'Invalid signature', { detail })
}

/** The body as text and as JSON, for a sender that posts JSON. */
function readJson(body: ArrayBuffer): { text: string; payload: unknown } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body)
    return { text, payload: JSON.parse(text) }
  } catch {
    throw problem(400, 'malformed-body', 'Malformed JSON', { detail: 'The request body is not valid UTF-8 JSON.' })
  }
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

webhooks.post('/:id/:token?', async (c) => {
  const { id, token } = c.req.param()
  const found = endpoint(c.env, id)
  const byToken = found?.source.auth.kind === 'url-token'
  // A token source without its token, or a token on a source that takes none, is no endpoint.
  if (!found || byToken !== (token !== undefined)) throw unknown(id)
  const { source, config } = found
  const secrets = await deliverySecrets(c.env, found.secret)
  const received: Received = { body: await c.req.arrayBuffer(), headers: c.req.raw.headers, token }
  const check = await source.verify(secrets, received, config)
  if (check !== 'ok') {
    // A wrong URL token must not tell a prober that the endpoint exists.
    if (source.auth.kind === 'url-token') throw unknown(id)
    throw source.auth.kind === 'body-key' ? keyRejection(source.auth.field, check) : rejection(source.auth.header, check)
  }
  let text: string
  let payload: unknown
  if (source.read) {
    payload = await source.read(received)
    text = JSON.stringify(payload)
  } else {
    ;({ text, payload } = readJson(received.body))
  }
  if (!source.split) return c.json(await acceptPart(c, found, received, payload, text))
  // A batch (Meta's): every part read and keyed before any is accepted, so a bad one refuses the batch whole; then each
  // is accepted once on its own, and 200 only once all are (a 503 halfway: the retry finds the first ones duplicates).
  const parts = source.split(payload)
  const keyed = await Promise.all(parts.map(async (part) => ({ part, lead: source.map(config, part, id), event: await source.eventOf(received, part) })))
  const leads: Accepted[] = []
  for (const { part, lead, event } of keyed) leads.push(await acceptPart(c, found, received, part, JSON.stringify(part), lead, event.id))
  if (leads.length === 0) leads.push(await acceptOnce(c, { source: id, form: 'none', eventId: '' }, { ignored: 'no-lead-in-delivery' }))
  return c.json({ status: leads.every((l) => l.status === 'ignored') ? 'ignored' : 'accepted', leads })
})

/** One delivery, or one part of a batch: mapped (unless it was), consent applied, keyed (unless it was), accepted once. */
async function acceptPart(c: Context<AppEnv>, found: Endpoint, received: Received, payload: unknown, text: string, mapped?: WebhookLead, eventId?: string): Promise<Accepted> {
  const { id, source, config } = found
  // Consent after map: its wording's SHA-256 is asynchronous, map is not.
  const lead = await withConsent(config.consent, mapped ?? source.map(config, payload, id), new Date())
  const event = eventId ?? (await source.eventOf(received, payload)).id
  const input = { kind: 'webhook' as const, body: text }
  if (lead.erase) return acceptOnce(c, { source: id, form: lead.form, eventId: event }, { ignored: await erasure(c, found, lead.erase.id) })
  const outcome: DeliveryOutcome = lead.draft ? { draft: lead.draft, input } : lead.fetch ? { fetch: lead.fetch, input } : { ignored: lead.ignored }
  return acceptOnce(c, { source: id, form: lead.form, eventId: event }, outcome, config.consent?.text)
}

/** A platform's request to erase a lead it sent, carried out before it is answered (a 503 while storage is down: it retries). */
async function erasure(c: Context<AppEnv>, found: Endpoint, leadId: string): Promise<string> {
  try {
    return await eraseLead(c.env, found.id, leadId, { crm: (found.config as { erase_crm?: boolean }).erase_crm === true })
  } catch (error) {
    log('error', 'erasure request failed', { source: found.id, error: describeStorageError(error) })
    throw retryLater('storage-unavailable', 'Temporarily unable to erase the lead', 'Nothing was erased yet. Please retry.')
  }
}

/**
 * A sender's check of the endpoint before it posts (Meta's `hub.mode=subscribe`, LinkedIn's `challengeCode`): 200
 * text/plain or JSON with what the source answers, 403 when the token is wrong; an endpoint whose sender makes none: unknown.
 */
webhooks.get('/:id', async (c) => {
  const id = c.req.param('id')
  const found = endpoint(c.env, id)
  const subscribe = found && !found.builtIn ? found.source.subscribe : undefined
  if (!found || !subscribe) throw unknown(id)
  const answer = await subscribe.answer(new URL(c.req.url).searchParams, secretsFor(c.env, secretVar(subscribe.secret, id)))
  if (answer === undefined) throw problem(403, 'subscription-refused', 'Subscription refused', { detail: 'hub.mode must be "subscribe" and hub.verify_token the endpoint\'s verify token.' })
  return typeof answer === 'string' ? c.text(answer, 200) : c.json(answer.json, 200)
})

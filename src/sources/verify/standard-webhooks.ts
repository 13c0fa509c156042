/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec/standard-webhooks.md): the
 * sender signs `${webhook-id}.${webhook-timestamp}.${raw body}` with HMAC-SHA256, keyed by
 * the base64-decoded secret after `whsec_`, and sends `webhook-signature: v1,<base64>`,
 * several space-separated during a key rotation. Timestamps more than 5 minutes away are
 * refused, either way. Svix senders (Clerk, Resend) use the same scheme under `svix-*`.
 * Web Crypto rather than the `standardwebhooks` package: that one takes no clock, one
 * secret and strings only, and hashes in JavaScript (see the groundwork report).
 */
import { anyMatch, concat, fromBase64 } from '../signature'
import { bodyKey, isStale, jsonObject, text, type Check, type EventKey } from './types'

const header = (headers: Headers, name: string) => headers.get(`webhook-${name}`) ?? headers.get(`svix-${name}`)

/** The HMAC key of a `whsec_…` secret (the prefix is optional, as in the spec's libraries); undefined when it is not base64. */
function keyOf(secret: string): Uint8Array | undefined {
  const key = fromBase64(secret.startsWith('whsec_') ? secret.slice(6) : secret)
  return key && key.length > 0 ? key : undefined
}

export async function verifyStandardWebhooks(
  secrets: string[],
  body: ArrayBuffer,
  headers: Headers,
  now = Date.now(),
  toleranceSeconds = 300,
): Promise<Check> {
  const [id, timestamp, signature] = [header(headers, 'id'), header(headers, 'timestamp'), header(headers, 'signature')]
  if (!id || !timestamp || !signature) return 'missing'
  // The id and timestamp are part of the signed content: a '.' in either would make it ambiguous.
  if (id.includes('.') || !/^\d{1,12}$/.test(timestamp)) return 'malformed'
  const v1 = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => fromBase64(entry.slice(3)))
    .filter((bytes): bytes is Uint8Array => bytes?.length === 32)
  if (v1.length === 0) return 'malformed'
  const keys = secrets.map(keyOf).filter((key): key is Uint8Array => key !== undefined)
  if (!(await anyMatch(keys, concat(`${id}.${timestamp}.`, body), v1))) return 'mismatch'
  return isStale(Number(timestamp), now, toleranceSeconds) ? 'stale' : 'ok'
}

/** The spec makes `webhook-id` the idempotency key; the event type is the body's `type` (the spec's payload structure). */
export async function eventOf(body: ArrayBuffer, headers: Headers): Promise<EventKey> {
  const id = header(headers, 'id')
  const type = text(jsonObject(body), 'type')
  return id ? { id, type, from: 'provider' } : { id: await bodyKey(body), type, from: 'body' }
}

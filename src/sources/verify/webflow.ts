/**
 * Webflow (developers.webflow.com, "Working with webhooks" / "Verifying requests"):
 * `x-webflow-signature` is the hex HMAC-SHA256 of `${x-webflow-timestamp}:${raw body}`,
 * the timestamp being epoch milliseconds; the docs refuse requests older than 5 minutes.
 * Only webhooks created through the API are signed (OAuth client secret or the webhook's secret).
 */
import { anyMatch, concat, fromHex } from '../signature'
import { bodyKey, isStale, jsonObject, object, text, type Check, type EventKey } from './types'

export async function verifyWebflow(
  secrets: string[],
  body: ArrayBuffer,
  headers: Headers,
  now = Date.now(),
  toleranceSeconds = 300,
): Promise<Check> {
  const [timestamp, header] = [headers.get('x-webflow-timestamp'), headers.get('x-webflow-signature')]
  if (!timestamp || !header) return 'missing'
  const signature = fromHex(header.trim())
  if (!/^\d{1,15}$/.test(timestamp) || signature?.length !== 32) return 'malformed'
  if (!(await anyMatch(secrets, concat(`${timestamp}:`, body), [signature]))) return 'mismatch'
  return isStale(Math.floor(Number(timestamp) / 1000), now, toleranceSeconds) ? 'stale' : 'ok'
}

/** `payload.id` is the form submission's id (`formId` is the form's); the type is `triggerType`. Other triggers have no id: the body's SHA-256. */
export async function eventOf(body: ArrayBuffer): Promise<EventKey> {
  const event = jsonObject(body)
  const [type, id] = [text(event, 'triggerType'), text(object(event, 'payload'), 'id')]
  return id ? { id, type, from: 'provider' } : { id: await bodyKey(body), type, from: 'body' }
}

/**
 * Calendly (developer.calendly.com, "Webhook signatures"): `Calendly-Webhook-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256(signing key, "${t}.${raw body}")>`. Calendly's own
 * example refuses signatures older than 3 minutes, hence the 180 s default.
 */
import { anyMatch, concat, timedSignatures } from '../signature'
import { bodyKey, isStale, jsonObject, object, text, type Check, type EventKey } from './types'

export async function verifyCalendly(
  secrets: string[],
  body: ArrayBuffer,
  headers: Headers,
  now = Date.now(),
  toleranceSeconds = 180,
): Promise<Check> {
  const header = headers.get('calendly-webhook-signature')
  if (!header) return 'missing'
  const parsed = timedSignatures(header)
  // A SHA-256 HMAC is 32 bytes: a v1 of another length is no signature at all.
  const v1 = parsed?.v1.filter((s) => s.length === 32) ?? []
  if (!parsed || v1.length === 0) return 'malformed'
  if (!(await anyMatch(secrets, concat(`${parsed.t}.`, body), v1))) return 'mismatch'
  return isStale(parsed.t, now, toleranceSeconds) ? 'stale' : 'ok'
}

/**
 * Calendly sends no event id. The invitee's URI (`payload.uri`) is unique per booking
 * (a reschedule makes a new invitee), so `${event}:${payload.uri}` names one event;
 * without both, the SHA-256 of the body.
 */
export async function eventOf(body: ArrayBuffer): Promise<EventKey> {
  const event = jsonObject(body)
  const [type, uri] = [text(event, 'event'), text(object(event, 'payload'), 'uri')]
  return type && uri ? { id: `${type}:${uri}`, type, from: 'derived' } : { id: await bodyKey(body), type, from: 'body' }
}

/**
 * Calendly (developer.calendly.com, "Webhook signatures"): `Calendly-Webhook-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256(signing key, "${t}.${raw body}")>`. Calendly's own
 * example refuses signatures older than 3 minutes, hence the 180 s default.
 */
import { anyMatch, concat, fromHex } from '../signature'
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
  let t: number | undefined
  const v1: Uint8Array[] = []
  for (const item of header.split(',')) {
    const at = item.indexOf('=')
    const [key, value] = [item.slice(0, at).trim(), item.slice(at + 1).trim()]
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value)
    const signature = key === 'v1' ? fromHex(value) : undefined
    if (signature?.length === 32) v1.push(signature)
  }
  if (t === undefined || v1.length === 0) return 'malformed'
  if (!(await anyMatch(secrets, concat(`${t}.`, body), v1))) return 'mismatch'
  return isStale(t, now, toleranceSeconds) ? 'stale' : 'ok'
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

/**
 * Tally (https://tally.so/help/webhooks): with a signing secret set, each delivery carries
 * `Tally-Signature: base64(HMAC-SHA256(secret, raw body))`. There is no timestamp, so no
 * staleness check: a replay is caught by the idempotency key (`eventId`) instead.
 */
import { anyMatch, fromBase64 } from '../signature'
import { bodyKey, jsonObject, text, type Check, type EventKey } from './types'

export async function verifyTally(secrets: string[], body: ArrayBuffer, headers: Headers): Promise<Check> {
  const header = headers.get('tally-signature')
  if (!header) return 'missing'
  const signature = fromBase64(header.trim())
  if (signature?.length !== 32) return 'malformed'
  return (await anyMatch(secrets, body, [signature])) ? 'ok' : 'mismatch'
}

/** `eventId` is the delivery's id (retries keep it); `eventType` is `FORM_RESPONSE` for a submission. */
export async function eventOf(body: ArrayBuffer): Promise<EventKey> {
  const event = jsonObject(body)
  const [id, type] = [text(event, 'eventId'), text(event, 'eventType')]
  return id ? { id, type, from: 'provider' } : { id: await bodyKey(body), type, from: 'body' }
}

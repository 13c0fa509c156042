/**
 * Cal.com (cal.com docs "Webhooks", and `createWebhookSignature` in
 * packages/features/webhooks/lib/sendPayload.ts): `X-Cal-Signature-256` is the hex
 * HMAC-SHA256 of the raw body under the webhook's secret. No timestamp is signed. A webhook
 * without a secret sends the literal `no-secret-provided`, which is malformed here.
 */
import { anyMatch, fromHex } from '../signature'
import { bodyKey, jsonObject, object, text, type Check, type EventKey } from './types'

export async function verifyCalcom(secrets: string[], body: ArrayBuffer, headers: Headers): Promise<Check> {
  const header = headers.get('x-cal-signature-256')
  if (!header) return 'missing'
  const signature = fromHex(header.trim())
  if (signature?.length !== 32) return 'malformed'
  return (await anyMatch(secrets, body, [signature])) ? 'ok' : 'mismatch'
}

/**
 * Cal.com sends no event id. A booking's `payload.uid` with the `triggerEvent` names one
 * event (a reschedule is a new booking uid); without both (e.g. FORM_SUBMITTED), the
 * SHA-256 of the body.
 */
export async function eventOf(body: ArrayBuffer): Promise<EventKey> {
  const event = jsonObject(body)
  const [type, uid] = [text(event, 'triggerEvent'), text(object(event, 'payload'), 'uid')]
  return type && uid ? { id: `${type}:${uid}`, type, from: 'derived' } : { id: await bodyKey(body), type, from: 'body' }
}

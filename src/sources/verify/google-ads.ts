/**
 * Google Ads lead forms sign nothing: the advertiser sets a key on the form and Google echoes
 * it in the body as `google_key`. So the body must be read before it is trusted; that reading
 * keeps every JSON number as its literal text, since Google sends `campaign_id`, `form_id`,
 * `adgroup_id` and `creative_id` as int64 numbers that a JS number would round above 2^53.
 */
import { sameSecret } from '../signature'
import { bodyKey, type Check, type EventKey, text } from './types'

type SourceReviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown

/**
 * V8's JSON.parse source text access (workerd has it; test/google-ads.test.ts proves the
 * digits survive): a number comes back as its literal, digit for digit, never as a double.
 */
const numbersAsText: SourceReviver = (_key, value, context) => {
  if (typeof value !== 'number') return value
  if (context?.source === undefined) throw new Error('JSON.parse source text access is unavailable: int64 ids cannot be read exactly')
  return context.source
}

/** The body as a JSON object with every number as its literal text; undefined when it is not UTF-8 JSON or not an object. */
export function leadJson(body: ArrayBuffer): Record<string, unknown> | undefined {
  let value: unknown
  try {
    const raw = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body)
    value = JSON.parse(raw, numbersAsText as Parameters<typeof JSON.parse>[1])
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof TypeError) return undefined
    throw error
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

/**
 * `malformed` when the body is no JSON object (so there is no key to read), `missing` without a
 * `google_key` string, else compared with every secret (rotation), each in constant time.
 */
export async function verifyGoogleKey(secrets: string[], body: ArrayBuffer): Promise<Check> {
  const lead = leadJson(body)
  if (!lead) return 'malformed'
  const key = lead.google_key
  if (typeof key !== 'string' || key === '') return 'missing'
  const same = await Promise.all(secrets.map((secret) => sameSecret(key, secret)))
  return same.includes(true) ? 'ok' : 'mismatch'
}

/** `lead_id` is unique across forms, so it is the key; a lead has one event. Without one: the body's SHA-256. */
export async function eventOf(body: ArrayBuffer, lead: Record<string, unknown> | undefined): Promise<EventKey> {
  const id = text(lead, 'lead_id')
  return id ? { id, type: 'lead', from: 'provider' } : { id: await bodyKey(body), type: 'lead', from: 'body' }
}

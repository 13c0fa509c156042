/**
 * Jotform signs nothing: it POSTs `multipart/form-data` (answers as JSON in `rawRequest`)
 * to the URL you give it. The only proof of origin is a secret token we put in that URL,
 * compared here in constant time against every configured secret (rotation).
 */
import { sameSecret } from '../signature'
import { bodyKey, type Check, type EventKey } from './types'

/** `missing` without a token; every secret is compared (no early exit), each in constant time. */
export async function verifyJotformToken(secrets: string[], token: string | null | undefined): Promise<Check> {
  if (!token) return 'missing'
  const same = await Promise.all(secrets.map((secret) => sameSecret(token, secret)))
  return same.includes(true) ? 'ok' : 'mismatch'
}

/** `submissionID` is Jotform's id for the submission; Jotform has one event, a submission. Unparsable: the body's SHA-256. */
export async function eventOf(body: ArrayBuffer, headers: Headers): Promise<EventKey> {
  try {
    const form = await new Response(body, { headers: { 'content-type': headers.get('content-type') ?? '' } }).formData()
    const id = form.get('submissionID')
    if (typeof id === 'string' && id !== '') return { id, type: 'submission', from: 'provider' }
  } catch {
    // not multipart (or no boundary): fall through to the body hash
  }
  return { id: await bodyKey(body), type: 'submission', from: 'body' }
}

/**
 * Meta (developers.facebook.com, graph-api/webhooks/getting-started): `X-Hub-Signature-256`
 * is `sha256=` + hex HMAC-SHA256 of the raw body under the app secret. The SHA-1
 * `X-Hub-Signature` beside it is ignored. No timestamp is signed.
 */
import { anyMatch, fromHex, sameSecret } from '../signature'
import type { Check } from './types'

export async function verifyMeta(secrets: string[], body: ArrayBuffer, headers: Headers): Promise<Check> {
  const header = headers.get('x-hub-signature-256')
  if (!header) return 'missing'
  const signature = header.startsWith('sha256=') ? fromHex(header.slice(7).trim()) : undefined
  if (signature?.length !== 32) return 'malformed'
  return (await anyMatch(secrets, body, [signature])) ? 'ok' : 'mismatch'
}

/**
 * The subscription check: `hub.mode=subscribe` with `hub.verify_token` equal (constant time) to
 * one of `tokens` → the `hub.challenge` to echo; anything else → undefined (403). The challenge
 * is an integer in Meta's docs: only a short token of letters and digits is echoed.
 */
export async function answerSubscription(query: URLSearchParams, tokens: string[]): Promise<string | undefined> {
  const [mode, token, challenge] = [query.get('hub.mode'), query.get('hub.verify_token'), query.get('hub.challenge')]
  if (mode !== 'subscribe' || !token || !challenge || !/^[A-Za-z0-9_-]{1,128}$/.test(challenge)) return undefined
  let ok = false
  for (const t of tokens) ok = (await sameSecret(t, token)) || ok
  return ok ? challenge : undefined
}

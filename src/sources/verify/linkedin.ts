/**
 * LinkedIn (learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation): the endpoint
 * is proven by a challenge (`GET ?challengeCode=` → `{challengeCode, challengeResponse}`, the
 * response hex HMAC-SHA256 of the code under the app's client secret), and every POST carries
 * `X-LI-Signature`. The docs' wording allows two readings, and public receivers differ: the hex
 * HMAC-SHA256 of `hmacsha256=` + the raw body, or `hmacsha256=` + the hex HMAC-SHA256 of the raw
 * body. Both are accepted, in constant time; a header of the second form can't be of the first
 * (that one is bare hex). No timestamp is signed.
 */
import { problem } from '../../http/problem'
import { anyMatch, concat, fromHex, hmacSha256 } from '../signature'
import type { Check } from './types'

const PREFIX = 'hmacsha256='

export async function verifyLinkedIn(secrets: string[], body: ArrayBuffer, headers: Headers): Promise<Check> {
  const header = headers.get('x-li-signature')?.trim()
  if (!header) return 'missing'
  const prefixed = header.toLowerCase().startsWith(PREFIX)
  const signature = fromHex(prefixed ? header.slice(PREFIX.length) : header)
  if (signature?.length !== 32) return 'malformed'
  // `hmacsha256=<hex of the body's HMAC>`, or the bare hex HMAC of "hmacsha256=" + body.
  return (await anyMatch(secrets, prefixed ? body : concat(PREFIX, body), [signature])) ? 'ok' : 'mismatch'
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

/**
 * The validation challenge: the JSON LinkedIn expects, signed with the first secret listed (the
 * current client secret). A request without a plausible `challengeCode` is the sender's mistake: 400.
 */
export async function answerChallenge(query: URLSearchParams, secrets: string[]): Promise<{ json: unknown }> {
  const challengeCode = query.get('challengeCode')
  if (!challengeCode || !/^[A-Za-z0-9_-]{1,128}$/.test(challengeCode)) {
    throw problem(400, 'invalid-challenge', 'No challenge to answer', { detail: 'LinkedIn validates this endpoint with GET ?challengeCode=<code>; none was given.' })
  }
  const challengeResponse = hex(await hmacSha256(secrets[0]!, new TextEncoder().encode(challengeCode)))
  return { json: { challengeCode, challengeResponse } }
}

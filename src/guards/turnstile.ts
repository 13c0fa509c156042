/**
 * Cloudflare Turnstile, checked server-side before a lead is queued.
 * TURNSTILE_VERIFY_URL exists so tests and `npm run dev` can point it at the
 * stand-in, which answers Cloudflare's documented test secrets the same way.
 */
import { problem } from '../http/problem'
import { log } from '../log'

export const SITEVERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify'
/** The field Turnstile's widget adds to the form. */
export const TOKEN_FIELD = 'cf-turnstile-response'

interface Siteverify {
  success: boolean
  'error-codes'?: string[]
}

export async function verifyTurnstile(
  env: { TURNSTILE_SECRET_KEY?: string; TURNSTILE_VERIFY_URL?: string },
  token: string | undefined,
  ip: string | undefined,
): Promise<void> {
  if (!env.TURNSTILE_SECRET_KEY) {
    log('error', 'turnstile enabled without TURNSTILE_SECRET_KEY')
    throw problem(503, 'turnstile-unconfigured', 'Spam protection is not set up', {
      detail: 'This form requires Turnstile but the site has no TURNSTILE_SECRET_KEY. The site owner must set it.',
    }, { 'retry-after': '300' })
  }
  if (!token) {
    throw problem(403, 'turnstile-failed', 'Please confirm you are human', { detail: 'The Turnstile check is missing; reload the page and try again.' })
  }
  const body = new FormData()
  body.set('secret', env.TURNSTILE_SECRET_KEY)
  body.set('response', token.slice(0, 2048))
  if (ip) body.set('remoteip', ip)
  let result: Siteverify
  try {
    const res = await fetch(env.TURNSTILE_VERIFY_URL || SITEVERIFY_URL, { method: 'POST', body, signal: AbortSignal.timeout(5000) })
    result = (await res.json()) as Siteverify
  } catch (error) {
    // Turnstile unreachable: ask the person to retry rather than drop or wave through the lead.
    log('warn', 'turnstile siteverify unreachable', { error: (error as Error).name })
    throw problem(503, 'turnstile-unavailable', 'Spam check unavailable', { detail: 'Please try again in a minute.' }, { 'retry-after': '60' })
  }
  if (!result.success) {
    log('info', 'turnstile rejected', { codes: (result['error-codes'] ?? []).join(',') })
    throw problem(403, 'turnstile-failed', 'Please confirm you are human', {
      detail: 'The Turnstile check did not pass; reload the page and try again.',
      codes: result['error-codes'] ?? [],
    })
  }
}

/** Per client IP and form, with Cloudflare's rate-limiting binding (counted per location). */
import { problem } from '../http/problem'

/** The binding's period (wrangler.toml), told to the client as Retry-After. */
export const RATE_LIMIT_PERIOD_SECONDS = 60

export async function checkRateLimit(limiter: RateLimit | undefined, formId: string, ip: string | undefined): Promise<void> {
  if (!limiter) return
  const { success } = await limiter.limit({ key: `form:${formId}:${ip ?? 'unknown'}` })
  if (!success) {
    throw problem(429, 'rate-limited', 'Too many submissions', {
      detail: `Please wait a minute before sending this form again.`,
    }, { 'retry-after': String(RATE_LIMIT_PERIOD_SECONDS) })
  }
}

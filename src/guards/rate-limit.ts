/** Per client and form, with Cloudflare's rate-limiting binding (counted per location). */
import { problem } from '../http/problem'

/** The binding's period (wrangler.toml), told to the client as Retry-After. */
export const RATE_LIMIT_PERIOD_SECONDS = 60

/**
 * Who is counted: an IPv4 address, or an IPv6 client's /64. One IPv6
 * subscriber is usually given a whole /64 (RFC 6177), so counting single
 * addresses would give one client 2^64 fresh limits.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return 'unknown'
  if (!ip.includes(':')) return ip
  const [head = '', tail = ''] = ip.toLowerCase().split('::', 2)
  const left = head ? head.split(':') : []
  const right = ip.includes('::') ? (tail ? tail.split(':') : []) : []
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const groups = right.at(-1)?.includes('.') ? 2 : 0
  const hextets = [...left, ...Array(Math.max(0, 8 - left.length - right.length - groups / 2)).fill('0'), ...right]
  return `${hextets.slice(0, 4).map((h) => h.replace(/^0+(?=.)/, '') || '0').join(':')}::/64`
}

export async function checkRateLimit(limiter: RateLimit | undefined, formId: string, ip: string | undefined): Promise<void> {
  if (!limiter) return
  const { success } = await limiter.limit({ key: `form:${formId}:${clientKey(ip)}` })
  if (!success) {
    throw problem(429, 'rate-limited', 'Too many submissions', {
      detail: `Please wait a minute before sending this form again.`,
    }, { 'retry-after': String(RATE_LIMIT_PERIOD_SECONDS) })
  }
}

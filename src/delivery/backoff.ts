/**
 * When to try a failed write again: exponential with full jitter, never
 * sooner than the CRM's Retry-After. Long outages are the queue's job (delayed
 * retries cost no CPU), so no consumer sleeps on a message.
 */
export const MAX_DELAY_SECONDS = 15 * 60

export function retryDelay(attempts: number, retryAfter: number | undefined, baseSeconds: number, random = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1))
  const jittered = Math.ceil(ceiling / 2 + (random() * ceiling) / 2)
  return Math.max(jittered, Math.ceil(retryAfter ?? 0))
}

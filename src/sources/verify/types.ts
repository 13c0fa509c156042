/**
 * What every preset verifier answers, and the shared pieces they use. A verifier
 * checks in this order: the header is there (`missing`), it parses (`malformed`),
 * a signature matches one of the secrets (`mismatch`), then its timestamp is
 * fresh (`stale`): a forged request is a mismatch whatever its age.
 */

export type Check = 'ok' | 'missing' | 'malformed' | 'mismatch' | 'stale'

/**
 * `secrets`: one or several (rotation: any may match). `now`: milliseconds since the
 * epoch, `Date.now()` by default. `toleranceSeconds`: how far a signed timestamp may
 * be from `now`, either way; presets without a timestamp ignore both.
 */
export type Verifier = (
  secrets: string[],
  body: ArrayBuffer,
  headers: Headers,
  now?: number,
  toleranceSeconds?: number,
) => Promise<Check>

/**
 * A delivery's idempotency key and event type. `from` says where the key comes from:
 * the provider's own event id, a key built from provider ids (`derived`), or the
 * SHA-256 of the raw body when the provider gives nothing better (`body`).
 */
export interface EventKey {
  id: string
  type: string | undefined
  from: 'provider' | 'derived' | 'body'
}

/** True when `t` (seconds) is more than `tolerance` seconds away from `now` (ms), in the past or the future. */
export const isStale = (t: number, now: number, toleranceSeconds: number): boolean =>
  Math.abs(Math.floor(now / 1000) - t) > toleranceSeconds

/** `sha256:` + hex SHA-256 of the raw body: the same bytes (a retry) give the same key. */
export async function bodyKey(body: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body))
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/** The body as a JSON object, or undefined when it is not one. */
export function jsonObject(body: ArrayBuffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** A non-empty string property, else undefined. */
export const text = (record: Record<string, unknown> | undefined, key: string): string | undefined => {
  const value = record?.[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A nested object property, else undefined. */
export const object = (record: Record<string, unknown> | undefined, key: string): Record<string, unknown> | undefined => {
  const value = record?.[key]
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

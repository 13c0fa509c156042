/**
 * HMAC-SHA256 with Web Crypto, shared by the webhook sources. Signatures are
 * checked over the raw body bytes, against every configured secret (rotation),
 * and compared in constant time.
 */

const encoder = new TextEncoder()

/** A secret variable holding one secret or several, comma-separated (old and new during a rotation). */
export const secretsOf = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)

/** A secret as text is keyed by its UTF-8 bytes; bytes (e.g. a decoded Standard Webhooks secret) are used as they are. */
export type Secret = string | Uint8Array

export async function hmacSha256(secret: Secret, data: BufferSource): Promise<Uint8Array> {
  const raw = typeof secret === 'string' ? encoder.encode(secret) : secret
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, data))
}

/** Constant time in the contents; only the (public) length may leak. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && crypto.subtle.timingSafeEqual(a, b)

export function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0))
  } catch {
    return undefined
  }
}

export function fromHex(text: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(text)) return undefined
  return Uint8Array.from(text.match(/../g)!, (byte) => parseInt(byte, 16))
}

export const concat = (...parts: (string | ArrayBuffer)[]): Uint8Array => {
  const bytes = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : new Uint8Array(p)))
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0))
  let at = 0
  for (const b of bytes) {
    out.set(b, at)
    at += b.length
  }
  return out
}

/** True when any of `signatures` is the HMAC of `data` under any of `secrets`. Every pair is checked: no early exit on a match. */
export async function anyMatch(secrets: Secret[], data: BufferSource, signatures: Uint8Array[]): Promise<boolean> {
  const expected = await Promise.all(secrets.map((secret) => hmacSha256(secret, data)))
  let found = false
  for (const e of expected) for (const s of signatures) found = sameBytes(e, s) || found
  return found
}

/**
 * `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, the header Stripe signs with and Calendly copied:
 * the timestamp and every readable v1 signature (other schemes, such as Stripe's test-mode v0,
 * never count). Undefined without a timestamp or a v1.
 */
export function timedSignatures(header: string): { t: number; v1: Uint8Array[] } | undefined {
  let t: number | undefined
  const v1: Uint8Array[] = []
  for (const item of header.split(',')) {
    const at = item.indexOf('=')
    const [key, value] = [item.slice(0, at).trim(), item.slice(at + 1).trim()]
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value)
    const signature = key === 'v1' ? fromHex(value) : undefined
    if (signature) v1.push(signature)
  }
  return t === undefined || v1.length === 0 ? undefined : { t, v1 }
}

const digest = async (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)])
  return crypto.subtle.timingSafeEqual(x, y)
}

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

/**
 * A file's link on the CRM note: `/files/<id>?exp=<unix seconds>&sig=<HMAC>`, so the person
 * reading the CRM opens it without an operator login, and nobody else can guess or extend
 * one. The key is derived from HASH_SECRET (one secret to set, the file links' own key).
 */
const encoder = new TextEncoder()

const keyOf = async (secret: string): Promise<CryptoKey> => {
  const master = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  // A key of its own: a link's signature says nothing about the hashes that stand for emails and phones.
  const derived = await crypto.subtle.sign('HMAC', master, encoder.encode('lead-intake file links v1'))
  return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

const b64url = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

const fromB64url = (text: string): Uint8Array | null => {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='), (ch) => ch.charCodeAt(0))
}

/** The signed link to file `id` on `origin`, valid for `days`. */
export async function fileLink(secret: string, origin: string, id: string, days: number, now = Date.now()): Promise<string> {
  const exp = Math.floor(now / 1000) + days * 86_400
  const sig = b64url(await crypto.subtle.sign('HMAC', await keyOf(secret), encoder.encode(`${id}.${exp}`)))
  return `${origin}/files/${encodeURIComponent(id)}?exp=${exp}&sig=${sig}`
}

/** Whether `exp` and `sig` are a link to `id` signed with `secret` that has not expired (the comparison is Web Crypto's own, constant-time). */
export async function validLink(secret: string, id: string, exp: string | undefined, sig: string | undefined, now = Date.now()): Promise<boolean> {
  if (!exp || !/^\d{1,12}$/.test(exp) || Number(exp) * 1000 <= now) return false
  const given = sig ? fromB64url(sig) : null
  if (!given) return false
  return crypto.subtle.verify('HMAC', await keyOf(secret), given, encoder.encode(`${id}.${exp}`))
}

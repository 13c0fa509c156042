/**
 * Who a submission is: every identifier it brings (emails, phones in E.164,
 * source ids such as a Stripe customer id), each in one canonical form so that
 * two spellings of one address or number are one identifier. CRM search is
 * fuzzy; these comparisons are exact.
 */
import { type CountryCode, type MetadataJson, parsePhoneNumberFromString } from 'libphonenumber-js/core'
import { toUnicode } from 'punycode.js'
import type { LeadDraft } from './draft'
import { cleanText } from './normalize'
// The countries of the phone metadata (scripts/phone-metadata.ts writes both).
import phoneCountries from './phone-countries.json'

export type IdentifierKind = 'email' | 'phone' | 'source'
export interface Identifier {
  kind: IdentifierKind
  /** Canonical: an email's key form, a phone's E.164, `<name>:<id>` for a source id. */
  value: string
}

// --- email (RFC 6531: non-ASCII local parts and IDN domains are valid) ---

/** Unquoted local part: RFC 5322 atext, widened to any letter, digit or mark (RFC 6531). */
const LOCAL = /^[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~-]+)*$/u
const DOMAIN_TEXT = /^[\p{L}\p{N}\p{M}.-]+$/u
/** An ASCII (A-label) host with at least two labels and a real TLD: no IP literals, no "localhost". */
const ASCII_HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/

/** The domain as IDNA A-labels (`bücher.de` → `xn--bcher-kva.de`), by the URL parser's own IDNA; undefined if it is no host name. */
function asciiDomain(domain: string): string | undefined {
  if (!DOMAIN_TEXT.test(domain) || domain.length > 253) return undefined
  try {
    const host = new URL(`http://${domain}/`).hostname
    return ASCII_HOST.test(host) ? host : undefined
  } catch {
    return undefined
  }
}

/**
 * The domain in U-labels (`xn--bcher-kva.de` → `bücher.de`). The URL parser only encodes, so
 * punycode.js (RFC 3492) decodes; undefined when a label can't be decoded.
 */
function unicodeDomain(ascii: string): string | undefined {
  try {
    return toUnicode(ascii).normalize('NFC')
  } catch {
    return undefined
  }
}

/**
 * Every form a CRM may hold a domain in: as given, in A-labels and in U-labels, each once. A CRM's
 * search compares text, so `bücher.de` does not find `xn--bcher-kva.de`; an ASCII-only domain has one form.
 */
export function domainForms(domain: string, ascii = asciiDomain(domain)): string[] {
  const unicode = ascii && unicodeDomain(ascii)
  return [...new Set([domain, ...(ascii ? [ascii] : []), ...(unicode ? [unicode] : [])])]
}

export interface ParsedEmail {
  /** As written to the CRM: NFC, trimmed, lower-cased (the domain as the person typed it, Unicode or not). */
  value: string
  /** As compared: the same with the domain in A-labels, so `user@bücher.de` and `user@xn--bcher-kva.de` are one person. */
  key: string
  /** The domain in A-labels. */
  domain: string
}

/** An email address, or undefined when the text is not one. */
export function parseEmail(text: string): ParsedEmail | undefined {
  const value = text.normalize('NFC').trim().toLowerCase()
  const at = value.lastIndexOf('@')
  if (at <= 0 || at === value.length - 1) return undefined
  const local = value.slice(0, at)
  const domain = asciiDomain(value.slice(at + 1))
  if (!domain || !LOCAL.test(local) || new TextEncoder().encode(local).length > 64) return undefined
  return { value, key: `${local}@${domain}`, domain }
}

/** The address in every form a CRM may hold it (see domainForms), as written first. */
export function emailForms(email: ParsedEmail): string[] {
  const at = email.value.lastIndexOf('@')
  const local = email.value.slice(0, at)
  return domainForms(email.value.slice(at + 1), email.domain).map((d) => `${local}@${d}`)
}

/** The comparable form of any email text (a CRM's, say); '' when it is not an address. */
export const emailKey = (text: string | undefined): string => (text ? (parseEmail(text)?.key ?? '') : '')

// --- phone (E.164 with a per-source default country) ---

export const DEFAULT_COUNTRY = 'US'

const COUNTRIES = new Set(phoneCountries)

export const isCountry = (code: string): boolean => COUNTRIES.has(code)

/**
 * libphonenumber-js's metadata (static/phone-metadata.json: its min metadata without formatting
 * rules) is a static asset of the Worker, not part of its bundle: 7 KiB gzip that every cold start
 * would parse, against one read from the deployment's own assets per isolate. Each entry point
 * (a request, a queue batch, a writer Durable Object) awaits loadPhoneMetadata before any
 * number is read; reading one before that is a bug, and throws.
 */
let metadata: MetadataJson | undefined
let loading: Promise<void> | undefined

/** Reads the phone metadata from the Worker's static assets, once per isolate (again after a failure). */
export function loadPhoneMetadata(assets: Fetcher): Promise<void> {
  if (metadata) return Promise.resolve()
  loading ??= (async () => {
    const res = await assets.fetch('https://assets.local/phone-metadata.json')
    if (!res.ok) throw new Error(`phone metadata: the static asset answered ${res.status}; deploy with its [assets] table in wrangler.toml`)
    metadata = await res.json<MetadataJson>()
  })().finally(() => {
    loading = undefined
  })
  return loading
}

/** What a new isolate starts from: tests use it to prove that each entry point loads the metadata. */
export function forgetPhoneMetadata(): void {
  metadata = undefined
}

function phoneMetadata(): MetadataJson {
  if (!metadata) throw new Error('phone metadata not loaded: the entry point must await loadPhoneMetadata')
  return metadata
}

export interface ParsedPhone {
  /** What is written to the CRM: E.164 when the number could be read, else the cleaned text. */
  value: string
  /** E.164, only when the number is possible for its country: then it identifies a person. */
  key?: string
  /** The national significant number: what a CRM's phone search is asked for (it matches any formatting). */
  national?: string
}

/**
 * A phone number read with `country` for numbers written without `+`/`00`
 * ("020 7946 0001" in GB is +442079460001). Undefined when fewer than five
 * digits: that is no phone number at all. A number that can't be read stays a
 * value, but is not a key: two unreadable spellings can't be told apart.
 */
export function parsePhone(text: string, country: string = DEFAULT_COUNTRY): ParsedPhone | undefined {
  const clean = cleanText(text)
  if (clean.replace(/\D/g, '').length < 5) return undefined
  const parsed = parsePhoneNumberFromString(clean, isCountry(country) ? (country as CountryCode) : DEFAULT_COUNTRY, phoneMetadata())
  if (parsed?.isPossible()) return { value: parsed.number, key: parsed.number, national: parsed.nationalNumber }
  return { value: clean }
}

/** The comparable form of any phone text (a CRM's, say); '' when it is not a readable number. */
export const phoneKey = (text: string | undefined, country?: string): string => (text ? (parsePhone(text, country)?.key ?? '') : '')

// --- a draft's identifiers ---

/**
 * Each email, phone and source id of a draft as written, with its identifier
 * when it is one (an unreadable phone is a value, not a key): emails first,
 * then phones, then source ids.
 */
export function identifiersOf(draft: Pick<LeadDraft, 'emails' | 'phones' | 'sourceIds' | 'country'>): { value: string; id?: Identifier }[] {
  const key = (id: Identifier) => (id.value ? { id } : {})
  return [
    ...draft.emails.map((value) => ({ value, ...key({ kind: 'email', value: emailKey(value) }) })),
    ...draft.phones.map((value) => ({ value, ...key({ kind: 'phone', value: phoneKey(value, draft.country) }) })),
    ...(draft.sourceIds ?? []).map((s) => ({ value: `${s.name}:${s.value}`, id: { kind: 'source' as const, value: `${s.name}:${s.value}` } })),
  ]
}

// --- hashing: what logs and the identity ledger hold instead of the identifier ---

const encoder = new TextEncoder()
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')
const keys = new Map<string, Promise<CryptoKey>>()

/** SHA-256 of a text, in hex. */
export const sha256Hex = async (text: string): Promise<string> => hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)))

/** Plain SHA-256 of `kind:value`: the first step of the keyed hash, and what rows written before HASH_SECRET hold. */
export const plainHash = (id: Identifier): Promise<string> => sha256Hex(`${id.kind}:${id.value}`)

/**
 * HMAC-SHA256 under HASH_SECRET of the plain hash. A phone number has few
 * enough possible values that a plain hash is reversed in minutes; a keyed one
 * is not without the secret. Keyed over the plain hash so that old rows (which
 * hold only the plain hash) can be moved over without the identifier.
 */
export async function keyedHash(secret: string, plain: string): Promise<string> {
  let key = keys.get(secret)
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    keys.set(secret, key)
  }
  return hex(await crypto.subtle.sign('HMAC', await key, encoder.encode(plain)))
}

export const hashIdentifier = async (secret: string, id: Identifier): Promise<string> => keyedHash(secret, await plainHash(id))

/** The keyed hashes of every identifier a draft brings, in identifiersOf's order (the first is the row's key hash). */
export const hashesOf = async (draft: Pick<LeadDraft, 'emails' | 'phones' | 'sourceIds' | 'country'>, secret: string): Promise<string[]> => [
  ...new Set(await Promise.all(identifiersOf(draft).flatMap((v) => (v.id ? [hashIdentifier(secret, v.id)] : [])))),
]

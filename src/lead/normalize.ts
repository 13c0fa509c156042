/**
 * Normalization and the dedup key. The key decides which person a lead is,
 * so it must be exact: CRMs' search is fuzzy, this is not.
 */
import type { LeadDraft, LeadField } from './draft'

/** Trims, drops control characters and folds runs of white space. */
export const cleanText = (value: string): string =>
  // eslint-disable-next-line no-control-regex
  value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim()

/** For long text (a message): keeps line breaks, drops other control characters. */
export const cleanMultiline = (value: string): string =>
  // eslint-disable-next-line no-control-regex
  value.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]+/g, ' ').trim()

export const normalizeEmail = (email: string): string => email.trim().toLowerCase()

/**
 * Digits only, with a leading "+" kept when given (E.164 when the sender used
 * it). Returns '' when fewer than 5 digits remain: that is not a phone number.
 */
export function normalizePhone(phone: string): string {
  const trimmed = phone.trim()
  const digits = trimmed.replace(/\D/g, '')
  if (digits.length < 5) return ''
  return trimmed.startsWith('+') || trimmed.startsWith('00') ? `+${digits.replace(/^00/, '')}` : digits
}

/** Digits only: how two phones are compared, so "+1 555…" equals "1555…". */
export const phoneDigits = (phone: string): string => phone.replace(/\D/g, '')

/** "Ada King Lovelace" → first "Ada", last "King Lovelace". */
export function splitName(full: string): { firstName?: string; lastName?: string } {
  const parts = cleanText(full).split(' ').filter(Boolean)
  if (parts.length === 0) return {}
  if (parts.length === 1) return { firstName: parts[0] }
  return { firstName: parts[0], lastName: parts.slice(1).join(' ') }
}

/**
 * A draft's person fields from values gathered per lead field (first value
 * wins); a full name is split when neither first nor last name is given.
 */
export function personFields(values: Map<LeadField, string[]>): Pick<LeadDraft, 'firstName' | 'lastName' | 'name' | 'companyName' | 'title' | 'websites'> {
  const one = (f: LeadField) => values.get(f)?.[0] || undefined
  const split = !one('first_name') && !one('last_name') && one('name') ? splitName(one('name')!) : {}
  return {
    firstName: one('first_name') ?? split.firstName,
    lastName: one('last_name') ?? split.lastName,
    name: one('name'),
    companyName: one('company_name'),
    title: one('title'),
    websites: values.get('website') ?? [],
  }
}

export type DedupKey = { kind: 'email' | 'phone'; value: string }

/** The person's identity: first email, else first phone's digits, else none. */
export function dedupKey(draft: Pick<LeadDraft, 'emails' | 'phones'>): DedupKey | null {
  const email = draft.emails.map(normalizeEmail).find(Boolean)
  if (email) return { kind: 'email', value: email }
  const phone = draft.phones.map(phoneDigits).find(Boolean)
  if (phone) return { kind: 'phone', value: phone }
  return null
}

export const keyName = (key: DedupKey): string => `${key.kind}:${key.value}`

/** SHA-256 of the key: what logs and storage may hold instead of the address itself. */
export async function hashKey(key: DedupKey): Promise<string> {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(keyName(key)))
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

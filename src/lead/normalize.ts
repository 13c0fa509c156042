/**
 * Text clean-up and name handling shared by every source. Who a person is
 * (emails, phones, source ids) is lead/identity.ts.
 */
import { countryCode } from './country'
import type { Address, LeadDraft, LeadField } from './draft'

/** Trims, drops control characters and folds runs of white space. */
export const cleanText = (value: string): string =>
  // eslint-disable-next-line no-control-regex
  value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim()

/** For long text (a message): keeps line breaks, drops other control characters. */
export const cleanMultiline = (value: string): string =>
  // eslint-disable-next-line no-control-regex
  value.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]+/g, ' ').trim()

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
export function personFields(values: Map<LeadField, string[]>): Pick<LeadDraft, 'firstName' | 'lastName' | 'name' | 'companyName' | 'title' | 'department' | 'websites' | 'address'> {
  const one = (f: LeadField) => values.get(f)?.[0] || undefined
  const split = !one('first_name') && !one('last_name') && one('name') ? splitName(one('name')!) : {}
  return {
    firstName: one('first_name') ?? split.firstName,
    lastName: one('last_name') ?? split.lastName,
    name: one('name'),
    companyName: one('company_name'),
    title: one('title'),
    department: one('department'),
    websites: values.get('website') ?? [],
    ...addressOf({ street: one('street'), city: one('city'), region: one('region'), postalCode: one('postal_code'), country: one('country') }),
  }
}

/** `{ address }` from its parts (cleaned, blank ones dropped, the country also as its ISO code), or nothing when no part is given. */
export function addressOf(parts: { [K in Exclude<keyof Address, 'countryCode'>]?: string | null }): { address?: Address } {
  const address: Address = {}
  for (const [key, value] of Object.entries(parts) as [keyof Address, string | null | undefined][]) {
    const clean = cleanText(value ?? '')
    if (clean) address[key] = clean.slice(0, 255)
  }
  const code = countryCode(address.country)
  if (code) address.countryCode = code
  return Object.keys(address).length ? { address } : {}
}

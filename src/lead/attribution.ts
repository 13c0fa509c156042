/**
 * First- and last-touch attribution: the fields the snippet `/a.js` (static/a.js) adds to a
 * form, and what each may hold. It lives beside the draft because it is a contract between two
 * parties that share no code: the browser script writes these names, the form source reads them
 * (and the form config names them). Every value comes from a public page, so each is checked
 * on its own and a bad one is dropped, never failing the lead, and none is ever an identifier.
 */
import type { LeadMetadata, MetadataFormat } from './draft'

/** What the snippet records of a touch, in static/a.js's order. */
export const TOUCH_PARAMS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'gclid',
  'fbclid',
  'msclkid',
  'li_fat_id',
  'referrer_host',
  'landing_page',
  'at',
] as const
type TouchParam = (typeof TOUCH_PARAMS)[number]

/** Every field the snippet posts: `visits`, `first_<param>` and `last_<param>`. */
export const TOUCH_FIELDS = ['visits', ...TOUCH_PARAMS.map((p) => `first_${p}` as const), ...TOUCH_PARAMS.map((p) => `last_${p}` as const)] as const
export type TouchField = (typeof TOUCH_FIELDS)[number]

// Printable text only: no control or format characters, nor what would make markup of it.
const TEXT = /^[^\p{C}<>"`\\]{1,200}$/u
// Click ids are URL-safe tokens (gclid/fbclid base64url-like, msclkid hex, li_fat_id a uuid).
const CLICK_ID = /^[A-Za-z0-9._~=-]{1,255}$/
// A host name as URL.hostname gives it (punycode for IDNs, no port).
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
// A path as location.pathname gives it: percent-encoded, no query, no fragment.
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]{0,499}$/
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/
const EARLIEST = Date.UTC(2000, 0, 1)
const DAY_MS = 86_400_000

/** The value as the CRM gets it, or undefined when it is not a believable value of `param`. */
function checkParam(param: TouchParam, raw: string, now: Date): { value: string; format: MetadataFormat } | undefined {
  const text = raw.trim()
  switch (param) {
    case 'gclid':
    case 'fbclid':
    case 'msclkid':
    case 'li_fat_id':
      return CLICK_ID.test(text) ? { value: text, format: 'TEXT' } : undefined
    case 'referrer_host':
      return HOST.test(text.toLowerCase()) ? { value: text.toLowerCase(), format: 'TEXT' } : undefined
    case 'landing_page':
      return PATH.test(text) ? { value: text, format: 'TEXT' } : undefined
    case 'at': {
      const ms = ISO_TIME.test(text) ? Date.parse(text) : NaN
      // A clock a day ahead is still a clock; a time from before the web had UTMs, or the future, is not a touch.
      return ms >= EARLIEST && ms <= now.getTime() + DAY_MS ? { value: new Date(ms).toISOString(), format: 'DATE' } : undefined
    }
    default: {
      const clean = text.replace(/\s+/g, ' ')
      return TEXT.test(clean) ? { value: clean, format: 'TEXT' } : undefined
    }
  }
}

const VISITS = /^\d{1,7}$/

/** Touch field → its custom field's slug, or false for one the form does not keep. */
export type TouchSlugs = Record<TouchField, string | false>

/** The default: every field under its own name. */
export const DEFAULT_TOUCH_SLUGS: TouchSlugs = Object.fromEntries(TOUCH_FIELDS.map((f) => [f, f])) as TouchSlugs

/**
 * The custom fields of the posted touch fields (`first(name)`: the first value posted under a
 * name), named by `slugs`; a value that fails its check is left out and counted in `dropped`.
 * A first touch is `firstWins`: the earliest one a record holds stays.
 */
export function touchMetadata(first: (name: string) => string | undefined, slugs: TouchSlugs, now: Date): { metadata: LeadMetadata[]; dropped: number } {
  const metadata: LeadMetadata[] = []
  let dropped = 0
  for (const field of TOUCH_FIELDS) {
    const slug = slugs[field]
    const raw = first(field)
    if (!slug || raw === undefined || raw.trim() === '') continue
    if (field === 'visits') {
      const n = VISITS.test(raw.trim()) ? Number(raw.trim()) : 0
      if (n >= 1) metadata.push({ slug, value: n, format: 'NUMBER' })
      else dropped++
      continue
    }
    const param = field.slice(field.indexOf('_') + 1) as TouchParam
    const checked = checkParam(param, raw, now)
    if (!checked) {
      dropped++
      continue
    }
    metadata.push({ slug, ...checked, ...(field.startsWith('first_') ? { firstWins: true } : {}) })
  }
  return { metadata, dropped }
}

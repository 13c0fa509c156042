/**
 * Consent, the same for every source (README "Privacy"): whether an answer is a given
 * consent, and what a given one adds to the draft. A source only finds the answer its
 * `consent.field` names; the wording's SHA-256 is computed by whoever awaits anyway (the
 * route, a replay), since Web Crypto is asynchronous and `map` is not.
 */
import type { ConsentConfig } from '../config'
import type { Consent, LeadDraft, LeadMetadata, MetadataFormat } from '../lead/draft'
import { sha256Hex } from '../lead/identity'
import type { WebhookLead } from './types'

/** A checked checkbox, as browsers, scripts and senders send one. */
const CHECKED = /^(on|true|yes|1|checked|accepted|agree|agreed)$/i
/** A chosen option that says no ("No", "No, thanks", "Not now", "Decline"): not a consent. */
const REFUSAL = /^(no|not|false|off|0|none|never|declined?|disagreed?|refused?|unchecked)\b/i

/**
 * Whether an answer gives consent: `true`, `1`, a checked checkbox's text ("on", "yes"…),
 * or, for an answer that is a chosen option (a list, or `format` a select: a choice the
 * person picked), any option that is not a refusal. Anything else (false, empty, free
 * text) is no consent.
 */
export function isChecked(value: unknown, format?: MetadataFormat): boolean {
  if (value === true || value === 1) return true
  if (Array.isArray(value)) return value.some((v) => isChecked(v, 'MULTIPLE_SELECT'))
  if (typeof value !== 'string') return false
  const text = value.trim()
  const chosen = format === 'SINGLE_SELECT' || format === 'MULTIPLE_SELECT'
  return CHECKED.test(text) || (chosen && text !== '' && !REFUSAL.test(text))
}

/** The SHA-256 of a source's consent wording, when it asks for consent. */
export const consentSha256 = async (consent: ConsentConfig | undefined): Promise<string | undefined> => (consent ? sha256Hex(consent.text) : undefined)

/** A given consent as the draft carries it, and as the three custom fields the CRM record gets. */
export function givenConsent(consent: ConsentConfig, textSha256: string, at: Date): { consent: Consent; metadata: LeadMetadata[] } {
  const given = { version: consent.version, textSha256, givenAt: at.toISOString() }
  return { consent: given, metadata: consentFields(consent.slugs, given) }
}

const consentFields = (slugs: ConsentConfig['slugs'], given: Consent): LeadMetadata[] => [
  { slug: slugs.given_at, value: given.givenAt, format: 'DATE' },
  { slug: slugs.version, value: given.version, format: 'TEXT' },
  { slug: slugs.text_sha256, value: given.textSha256, format: 'TEXT' },
]

const DEFAULT_SLUGS: ConsentConfig['slugs'] = { given_at: 'consent_given_at', version: 'consent_version', text_sha256: 'consent_text_sha256' }

/**
 * `draft` (a replay's, mapped again under today's `consent`) with the consent given at
 * receipt instead: the person agreed to the wording they were shown then, at that time, not
 * to today's. None given then: none now, whatever the input says under today's config.
 */
export function consentAsGiven(draft: LeadDraft, atReceipt: Consent | undefined, consent: ConsentConfig | undefined): LeadDraft {
  const slugs = consent?.slugs ?? DEFAULT_SLUGS
  const ours = new Set(Object.values(slugs))
  const { consent: _today, ...rest } = draft
  const metadata = [...draft.metadata.filter((m) => !ours.has(m.slug)), ...(atReceipt ? consentFields(slugs, atReceipt) : [])]
  return { ...rest, metadata, ...(atReceipt ? { consent: atReceipt } : {}) }
}

/** Why a webhook delivery without a required consent is acknowledged and not written. */
export const NO_CONSENT = 'no-consent'

/**
 * A webhook lead under its source's `consent`: given, the draft records it (when: the
 * sender's `submittedAt` if it says, else `receivedAt`); required and not given, the
 * delivery is `ignored` (a 2xx: a webhook answered 422 would only be retried, then switched
 * off); optional and not given, or no `consent` configured, the lead is left as it is.
 */
export async function withConsent(consent: ConsentConfig | undefined, lead: WebhookLead, receivedAt: Date): Promise<WebhookLead> {
  if (!consent || !lead.draft) return lead
  if (!lead.consented) return consent.required ? { form: lead.form, ignored: NO_CONSENT } : lead
  const at = lead.draft.submittedAt ? new Date(lead.draft.submittedAt) : receivedAt
  const given = givenConsent(consent, (await consentSha256(consent))!, at)
  const draft: LeadDraft = { ...lead.draft, metadata: [...lead.draft.metadata, ...given.metadata], consent: given.consent }
  return { form: lead.form, draft }
}

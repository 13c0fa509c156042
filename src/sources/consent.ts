/**
 * Consent, the same for every source (README "Privacy"): whether an answer is a given
 * consent, and what a given one adds to the draft. A source only finds the answer its
 * `consent.field` names; the wording's SHA-256 is computed by whoever awaits anyway (the
 * route, a replay), since Web Crypto is asynchronous and `map` is not.
 */
import { type ConsentConfig, consentSchema } from '../config'
import type { Consent, LeadDraft, LeadMetadata } from '../lead/draft'
import { sha256Hex } from '../lead/identity'
import type { WebhookLead } from './types'

/** An answer that says no ("No", "No, thanks", "Not now", "Decline", "false", "off"): not a consent. */
const REFUSAL = /^(no|not|false|off|0|none|never|declined?|disagreed?|refused?|unchecked)\b/i

/**
 * Whether the answer to the consent question gives consent. The question is a checkbox (or a
 * choice, a yes/no), so it is read as a browser sends a checkbox: absent when unticked, its
 * value (`on`, or whatever text the option has: Calendly and Jotform send the option's own
 * wording) when ticked. So: `true`, or any answer that is not empty, `false` or a refusal;
 * a list when any of its items is one.
 */
export function isChecked(value: unknown): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return value === 1
  if (Array.isArray(value)) return value.some(isChecked)
  if (typeof value !== 'string') return false
  const text = value.trim()
  return text !== '' && !REFUSAL.test(text)
}

/** The SHA-256 of a source's consent wording, when it asks for consent. */
export const consentSha256 = async (consent: ConsentConfig | undefined): Promise<string | undefined> => (consent ? sha256Hex(consent.text) : undefined)

/** A given consent as the draft carries it, and as the three custom fields the CRM record gets. */
export function givenConsent(consent: ConsentConfig, textSha256: string, at: Date): { consent: Consent; metadata: LeadMetadata[] } {
  const given = { version: consent.version, textSha256, givenAt: at.toISOString() }
  return { consent: given, metadata: consentFields(consent.slugs, given) }
}

const consentFields = (slugs: ConsentConfig['slugs'], given: Consent): LeadMetadata[] => [
  { slug: slugs.given_at, value: given.givenAt, format: 'DATE', stampOf: slugs.version },
  { slug: slugs.version, value: given.version, format: 'TEXT' },
  { slug: slugs.text_sha256, value: given.textSha256, format: 'TEXT' },
]

/** The slugs of a consent block that names none (config.ts holds the defaults). */
const DEFAULT_SLUGS: ConsentConfig['slugs'] = consentSchema.shape.slugs.parse(undefined)

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

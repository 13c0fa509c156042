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

// Answers are compared lower-cased, without accents, with typographic apostrophes made plain: "Sí" is "si", "don’t" is "don't".
const plain = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`\u00b4]/g, "'")
    .trim()

/** `words` (regex alternatives) as whole words anywhere in an answer. */
const anywhere = (words: string[]) => new RegExp(`(?:^|[^a-z0-9])(?:${words.join('|')})(?=$|[^a-z0-9])`)

/**
 * A refusal or a negation anywhere in an answer, in English, German, French and Spanish: "No, thanks",
 * "I do not agree", "I don't consent", "Disagree", "Nein", "Ich stimme nicht zu", "Non", "Je refuse",
 * "No acepto". One is enough, whatever else the answer says.
 */
const REFUSAL = anywhere([
  // English; "n't" (don't, won't) is matched below
  'no', 'not', 'nope', 'nah', 'none', 'never', 'nothing', 'neither', 'nor', 'dont', 'doesnt', 'didnt', 'cannot', 'cant', 'wont',
  'declin\\w*', 'disagree\\w*', 'refus\\w*', 'reject\\w*', 'deny', 'denie[sd]', 'object(?:s|ed|ion)?', 'oppose[sd]?',
  'opt(?:ed)?[ -]?out', 'unsubscrib\\w*', 'withdr[ae]w\\w*', 'revok\\w*',
  // German
  'nein', 'nicht', 'kein\\w*', 'nie', 'niemals', 'ablehn\\w*', 'lehne', 'abgelehnt', 'widersprech\\w*', 'widerspreche', 'widerspruch', 'verweiger\\w*',
  // French ("n'" as in "je n'accepte pas" below; "refuse" above)
  'non', 'ne', 'pas', 'jamais', 'aucun\\w*', 'desaccord', 'oppos\\w*',
  // Spanish ("no" above)
  'nunca', 'jamas', 'ningun\\w*', 'nada', 'rechaz\\w*', 'desacuerdo', 'niego', 'opong\\w*',
])
const ELIDED_NEGATION = /n't(?=$|[^a-z])|(?:^|[^a-z0-9])n'/

/** Whole answers that say no without a word for it: an unticked checkbox's value as some builders send it. */
const REFUSED_VALUE = /^(?:0|false|off|n|unchecked|unticked)$/

/** Whole answers a ticked checkbox (or a yes/no) sends: a browser's `on`, a builder's `true`/`1`/`yes`. */
const CHECKED_VALUE = /^(?:on|true|1|yes|y|x|checked|ticked|ok|okay|ja|oui|si|sim)$/

/** An agreement anywhere in an answer: a ticked option's own wording ("I agree to …", "Ich stimme zu", "J'accepte", "Acepto"). */
const AFFIRMATIVE = anywhere([
  'yes', 'yeah', 'yep', 'sure', 'ok', 'okay', 'agree[sd]?', 'accept\\w*', 'consent\\w*', 'opt(?:ed)?[ -]?in', 'allow\\w*', 'confirm\\w*',
  'authori[sz]\\w*', 'permit\\w*', 'approve[sd]?',
  'ja', 'zustimm\\w*', 'stimme', 'einverstanden', 'akzeptier\\w*', 'einwillig\\w*', 'erlaub\\w*', 'bestatig\\w*', 'genehmig\\w*',
  'oui', "d'accord", 'daccord', 'consens\\w*', 'autori[sz]\\w*',
  'acept\\w*', 'acuerdo', 'consient\\w*', 'consiento',
])

/**
 * Whether an answer to the consent question gives consent. When in doubt, it does not.
 * - `values` (the consent block's own list): a text answer gives consent only when it is one
 *   of them, whole (case and surrounding spaces aside); `true` still does.
 * - Otherwise: `true` (Typeform's legal and yes/no answers, Tally's checkbox), or a text with
 *   no refusal or negation anywhere in it that either is what a ticked checkbox sends (`on`,
 *   `yes`, `1`…) or agrees in words (a ticked option's own text: "I agree to …"). Any other
 *   text ("Maybe", a checkbox `value` of your own) is in doubt: name it in `values`.
 * A list (ticked options) gives consent when any of its items does.
 */
export function givesConsent(value: unknown, values?: readonly string[]): boolean {
  if (typeof value === 'boolean') return value
  if (Array.isArray(value)) return value.some((v) => givesConsent(v, values))
  if (typeof value !== 'string' && typeof value !== 'number') return false
  const text = plain(String(value))
  if (values) return values.some((v) => plain(v) === text)
  if (text === '' || REFUSED_VALUE.test(text) || REFUSAL.test(text) || ELIDED_NEGATION.test(text)) return false
  return CHECKED_VALUE.test(text) || AFFIRMATIVE.test(text)
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

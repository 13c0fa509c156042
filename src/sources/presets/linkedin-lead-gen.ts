/**
 * `preset = "linkedin-lead-gen"`: LinkedIn Lead Gen Forms through Lead Sync's notifications
 * (learn.microsoft.com: linkedin/marketing/lead-sync/leadsync, linkedin/shared/api-guide/webhook-validation).
 * LinkedIn validates the endpoint with a challenge (`GET ?challengeCode=`, answered with the client
 * secret in WEBHOOK_SECRET_<ID>) and signs every POST (`X-LI-Signature`, verify/linkedin.ts). A
 * notification only names the lead (`leadGenFormResponse` URN, `leadAction`): CREATED is queued to be
 * read back (`<api_url>/leadFormResponses/{id}` and its form, for the questions' predefined fields)
 * with the member's token in WEBHOOK_ACCESS_TOKEN_<ID> (sources/lead-reader.ts), and `linkedInLead`
 * maps it; DELETED asks that the lead be erased (sources/webhooks.ts → delivery/erase-lead.ts).
 * Idempotency key: the response id (DELETED: `deleted:<id>`, so a deletion is not a duplicate of its lead).
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import type { LeadField } from '../../lead/draft'
import type { LeadRef } from '../../lead/message'
import type { WebhookLead, WebhookSource } from '../types'
import { answerChallenge, verifyLinkedIn } from '../verify/linkedin'
import { bodyKey } from '../verify/types'
import { type Answer, type Json, malformed, obj, presetSchema, slugOf, str, toLead } from './preset'

const schema = presetSchema('linkedin-lead-gen', {
  /** LinkedIn's versioned REST API (the stand-in plays it in tests and `npm run dev`). */
  api_url: z.string().url().default('https://api.linkedin.com/rest').transform((u) => u.replace(/\/+$/, '')),
  /** The `LinkedIn-Version` header (YYYYMM): LinkedIn sunsets a version after about a year. */
  api_version: z.string().regex(/^\d{6}$/, 'is a LinkedIn API version, YYYYMM').default('202510'),
  /** Write the leads LinkedIn marks `testLead` (the form's preview); by default they are acknowledged only. */
  write_test_leads: z.boolean().default(false),
  /** On LinkedIn's DELETED: delete the CRM records lead-intake wrote for the person too (as the operator's erasure with crm); off: only what lead-intake holds. */
  erase_crm: z.boolean().default(false),
})
export type LinkedInConfig = z.output<typeof schema>

/** The lead fields LinkedIn's predefined questions fill; the others (CITY, COUNTRY, SENIORITY…) become custom fields by their slug. */
const FIELD_OF_PREDEFINED: Record<string, LeadField> = {
  FIRST_NAME: 'first_name',
  LAST_NAME: 'last_name',
  EMAIL: 'email',
  WORK_EMAIL: 'email',
  PHONE_NUMBER: 'phone',
  WORK_PHONE_NUMBER: 'phone',
  COMPANY_NAME: 'company_name',
  JOB_TITLE: 'title',
  COMPANY_WEBSITE: 'website',
}

/** `urn:li:leadGenFormResponse:<id>` → `<id>`; ids are opaque (a UUID in the docs), kept as text. */
const responseId = (urn: unknown): string | undefined => {
  const m = /^urn:li:leadGenFormResponse:([A-Za-z0-9_-]{1,128})$/.exec(str(urn) ?? '')
  return m?.[1]
}

/** The form's numeric id in `urn:li:leadGenForm:<id>` or `urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<id>,<version>)`. */
export const formIdOf = (urn: unknown): string | undefined => /urn:li:leadGenForm:(\d{1,32})/.exec(str(urn) ?? '')?.[1]

const notLeadAction = () => malformed('LinkedIn lead notification (type LEAD_ACTION, leadGenFormResponse, leadAction)')

/** A notification → what to read back (CREATED), to erase (DELETED), or why neither. */
function mapNotification(_config: LinkedInConfig, payload: unknown): WebhookLead {
  const n = obj(payload)
  if (!n) throw notLeadAction()
  const form = formIdOf(n.leadGenForm) ?? 'unknown'
  if (n.type !== undefined && n.type !== 'LEAD_ACTION') return { form, ignored: 'not-a-lead-event' }
  const id = responseId(n.leadGenFormResponse)
  if (!id) throw notLeadAction()
  const hints: Record<string, string> = { form_id: form }
  const leadType = str(n.leadType)
  if (leadType) hints.lead_type = leadType
  if (n.leadAction === 'CREATED') return { form, fetch: { id, hints } }
  if (n.leadAction === 'DELETED') return { form, erase: { id, hints } }
  return { form, ignored: 'not-a-lead-event' }
}

/** An answer's value: a text answer as text, a multiple choice as the chosen options' text (by the form's option ids). */
function answerValue(details: Json | undefined, question: Json | undefined): unknown {
  const text = obj(details?.textQuestionAnswer)?.answer
  if (typeof text === 'string') return text
  const chosen = obj(details?.multipleChoiceAnswer)?.options
  if (!Array.isArray(chosen)) return undefined
  const options = obj(obj(question?.questionDetails)?.multipleChoiceQuestionDetails)?.options
  const textOf = (id: unknown) => {
    const option = (Array.isArray(options) ? options : []).find((o) => String(obj(o)?.id) === String(id))
    return str(localized(obj(option)?.text)) ?? String(id)
  }
  return chosen.map(textOf)
}

/** A MultiLocaleString's first text (`{localized: {en_US: "…"}}`). */
const localized = (v: unknown): string | undefined => {
  const all = obj(obj(v)?.localized)
  return all ? str(Object.values(all).find((t) => typeof t === 'string')) : str(v)
}

/**
 * A lead form response and its form (both as LinkedIn returns them) → a draft. Each answer's
 * `questionId` finds its question in the form: a predefined field (FIRST_NAME, EMAIL, PHONE_NUMBER,
 * COMPANY_NAME, JOB_TITLE…) fills its lead field, the rest become custom fields by the question's
 * `name` (or predefined field); `fields` may point anywhere in `{ ...response, answers: { <name>: <value> } }`.
 * A `testLead` is not written unless `write_test_leads`. Consent checkboxes are answers
 * `consent_<consentId>`, so `consent.field = "consent_<id>"` reads consent from them.
 */
export function linkedInLead(config: LinkedInConfig, response: Json, form: Json | undefined, ref: LeadRef): WebhookLead {
  const formId = formIdOf(response.versionedLeadGenFormUrn) ?? ref.hints?.form_id ?? 'unknown'
  if (response.testLead === true && !config.write_test_leads) return { form: formId, ignored: 'test-lead' }
  const questions = obj(form?.content)?.questions
  const byId = new Map((Array.isArray(questions) ? questions : []).map((q) => [String(obj(q)?.questionId), obj(q)]))
  const answers: Answer[] = []
  const byName: Json = {}
  const formResponse = obj(response.formResponse)
  for (const a of Array.isArray(formResponse?.answers) ? formResponse.answers : []) {
    const question = byId.get(String(obj(a)?.questionId))
    const predefined = str(question?.predefinedField)
    const name = str(question?.name) ?? predefined ?? `question_${String(obj(a)?.questionId)}`
    const value = answerValue(obj(obj(a)?.answerDetails), question)
    if (value === undefined) continue
    byName[name] = value
    answers.push({ label: localized(question?.question) ?? name, value, field: predefined ? FIELD_OF_PREDEFINED[predefined] : undefined, slug: slugOf(predefined && !FIELD_OF_PREDEFINED[predefined] ? predefined : name) })
  }
  for (const c of Array.isArray(formResponse?.consentResponses) ? formResponse.consentResponses : []) {
    const id = obj(c)?.consentId
    if (id !== undefined) answers.push({ label: `consent_${String(id)}`, value: obj(c)?.accepted === true, slug: `consent_${String(id)}`, format: 'BOOLEAN' })
  }
  const campaign = str(obj(obj(response.leadMetadata)?.sponsoredLeadMetadata)?.campaign)
  const ids: [string, string | undefined][] = [
    ['linkedin_lead_id', str(response.id) ?? ref.id],
    ['linkedin_form_id', formId],
    ['linkedin_campaign', campaign],
    ['linkedin_lead_type', str(response.leadType) ?? ref.hints?.lead_type],
  ]
  for (const [slug, value] of ids) if (value) answers.push({ label: slug, value, slug, format: 'TEXT' })
  const title = `LinkedIn lead form ${localized(form?.name) ?? formId}`
  const result = toLead(config, { ...response, answers: byName }, { form: formId, title, answers, source: 'LinkedIn Lead Gen' })
  const at = Number(response.submittedAt)
  if (!result.draft || !Number.isFinite(at) || at <= 0) return result
  return { ...result, draft: { ...result.draft, submittedAt: new Date(at).toISOString() } }
}

export const linkedInLeadGen: WebhookSource<LinkedInConfig> = {
  name: 'LinkedIn Lead Gen',
  schema,
  auth: { kind: 'signature', header: 'X-LI-Signature' },
  subscribe: { secret: 'WEBHOOK_SECRET', answer: answerChallenge },
  verify: (secrets, { body, headers }) => verifyLinkedIn(secrets, body, headers),
  eventOf: async ({ body }, payload) => {
    const n = obj(payload)
    const id = responseId(n?.leadGenFormResponse)
    // Not a lead event (map ignores it): keyed by its bytes.
    if (!id) return { id: await bodyKey(body), type: str(n?.type), from: 'body' }
    return { id: n?.leadAction === 'DELETED' ? `deleted:${id}` : id, type: str(n?.leadAction), from: 'provider' }
  },
  map: mapNotification,
}

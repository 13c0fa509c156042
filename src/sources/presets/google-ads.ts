/**
 * `preset = "google-ads"`: Google Ads lead form assets (developers.google.com/google-ads/webhook).
 * Google signs nothing: the form's key comes back in the body as `google_key` (verify/google-ads.ts),
 * and is dropped from what is stored. Answers come in `user_column_data`, each with a `column_id`
 * (FULL_NAME, EMAIL, WORK_PHONE…) that says what it is; a custom question's id becomes a custom
 * field by its slug. The ids Google sends as int64 numbers are kept as text, digit for digit, and
 * recorded as custom fields. `is_test` leads (the form's "send test data") are acknowledged and,
 * unless `write_test_leads`, not written. Idempotency key: `lead_id`.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import type { LeadField } from '../../lead/draft'
import type { WebhookSource } from '../types'
import { eventOf, leadJson, verifyGoogleKey } from '../verify/google-ads'
import { type Answer, malformed, obj, type PresetConfig, presetSchema, slugOf, str, toLead } from './preset'

const schema = presetSchema('google-ads', {
  /** Write the leads Google marks `is_test` (the form's "send test data" button); by default they are acknowledged only. */
  write_test_leads: z.boolean().default(false),
})
type GoogleAdsConfig = PresetConfig & { write_test_leads: boolean }

/** The lead fields Google's predefined columns fill; the rest (address parts, custom questions) are custom fields. */
const FIELD_OF_COLUMN: Record<string, LeadField> = {
  FULL_NAME: 'name',
  FIRST_NAME: 'first_name',
  LAST_NAME: 'last_name',
  EMAIL: 'email',
  WORK_EMAIL: 'email',
  PHONE_NUMBER: 'phone',
  WORK_PHONE: 'phone',
  COMPANY_NAME: 'company_name',
  JOB_TITLE: 'title',
}

/** Ids recorded as custom fields of the same name: where the lead came from, for reporting in the CRM. */
const ID_FIELDS = ['gcl_id', 'campaign_id', 'form_id', 'adgroup_id', 'creative_id'] as const

function answerOf(column: unknown): Answer | undefined {
  const c = obj(column)
  const id = str(c?.column_id)
  if (!c || !id) return undefined
  // A custom question may come without column_name: its id names it then.
  return { label: str(c.column_name) ?? id, value: c.string_value, field: FIELD_OF_COLUMN[id], slug: slugOf(id) }
}

export const googleAds: WebhookSource<GoogleAdsConfig> = {
  name: 'Google Ads',
  schema,
  auth: { kind: 'body-key', field: 'google_key' },
  verify: (secrets, { body }) => verifyGoogleKey(secrets, body),
  async read({ body }) {
    const lead = leadJson(body)
    if (!lead) throw malformed('Google Ads lead (a JSON object)')
    // The key is the endpoint's secret: it is not kept with the payload.
    const { google_key: _key, ...rest } = lead
    return rest
  },
  eventOf: ({ body }, payload) => eventOf(body, obj(payload)),
  map(config, payload) {
    const lead = obj(payload)
    if (!lead || !Array.isArray(lead.user_column_data)) throw malformed('Google Ads lead')
    const form = str(lead.form_id) ?? 'unknown'
    if (lead.is_test === true && !config.write_test_leads) return { form, ignored: 'test-lead' }
    const answers: Answer[] = [
      ...lead.user_column_data.map(answerOf).filter((a): a is Answer => !!a),
      ...ID_FIELDS.map((slug) => ({ label: slug, value: str(lead[slug]), slug })),
    ]
    return toLead(config, lead, { form, title: `Google Ads lead form ${form}`, answers, source: 'Google Ads' })
  },
}

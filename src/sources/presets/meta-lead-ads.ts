/**
 * `preset = "meta-lead-ads"`: Facebook and Instagram Lead Ads (developers.facebook.com:
 * graph-api/webhooks/getting-started/webhooks-for-leadgen, marketing-api/guides/lead-ads/retrieving).
 * Meta checks the endpoint first (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`,
 * the token in WEBHOOK_TOKEN_<ID>), then POSTs notifications signed with the app secret
 * (WEBHOOK_SECRET_<ID>) that only name each lead: every `entry[].changes[]` of field `leadgen`
 * is one lead, keyed by its `leadgen_id`. The consumer reads the lead back from Graph
 * (sources/lead-reader.ts) with the page token in WEBHOOK_ACCESS_TOKEN_<ID>, and `metaLead`
 * maps it. Ids exceed 2^53 (lead ids have 15-16 digits): they are read from the raw body as
 * text, digit for digit, never through a JS number.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import type { LeadRef } from '../../lead/message'
import type { WebhookLead, WebhookSource } from '../types'
import { answerSubscription, verifyMeta } from '../verify/meta'
import { type Answer, fieldOfLabel, type Json, malformed, obj, presetSchema, slugOf, str, toLead } from './preset'

const graphId = z.string().regex(/^\d{1,32}$/, 'a Graph id is digits')

const schema = presetSchema('meta-lead-ads', {
  /** Where leads are read back (the stand-in plays Graph in tests and `npm run dev`). */
  graph_api_url: z.string().url().default('https://graph.facebook.com/v25.0').transform((u) => u.replace(/\/+$/, '')),
  /** The lead forms the catch-up reads (leads whose webhook never came). */
  forms: z.array(graphId).optional(),
})
export type MetaConfig = z.output<typeof schema>

/** The Graph fields read for a lead. */
export const LEAD_FIELDS_READ = 'created_time,id,ad_id,form_id,campaign_id,field_data,custom_disclaimer_responses,is_organic,platform'

/**
 * JSON with every number kept as its source text (V8's `JSON.parse` source-text access, which
 * workerd has): `123123123123123123` stays those digits. Throws on what is not JSON.
 */
export const parseKeepingDigits = (text: string): unknown =>
  JSON.parse(text, ((_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined ? context.source : value) as (key: string, value: unknown) => unknown)

/** A notification's id or time as text (the docs' sample has numbers, real traffic strings); undefined when absent or not digits. */
const digits = (v: unknown): string | undefined => (typeof v === 'string' && /^\d{1,32}$/.test(v) ? v : undefined)

/** One `leadgen` change: what the consumer reads back. */
export interface LeadgenChange {
  leadgen_id: string
  page_id?: string
  form_id?: string
  adgroup_id?: string
  ad_id?: string
  created_time?: string
}

const notLeadgen = () => malformed('Meta page webhook (object, entry[].changes[] with a leadgen_id)')

/** Every `leadgen` change of a notification; other fields (a page's feed…) are not leads and are left out. */
function leadgenChanges(payload: unknown): LeadgenChange[] {
  const body = obj(payload)
  if (!body || !Array.isArray(body.entry)) throw notLeadgen()
  const out: LeadgenChange[] = []
  for (const entry of body.entry) {
    const changes = obj(entry)?.changes
    if (!Array.isArray(changes)) throw notLeadgen()
    for (const change of changes) {
      if (obj(change)?.field !== 'leadgen') continue
      const value = obj(obj(change)?.value)
      const leadgen_id = digits(value?.leadgen_id)
      if (!value || !leadgen_id) throw notLeadgen()
      const part: LeadgenChange = { leadgen_id }
      for (const k of ['page_id', 'form_id', 'adgroup_id', 'ad_id', 'created_time'] as const) {
        const d = digits(value[k]) ?? (k === 'created_time' ? str(value[k]) : undefined)
        if (d) part[k] = d
      }
      out.push(part)
    }
  }
  return out
}

/** A notification's lead: nothing personal in it, so what is queued is what to read back. */
function mapChange(_config: MetaConfig, payload: unknown): WebhookLead {
  const change = obj(payload) as LeadgenChange | undefined
  if (!change || !digits(change.leadgen_id)) throw notLeadgen()
  const { leadgen_id, ...hints } = change
  const fetch: LeadRef = { id: leadgen_id, hints: Object.fromEntries(Object.entries(hints).filter(([, v]) => typeof v === 'string')) }
  return { form: change.form_id ?? 'unknown', fetch }
}

/** Graph's ids and flags kept on the record (as text: ids exceed 2^53), so it leads back to the ad. */
const AD_FIELDS = ['ad_id', 'form_id', 'campaign_id', 'is_organic', 'platform'] as const

/**
 * A lead as Graph returns it → a draft. `field_data` answers by name: `full_name`, `first_name`,
 * `email`, `phone_number`, `company_name`, `job_title`… fill lead fields, the others (and the
 * form's own questions) become custom fields by name; `fields` may point anywhere in
 * `{ ...lead, answers: { <name>: <value> } }`. `custom_disclaimer_responses` are answers by
 * `checkbox_key`, so `consent.field = "<checkbox_key>"` reads consent from them.
 */
export function metaLead(config: MetaConfig, lead: Json, ref: LeadRef): WebhookLead {
  const answers: Answer[] = []
  const byName: Json = {}
  for (const f of Array.isArray(lead.field_data) ? lead.field_data : []) {
    const name = str(obj(f)?.name)
    const values = obj(f)?.values
    if (!name || !Array.isArray(values)) continue
    const value = values.length === 1 ? values[0] : values
    byName[name] = value
    answers.push({ label: name, value, field: fieldOfLabel(name), slug: slugOf(name) })
  }
  for (const d of Array.isArray(lead.custom_disclaimer_responses) ? lead.custom_disclaimer_responses : []) {
    const key = str(obj(d)?.checkbox_key)
    const checked = obj(d)?.is_checked
    if (key) answers.push({ label: key, value: checked === true || checked === '1' || checked === 1, slug: `disclaimer_${slugOf(key)}`, format: 'BOOLEAN' })
  }
  for (const k of AD_FIELDS) {
    const v = lead[k] ?? ref.hints?.[k]
    if (v !== undefined && v !== null && v !== '') answers.push({ label: k, value: String(v), slug: `meta_${k}`, format: 'TEXT' })
  }
  const form = str(lead.form_id) ?? ref.hints?.form_id ?? 'unknown'
  const result = toLead(config, { ...lead, answers: byName }, { form, title: `Facebook lead form ${form}`, answers, source: 'Facebook Lead Ads' })
  const created = str(lead.created_time)
  if (!result.draft || !created || Number.isNaN(Date.parse(created))) return result
  return { ...result, draft: { ...result.draft, submittedAt: new Date(created).toISOString() } }
}

export const metaLeadAds: WebhookSource<MetaConfig> = {
  name: 'Meta Lead Ads',
  schema,
  auth: { kind: 'signature', header: 'X-Hub-Signature-256' },
  subscribe: { secret: 'WEBHOOK_TOKEN', answer: answerSubscription },
  verify: (secrets, { body, headers }) => verifyMeta(secrets, body, headers),
  async read({ body }) {
    try {
      return parseKeepingDigits(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body))
    } catch {
      throw malformed('Meta page webhook (UTF-8 JSON)')
    }
  },
  split: leadgenChanges,
  eventOf: async (_received, part) => ({ id: (part as LeadgenChange).leadgen_id, type: 'leadgen', from: 'provider' }),
  map: mapChange,
}

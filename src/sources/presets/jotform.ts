/**
 * `preset = "jotform"`: Jotform forms. Jotform signs nothing, so the endpoint's secret is a
 * token in the URL you give Jotform (`/webhooks/<id>/<token>`), compared in constant time; a
 * wrong one is answered like an unknown endpoint (404). Jotform POSTs multipart/form-data:
 * `formID`, `submissionID`, `formTitle`, and the answers as JSON in `rawRequest`, keyed
 * `q<n>_<field name>`. A full-name field fills first and last name, fields named like an
 * email, phone, company… fill those (a phone widget is read as its number, a date as
 * YYYY-MM-DD, an address as one line); every other answer becomes a custom field named
 * after the field. What a replay maps again is those form fields as JSON, `rawRequest`
 * parsed. Idempotency key: `submissionID`.
 */
import type { WebhookSource } from '../types'
import { eventOf, verifyJotformToken } from '../verify/jotform'
import { type Answer, fieldOfLabel, type Json, malformed, obj, type PresetConfig, presetSchema, slugOf, str, toLead } from './preset'

const schema = presetSchema('jotform', {})

function answersOf(key: string, value: unknown): Answer[] {
  const name = /^q\d+_(.+)$/.exec(key)?.[1]
  if (!name) return [] // Jotform's own bookkeeping (slug, buildDate, temp_upload, …)
  const label = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase() // "studentsName" → "students name"
  const parts = obj(value)
  if (!parts) return [{ label, value, field: fieldOfLabel(label) }]
  if ('first' in parts || 'last' in parts) {
    return [{ label: `${label} (first)`, value: parts.first, field: 'first_name' }, { label: `${label} (last)`, value: parts.last, field: 'last_name' }]
  }
  const text = (keys: string[], sep: string) => keys.map((k) => str(parts[k])).filter(Boolean).join(sep)
  if ('full' in parts || 'area' in parts) return [{ label, value: str(parts.full) ?? text(['country', 'area', 'phone'], ' '), field: 'phone', slug: slugOf(label) }]
  if ('year' in parts && str(parts.year) && str(parts.month) && str(parts.day)) {
    return [{ label, value: `${parts.year}-${String(parts.month).padStart(2, '0')}-${String(parts.day).padStart(2, '0')}`, format: 'DATE' }]
  }
  if ('addr_line1' in parts) return [{ label, value: text(['addr_line1', 'addr_line2', 'city', 'state', 'postal', 'country'], ', ') }]
  return [] // a widget's internals (an appointment's settings, a table's ids): nothing a person typed
}

export const jotform: WebhookSource<PresetConfig> = {
  name: 'Jotform',
  schema,
  auth: { kind: 'url-token' },
  verify: (secrets, { token }) => verifyJotformToken(secrets, token),
  async read({ body, headers }) {
    let form: FormData
    try {
      form = await new Response(body, { headers: { 'content-type': headers.get('content-type') ?? '' } }).formData()
    } catch {
      throw malformed('Jotform submission (multipart/form-data)')
    }
    const fields: Json = {}
    for (const [name, value] of form) if (typeof value === 'string') fields[name] = value
    try {
      fields.rawRequest = JSON.parse(fields.rawRequest as string)
    } catch {
      // no answers to read: the submission will have no email or phone, and be ignored
    }
    return fields
  },
  eventOf: ({ body, headers }) => eventOf(body, headers),
  map(config, payload) {
    const fields = obj(payload)
    if (!fields) throw malformed('Jotform submission')
    const form = str(fields.formID) ?? 'unknown'
    const answers = Object.entries(obj(fields.rawRequest) ?? {}).flatMap(([key, value]) => answersOf(key, value))
    return toLead(config, fields, { form, title: str(fields.formTitle) ?? form, answers, source: 'Jotform' })
  },
}

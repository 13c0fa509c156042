/**
 * `preset = "tally"`: Tally forms (tally.so/help/webhooks). A `FORM_RESPONSE` carries every
 * field with its label and type: email and phone inputs identify the person, text inputs
 * labelled like a name, company or title fill those, and every other field (hidden fields,
 * UTMs among them) becomes a custom field named by its label's slug. Choices are kept as the
 * options' texts. Idempotency key: `eventId`.
 */
import { type Answer, eventTypes, fieldOfLabel, type Json, malformed, obj, presetSchema, signedPreset, str, toLead, wanted } from './preset'

const textOf = (options: unknown, id: unknown) =>
  (Array.isArray(options) ? options.map(obj).find((o) => o?.id === id)?.text : undefined) ?? id

function answerOf(f: Json): Answer | undefined {
  const [label, type] = [str(f.label) ?? str(f.key) ?? '', str(f.type)]
  const raw = f.value
  let value = raw
  // Each checkbox also comes as its own true/false field ("Checkboxes (Soccer)"): the list says it once.
  if (type === 'CHECKBOXES' && typeof raw === 'boolean') return undefined
  if (type === 'FILE_UPLOAD' || type === 'SIGNATURE') value = [raw].flat().map((file) => obj(file)?.url)
  else if (type === 'MATRIX') {
    const rows = obj(raw) ?? {}
    value = Object.keys(rows).map((row) => `${textOf(f.rows, row)}: ${[rows[row]].flat().map((c) => textOf(f.columns, c)).join(', ')}`).join('; ')
  } else if (Array.isArray(raw) && Array.isArray(f.options)) {
    const texts = raw.map((id) => textOf(f.options, id))
    if ((type === 'MULTIPLE_CHOICE' || type === 'DROPDOWN') && texts.length === 1) return { label, value: texts[0], format: 'SINGLE_SELECT' }
    value = texts
  }
  const field =
    type === 'INPUT_EMAIL' ? 'email' : type === 'INPUT_PHONE_NUMBER' ? 'phone' : type === 'INPUT_TEXT' || type === 'INPUT_LINK' ? fieldOfLabel(label) : undefined
  const format = type === 'TEXTAREA' ? 'TEXTAREA' : type === 'INPUT_DATE' ? 'DATE' : type === 'INPUT_LINK' ? 'URL' : undefined
  return { label, value, field, format }
}

export const tally = signedPreset('tally', 'Tally', 'Tally-Signature', presetSchema('tally', eventTypes), (config, event) => {
  const data = obj(event.data)
  const form = str(data?.formId) ?? 'unknown'
  if (!wanted(config, str(event.eventType), ['FORM_RESPONSE'])) return { form, ignored: 'event-type' }
  if (!Array.isArray(data?.fields)) throw malformed('Tally form response')
  const answers = data.fields.map((f) => obj(f) && answerOf(obj(f)!)).filter((a): a is Answer => !!a)
  return toLead(config, event, { form, title: str(data.formName) ?? form, answers, source: 'Tally' })
})

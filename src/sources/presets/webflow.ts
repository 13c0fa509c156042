/**
 * `preset = "webflow"`: Webflow form submissions (developers.webflow.com, `form_submission`).
 * `payload.data` holds each field by its label: labels like email, phone, name, company,
 * title or website fill those lead fields, every other field becomes a custom field by its
 * label's slug. Idempotency key: the submission's `payload.id`.
 */
import { type Answer, eventTypes, fieldOfLabel, malformed, obj, presetSchema, signedPreset, str, toLead, tolerance, wanted } from './preset'

export const webflow = signedPreset('webflow', 'Webflow', 'x-webflow-signature', presetSchema('webflow', { ...eventTypes, ...tolerance }), (config, event) => {
  const submission = obj(event.payload)
  const form = str(submission?.formId) ?? str(submission?.name) ?? 'unknown'
  if (!wanted(config, str(event.triggerType), ['form_submission'])) return { form, ignored: 'event-type' }
  const data = obj(submission?.data)
  if (!data) throw malformed('Webflow form submission')
  const answers: Answer[] = Object.entries(data).map(([label, value]) => ({ label, value, field: fieldOfLabel(label) }))
  return toLead(config, event, { form, title: str(submission!.name) ?? form, answers, source: 'Webflow' })
})

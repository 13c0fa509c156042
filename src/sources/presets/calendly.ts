/**
 * `preset = "calendly"`: Calendly bookings (developer.calendly.com, webhook subscriptions).
 * An `invitee.created` carries the invitee: name, email, the SMS reminder number (a phone),
 * the booking questions and answers (a question labelled like a phone, company… fills that
 * field, the others become custom fields by slug), and the `tracking` UTMs. The timeline
 * entry is named after the event type (the meeting). Calendly sends no event id: the key is
 * the event name with the invitee's URI, unique per booking.
 */
import { type Answer, eventTypes, fieldOfLabel, malformed, obj, presetSchema, signedPreset, str, toLead, tolerance, wanted } from './preset'

export const calendly = signedPreset('calendly', 'Calendly', 'Calendly-Webhook-Signature', presetSchema('calendly', { ...eventTypes, ...tolerance }), (config, event) => {
  const invitee = obj(event.payload)
  const meeting = obj(invitee?.scheduled_event)
  // The event type's uuid (the last segment of its URI) names what was booked.
  const form = str(meeting?.event_type)?.split('/').pop() || 'invitee'
  if (!wanted(config, str(event.event), ['invitee.created'])) return { form, ignored: 'event-type' }
  if (!invitee) throw malformed('Calendly invitee event')
  const answers: Answer[] = [
    // First and last name when the event type asks for them apart, else the full name.
    ...(invitee.first_name || invitee.last_name
      ? [{ label: 'First name', value: invitee.first_name, field: 'first_name' as const }, { label: 'Last name', value: invitee.last_name, field: 'last_name' as const }]
      : [{ label: 'Name', value: invitee.name, field: 'name' as const }]),
    { label: 'Email', value: invitee.email, field: 'email' },
    { label: 'Text reminder number', value: invitee.text_reminder_number, field: 'phone' },
    ...[invitee.questions_and_answers].flat().map(obj).map((qa) => ({ label: str(qa?.question) ?? '', value: qa?.answer, field: fieldOfLabel(str(qa?.question) ?? '') })),
    ...Object.entries(obj(invitee.tracking) ?? {}).map(([slug, value]) => ({ label: slug, value, slug })),
    { label: 'Start time', value: meeting?.start_time, slug: null },
  ]
  return toLead(config, event, { form, title: str(meeting?.name) ?? 'Calendly booking', answers, source: 'Calendly' })
})

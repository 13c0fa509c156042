/**
 * `preset = "cal.com"`: Cal.com bookings (cal.com docs, "Webhooks"). A `BOOKING_CREATED`
 * carries the booking form's `responses` (name, possibly split in first and last, email,
 * phone, notes, and each question of your own by its identifier) and the attendees; the
 * first attendee stands in for what the responses lack. Cal.com sends no event id: the key
 * is the trigger with the booking's uid.
 */
import { type Answer, eventTypes, fieldOfLabel, malformed, obj, presetSchema, signedPreset, str, toLead, wanted } from './preset'

/** Cal.com's own booking fields that are no custom field (kept on the timeline), and the notes' format; any other response is a question of yours. */
const OWN: Record<string, Partial<Answer>> = { location: { slug: null }, guests: { slug: null }, rescheduleReason: { slug: null }, notes: { format: 'TEXTAREA' } }

export const calcom = signedPreset('cal.com', 'Cal.com', 'X-Cal-Signature-256', presetSchema('cal.com', eventTypes), (config, event) => {
  const booking = obj(event.payload)
  const form = String(booking?.eventTypeId ?? str(booking?.type) ?? 'booking')
  if (!wanted(config, str(event.triggerEvent), ['BOOKING_CREATED'])) return { form, ignored: 'event-type' }
  if (!booking) throw malformed('Cal.com booking event')
  const responses = obj(booking.responses) ?? {}
  const answers: Answer[] = []
  for (const [key, response] of Object.entries(responses)) {
    let value = obj(response)?.value
    const parts = obj(value)
    if (key === 'name' && parts) {
      // A split name field: { firstName, lastName }.
      answers.push({ label: 'First name', value: parts.firstName, field: 'first_name' }, { label: 'Last name', value: parts.lastName, field: 'last_name' })
      continue
    }
    if (key === 'location') value = parts?.optionValue || parts?.value || value
    answers.push({ label: str(obj(response)?.label) ?? key, value, field: fieldOfLabel(key), slug: key, ...(Object.hasOwn(OWN, key) ? OWN[key] : {}) })
  }
  // The first attendee (the person who booked) for what the responses lack.
  const attendee = obj([booking.attendees].flat()[0]) ?? {}
  const lacks = (key: string) => obj(responses[key])?.value === undefined
  if (lacks('name')) answers.push({ label: 'Name', value: attendee.name, field: 'name' })
  if (lacks('email')) answers.push({ label: 'Email', value: attendee.email, field: 'email' })
  if (lacks('attendeePhoneNumber')) answers.push({ label: 'Phone', value: attendee.phoneNumber, field: 'phone' })
  answers.push({ label: 'Start time', value: booking.startTime, slug: null })
  return toLead(config, event, { form, title: str(booking.eventTitle) ?? str(booking.title) ?? form, answers, source: 'Cal.com' })
})

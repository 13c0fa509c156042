/**
 * `preset = "standard-webhooks"`: any sender of Standard Webhooks (standardwebhooks.com; Svix
 * and the apps on it: Clerk, Resend, …). The payload has no shape lead-intake knows, so the
 * endpoint's `fields` say where the email or phone is, and `event_types` which events are
 * people. The sender is an app vouching for its own users: the draft is `verified`, and goes
 * on the timeline as a NOTE named after the event type. Idempotency key: `webhook-id`.
 */
import { z } from 'zod/v3'
import { contactFields, presetSchema, signedPreset, str, toLead, tolerance } from './preset'

export const standardWebhooks = signedPreset(
  'standard-webhooks',
  'Standard Webhooks',
  'webhook-signature',
  presetSchema('standard-webhooks', {
    event_types: z.array(z.string().trim().min(1), { required_error: 'is required: list the event types that carry a person, e.g. ["user.created"]' }).min(1),
    ...contactFields,
    ...tolerance,
  }),
  (config, event, endpoint) => {
    const type = str(event.type) ?? ''
    if (!config.event_types.includes(type)) return { form: type || 'unknown', ignored: 'event-type' }
    return toLead(config, event, { form: type, title: type, answers: [], source: endpoint, verified: true, note: true })
  },
)

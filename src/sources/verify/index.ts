/**
 * The signed presets by name, each with the same verifier shape and its event-key reader,
 * for the per-endpoint preset configuration to pick from. Jotform is unsigned: see ./jotform.
 */
import * as calcom from './calcom'
import * as calendly from './calendly'
import * as standardWebhooks from './standard-webhooks'
import * as tally from './tally'
import type { EventKey, Verifier } from './types'
import * as webflow from './webflow'

export type { Check, EventKey, Verifier } from './types'

export interface SignedPreset {
  verify: Verifier
  eventOf: (body: ArrayBuffer, headers: Headers) => Promise<EventKey>
}

export type SignedPresetName = 'standard-webhooks' | 'tally' | 'calendly' | 'cal.com' | 'webflow'

export const SIGNED_PRESETS: Record<SignedPresetName, SignedPreset> = {
  'standard-webhooks': { verify: standardWebhooks.verifyStandardWebhooks, eventOf: standardWebhooks.eventOf },
  tally: { verify: tally.verifyTally, eventOf: tally.eventOf },
  calendly: { verify: calendly.verifyCalendly, eventOf: calendly.eventOf },
  'cal.com': { verify: calcom.verifyCalcom, eventOf: calcom.eventOf },
  webflow: { verify: webflow.verifyWebflow, eventOf: webflow.eventOf },
}

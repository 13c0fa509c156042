/** What a webhook source makes of a verified delivery: a lead to queue, or a reason to acknowledge it without one. */
import type { LeadDraft } from '../lead/draft'

export type WebhookLead = { eventId: string; form: string } & ({ draft: LeadDraft; ignored?: undefined } | { ignored: string; draft?: undefined })

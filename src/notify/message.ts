/**
 * What travels through the notifications queue: an event about one submission (written, failed,
 * held), told to the channels its source names, or an alert told to the ALERTS channels. The
 * person's details travel here and nowhere else: nothing of them is stored or logged.
 */
import type { LeadDraft } from '../lead/draft'
import type { CrmRecordIds, Origin } from '../lead/message'
import type { NotifyEvent } from './channels'

/** The name of the queue in wrangler.toml, whose batches index.ts routes to the notifications consumer. */
export const NOTIFICATIONS_QUEUE = 'lead-intake-notifications'

/** What a notification says of the person: the few fields a salesperson acts on. */
export interface LeadSummary {
  name?: string
  company?: string
  email?: string
  phone?: string
  /** The lead's `source` as written to the CRM. */
  source: string
  message?: string
}

export interface EventMessage {
  type: 'event'
  event: NotifyEvent
  submission: string
  origin: Origin
  /** When it happened (ISO). */
  at: string
  lead?: LeadSummary
  /** Whether the CRM knew the person before (an update) or not (a create). */
  person?: 'new' | 'known'
  records?: CrmRecordIds
  /** Why it failed or is held: status and class, values masked (as the log keeps it). */
  reason?: string
}

export interface AlertMessage {
  type: 'alert'
  condition: string
  state: 'firing' | 'resolved'
  /** One line: what is wrong (or that it cleared). */
  title: string
  /** What to do about it. Counts and names only, never a person's data. */
  detail: string
  at: string
  /** Distinguishes this telling from the condition's earlier ones (the outbox key). */
  key: string
  channels: string[]
}

export type NotifyMessage = EventMessage | AlertMessage

/** The outbox key of a message: a submission is told of each event once, whatever its generation. */
export const keyOf = (m: NotifyMessage): string => (m.type === 'event' ? `${m.event}:${m.submission}` : `alert:${m.key}`)

const MESSAGE_MAX = 500

/** The draft as a notification shows it. The message: the custom field `message`, else the first long text. */
export function summarize(draft: LeadDraft): LeadSummary {
  const name = draft.name || [draft.firstName, draft.lastName].filter(Boolean).join(' ') || undefined
  const text = draft.metadata.find((m) => m.slug === 'message') ?? draft.metadata.find((m) => m.format === 'TEXTAREA' && !m.stampOf)
  const message = typeof text?.value === 'string' ? text.value.slice(0, MESSAGE_MAX) : undefined
  return {
    ...(name ? { name } : {}),
    ...(draft.companyName ? { company: draft.companyName } : {}),
    ...(draft.emails[0] ? { email: draft.emails[0] } : {}),
    ...(draft.phones[0] ? { phone: draft.phones[0] } : {}),
    source: draft.source,
    ...(message ? { message } : {}),
  }
}

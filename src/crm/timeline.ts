/**
 * Each accepted submission as one NOTE on the person's timeline: the form's
 * name, then each field with its value, then the submission id. Unified
 * writes NOTE, EMAIL, TASK, MEETING and CALL events (FORM is read-only), and
 * an event "is always associated with a deal, contact, or company": so the
 * note is linked to the person's contact and company where there are any, and
 * to the lead only where the integration takes `lead_ids`. Every note carries
 * the submission id, so a retry whose earlier create may have landed looks for
 * it first instead of adding a second one.
 */
import type { CrmEvent } from '@unified-api/typescript-sdk/sdk/models/shared/crmevent.js'
import type { TimelineEntry } from '../lead/draft'
import type { CrmTarget } from './client'
import { CrmError, refusedOutright } from './errors'
import { event } from './objects/event'
import type { ListQuery } from './objects/types'
import { type Capabilities, keeps } from './support'
import { listAll } from './search'

/** The field (FORM) or line (NOTE) that names the submission. */
export const SUBMISSION_FIELD = 'lead-intake submission'

export interface EventLinks {
  leadId?: string
  contactId?: string
  companyId?: string
}

/** The links an event takes on this CRM: contact and company where there are any; the lead where the integration writes `lead_ids`. */
export function linksOf(l: EventLinks, caps: Capabilities | undefined): Pick<CrmEvent, 'leadIds' | 'contactIds' | 'companyIds'> {
  return {
    ...(l.leadId && keeps(caps, 'event', 'lead_ids') ? { leadIds: [l.leadId] } : {}),
    ...(l.contactId && keeps(caps, 'event', 'contact_ids') ? { contactIds: [l.contactId] } : {}),
    ...(l.companyId && keeps(caps, 'event', 'company_ids') ? { companyIds: [l.companyId] } : {}),
  }
}

/** The note's text: every field as submitted, one per line, the submission id last. */
export const noteText = (submission: string, entry: TimelineEntry): string =>
  [...entry.fields, { name: SUBMISSION_FIELD, value: submission }].map((f) => `${f.name}: ${f.value}`).join('\n')

const noteEvent = (submission: string, entry: TimelineEntry, links: Pick<CrmEvent, 'leadIds' | 'contactIds' | 'companyIds'>): CrmEvent => ({
  type: 'NOTE',
  note: { title: entry.title, description: noteText(submission, entry) },
  ...links,
})

/** The submission an event names, if lead-intake wrote it: a NOTE's last line (a value typed into a field can't be it), a FORM's field. */
function submissionOf(e: CrmEvent): string | undefined {
  const last = e.note?.description?.split('\n').at(-1) ?? ''
  if (last.startsWith(`${SUBMISSION_FIELD}: `)) return last.slice(SUBMISSION_FIELD.length + 2)
  return (e.form?.fields ?? []).findLast((f) => f.name === SUBMISSION_FIELD)?.options?.[0]?.value
}

/**
 * Every event lead-intake wrote on these records, with the submission each
 * names, however many events the records have (every page is read).
 */
export async function eventsWritten(t: CrmTarget, links: EventLinks): Promise<{ id: string; submission: string }[]> {
  const found = new Map<string, string>()
  type List = [NonNullable<ListQuery['filters']>, string]
  const lists: List[] = [
    ...(links.leadId ? [[{ leadId: links.leadId }, `lead ${links.leadId}`] satisfies List] : []),
    ...(links.contactId ? [[{ contactId: links.contactId }, `contact ${links.contactId}`] satisfies List] : []),
    ...(links.companyId ? [[{ companyId: links.companyId }, `company ${links.companyId}`] satisfies List] : []),
  ]
  for (const [filters, what] of lists) {
    for (const e of await listAll(t, event, filters, what)) {
      const submission = submissionOf(e)
      if (e.id && submission) found.set(e.id, submission)
    }
  }
  return [...found].map(([id, submission]) => ({ id, submission }))
}

export interface EventHooks {
  /** An earlier try sent this submission's event and no answer came: the record's events are read first. */
  uncertain: boolean
  /** Runs just before the create is sent. */
  beforeCreate?: () => Promise<void>
  /** The create was answered with a refusal: nothing was created by it. */
  refused?: () => Promise<void>
}

/** The CRM would not take the note (a 4xx other than a rate limit, or 501): the person stays written, the note goes elsewhere. */
export class NoteRefused extends Error {
  override name = 'NoteRefused'
  /** `reason`: the CRM's own words, unmasked (see refusal.ts). */
  constructor(
    readonly why: string,
    readonly reason?: string,
  ) {
    super(why)
  }
}

/**
 * Records the submission as a note; returns the event's id. Throws NoteRefused when the CRM
 * refuses it, or when it could be linked to nothing this CRM links events to.
 */
export async function recordEvent(t: CrmTarget, submission: string, entry: TimelineEntry, links: EventLinks, hooks: EventHooks): Promise<string> {
  const linked = linksOf(links, t.caps)
  if (!linked.leadIds && !linked.contactIds && !linked.companyIds) throw new NoteRefused('this CRM links notes only to contacts, companies or deals, and this submission wrote none')
  if (hooks.uncertain) {
    // The note is linked to the lead where there is one; its list is enough.
    const where = linked.leadIds ? { leadId: links.leadId } : linked.contactIds ? { contactId: links.contactId } : { companyId: links.companyId }
    const landed = (await eventsWritten(t, where)).find((e) => e.submission === submission)
    if (landed) return landed.id
  }
  await hooks.beforeCreate?.()
  let created: CrmEvent
  try {
    created = await event.create(t, noteEvent(submission, entry, linked))
  } catch (error) {
    const e = error as CrmError
    const notImplemented = e instanceof CrmError && e.status === 501
    if (!refusedOutright(error) && !notImplemented) throw error
    await hooks.refused?.()
    // A rate limit refuses nothing for good: the write waits and tries again.
    if (e.retryable) throw error
    throw new NoteRefused(e.message, e.reason)
  }
  if (!created.id) throw new CrmError('create event: Unified returned an event without an id', false)
  return created.id
}

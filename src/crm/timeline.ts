/**
 * Each accepted submission as one event on the person's record: a FORM event
 * (the form's name, each field with the submitted value as its one option),
 * or a NOTE where the CRM refuses FORM. Every event carries the submission id,
 * so a retry whose earlier create may have landed looks for it first instead
 * of adding a second one.
 */
import type { CrmEvent } from '@unified-api/typescript-sdk/sdk/models/shared/crmevent.js'
import type { TimelineEntry } from '../lead/draft'
import type { CrmTarget } from './client'
import { CrmError, refusedOutright } from './errors'
import { event } from './objects/event'
import { listAll } from './search'

/** The field (FORM) or line (NOTE) that names the submission. */
export const SUBMISSION_FIELD = 'lead-intake submission'

export interface EventLinks {
  leadId?: string
  contactId?: string
  companyId?: string
}

const linksOf = (l: EventLinks) => ({
  ...(l.leadId ? { leadIds: [l.leadId] } : {}),
  ...(l.contactId ? { contactIds: [l.contactId] } : {}),
  ...(l.companyId ? { companyIds: [l.companyId] } : {}),
})

const formEvent = (submission: string, entry: TimelineEntry, links: EventLinks): CrmEvent => ({
  type: 'FORM',
  form: {
    name: entry.title,
    fields: [...entry.fields, { name: SUBMISSION_FIELD, value: submission }].map((f) => ({ name: f.name, type: 'TEXT', options: [{ value: f.value }] })),
  },
  ...linksOf(links),
})

const noteEvent = (submission: string, entry: TimelineEntry, links: EventLinks): CrmEvent => ({
  type: 'NOTE',
  note: {
    title: entry.title,
    description: [...entry.fields, { name: SUBMISSION_FIELD, value: submission }].map((f) => `${f.name}: ${f.value}`).join('\n'),
  },
  ...linksOf(links),
})

/** The submission an event names, if lead-intake wrote it: a NOTE's last line (a value typed into a field can't be it), a FORM's field. */
function submissionOf(e: CrmEvent): string | undefined {
  const last = e.note?.description?.split('\n').at(-1) ?? ''
  if (last.startsWith(`${SUBMISSION_FIELD}: `)) return last.slice(SUBMISSION_FIELD.length + 2)
  return (e.form?.fields ?? []).findLast((f) => f.name === SUBMISSION_FIELD)?.options?.[0]?.value
}

/** A FORM refused as such (4xx other than a rate limit) is worth one more try as a NOTE. */
const refusedAsForm = (e: unknown) => e instanceof CrmError && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429

/**
 * Every event lead-intake wrote on these records, with the submission each
 * names, however many events the records have (every page is read).
 */
export async function eventsWritten(t: CrmTarget, links: EventLinks): Promise<{ id: string; submission: string }[]> {
  const found = new Map<string, string>()
  const lists = [
    ...(links.leadId ? [{ leadId: links.leadId }] : []),
    ...(links.contactId ? [{ contactId: links.contactId }] : []),
  ]
  for (const filters of lists) {
    for (const e of await listAll(t, event, filters, 'leadId' in filters ? `lead ${filters.leadId}` : `contact ${filters.contactId}`)) {
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

/** Records the submission; returns the event's id. */
export async function recordEvent(t: CrmTarget, submission: string, entry: TimelineEntry, links: EventLinks, hooks: EventHooks): Promise<string> {
  if (hooks.uncertain) {
    // The event is linked to the lead where there is one; its list is enough.
    const landed = (await eventsWritten(t, links.leadId ? { leadId: links.leadId } : { contactId: links.contactId })).find((e) => e.submission === submission)
    if (landed) return landed.id
  }
  await hooks.beforeCreate?.()
  const create = async (record: CrmEvent) => {
    try {
      return await event.create(t, record)
    } catch (error) {
      if (refusedOutright(error)) await hooks.refused?.()
      throw error
    }
  }
  let created: CrmEvent
  if (entry.type === 'FORM') {
    try {
      created = await create(formEvent(submission, entry, links))
    } catch (error) {
      if (!refusedAsForm(error)) throw error
      await hooks.beforeCreate?.()
      created = await create(noteEvent(submission, entry, links))
    }
  } else {
    created = await create(noteEvent(submission, entry, links))
  }
  if (!created.id) throw new CrmError('create event: Unified returned an event without an id', false)
  return created.id
}

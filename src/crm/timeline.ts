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
import { CrmError } from './errors'
import { event } from './objects/event'

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

const mentions = (e: CrmEvent, submission: string): boolean =>
  (e.note?.description ?? '').includes(`${SUBMISSION_FIELD}: ${submission}`) ||
  (e.form?.fields ?? []).some((f) => f.name === SUBMISSION_FIELD && f.options?.some((o) => o.value === submission))

/** A FORM refused as such (4xx other than a rate limit) is worth one more try as a NOTE. */
const refusedAsForm = (e: unknown) => e instanceof CrmError && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429

/**
 * Records the submission; returns the event's id. `uncertain`: an earlier
 * create's answer never came, so the record's events are read first.
 */
export async function recordEvent(t: CrmTarget, submission: string, entry: TimelineEntry, links: EventLinks, uncertain: boolean, beforeCreate?: () => Promise<void>): Promise<string> {
  if (uncertain) {
    const filters = links.leadId ? { leadId: links.leadId } : links.contactId ? { contactId: links.contactId } : undefined
    if (filters) {
      const landed = (await event.list(t, { limit: 100, offset: 0, filters })).find((e) => mentions(e, submission))
      if (landed?.id) return landed.id
    }
  }
  await beforeCreate?.()
  let created: CrmEvent
  if (entry.type === 'FORM') {
    try {
      created = await event.create(t, formEvent(submission, entry, links))
    } catch (error) {
      if (!refusedAsForm(error)) throw error
      created = await event.create(t, noteEvent(submission, entry, links))
    }
  } else {
    created = await event.create(t, noteEvent(submission, entry, links))
  }
  if (!created.id) throw new CrmError('create event: Unified returned an event without an id', false)
  return created.id
}

/**
 * What one submission writes, in order: the person's company, their contact,
 * their lead (linked to both), then the submission as an event on the record's
 * timeline, each as the draft's plan says (README "What gets written"). Knows
 * LeadDrafts and CRM objects, nothing of where a submission came from; the
 * caller (the person's Durable Object) keeps what was written, so a retry
 * resumes where the last try stopped.
 */
import { DEFAULT_PLAN, type LeadDraft, type Owner, type TimelineEntry } from '../lead/draft'
import type { CrmTarget } from './client'
import { CrmError } from './errors'
import { maskReason, valuesOf } from './refusal'
import { type CompanyQuery, companyQueryOf } from './company'
import type { Links } from './people'
import { CONTACT, LEAD } from './people'
import { type PersonResult, type Via, type WriteAction, writePerson } from './person'
import { cannot, keeps, leadsNeedContacts, personObjects } from './support'
import { NoteRefused, noteText, recordEvent } from './timeline'

/** The person's records, as far as lead-intake knows them. */
export interface PersonRecords {
  lead?: PersonRecord
  contact?: PersonRecord
  company?: string
}

export interface PersonRecord {
  id: string
  via: Via
  /** What the CRM did not keep of earlier writes to it (kept.ts descriptors): not sent again. */
  dropped?: string[]
}

export interface SubmissionHooks {
  /** The submission's id: what its event carries, so a retry can find it. */
  submission: string
  /** The company's id (found or created one company at a time), or undefined when the CRM can't link companies. */
  company(q: CompanyQuery): Promise<string | undefined>
  /** Runs before a person's record is first committed to (see PersonOptions.beforeCommit). */
  beforeCommit(): Promise<void>
  /** Runs just before a lead or contact is created. */
  beforeCreate(object: 'lead' | 'contact'): Promise<void>
  /** A create of this object was sent once and its answer never came: it may exist though no search found it yet. */
  createInDoubt(object: 'lead' | 'contact'): Promise<boolean>
  /** A create (of a lead, contact or this submission's event) was answered with a refusal: it created nothing. */
  createRefused(object: 'lead' | 'contact' | 'event'): Promise<void>
  /** Keeps a record as soon as it is written, so a retry does not redo it. */
  saved(records: PersonRecords): Promise<void>
  /** An earlier try sent this submission's event and no answer came. */
  eventUncertain: boolean
  beforeEvent(): Promise<void>
  /** Who a record about to be created belongs to, by the plan's owner (crm/owner.ts); one answer per submission. */
  owner?(): Promise<Owner | undefined>
}

export interface SubmissionResult {
  /** What happened to the primary record (the lead, else the contact). */
  action: WriteAction
  lead?: string
  contact?: string
  company?: string
  event?: string
  /** Emails and phones the records did not take (a public post matched to a record lead-intake did not make). */
  refused: string[]
  /** Unlinked emails and phones (LeadDraft.unlinked) that a record created for the person carries. */
  carried: string[]
  /** What was written otherwise than asked, each saying where the value went (never a value). */
  warnings: string[]
  /** Who a record this submission created belongs to, and by which part of the owner plan. */
  owner?: Owner
}

/** The custom field a submission's note goes to on a CRM that takes no note for it. */
export const NOTE_FIELD = 'lead_intake_note'

/** Whether this CRM can take the submission's note on the records this write makes (by its support data; unknown: try). */
function noteTakes(t: CrmTarget, wanted: { lead: boolean; contact: boolean }, company: boolean): boolean {
  if (cannot(t.caps, 'event', 'create')) return false
  return (wanted.contact && keeps(t.caps, 'event', 'contact_ids')) || (company && keeps(t.caps, 'event', 'company_ids')) || (wanted.lead && keeps(t.caps, 'event', 'lead_ids'))
}

export async function writeSubmission(t: CrmTarget, given: LeadDraft, known: PersonRecords, hooks: SubmissionHooks): Promise<SubmissionResult> {
  const plan = given.plan ?? DEFAULT_PLAN
  const warnings: string[] = []
  let wanted = personObjects(plan.write, t.caps)
  // A CRM that takes no note for these records keeps the submission in a custom field of the record instead.
  const timeline = plan.timeline && given.timeline ? given.timeline : undefined
  /** Where the fields the record doesn't keep can be read: names only, never values. */
  const logOnly = (entry: TimelineEntry) => `its fields (${entry.fields.map((f) => f.name).join(', ')}) are in the submission log only (until retention)`
  let draft = given
  let note = !!timeline
  if (timeline && !noteTakes(t, wanted, plan.company)) {
    note = false
    const object = wanted.lead ? 'lead' : 'contact'
    if (keeps(t.caps, object, 'metadata')) {
      draft = { ...given, metadata: [...given.metadata, { slug: NOTE_FIELD, value: noteText(hooks.submission, timeline), format: 'TEXTAREA' }] }
      warnings.push(`timeline note: this CRM takes no note on a ${object} alone; the submission was kept in the ${object}'s custom field ${NOTE_FIELD}`)
    } else {
      warnings.push(`timeline note: this CRM takes no note on a ${object} alone, nor custom fields; ${logOnly(timeline)}`)
    }
  }
  const records: PersonRecords = { ...known }
  const links: Links = { ...(records.company ? { companyId: records.company } : {}) }
  // The company is found or made once the person is committed to a record (the person is locked
  // in the ledger then): a person about to be merged into another must not leave a company behind.
  const q = plan.company && !records.company ? companyQueryOf(draft) : undefined
  const linkCompany = async () => {
    if (!q || links.companyId) return
    const id = await hooks.company(q)
    if (!id) return
    records.company = links.companyId = id
    await hooks.saved(records)
  }
  const beforeCommit = async () => {
    await hooks.beforeCommit()
    await linkCompany()
  }
  // A person with a record already is locked: their company can be linked right away.
  if (records.lead || records.contact) await linkCompany()
  let primary: PersonResult | undefined
  let owner: Owner | undefined
  // One owner for every record this submission creates (a contact and its lead), asked for only when one is created.
  let choosing: Promise<Owner | undefined> | undefined
  const chooseOwner = plan.owner && hooks.owner ? () => (choosing ??= hooks.owner!()) : undefined
  const refused = new Set<string>()
  const carried = new Set<string>()
  const person = async (name: 'lead' | 'contact', noneToFind = false) => {
    const kind = name === 'lead' ? LEAD : CONTACT
    const before = records[name]
    const result = await writePerson(t, kind as typeof LEAD, draft, {
      known: before,
      noneToFind,
      links,
      beforeCommit,
      beforeCreate: () => hooks.beforeCreate(name),
      createRefused: () => hooks.createRefused(name),
      dropped: new Set(before?.id && before.dropped ? before.dropped : []),
      ...(chooseOwner ? { owner: chooseOwner } : {}),
      ...(note ? { alsoOn: 'the timeline note' } : draft !== given ? { alsoOn: `custom field ${NOTE_FIELD}` } : {}),
    })
    for (const w of result.warnings) warnings.push(w)
    // What the CRM dropped of this very record is remembered with it; a record found anew starts from nothing.
    const dropped = [...new Set([...(before?.id === result.id ? (before.dropped ?? []) : []), ...result.dropped])]
    // Once made here, always made here: a later public post may add identifiers to this person's own record.
    records[name] = {
      id: result.id,
      via: records[name]?.via === 'created' || result.via === 'created' ? 'created' : 'found',
      ...(dropped.length ? { dropped } : {}),
    }
    await hooks.saved(records)
    for (const value of result.refused) refused.add(value)
    for (const value of result.carried) carried.add(value)
    owner ??= result.owner
    return result
  }
  if (wanted.contact) {
    primary = await person('contact')
    links.contactId = primary.id
  }
  if (wanted.lead) {
    // A contact this write just made, where no lead exists without a contact (the CRM's support data, or the operator, says
    // so), has no lead in the CRM: the lead search is skipped, unless an earlier lead create's answer was lost.
    const freshContact = wanted.contact && primary?.action === 'created' && !records.lead && (plan.leadsNeedContacts === true || leadsNeedContacts(t.caps))
    const noneToFind = freshContact && !(await hooks.createInDoubt('lead'))
    try {
      primary = await person('lead', noneToFind)
    } catch (error) {
      // `auto` where Unified's support data could not say: a CRM that answers it has no leads gets a contact.
      if (plan.write !== 'auto' || wanted.contact || !(error instanceof CrmError) || error.unsupported !== 'lead') throw error
      wanted = { lead: false, contact: true }
      primary = await person('contact')
    }
  }
  let eventId: string | undefined
  if (timeline && note) {
    try {
      eventId = await recordEvent(
        t,
        hooks.submission,
        timeline,
        { leadId: records.lead?.id, contactId: records.contact?.id, companyId: records.company },
        { uncertain: hooks.eventUncertain, beforeCreate: hooks.beforeEvent, refused: () => hooks.createRefused('event') },
      )
    } catch (error) {
      // A note the CRM refuses never fails a person who is written.
      if (!(error instanceof NoteRefused)) throw error
      const why = error.reason ? `${error.why}: ${maskReason(error.reason, valuesOf(given))}` : error.why
      warnings.push(`timeline note: not written (${why}); ${logOnly(timeline)}`)
    }
  }
  return {
    action: primary!.action,
    ...(records.lead ? { lead: records.lead.id } : {}),
    ...(records.contact ? { contact: records.contact.id } : {}),
    ...(records.company ? { company: records.company } : {}),
    ...(eventId ? { event: eventId } : {}),
    refused: [...refused],
    carried: [...carried],
    warnings,
    ...(owner ? { owner } : {}),
  }
}

/**
 * Find-then-update of one person-like record (a lead or a contact, see
 * people.ts): the record known from an earlier write, else a search per
 * identifier; then an update under the merge policy, or a create.
 */
import type { LeadDraft } from '../lead/draft'
import { emailForms, emailKey, parseEmail, parsePhone, phoneKey } from '../lead/identity'
import type { CrmTarget } from './client'
import { CrmError, refusedOutright } from './errors'
import type { Links, PersonKind } from './people'
import { findOldest, type Search } from './search'

export type WriteAction = 'created' | 'updated' | 'unchanged'

/** How a record was reached: made by lead-intake for this person, known from an earlier write, or found by a search. */
export type Via = 'created' | 'known' | 'found'

export interface PersonResult {
  action: WriteAction
  id: string
  via: Via
  /** The draft's emails and phones (as written) that the record did not take. */
  refused: string[]
  /** The draft's unlinked emails and phones (LeadDraft.unlinked) that the record carries because it was created with them. */
  carried: string[]
}

export interface PersonOptions {
  /** The record this person was written to before, and how it was first reached. */
  known?: { id: string; via: Via }
  links: Links
  /** Runs before the writer commits the person to a record it did not know (creates one or updates one it found); may throw. */
  beforeCommit?: () => Promise<void>
  /** Runs just before a create is sent, so the caller can remember one may have happened even if no answer arrives. */
  beforeCreate?: () => Promise<void>
  /** The create was answered with a refusal: it created nothing, so nothing is in doubt. */
  createRefused?: () => Promise<void>
}

/**
 * The searches for each identifier, emails first, then readable phones: an email in every form a CRM
 * may hold it (its domain in Unicode and in punycode), a phone by its national number (which any
 * formatting contains). Each candidate is then compared exactly, as the identity ledger compares.
 */
export function searchesOf<R extends { id?: string }>(kind: PersonKind<R>, draft: LeadDraft): Search<R>[][] {
  const searches: Search<R>[][] = []
  for (const email of draft.emails) {
    const parsed = parseEmail(email)
    if (!parsed) continue
    const matches = (r: R) => kind.emails(r).some((e) => emailKey(e.email) === parsed.key)
    searches.push(emailForms(parsed).map((query) => ({ label: 'email', query, searchable: kind.searchable, matches })))
  }
  for (const phone of draft.phones) {
    const parsed = parsePhone(phone, draft.country)
    const key = parsed?.key
    if (key && parsed.national) {
      searches.push([{ label: 'phone', query: parsed.national, searchable: kind.searchable, matches: (r) => kind.telephones(r).some((t) => phoneKey(t.telephone, draft.country) === key) }])
    }
  }
  return searches
}

/** The draft without its unlinked emails and phones: what a record that exists may be given. */
function withoutUnlinked(draft: LeadDraft): LeadDraft {
  if (!draft.unlinked?.length) return draft
  const unlinked = new Set(draft.unlinked)
  return { ...draft, emails: draft.emails.filter((e) => !unlinked.has(e)), phones: draft.phones.filter((p) => !unlinked.has(p)) }
}

/** Emails and phones of the draft that `record` does not hold. */
function notOn<R>(kind: PersonKind<R & { id?: string }>, record: R & { id?: string }, draft: LeadDraft): string[] {
  const emails = new Set(kind.emails(record).map((e) => emailKey(e.email)))
  const phones = new Set(kind.telephones(record).map((p) => phoneKey(p.telephone, draft.country) || p.telephone))
  return [...draft.emails.filter((e) => !emails.has(emailKey(e))), ...draft.phones.filter((p) => !phones.has(phoneKey(p, draft.country) || p))]
}

const idOf = (r: { id?: string }, operation: string): string => {
  if (!r.id) throw new CrmError(`${operation}: Unified returned a record without an id`, false)
  return r.id
}

export async function writePerson<R extends { id?: string; createdAt?: Date | undefined }>(
  t: CrmTarget,
  kind: PersonKind<R>,
  draft: LeadDraft,
  o: PersonOptions,
): Promise<PersonResult> {
  const name = kind.object.name
  let existing: R | undefined
  let via: Via = 'found'
  if (o.known) {
    existing = await kind.object.get(t, o.known.id)
    if (existing) via = o.known.via === 'created' ? 'created' : 'known'
  }
  if (!existing) {
    // Every identifier the submission brings, unlinked ones too: a remembered record that is gone
    // (deleted or merged away in the CRM) may live on under any of them, and a create must not duplicate it.
    for (const forms of searchesOf(kind, draft)) {
      existing = await findOldest(t, kind.object, forms)
      if (existing) break
    }
  }
  if (via === 'found') await o.beforeCommit?.()
  if (existing) {
    const id = idOf(existing, `find ${name}`)
    const given = withoutUnlinked(draft)
    // A public form may reach a record by one identifier but not hang others on it: unless lead-intake made
    // this record for this person, its emails and phones stay as they are.
    const attach = draft.verified === true || via === 'created'
    const refused = attach ? [] : notOn(kind, existing, given)
    const patch = kind.planUpdate(existing, given, attach, o.links)
    if (!patch) return { action: 'unchanged', id, via, refused, carried: [] }
    await kind.object.patch(t, id, patch)
    return { action: 'updated', id, via, refused, carried: [] }
  }
  // A record made for the person carries every identifier of the submission that makes it: public forms
  // can't hang identities on other people's records, but this one is the person's own.
  await o.beforeCreate?.()
  const created = await kind.object.create(t, kind.planCreate(draft, o.links)).catch(async (error: unknown) => {
    if (refusedOutright(error)) await o.createRefused?.()
    throw error
  })
  return { action: 'created', id: idOf(created, `create ${name}`), via: 'created', refused: [], carried: draft.unlinked ?? [] }
}

/**
 * Find-then-update of one person-like record (a lead or a contact, see
 * people.ts): the record known from an earlier write, else a search per
 * identifier; then an update under the merge policy, or a create.
 */
import type { LeadDraft, Owner } from '../lead/draft'
import { emailForms, emailKey, parseEmail, parsePhone, phoneKey } from '../lead/identity'
import type { CrmTarget } from './client'
import { CrmError, refusedOutright } from './errors'
import { describeDropped, droppedBy, trim, wire } from './kept'
import { cannot } from './support'
import type { Links, PersonKind } from './people'
import { findOldest, type Search } from './search'

export type WriteAction = 'created' | 'updated' | 'unchanged'

/** How a record was reached: made by lead-intake for this person, known from an earlier write, or found by a search. */
export type Via = 'created' | 'known' | 'found'

export interface PersonResult {
  action: WriteAction
  id: string
  via: Via
  /** What was written otherwise than sent, each saying so (never a value). */
  warnings: string[]
  /** What the CRM did not keep of this write (kept.ts descriptors): not sent again. */
  dropped: string[]
  /** The draft's emails and phones (as written) that the record did not take. */
  refused: string[]
  /** The draft's unlinked emails and phones (LeadDraft.unlinked) that the record carries because it was created with them. */
  carried: string[]
  /** Who the record was created for (its `user_id`), when it was created with one. */
  owner?: Owner
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
  /** What this CRM dropped of earlier writes to this record (kept.ts descriptors): not sent again. */
  dropped?: ReadonlySet<string>
  /** Where a value not kept on the record can still be read (the timeline note), for warnings. */
  alsoOn?: string
  /** Who a record about to be created belongs to; asked only then, so a record that exists never changes hands. */
  owner?: () => Promise<Owner | undefined>
  /** The caller knows the CRM can't hold this record yet (a lead of a contact just made, where leads need contacts): no search. */
  noneToFind?: boolean
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

/**
 * The custom fields the CRM refused by name (HubSpot's PROPERTY_DOESNT_EXIST and the like), every
 * one its reason names as a value: a slug that is only a key of the reason's JSON (`"message":`) is not named.
 */
function refusedSlugs(error: unknown, record: { metadata?: { slug?: string }[] }): string[] {
  if (!(error instanceof CrmError) || error.retryable || !error.reason || error.status === undefined || error.status >= 500) return []
  const reason = error.reason.toLowerCase()
  const named = (slug: string) =>
    new RegExp(`(^|[^a-z0-9_])${slug.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![a-z0-9_])(?!\\\\?"?\\s*:)`).test(reason)
  return (record.metadata ?? []).map((m) => m.slug ?? '').filter((slug) => slug && named(slug))
}

/**
 * Sends `record` (a create or an update); a custom field the CRM refuses by name is taken out
 * and the rest sent again at once: the person is not lost for one field. Returns what the CRM
 * answered and the slugs it refused.
 */
async function sendKeeping<R extends { metadata?: { slug?: string }[] }>(record: R, send: (r: R) => Promise<R>): Promise<{ answered: R; sent: R; refused: string[] }> {
  let sent = record
  const refused: string[] = []
  // A CRM that names every refused field at once (HubSpot) costs one call more; one that names one at a time, one per field, to 10.
  for (let retries = 0; ; retries++) {
    try {
      return { answered: await send(sent), sent, refused }
    } catch (error) {
      const slugs = refusedSlugs(error, sent)
      if (slugs.length === 0 || retries >= 10) throw error
      refused.push(...slugs)
      sent = { ...sent, metadata: sent.metadata!.filter((m) => !slugs.includes(m.slug ?? '')) }
    }
  }
}

export async function writePerson<R extends { id?: string; createdAt?: Date | undefined; metadata?: { slug?: string }[] }>(
  t: CrmTarget,
  kind: PersonKind<R>,
  draft: LeadDraft,
  o: PersonOptions,
): Promise<PersonResult> {
  const name = kind.object.name
  const dropped = o.dropped ?? new Set<string>()
  const warnings: string[] = []
  const valueIs = o.alsoOn ? `its value is on ${o.alsoOn}` : 'its value is in the submission log only'
  const notWritten = (fields: string[]) => {
    for (const f of fields) warnings.push(`${name} ${f}: not among the fields this CRM writes, so not sent; ${valueIs}`)
  }
  const refusedFields = (slugs: string[], reason = 'refused by the CRM') => {
    for (const slug of slugs) warnings.push(`${name} custom field ${slug}: ${reason}; written without it, ${valueIs}`)
  }
  let existing: R | undefined
  let via: Via = 'found'
  if (o.known) {
    const known = o.known
    // A CRM that can't read a record back can't have it compared or updated: the record stands as it is.
    const unreadable = (): PersonResult => ({
      action: 'unchanged',
      id: known.id,
      via: known.via === 'created' ? 'created' : 'known',
      refused: [],
      carried: [],
      dropped: [],
      warnings: [`${name}: this CRM can’t read a ${name} back, so lead-intake does not update it blind; what this submission changes is not written (${valueIs})`],
    })
    if (cannot(t.caps, name, 'get')) return unreadable()
    try {
      existing = await kind.object.get(t, known.id)
    } catch (error) {
      if (error instanceof CrmError && error.status === 501) return unreadable()
      throw error
    }
    if (existing) via = known.via === 'created' ? 'created' : 'known'
  }
  if (!existing && !o.noneToFind) {
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
    const planned = kind.planUpdate(existing, given, attach, o.links)
    const trimmed = planned ? trim(name, planned, t.caps, dropped, existing as Record<string, unknown>, draft.country) : undefined
    if (trimmed) notWritten(trimmed.notWritten)
    const patch = trimmed && Object.keys(trimmed.record).length ? (trimmed.record as Partial<R>) : undefined
    if (!patch) return { action: 'unchanged', id, via, refused, carried: [], warnings, dropped: [] }
    const cantUpdate = () => `${name}: this CRM can’t update a ${name}, so what this submission changes (${Object.keys(patch).map(wire).join(', ')}) is not written; ${valueIs}`
    if (cannot(t.caps, name, 'update')) return { action: 'unchanged', id, via, refused, carried: [], warnings: [...warnings, cantUpdate()], dropped: [] }
    let sent: Awaited<ReturnType<typeof sendKeeping<R>>>
    try {
      sent = await sendKeeping(patch as R, (r) => kind.object.patch(t, id, r))
    } catch (error) {
      // Where the support data could not say, the CRM's own 501 does: a repeat is written, never failed, never created again.
      if (!(error instanceof CrmError) || error.status !== 501) throw error
      return { action: 'unchanged', id, via, refused, carried: [], warnings: [...warnings, cantUpdate()], dropped: [] }
    }
    refusedFields(sent.refused)
    const lost = droppedBy(name, t.caps, sent.sent as Record<string, unknown>, sent.answered as Record<string, unknown>, draft.country)
    for (const d of lost) warnings.push(`${name} ${describeDropped(d)}: sent but not kept by this CRM; ${valueIs}`)
    return { action: 'updated', id, via, refused, carried: [], warnings, dropped: [...lost, ...sent.refused.map((s) => `metadata:${s}`)] }
  }
  // A record made for the person carries every identifier of the submission that makes it: public forms
  // can't hang identities on other people's records, but this one is the person's own.
  const owner = await o.owner?.()
  const record = owner ? ({ ...kind.planCreate(draft, o.links), userId: owner.userId } as R) : kind.planCreate(draft, o.links)
  const planned = trim(name, record, t.caps, dropped, undefined, draft.country)
  // An owner is configuration, not the person's words: no note holds it, so its warning says what the record got instead.
  notWritten(planned.notWritten.filter((f) => f !== 'user_id'))
  if (owner && planned.notWritten.includes('user_id')) warnings.push(`${name} owner: this CRM doesn’t write user_id on a ${name}, so ${owner.userId} (${owner.by}) was not set; the record has the CRM’s default owner`)
  await o.beforeCreate?.()
  const sent = await sendKeeping(planned.record as R, (r) => kind.object.create(t, r)).catch(async (error: unknown) => {
    if (refusedOutright(error)) await o.createRefused?.()
    throw error
  })
  refusedFields(sent.refused)
  const lost = droppedBy(name, t.caps, sent.sent as Record<string, unknown>, sent.answered as Record<string, unknown>, draft.country)
  for (const d of lost) warnings.push(`${name} ${describeDropped(d)}: sent but not kept by this CRM; ${valueIs}`)
  return {
    action: 'created',
    id: idOf(sent.answered, `create ${name}`),
    via: 'created',
    refused: [],
    carried: draft.unlinked ?? [],
    warnings,
    dropped: [...lost, ...sent.refused.map((s) => `metadata:${s}`)],
    // An owner this CRM does not write (not sent, or not kept) is no owner: the warnings say so.
    ...(owner && 'userId' in sent.sent && !lost.includes('user_id') ? { owner } : {}),
  }
}

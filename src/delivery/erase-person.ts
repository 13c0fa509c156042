/**
 * Erases a person, found by their identifiers' keyed hashes, in an order that leaves nothing
 * behind of what was written before, during or after it: tombstones first (nothing of theirs
 * received before now is resolved, written or logged from here on); then each of their writers, in
 * its turn after the writes already under way, forgets them and refuses any later write; with
 * `crm` the leads, contacts and events lead-intake wrote are deleted through Unified (events found
 * on the records themselves too, so one whose create answer was lost goes as well); last every row
 * and ledger entry, read after the writers stopped. Shared by the operator's erasure
 * (operator/privacy.ts) and an ad platform's deletion request (LinkedIn's DELETED, delivery/erase-lead.ts).
 */
import { crmTarget } from '../crm/client'
import { type ErasableObject, type RemovalReport, removeRecords } from '../crm/erase'
import { classify } from '../crm/errors'
import { eventsWritten } from '../crm/timeline'
import type { CrmRecordIds } from '../lead/message'
import { deleteBlobs } from '../store/blobs'
import { erase, peopleOf, submissionsOf, tombstones } from '../store/erasure'
import { type Forgotten, paceOf, writerFor } from './lead-writer'

export interface Erased {
  removed: { submissions: number; identifiers: number; people: number; writers: number }
  /** With `crm`: the CRM records deleted, and those the CRM would not delete now (to delete by hand). */
  crm?: RemovalReport
}

export async function erasePerson(env: Env, hashes: string[], { crm = false, now = Date.now() } = {}): Promise<Erased> {
  const found = await peopleOf(env.DB, hashes)
  await tombstones(env.DB, found.hashes, now)
  const known: ({ connection: string } & Forgotten)[] = []
  for (const p of found.people) known.push({ connection: p.connection, ...(await writerFor(env, p.connection, { person: p.person }).forget()) })
  const submissions = await submissionsOf(env.DB, found.people, found.hashes)
  const removal: RemovalReport = { deleted: [], failed: [] }
  if (crm) {
    for (const { connection, records, events } of known) {
      const target = crmTarget(env, connection, paceOf(env, connection))
      const logged = submissions.flatMap((s) => {
        const event = s.crm_ids && found.people.some((p) => p.person === s.person && p.connection === connection) ? (JSON.parse(s.crm_ids) as CrmRecordIds).event : undefined
        return event ? [event] : []
      })
      const onRecords = await eventsWritten(target, { leadId: records.lead?.id, contactId: records.contact?.id }).catch((error: unknown) => {
        removal.failed.push({ object: 'event', id: '*', error: `${classify('list events', error).message}: the events on the person's records could not all be read; delete them by hand` })
        return []
      })
      const ids: { object: ErasableObject; id: string }[] = [
        ...[...new Set([...events, ...logged, ...onRecords.map((e) => e.id)])].map((id) => ({ object: 'event' as const, id })),
        ...(records.lead ? [{ object: 'lead' as const, id: records.lead.id }] : []),
        ...(records.contact ? [{ object: 'contact' as const, id: records.contact.id }] : []),
      ]
      const report = await removeRecords(target, ids)
      removal.deleted.push(...report.deleted)
      removal.failed.push(...report.failed)
    }
  }
  // R2's payloads and files first: if this fails, the rows that name them are still there for the erasure's retry.
  await deleteBlobs(env.BUCKET, submissions.map((s) => s.id))
  const removed = await erase(env.DB, found.people, found.hashes, submissions.map((s) => s.id), now)
  return { removed: { ...removed, writers: known.length }, ...(crm ? { crm: removal } : {}) }
}

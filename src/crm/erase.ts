/**
 * Deletes, through Unified, the CRM records lead-intake wrote for a person
 * who asked to be erased: their leads, contacts and timeline events (never a
 * company: others work there). A record already gone counts as deleted.
 */
import { contactRemoveCrmContact } from '@unified-api/typescript-sdk/funcs/contactRemoveCrmContact.js'
import { crmRemoveCrmLead } from '@unified-api/typescript-sdk/funcs/crmRemoveCrmLead.js'
import { eventRemoveCrmEvent } from '@unified-api/typescript-sdk/funcs/eventRemoveCrmEvent.js'
import type { CrmTarget } from './client'
import { classify } from './errors'
import { paced, statusOf } from './sdk'

export type ErasableObject = 'lead' | 'contact' | 'event'

const REMOVE = {
  lead: (t: CrmTarget, id: string) => crmRemoveCrmLead(t.core, { connectionId: t.connectionId, id }),
  contact: (t: CrmTarget, id: string) => contactRemoveCrmContact(t.core, { connectionId: t.connectionId, id }),
  event: (t: CrmTarget, id: string) => eventRemoveCrmEvent(t.core, { connectionId: t.connectionId, id }),
}

export interface RemovalReport {
  deleted: { object: ErasableObject; id: string }[]
  /** Records the CRM would not delete now: the operator deletes them by hand (their ids are not personal data). */
  failed: { object: ErasableObject; id: string; error: string }[]
}

export async function removeRecords(t: CrmTarget, records: { object: ErasableObject; id: string }[]): Promise<RemovalReport> {
  const report: RemovalReport = { deleted: [], failed: [] }
  for (const r of records) {
    try {
      const res = await paced(t, () => REMOVE[r.object](t, r.id))
      if (res.ok || statusOf(res) === 404) report.deleted.push(r)
      else report.failed.push({ ...r, error: classify(`delete ${r.object}`, res.error).message })
    } catch (error) {
      report.failed.push({ ...r, error: classify(`delete ${r.object}`, error).message })
    }
  }
  return report
}

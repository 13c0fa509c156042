/**
 * An ad platform's request to erase a lead it sent (LinkedIn's `leadAction = DELETED`): the lead is
 * found by the platform's id, as its webhook was accepted (delivery_ids: endpoint + lead id → the
 * submission), and its person by the identifiers that submission brought; then they are erased as the
 * operator's erasure does (erase-person.ts), the CRM records too when the endpoint says so. What can't
 * be done is said: a lead lead-intake never received (or whose id it no longer remembers, after 30
 * days) leaves nothing to find; one not yet read back has no identifiers, so only its submission goes.
 */
import { log } from '../log'
import { recordAudit } from '../store/audit'
import { submissionOf } from '../store/delivery-ids'
import { forgetSubmission, hashesOfSubmission } from '../store/erasure'
import { erasePerson } from './erase-person'

/** Erases what lead-intake holds of the lead `leadId` of endpoint `source`; returns what was done, for the log row (no personal data). */
export async function eraseLead(env: Env, source: string, leadId: string, { crm = false } = {}): Promise<string> {
  const submission = await submissionOf(env.DB, source, leadId)
  if (!submission) return 'erasure requested: lead-intake holds nothing of this lead (never received, or received more than 30 days ago)'
  const hashes = await hashesOfSubmission(env.DB, submission)
  if (hashes.length === 0) {
    // Not read back yet: nothing identifies the person. Its queued read will find the lead deleted on the platform.
    await forgetSubmission(env, submission)
    return 'erasure requested: the lead was not read back yet; its submission is removed'
  }
  const { removed, crm: removal } = await erasePerson(env, hashes, { crm })
  const counts = { ...removed, crm_deleted: removal?.deleted.length ?? 0, crm_failed: removal?.failed.length ?? 0 }
  await recordAudit(env.DB, { via: 'webhook', action: 'erasure', detail: JSON.stringify({ source, ...counts }) }).catch((error: unknown) =>
    log('error', 'audit write failed', { action: 'erasure', error: (error as Error).name }),
  )
  log('info', 'person erased at the platform\'s request', { source, ...counts })
  const crmSaid = removal ? `; CRM records deleted: ${removal.deleted.length}${removal.failed.length ? `, not deleted (delete by hand): ${removal.failed.length}` : ''}` : '; the CRM records stay (erase_crm is off)'
  return `erased at the platform's request: ${removed.submissions} submission(s), ${removed.people} person(s)${crmSaid}`
}

/**
 * A broken connection holds its leads instead of failing them: what the
 * connection's CrmGate does while held. The probe asks the CRM one read-only
 * question (a list with limit 1) to learn whether our credentials are taken
 * again; the resume re-queues every held submission of the connection from D1,
 * where they outlive the queue's own retention.
 */
import { crmTarget } from '../crm/client'
import { classify, refusesCredentials } from '../crm/errors'
import { contact } from '../crm/objects/contact'
import { lead } from '../crm/objects/lead'
import type { Payload } from '../lead/message'
import { log } from '../log'
import { describeStorageError } from '../store/schema'
import { resumeHeld, unresume } from '../store/states'
import { enqueueLead, newMessage } from './enqueue'
import { getPayload, readPayload } from '../store/blobs'

/** How often a held connection is probed. */
export const PROBE_EVERY_MS = 60_000

/** Rows re-queued per D1 round trip on resume. */
const RESUME_PAGE = 100

/** Why a connection is held, for the operator: the status and the fix, never the CRM's words (they may quote a lead). */
export const heldReason = (status: number | undefined): string =>
  `Unified answered ${status ?? 'with a refusal'}: the CRM connection refused our credentials ` +
  '(check UNIFIED_API_KEY and UNIFIED_CONNECTION_ID, and that the connection is still authorized in Unified); ' +
  'its leads wait (state held) and are written by themselves once it answers again'

export type ProbeResult = { answers: true } | { answers: false; reason: string }

/**
 * One read-only call as a lead's write would make it (through the SDK, the connection's
 * credentials): contacts, or leads where the CRM has no contacts. Only an answer counts as
 * answering again; a refusal of our credentials, a timeout or a 5xx keeps the connection held.
 */
export async function probe(env: Env, connection: string): Promise<ProbeResult> {
  const t = crmTarget(env, connection)
  for (const object of [contact, lead]) {
    try {
      await object.list(t, { limit: 1, offset: 0 })
      return { answers: true }
    } catch (error) {
      const e = classify(`list ${object.name}`, error)
      // The CRM lacks this object, so it did answer: try the other before saying it works.
      if (e.unsupported || e.status === 501) continue
      return { answers: false, reason: refusesCredentials(e.status, e.limit) ? heldReason(e.status) : `the probe failed: ${e.message}` }
    }
  }
  // It answered, if only to say it has neither object: our credentials are taken.
  return { answers: true }
}

/** Re-queues every held submission of `connection`, oldest first; returns how many. One it can't queue stays held (and the sweep stops). */
export async function requeueHeld(env: Env, connection: string): Promise<number> {
  let requeued = 0
  let stuck = 0
  for (;;) {
    const rows = await resumeHeld(env.DB, connection, RESUME_PAGE)
    for (const row of rows) {
      // R2's copy (kept when it was held), else a legacy row's D1 column.
      const payload: Payload | null = row.payload ? readPayload(row.payload) : await getPayload(env.BUCKET, row.id)
      if (!payload) continue // nothing to send (cannot happen: a held row keeps its lead); replay finds it stuck
      const message = {
        ...newMessage({ source: row.source, form: row.form }, payload, row.id, row.gen),
        receivedAt: new Date(row.received_at).toISOString(),
        spent: row.attempts,
      }
      try {
        await enqueueLead(env, message)
        requeued += 1
      } catch (error) {
        log('error', 'held submission could not be queued again; it waits for the next probe', { submission: row.id, error: describeStorageError(error) })
        await unresume(env.DB, row.id, row.gen, connection, 'the resume could not queue it; the next probe tries again')
        stuck += 1
      }
    }
    // The queue refusing one means it would refuse the rest now: they wait for the next sweep.
    if (rows.length < RESUME_PAGE || stuck) return requeued
  }
}

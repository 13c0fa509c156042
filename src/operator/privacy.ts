/**
 * Subject-access and erasure (README "Privacy"): `GET /operator/people` shows
 * everything lead-intake holds on a person; `POST /operator/erasure` removes
 * it (and, asked, the CRM records it wrote) and leaves a tombstone. Both are
 * found by an email or a phone, hashed as the ledger keeps them: the address
 * is never stored or logged. Each is recorded in the audit log (what and when).
 */
import { Hono } from 'hono/tiny'
import { z } from 'zod/v3'
import { crmTarget } from '../crm/client'
import { type ErasableObject, type RemovalReport, removeRecords } from '../crm/erase'
import { classify } from '../crm/errors'
import { eventsWritten } from '../crm/timeline'
import { type Forgotten, paceOf, writerFor } from '../delivery/lead-writer'
import { problem } from '../http/problem'
import { DEFAULT_COUNTRY, hashIdentifier, parseEmail, parsePhone } from '../lead/identity'
import type { CrmRecordIds } from '../lead/message'
import { log } from '../log'
import { recordAudit } from '../store/audit'
import { deleteBlobs, fileKey } from '../store/blobs'
import { storedPayload } from '../store/submissions'
import { erase, peopleOf, submissionsOf, tombstones } from '../store/erasure'

const who = z
  .strictObject({
    email: z.string().max(320).optional(),
    phone: z.string().max(64).optional(),
    country: z.string().length(2).optional(),
    crm: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
  })
  .refine((w) => w.email || w.phone, { message: 'give an email or a phone' })

/** The keyed hashes of the person named in the request, or a 400/422 saying what is wrong. */
async function hashesOf(env: Env, input: unknown): Promise<{ hashes: string[]; crm: boolean }> {
  const parsed = who.safeParse(input)
  if (!parsed.success) {
    throw problem(400, 'invalid-request', 'Say whom', {
      'invalid-params': parsed.error.issues.map((i) => ({ name: i.path.join('.') || 'email', reason: i.message })),
    })
  }
  if (!env.HASH_SECRET) throw problem(503, 'unconfigured', 'HASH_SECRET is not set', { detail: 'Set it with `npx wrangler secret put HASH_SECRET`.' }, { 'retry-after': '300' })
  const { email, phone, country = DEFAULT_COUNTRY, crm = false } = parsed.data
  const ids: { kind: 'email' | 'phone'; value: string }[] = []
  const bad: { name: string; reason: string }[] = []
  if (email) {
    const key = parseEmail(email)?.key
    if (key) ids.push({ kind: 'email', value: key })
    else bad.push({ name: 'email', reason: 'is not an email address' })
  }
  if (phone) {
    const key = parsePhone(phone, country.toUpperCase())?.key
    if (key) ids.push({ kind: 'phone', value: key })
    else bad.push({ name: 'phone', reason: 'could not be read as a phone number (give its country code, or country=)' })
  }
  if (bad.length) throw problem(422, 'invalid-fields', 'Some fields need fixing', { 'invalid-params': bad })
  return { hashes: await Promise.all(ids.map((id) => hashIdentifier(env.HASH_SECRET, id))), crm }
}

/** An audit row: the action and its counts, never whom it was about; via the console (Basic) or the API (Bearer). */
const audit = (db: D1Database, authorization: string | undefined, action: 'erasure' | 'export', counts: Record<string, number>) =>
  recordAudit(db, { via: /^bearer\s/i.test(authorization ?? '') ? 'api' : 'console', action, detail: JSON.stringify(counts) })

export const privacy = new Hono<{ Bindings: Env }>()

/** Everything held on a person: ledger entries, the CRM records their writers know, every submission row with its stored payload and file (R2). */
privacy.get('/people', async (c) => {
  const { hashes } = await hashesOf(c.env, c.req.query())
  const found = await peopleOf(c.env.DB, hashes)
  const submissions = await submissionsOf(c.env.DB, found.people, found.hashes)
  const people = await Promise.all(
    found.people.map(async (p) => ({ ...p, records: await writerFor(c.env, p.connection, { person: p.person }).records() })),
  )
  await audit(c.env.DB, c.req.header('authorization'), 'export', { people: people.length, submissions: submissions.length })
  return c.json({
    people,
    identifiers: found.hashes.length,
    submissions: await Promise.all(
      submissions.map(async (s) => {
        const file = await c.env.BUCKET.head(fileKey(s.id))
        return {
          ...s,
          crm_ids: s.crm_ids ? (JSON.parse(s.crm_ids) as CrmRecordIds) : null,
          // What was sent, as kept for a replay (none once written); the file it brought, described.
          payload: await storedPayload(c.env, s.id),
          file: file ? { bytes: file.size, type: file.httpMetadata?.contentType ?? null, uploaded: file.uploaded.toISOString() } : null,
        }
      }),
    ),
  })
})

/**
 * Erases a person, in an order that leaves nothing behind of what was written before,
 * during or after it: tombstones first (nothing of theirs received before now is resolved,
 * written or logged from here on); then each of their writers, in its turn after the writes
 * already under way, forgets them and refuses any later write; with `crm: true` the leads,
 * contacts and events lead-intake wrote are deleted through Unified (events found on the
 * records themselves too, so one whose create answer was lost goes as well); last every row
 * and ledger entry, read after the writers stopped. Answers with counts and the CRM ids
 * deleted (or not).
 */
privacy.post('/erasure', async (c) => {
  const body = await c.req.json().catch(() => {
    throw problem(400, 'malformed-body', 'Malformed JSON', { detail: 'Send {"email": …} or {"phone": …}, and "crm": true to delete the CRM records too.' })
  })
  const { hashes, crm } = await hashesOf(c.env, body)
  const now = Date.now()
  const found = await peopleOf(c.env.DB, hashes)
  await tombstones(c.env.DB, found.hashes, now)
  const known: ({ connection: string } & Forgotten)[] = []
  for (const p of found.people) known.push({ connection: p.connection, ...(await writerFor(c.env, p.connection, { person: p.person }).forget()) })
  const submissions = await submissionsOf(c.env.DB, found.people, found.hashes)
  const removal: RemovalReport = { deleted: [], failed: [] }
  if (crm) {
    for (const { connection, records, events } of known) {
      const target = crmTarget(c.env, connection, paceOf(c.env, connection))
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
  await deleteBlobs(c.env.BUCKET, submissions.map((s) => s.id))
  const removed = await erase(c.env.DB, found.people, found.hashes, submissions.map((s) => s.id), now)
  const counts = { ...removed, writers: known.length, crm_deleted: removal.deleted.length, crm_failed: removal.failed.length }
  await audit(c.env.DB, c.req.header('authorization'), 'erasure', counts)
  log('info', 'person erased', counts)
  return c.json({ removed: { ...removed, writers: known.length }, ...(crm ? { crm: removal } : {}) })
})

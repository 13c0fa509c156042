/**
 * Subject-access and erasure (README "Privacy"): `GET /operator/people` shows
 * everything lead-intake holds on a person; `POST /operator/erasure` removes
 * it (and, asked, the CRM records it wrote) and leaves a tombstone. Both are
 * found by an email or a phone, hashed as the ledger keeps them: the address
 * is never stored or logged. Each is recorded in the audit log (what and when).
 */
import { Hono } from 'hono/tiny'
import { z } from 'zod/v3'
import { erasePerson } from '../delivery/erase-person'
import { writerFor } from '../delivery/lead-writer'
import { problem } from '../http/problem'
import { DEFAULT_COUNTRY, hashIdentifier, parseEmail, parsePhone } from '../lead/identity'
import type { CrmRecordIds } from '../lead/message'
import { log } from '../log'
import { recordAudit } from '../store/audit'
import { fileKey } from '../store/blobs'
import { storedPayload } from '../store/submissions'
import { peopleOf, submissionsOf } from '../store/erasure'

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
 * Erases a person (delivery/erase-person.ts says in which order) and, with `crm: true`, the CRM
 * records lead-intake wrote. Answers with counts and the CRM ids deleted (or not).
 */
privacy.post('/erasure', async (c) => {
  const body = await c.req.json().catch(() => {
    throw problem(400, 'malformed-body', 'Malformed JSON', { detail: 'Send {"email": …} or {"phone": …}, and "crm": true to delete the CRM records too.' })
  })
  const { hashes, crm } = await hashesOf(c.env, body)
  const { removed, crm: removal } = await erasePerson(c.env, hashes, { crm })
  const counts = { submissions: removed.submissions, identifiers: removed.identifiers, people: removed.people, writers: removed.writers, crm_deleted: removal?.deleted.length ?? 0, crm_failed: removal?.failed.length ?? 0 }
  await audit(c.env.DB, c.req.header('authorization'), 'erasure', counts)
  log('info', 'person erased', counts)
  return c.json({ removed, ...(removal ? { crm: removal } : {}) })
})

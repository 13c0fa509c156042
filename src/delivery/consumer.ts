/**
 * The queue consumer: each message to its person's writer; ack only what was
 * written (and logged), retry what may succeed later, mark failed what never
 * will or has run out of attempts, hold what waits for a connection that
 * refuses our credentials (held.ts resumes it). Nothing is dropped silently.
 * Every state it records goes through store/states.ts.
 *
 * The person is found first, in the identity ledger (store/ledger.ts): every
 * identifier the submission brings, hashed, resolved to one person of this
 * connection, before anything is searched or created in the CRM.
 */
import { deliverySettings, UNSUPPORTED_FIX, whereConfigured } from '../config'
import { refusesCredentials } from '../crm/errors'
import type { LeadDraft } from '../lead/draft'
import { hashesOf, hashIdentifier, identifiersOf } from '../lead/identity'
import { type AnyLeadMessage, type LeadMessage, type LeadReader, type Origin, type Payload, upgrade, type WriteOutcome } from '../lead/message'
import { log } from '../log'
import { notifyFailed, notifyHeld, notifyWritten } from '../notify/enqueue'
import { erasedSince, forgetSubmission } from '../store/erasure'
import { type Claim, linkIdentifiers, releaseLinks, resolvePerson } from '../store/ledger'
import { deleteBlobs, putPayload } from '../store/blobs'
import { describeStorageError } from '../store/schema'
import { recordOutcome } from '../store/states'
import { getSubmission, storedPayload } from '../store/submissions'
import { retryDelay } from './backoff'
import { gateFor } from './crm-gate'
import { heldReason } from './held'
import { writerFor } from './lead-writer'

/** When the person submitted: the sender's own time when it gives one (a provider's late redelivery), else when it was received. */
const submittedAt = (m: LeadMessage, draft: LeadDraft): number => Math.min(Date.parse(m.receivedAt), Date.parse(draft.submittedAt ?? '') || Infinity)

export interface Identity {
  /** The person's writer, or the submission's own when it has no identifier. */
  who: { person: string } | { submission: string }
  /** The draft as this person's writer may use it: without another person's identifiers, the unlinked ones marked (LeadDraft.unlinked). */
  draft: LeadDraft
  /** Keyed hash of the first identifier, for the submission log. */
  keyHash: string | null
  /** Hash of each identifying value, to undo links the CRM record did not take. */
  hashOf: Map<string, string>
}

/** Resolves the submission's person in the identity ledger. Throws (retryable) when D1 is unavailable. */
export async function identify(env: Env, connection: string, m: LeadMessage, draft: LeadDraft, secret: string): Promise<Identity | { erased: true }> {
  const values = identifiersOf(draft)
  const hashOf = new Map<string, string>()
  const claims = new Map<string, Claim>()
  for (const v of values) {
    if (!v.id) continue
    const hash = await hashIdentifier(secret, v.id)
    hashOf.set(v.value, hash)
    claims.set(hash, { hash, kind: v.id.kind })
  }
  const hashes = [...claims.keys()]
  if (hashes.length === 0) return { who: { submission: m.id }, draft, keyHash: null, hashOf }
  // An erased person's submission from before the erasure (a retry, a replay, a late redelivery) is dropped, never written.
  if (await erasedSince(env.DB, hashes, submittedAt(m, draft))) return { erased: true }
  const r = await resolvePerson(env.DB, connection, [...claims.values()], m.id, draft.verified === true)
  if (r.others.length) {
    // Two people the ledger knew apart share an identifier now: the strongest identifier's person takes the write, no third is made.
    log('warn', 'identity conflict: resolved by the strongest identifier', { submission: m.id, people: r.others.length + 1 })
  }
  const linked = new Set(r.linked)
  const held = new Set(r.held)
  // Another person's identifiers are neither searched for nor written, whoever vouches for the submission: a verified
  // one too would copy another person's email onto this person's record.
  const notHeld = (value: string) => !held.has(hashOf.get(value) ?? '')
  // Ones nobody holds that the ledger did not link (a public post's new address for a person no longer new) may not
  // join a record that exists, but are searched for, and a record created for the person carries them.
  const unlinked = [...draft.emails, ...draft.phones].filter((v) => hashOf.has(v) && notHeld(v) && !linked.has(hashOf.get(v)!))
  const own: LeadDraft = {
    ...draft,
    emails: draft.emails.filter(notHeld),
    phones: draft.phones.filter(notHeld),
    ...(unlinked.length ? { unlinked } : {}),
  }
  return { who: { person: r.person }, draft: own, keyHash: hashOf.get(values.find((v) => v.id)!.value) ?? null, hashOf }
}

const failedOutcome = (error: string): WriteOutcome => ({ ok: false, error, retryable: true })

/** A record the CRM refused (a required field, a picklist value, a link it needs): what to set, wherever the source is configured. */
const refusalFix = (where: string) =>
  `fix: give each field the CRM names a value under ${where}'s defaults (first_name, last_name, company_name, title), or its status a value of the CRM's picklist; a record the CRM wants linked to a person or organization: write = "contact+lead" or company = true; then replay`

const withFix = (error: string, unsupported: keyof typeof UNSUPPORTED_FIX | undefined, origin: Origin, status?: number) =>
  unsupported
    ? `${UNSUPPORTED_FIX[unsupported](whereConfigured(origin))}, then replay (${error})`
    : status === 400 || status === 422
      ? `${error}. ${refusalFix(whereConfigured(origin))}`
      : error

/**
 * Sends the submission again after `delaySeconds` as a new message carrying the attempts it had spent, so waiting
 * (for the CRM's pace, for a platform's rate limit or a new token) never runs out the retry budget.
 */
async function later(message: Message<AnyLeadMessage>, m: LeadMessage, env: Env, attempts: number, delaySeconds: number, why: string, keyHash: string | null = null) {
  await env.LEADS.send({ ...m, spent: attempts - 1 }, { contentType: 'json', delaySeconds })
  await recordOutcome(env.DB, m, keyHash, { state: 'retrying', attempts: attempts - 1, lastError: why })
  message.ack()
}

type Ids = { submission: string; source: string; form: string; attempts: number }

/**
 * The submission's lead as a draft: carried by the message, kept in D1 when it was too large,
 * or read back from an ad platform. Null when there is nothing to write, the message settled here.
 */
async function draftOf(message: Message<AnyLeadMessage>, m: LeadMessage, env: Env, attempts: number, ids: Ids, readLead?: LeadReader): Promise<LeadDraft | null> {
  const payload: Payload | null = m.payload ?? (await storedPayload(env, m.id))
  if (!payload) {
    const row = await getSubmission(env.DB, m.id)
    // A redelivery of a large lead already written (writing it cleared the stored payload): done, and it stays done.
    if (row?.state === 'written') {
      message.ack()
      log('info', 'lead already written (a redelivery)', ids)
      return null
    }
    // No row at all: erased or purged with its payload; a row made now would say nothing, and bring back an erased submission's id.
    if (!row) {
      message.ack()
      log('info', 'lead dropped: its row and stored payload are gone (erased or purged)', ids)
      return null
    }
    // Too large for the queue and no longer in D1 (purged by retention): nothing left to write.
    await recordOutcome(env.DB, m, null, { state: 'failed', attempts, lastError: 'the stored lead is gone (submission log retention)' }, { unlessWritten: true })
    message.ack()
    log('error', 'lead payload missing', ids)
    return null
  }
  if (!payload.fetch) return payload.draft
  // An ad platform's lead: read back now (and again on every replay), so what is written is what the platform holds today.
  if (!readLead) throw new Error('no reader for a lead to read back')
  const read = await readLead(env, m.origin, payload.fetch, new Date(m.receivedAt))
  if ('ignored' in read) {
    await recordOutcome(env.DB, m, null, { state: 'ignored', attempts, lastError: read.ignored })
    message.ack()
    log('info', 'lead ignored when read back', { ...ids, reason: read.ignored })
    return null
  }
  if ('wait' in read) {
    await later(message, m, env, attempts, Math.max(1, Math.ceil(read.retryAfter)), read.wait)
    log(read.alert ? 'error' : 'info', 'lead read back later', { ...ids, delaySeconds: read.retryAfter, alert: read.alert })
    return null
  }
  return read.draft
}

/** What a write left for the log: the outcome, and who it was for. */
interface Written {
  outcome: WriteOutcome
  keyHash: string | null
  person?: string
  /** Every identifier's hash, so the operator console finds the submission by any email or phone. */
  keys: string[]
}

/**
 * Writes the submission as its person's: resolved in the identity ledger, written by that person's
 * writer, the ledger's links kept as the CRM took them. A person merged into another between
 * resolving and writing is resolved again (a few times at most). `erased`: the person was erased.
 */
async function writePerson(env: Env, connection: string, m: LeadMessage, draft: LeadDraft, secret: string): Promise<Written | { erased: string }> {
  for (let round = 0; ; round++) {
    const identity = await identify(env, connection, m, draft, secret)
    if ('erased' in identity) return { erased: 'the person was erased after sending it' }
    const who = identity.who
    const person = 'person' in who ? who.person : undefined
    let outcome: WriteOutcome
    try {
      outcome = await writerFor(env, connection, who).write(m.id, identity.draft, connection, person)
    } catch (error) {
      // The Durable Object itself failed (reset, overloaded): always worth another try.
      outcome = failedOutcome(`lead writer: ${(error as Error).name}`)
    }
    // The person was erased while this waited for their writer: nothing of it is kept.
    if (!outcome.ok && outcome.erased) return { erased: 'the person was erased while it waited' }
    const hashes = (values: string[] | undefined) => (values ?? []).map((v) => identity.hashOf.get(v)).filter((h): h is string => !!h)
    if (outcome.ok && outcome.refused?.length && person) await releaseLinks(env.DB, connection, person, m.id, hashes(outcome.refused))
    // On the person's own new record: theirs from now on.
    if (outcome.ok && outcome.carried?.length && person) await linkIdentifiers(env.DB, connection, person, m.id, hashes(outcome.carried))
    if (outcome.ok || !outcome.reroute || round === 2) return { outcome, keyHash: identity.keyHash, person, keys: [...identity.hashOf.values()] }
  }
}

/**
 * The submission waits for its connection: state `held`, its lead kept, no attempt spent (this
 * delivery's is given back), the message acknowledged. The connection's probe re-queues it.
 */
async function holdSubmission(message: Message<AnyLeadMessage>, env: Env, m: LeadMessage, draft: LeadDraft, connection: string, reason: string, attempts: number, ids: Ids, w: Omit<Written, 'outcome'>) {
  const kept = await keepPayload(env, m)
  await recordOutcome(env.DB, m, w.keyHash, { state: 'held', attempts: attempts - 1, lastError: reason, connection, keys: w.keys, person: w.person }, kept)
  message.ack()
  log('warn', 'lead held: its CRM connection refuses our credentials', { ...ids, connection })
  await notifyHeld(env, m, draft, reason)
}

/**
 * Before a lead waits without its message (failed, held): its payload in R2, for the replay or the
 * resume. The intake put it there after answering; that put may have failed, and the message is the
 * one copy left once it is acknowledged.
 */
async function keepPayload(env: Env, m: LeadMessage): Promise<{ kept: boolean }> {
  if (!m.payload) return { kept: false }
  await putPayload(env.BUCKET, m.id, JSON.stringify(m.payload))
  return { kept: true }
}

/** `readLead`: how a lead the webhook only named (payload.fetch) is read back; index.ts passes the sources' reader. */
export async function deliver(message: Message<AnyLeadMessage>, env: Env, readLead?: LeadReader): Promise<void> {
  const m = upgrade(message.body)
  const started = Date.now()
  // Failed attempts: those of this message, and those spent before it was sent again after waiting for the CRM's pace.
  const attempts = (m.spent ?? 0) + message.attempts
  const ids = { submission: m.id, source: m.origin.source, form: m.origin.form, attempts }
  const draft = await draftOf(message, m, env, attempts, ids, readLead)
  if (!draft) return
  // Identity, serialization, the pace and a hold are per connection: the same email in two CRMs is two people.
  const connection = draft.plan?.connection || env.UNIFIED_CONNECTION_ID
  if (!env.HASH_SECRET || !connection) {
    const missing = !env.HASH_SECRET
      ? 'HASH_SECRET is not set, so leads wait in the queue: set it with `npx wrangler secret put HASH_SECRET`'
      : 'UNIFIED_CONNECTION_ID is not set, so leads wait in the queue: set it under [vars] in wrangler.toml'
    return settle(message, env, m, draft, started, ids, { outcome: failedOutcome(missing), keyHash: null, keys: [] })
  }
  const gate = gateFor(env, connection)
  // A held connection refuses our credentials: the lead waits without a call to the CRM.
  const hold = await gate.held()
  if (hold) {
    const keys = await hashesOf(draft, env.HASH_SECRET)
    return holdSubmission(message, env, m, draft, connection, hold.reason, attempts, ids, { keyHash: keys[0] ?? null, keys })
  }
  const w = await writePerson(env, connection, m, draft, env.HASH_SECRET)
  if ('erased' in w) {
    await forgetSubmission(env, m.id)
    message.ack()
    log('info', `lead dropped: ${w.erased}`, ids)
    return
  }
  if (!w.outcome.ok && !w.outcome.paced && refusesCredentials(w.outcome.status)) {
    // Our credentials were refused: the connection is held (once), and this lead waits with the others.
    const held = await gate.hold(connection, heldReason(w.outcome.status))
    return holdSubmission(message, env, m, draft, connection, held.reason, attempts, ids, w)
  }
  return settle(message, env, m, draft, started, ids, w)
}

/** Logs the write's outcome and settles the message: acked when written or failed for good, retried or sent again later otherwise. */
async function settle(message: Message<AnyLeadMessage>, env: Env, m: LeadMessage, draft: LeadDraft, started: number, ids: Ids, w: Written): Promise<void> {
  const { outcome, keyHash, person, keys } = w
  const { attempts } = ids
  const { DELIVERY_MAX_ATTEMPTS, DELIVERY_BASE_DELAY_SECONDS } = deliverySettings(env)
  if (outcome.ok) {
    const action = outcome.double ? 'repeat' : outcome.action
    await recordOutcome(env.DB, m, keyHash, {
      state: 'written',
      attempts,
      crmIds: outcome.records,
      action,
      person,
      consentVersion: draft.consent?.version,
      keys,
      ms: Date.now() - started,
      warnings: outcome.warnings,
      owner: outcome.owner,
    })
    message.ack()
    // Written: its payload is no longer needed for a replay (its file stays, linked from the note, until retention).
    await deleteBlobs(env.BUCKET, [m.id], ['payloads']).catch((error: unknown) =>
      log('warn', 'written payload not deleted from R2 (retention will)', { submission: m.id, error: (error as Error).name }),
    )
    log('info', 'lead delivered', { ...ids, action, repeat: outcome.repeat, refused: outcome.refused?.length || undefined, warnings: outcome.warnings?.length || undefined })
    // Only now, with `written` recorded; a double submit is no new lead. A redelivery queues it again: the outbox tells each channel once.
    if (!outcome.double) await notifyWritten(env, m, draft, outcome.action, outcome.records)
    return
  }
  if (outcome.paced) {
    // Held back by the CRM's rate limit: not a failed attempt. The submission comes back when the pace has room,
    // as a new message that carries the attempts it had spent, so waiting never runs out the retry budget.
    const delaySeconds = Math.max(1, Math.ceil(outcome.retryAfter ?? 1))
    // What it waits for (a rate limit, a 403 request limit, a busy CRM), with the CRM's reason masked.
    await later(message, m, env, attempts, delaySeconds, outcome.error || 'waiting for the CRM’s rate limit', keyHash)
    log('info', 'lead paced', { ...ids, delaySeconds })
    return
  }
  if (outcome.retryable && attempts < DELIVERY_MAX_ATTEMPTS) {
    const delaySeconds = retryDelay(attempts, outcome.retryAfter, DELIVERY_BASE_DELAY_SECONDS)
    await recordOutcome(env.DB, m, keyHash, { state: 'retrying', attempts, lastError: outcome.error, status: outcome.status, person, keys, ms: Date.now() - started })
    message.retry({ delaySeconds })
    log('warn', 'lead write will be retried', { ...ids, status: outcome.status, delaySeconds })
    return
  }
  // Permanent, or out of attempts: the log keeps the lead (for a replay) and the reason, then the message goes.
  const reason = withFix(outcome.error, outcome.unsupported, m.origin, outcome.status)
  const kept = await keepPayload(env, m)
  await recordOutcome(env.DB, m, keyHash, {
    state: 'failed',
    attempts,
    lastError: reason,
    status: outcome.status,
    person,
    keys,
    ms: Date.now() - started,
  }, kept)
  message.ack()
  log('error', 'lead failed', { ...ids, status: outcome.status, retryable: outcome.retryable })
  await notifyFailed(env, m, draft, reason)
}

/**
 * A message the queue itself gave up on (after `max_retries` deliveries that
 * all threw, e.g. D1 and the CRM down together) arrives on the dead-letter
 * queue: its row becomes `failed`, keeping the lead for a replay, unless that
 * generation was written or a replay has begun a newer one meanwhile.
 */
export async function deadLetter(message: Message<AnyLeadMessage>, env: Env): Promise<void> {
  const m = upgrade(message.body)
  // An erased person's dead letter must not bring their row back.
  const payload = m.payload ?? (await storedPayload(env, m.id))
  const draft = payload?.draft
  const keys = draft && env.HASH_SECRET ? await hashesOf(draft, env.HASH_SECRET) : []
  // A lead still to be read back holds nothing personal: its row keeps the reference for a replay.
  if (!payload || (draft && (await erasedSince(env.DB, keys, submittedAt(m, draft))))) {
    if (draft) await forgetSubmission(env, m.id)
    message.ack()
    log('info', 'dead letter dropped: nothing left of it, or the person was erased', { submission: m.id })
    return
  }
  // The row keeps the lead for a replay, so an erasure must find it by every identifier in it.
  const { kept } = await keepPayload(env, m)
  await recordOutcome(env.DB, m, keys[0] ?? null, {
    state: 'failed',
    attempts: 0,
    lastError: 'the queue gave up on this lead after its max_retries deliveries failed (see the log for why); replay it',
    keys,
  }, { unlessWritten: true, kept })
  message.ack()
  log('error', 'lead dead-lettered by the queue', { submission: m.id, source: m.origin.source, form: m.origin.form })
  // Only when it did mark the row failed: a stale dead letter of a generation written since tells no one it failed.
  if ((await getSubmission(env.DB, m.id))?.state === 'failed') await notifyFailed(env, m, draft, 'the queue gave up on this lead after its max_retries deliveries failed')
}

/** The name of the dead-letter queue in wrangler.toml, whose batches arrive at the same handler. */
export const DEAD_LETTER_QUEUE = 'lead-intake-dead-letters'

export async function handleBatch(batch: MessageBatch<AnyLeadMessage>, env: Env, readLead?: LeadReader): Promise<void> {
  const handle = batch.queue === DEAD_LETTER_QUEUE ? deadLetter : (message: Message<AnyLeadMessage>, env: Env) => deliver(message, env, readLead)
  // One message's failure (e.g. D1 unavailable) must not block the others: each settles alone,
  // and one that threw is retried on its own.
  await Promise.all(
    batch.messages.map((message) =>
      handle(message, env).catch((error: unknown) => {
        log('error', 'delivery failed', { submission: message.body.id, queue: batch.queue, error: describeStorageError(error) })
        message.retry({ delaySeconds: retryDelay(message.attempts, undefined, deliverySettings(env).DELIVERY_BASE_DELAY_SECONDS) })
      }),
    ),
  )
}

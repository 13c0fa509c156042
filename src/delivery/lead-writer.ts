/**
 * One writer per person, and one per company. A Durable Object named by the
 * person (the identity ledger's id, per connection) runs that person's writes
 * one after another; one named by a company (the company ledger's id, whichever
 * domain or name led to it) finds or creates that company once for everyone who
 * works there. Its input gate only covers storage, not the awaited fetch to
 * Unified, so the order is kept by an explicit chain.
 */
import { DurableObject } from 'cloudflare:workers'
import { maxCallsPerSecond } from '../config'
import { crmTarget, type Pace } from '../crm/client'
import { chooseOwner } from '../crm/owner'
import { type CompanyQuery, companyKeys, findOrCreateCompany } from '../crm/company'
import { classify, CrmError, type Limit, Paced } from '../crm/errors'
import { maskReason, valuesOf } from '../crm/refusal'
import { personObjects } from '../crm/support'
import { type PersonRecords, writeSubmission } from '../crm/writer'
import { DEFAULT_PLAN, type LeadDraft, type Owner } from '../lead/draft'
import { keyedHash, loadPhoneMetadata, sha256Hex } from '../lead/identity'
import type { CrmRecordIds, WriteOutcome } from '../lead/message'
import { resolveCompany } from '../store/companies'
import { lockPerson } from '../store/ledger'
import { describeStorageError } from '../store/schema'
import { capabilitiesFor, gateFor } from './crm-gate'
import { metered } from '../meter'

/** Long enough to cover queue redeliveries and providers' retry windows (Stripe: 3 days). */
export const DONE_TTL_MS = 7 * 24 * 60 * 60 * 1000

/**
 * After a create whose answer never came (timeout, lost response), how long,
 * in multiples of the call timeout, to wait before searching again: the
 * create may still be running, or the CRM's search may not show it yet, and
 * creating again then would duplicate the record.
 */
export const CREATE_GRACE_TIMEOUTS = 6

/**
 * How long a writer may wait for its slot in the connection's pace; a slot
 * further off is waited for in the queue, not in a consumer that could write
 * other people meanwhile.
 */
export const MAX_INLINE_WAIT_MS = 10_000

/** The same fields from the same person again within this long (a double click, a back-button resubmit) cost no call. */
export const DOUBLE_SUBMIT_MS = 10 * 60_000

/**
 * A draft's fingerprint: equal for equal submissions of one person. What the person said,
 * not when: the consent's given-at time and the sender's clock are new on every post.
 */
const fingerprint = (draft: LeadDraft) =>
  sha256Hex(
    JSON.stringify({
      ...draft,
      submittedAt: undefined,
      consent: draft.consent && { version: draft.consent.version, textSha256: draft.consent.textSha256 },
      metadata: draft.metadata.filter((m) => !m.stampOf),
    }),
  )

/** The error as kept: what failed, and the CRM's own reason with the submission's values masked out of it. */
const withReason = (e: CrmError, values: string[]): string => (e.reason ? `${e.message}: ${maskReason(e.reason, values)}` : e.message)

/** The connection's pace as a CrmTarget uses it: a permit before each call, a 429 reported. */
export function paceOf(env: Env, connection: string): Pace {
  const gate = gateFor(env, connection)
  const pinned = maxCallsPerSecond(env, connection)
  let report = false
  return {
    before: async () => {
      // One round trip: the pace answers when this call may go (having held it until then), or to come back later.
      const permit = await gate.acquire(MAX_INLINE_WAIT_MS, pinned)
      if ('deferMs' in permit) throw new Paced(Math.ceil(permit.deferMs / 1000))
      report = permit.report === true
    },
    sent: () => {
      // Not awaited: the call goes on; a lost word only makes the pace count this start a little longer.
      if (report) void Promise.resolve(gate.sent()).catch(() => undefined)
      report = false
    },
    limited: (seconds, perMinute, sentAt) => gate.limited(seconds, perMinute, sentAt),
    busy: (sentAt) => gate.busy(sentAt),
  }
}

/** The one key an erased person's writer keeps: that it was erased (nothing of the person). */
const ERASED = 'erased'

/** What an erasure learns from the person's writer: their records, and every event it wrote. */
export interface Forgotten {
  records: PersonRecords
  events: string[]
}

/** A written submission: what the log says of it when the queue brings it again. */
interface Done {
  action: 'created' | 'updated' | 'unchanged'
  records: CrmRecordIds
  at: number
  /** What the write did otherwise than asked: a redelivery reports it again. */
  warnings?: string[]
  /** Who a record it created belongs to: a redelivery reports it again. */
  owner?: Owner
}

/** A company lookup as it crosses the RPC boundary, where thrown errors lose their fields. */
type CompanyAnswer = { id: string } | { unsupported: true } | { error: string; retryable: boolean; status?: number; retryAfter?: number; limit?: Limit }

class Merged extends Error {
  override name = 'Merged'
}

/** Waits for a create whose outcome is unknown; a retryable outcome saying so. */
class Settling extends Error {
  override name = 'Settling'
  constructor(readonly seconds: number) {
    super(`an earlier create's outcome is unknown; searching again in ${seconds}s`)
  }
}

export class LeadWriter extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve()

  constructor(ctx: DurableObjectState, env: Env) {
    // Counted for the cost bench only (meter.ts); otherwise the same bindings.
    super(ctx, metered(env))
    // A writer compares the CRM's phone numbers; a failed read resets the object and the consumer retries.
    void ctx.blockConcurrencyWhile(() => loadPhoneMetadata(env.ASSETS))
  }

  /** Runs `job` after this object's earlier ones. */
  #serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(job)
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** Queue the write of submission `id` behind this person's earlier ones; `person` names this writer's person in the ledger. */
  write(id: string, draft: LeadDraft, connection: string, person?: string): Promise<WriteOutcome> {
    return this.#serial(() => this.#write(id, draft, connection, person))
  }

  /** The company's id, found or created once per company, or why not. */
  company(q: CompanyQuery, connection: string): Promise<CompanyAnswer> {
    return this.#serial(async () => {
      const storage = this.ctx.storage
      const known = await storage.get<string>('companyId')
      if (known) return { id: known }
      try {
        const target = { ...crmTarget(this.env, connection, paceOf(this.env, connection)), caps: await capabilitiesFor(this.env, connection) }
        await this.#settled('company', target.timeoutMs)
        const result = await findOrCreateCompany(
          target,
          q,
          () => storage.put('createSentAt:company', Date.now()),
          () => storage.delete('createSentAt:company').then(() => undefined),
        )
        if ('unsupported' in result) return result
        await storage.put('companyId', result.id)
        await storage.delete('createSentAt:company')
        return { id: result.id }
      } catch (error) {
        if (error instanceof Settling) return { error: error.message, retryable: true, retryAfter: error.seconds }
        const e = classify('find company', error)
        return {
          error: withReason(e, [q.name, q.domain].filter((v): v is string => !!v)),
          retryable: e.retryable,
          status: e.status,
          retryAfter: e.retryAfter,
          ...(e.limit ? { limit: e.limit } : {}),
        }
      }
    })
  }

  /** Throws Settling while a create of `object` whose answer never came may still land. */
  async #settled(object: string, timeoutMs: number): Promise<void> {
    const sentAt = await this.ctx.storage.get<number>(`createSentAt:${object}`)
    const wait = (sentAt ?? 0) + CREATE_GRACE_TIMEOUTS * timeoutMs - Date.now()
    if (wait > 0) throw new Settling(Math.ceil(wait / 1000))
  }

  /** The person's records; a writer from before contacts kept only its lead's id. */
  async #records(): Promise<PersonRecords> {
    const storage = this.ctx.storage
    const records = await storage.get<PersonRecords>('records')
    if (records) return records
    const leadId = await storage.get<string>('leadId')
    return leadId ? { lead: { id: leadId, via: (await storage.get<'created' | 'found'>('leadVia')) ?? 'found' } } : {}
  }

  async #write(id: string, draft: LeadDraft, connection: string, person?: string): Promise<WriteOutcome> {
    const storage = this.ctx.storage
    // An erasure ran before this write's turn: whatever it carries of the person is not written.
    if (await storage.get<boolean>(ERASED)) return { ok: false, error: 'the person was erased', retryable: false, erased: true }
    // A queue redelivers at least once: a submission already written is not written again.
    const done = await storage.get<Done>(`done:${id}`)
    if (done) return { ok: true, action: done.action, records: done.records, repeat: true, ...(done.warnings ? { warnings: done.warnings } : {}), ...(done.owner ? { owner: done.owner } : {}) }
    const seenKey = `seen:${await fingerprint(draft)}`
    const seen = await storage.get<Done>(seenKey)
    if (seen && Date.now() - seen.at < DOUBLE_SUBMIT_MS) {
      await storage.put<Done>(`done:${id}`, { ...seen, at: Date.now() })
      return { ok: true, action: 'unchanged', records: seen.records, repeat: true, double: true }
    }
    try {
      const target = { ...crmTarget(this.env, connection, paceOf(this.env, connection)), caps: await capabilitiesFor(this.env, connection) }
      const known = await this.#records()
      const wanted = personObjects((draft.plan ?? DEFAULT_PLAN).write, target.caps)
      for (const object of ['lead', 'contact'] as const) if (wanted[object] && !known[object]) await this.#settled(object, target.timeoutMs)
      const result = await writeSubmission(target, draft, known, {
        submission: id,
        company: async (q) => {
          const answer = await (await companyWriter(this.env, connection, q)).company(q, connection)
          if ('error' in answer) throw new CrmError(answer.error, answer.retryable, answer.status, answer.retryAfter, undefined, undefined, answer.limit)
          return 'id' in answer ? answer.id : undefined
        },
        // Committing to a record locks the person in the ledger; one merged into another meanwhile must not create.
        beforeCommit: async () => {
          if (person && !(await lockPerson(this.env.DB, connection, person))) throw new Merged()
        },
        beforeCreate: (object) => storage.put(`createSentAt:${object}`, Date.now()),
        createInDoubt: async (object) => (await storage.get<number>(`createSentAt:${object}`)) !== undefined,
        createRefused: (object) => storage.delete(object === 'event' ? `eventSentAt:${id}` : `createSentAt:${object}`).then(() => undefined),
        saved: (records) => storage.put('records', records),
        eventUncertain: (await storage.get<number>(`eventSentAt:${id}`)) !== undefined,
        beforeEvent: () => storage.put(`eventSentAt:${id}`, Date.now()),
        // Picked once per submission and kept: a retry after a lost create answer takes no second turn of the round robin.
        owner: async () => {
          const kept = await storage.get<Owner>(`owner:${id}`)
          if (kept) return kept
          const owner = await chooseOwner(draft, draft.plan?.owner, (list) => gateFor(this.env, connection).turn(list))
          if (owner) await storage.put(`owner:${id}`, owner)
          return owner
        },
      })
      const records = { lead: result.lead, contact: result.contact, company: result.company, event: result.event }
      const owner = result.owner ? { owner: result.owner } : {}
      const written: Done = { action: result.action, records, at: Date.now(), ...(result.warnings.length ? { warnings: result.warnings } : {}), ...owner }
      await storage.put<Done>({ [`done:${id}`]: written, [seenKey]: written })
      await storage.delete(['createSentAt:lead', 'createSentAt:contact', `eventSentAt:${id}`, `owner:${id}`, 'leadId', 'leadVia'])
      if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + DONE_TTL_MS)
      return { ok: true, action: result.action, records, repeat: false, refused: result.refused, carried: result.carried, ...(result.warnings.length ? { warnings: result.warnings } : {}), ...owner }
    } catch (error) {
      if (error instanceof Merged) return { ok: false, error: 'this person was merged into another; writing there', retryable: true, reroute: true }
      // Waiting for a create that may still land is not a failed attempt either.
      if (error instanceof Settling) return { ok: false, error: error.message, retryable: true, retryAfter: error.seconds, paced: true }
      const e = classify('write', error)
      // A create still in doubt stays so: only the create's own answer (createRefused) settles it.
      // A rate limit or a busy CRM was told to the pace already; another Retry-After (a 503's) holds every writer of the connection too.
      if (e.retryAfter && !e.limit) await gateFor(this.env, connection).pause(Date.now() + e.retryAfter * 1000)
      const paced = e.limit !== undefined
      return { ok: false, error: withReason(e, valuesOf(draft)), retryable: e.retryable, status: e.status, retryAfter: e.retryAfter, unsupported: e.unsupported, ...(paced ? { paced } : {}) }
    }
  }

  /** The person's CRM records, as far as this writer knows them (an export shows them). */
  async records(): Promise<PersonRecords> {
    return this.#serial(() => this.#records())
  }

  /**
   * An erasure, in its turn after the person's writes already under way: everything this writer
   * keeps (record ids, submission ids, fingerprints) is deleted, and every later write refused
   * (a person is never resolved to this writer again: the ledger forgets them). Returns the
   * records and events it wrote.
   */
  async forget(): Promise<Forgotten> {
    return this.#serial(async () => {
      const storage = this.ctx.storage
      const records = await this.#records()
      const done = await storage.list<Done>({ prefix: 'done:' })
      const events = [...new Set([...done.values()].flatMap((d) => (d.records.event ? [d.records.event] : [])))]
      await storage.deleteAlarm()
      await storage.deleteAll()
      await storage.put(ERASED, true)
      return { records, events }
    })
  }

  /** Forget submission ids older than DONE_TTL_MS and double-submit fingerprints; keep the person's records. */
  override async alarm(): Promise<void> {
    const cutoff = Date.now() - DONE_TTL_MS
    const seen = [...(await this.ctx.storage.list<Done>({ prefix: 'seen:' })).keys()]
    for (let i = 0; i < seen.length; i += 128) await this.ctx.storage.delete(seen.slice(i, i + 128))
    const entries = await this.ctx.storage.list<Done>({ prefix: 'done:' })
    const stale = [...entries].filter(([, d]) => d.at < cutoff).map(([k]) => k)
    for (let i = 0; i < stale.length; i += 128) await this.ctx.storage.delete(stale.slice(i, i + 128))
    if (entries.size > stale.length) await this.ctx.storage.setAlarm(Date.now() + DONE_TTL_MS)
  }
}

/**
 * The writer of one person of one connection (the identity ledger's id), of
 * one submission that has no identifier, or of one company (the company ledger's id).
 */
export function writerFor(
  env: Env,
  connection: string,
  who: { person: string } | { submission: string } | { company: string },
): DurableObjectStub<LeadWriter> {
  const name =
    'person' in who
      ? `person:${connection}:${who.person}`
      : 'company' in who
        ? `company:${connection}:${who.company}`
        : `submission:${who.submission}`
  return env.LEAD_WRITER.get(env.LEAD_WRITER.idFromName(name)) as DurableObjectStub<LeadWriter>
}

/**
 * The writer of the company `q` names: its domain and name, hashed, resolved to one company in
 * the company ledger first, so that whichever of them a person brought, one writer finds or creates it.
 */
export async function companyWriter(env: Env, connection: string, q: CompanyQuery): Promise<DurableObjectStub<LeadWriter>> {
  try {
    const hashes = await Promise.all(companyKeys(q).map(async (key) => keyedHash(env.HASH_SECRET, await sha256Hex(key))))
    return writerFor(env, connection, { company: await resolveCompany(env.DB, connection, hashes) })
  } catch (error) {
    // D1 unavailable is worth another try, as it is for the person's own ledger.
    throw new CrmError(`company ledger: ${describeStorageError(error)}`, true)
  }
}

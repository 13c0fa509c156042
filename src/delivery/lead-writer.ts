/**
 * One writer per person. A Durable Object named by the person (the identity
 * ledger's id, per connection) runs that person's writes one after another.
 * Its input gate only covers storage, and not the awaited fetch to Unified, so
 * the order is kept by an explicit chain.
 */
import { DurableObject } from 'cloudflare:workers'
import { crmTarget } from '../crm/client'
import { classify } from '../crm/errors'
import { type WriteResult, writeLead } from '../crm/writer'
import type { LeadDraft } from '../lead/draft'
import type { WriteOutcome } from '../lead/message'
import { lockPerson } from '../store/ledger'
import { gateFor } from './crm-gate'

/** Long enough to cover queue redeliveries and providers' retry windows (Stripe: 3 days). */
export const DONE_TTL_MS = 7 * 24 * 60 * 60 * 1000

/**
 * After a create whose answer never came (timeout, lost response), how long,
 * in multiples of the call timeout, to wait before searching again: the
 * create may still be running, or the CRM's search may not show it yet, and
 * creating again then would duplicate the person.
 */
export const CREATE_GRACE_TIMEOUTS = 6

interface Done {
  action: 'created' | 'updated' | 'unchanged'
  leadId: string
  at: number
}

class Merged extends Error {
  override name = 'Merged'
}

export class LeadWriter extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve()

  /** Queue the write of submission `id` behind this person's earlier ones; `person` names this writer's person in the ledger. */
  write(id: string, draft: LeadDraft, person?: { connection: string; id: string }): Promise<WriteOutcome> {
    const run = this.#tail.then(() => this.#write(id, draft, person))
    this.#tail = run.catch(() => undefined)
    return run
  }

  async #write(id: string, draft: LeadDraft, person?: { connection: string; id: string }): Promise<WriteOutcome> {
    const storage = this.ctx.storage
    // A queue redelivers at least once: a submission already written is not written again.
    const done = await storage.get<Done>(`done:${id}`)
    if (done) return { ok: true, action: done.action, leadId: done.leadId, repeat: true }
    const knownId = await storage.get<string>('leadId')
    const knownVia = await storage.get<WriteResult['via']>('leadVia')
    const gate = gateFor(this.env)
    const until = await gate.pausedUntil()
    if (until > Date.now()) {
      const retryAfter = Math.ceil((until - Date.now()) / 1000)
      return { ok: false, error: `Unified asked to wait ${retryAfter}s more (Retry-After)`, retryable: true, retryAfter }
    }
    try {
      const target = crmTarget(this.env)
      const sentAt = await storage.get<number>('createSentAt')
      const settle = (sentAt ?? 0) + CREATE_GRACE_TIMEOUTS * target.timeoutMs - Date.now()
      if (!knownId && settle > 0) {
        const retryAfter = Math.ceil(settle / 1000)
        return { ok: false, error: `an earlier create's outcome is unknown; searching again in ${retryAfter}s`, retryable: true, retryAfter }
      }
      const markCreate = () => storage.put('createSentAt', Date.now())
      // Committing to a record locks the person in the ledger; one merged into another meanwhile must not create.
      const lock = async () => {
        if (person && !(await lockPerson(this.env.DB, person.connection, person.id))) throw new Merged()
      }
      const result = await writeLead(target, draft, { knownId, knownVia, beforeCommit: lock, beforeCreate: markCreate })
      const done: Done = { action: result.action, leadId: result.leadId, at: Date.now() }
      // Once made here, always made here: a later public post may then add identifiers to this person's own record.
      const via = knownVia === 'created' || result.via === 'created' ? 'created' : 'found'
      await storage.put<Done | string>({ leadId: result.leadId, leadVia: via, [`done:${id}`]: done })
      await storage.delete('createSentAt')
      if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + DONE_TTL_MS)
      return { ok: true, action: result.action, leadId: result.leadId, repeat: false, refused: result.refused }
    } catch (error) {
      if (error instanceof Merged) return { ok: false, error: 'this person was merged into another; writing there', retryable: true, reroute: true }
      const e = classify('write lead', error)
      if (e.retryAfter) await gate.pause(Date.now() + e.retryAfter * 1000)
      return { ok: false, error: e.message, retryable: e.retryable, status: e.status, retryAfter: e.retryAfter }
    }
  }

  /** Forget submission ids older than DONE_TTL_MS; keep the person's lead id. */
  override async alarm(): Promise<void> {
    const cutoff = Date.now() - DONE_TTL_MS
    const entries = await this.ctx.storage.list<Done>({ prefix: 'done:' })
    const stale = [...entries].filter(([, d]) => d.at < cutoff).map(([k]) => k)
    for (let i = 0; i < stale.length; i += 128) await this.ctx.storage.delete(stale.slice(i, i + 128))
    if (entries.size > stale.length) await this.ctx.storage.setAlarm(Date.now() + DONE_TTL_MS)
  }
}

/** The writer of one person of one connection (the identity ledger's id), or of one submission when it has no identifier. */
export function writerFor(env: Env, connection: string, who: { person: string } | { submission: string }): DurableObjectStub<LeadWriter> {
  const name = 'person' in who ? `person:${connection}:${who.person}` : `submission:${who.submission}`
  return env.LEAD_WRITER.get(env.LEAD_WRITER.idFromName(name)) as DurableObjectStub<LeadWriter>
}

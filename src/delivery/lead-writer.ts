/**
 * One writer per person. A Durable Object named by the dedup key runs that
 * person's writes one after another. Its input gate only covers storage, and
 * not the awaited fetch to Unified, so the order is kept by an explicit chain.
 */
import { DurableObject } from 'cloudflare:workers'
import { crmTarget } from '../crm/client'
import { classify } from '../crm/errors'
import { writeLead } from '../crm/writer'
import { dedupKey, keyName } from '../lead/normalize'
import { gateFor } from './crm-gate'
import type { LeadMessage, WriteOutcome } from './message'

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

export class LeadWriter extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve()

  /** Queue a write behind this person's earlier ones. */
  write(message: LeadMessage): Promise<WriteOutcome> {
    const run = this.#tail.then(() => this.#write(message))
    this.#tail = run.catch(() => undefined)
    return run
  }

  async #write(message: LeadMessage): Promise<WriteOutcome> {
    const storage = this.ctx.storage
    // A queue redelivers at least once: a submission already written is not written again.
    const done = await storage.get<Done>(`done:${message.id}`)
    if (done) return { ok: true, action: done.action, leadId: done.leadId, repeat: true }
    const knownId = await storage.get<string>('leadId')
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
      const result = await writeLead(target, message.draft, dedupKey(message.draft), knownId, markCreate)
      await storage.put<Done | string>({ leadId: result.leadId, [`done:${message.id}`]: { ...result, at: Date.now() } })
      await storage.delete('createSentAt')
      if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + DONE_TTL_MS)
      return { ok: true, ...result, repeat: false }
    } catch (error) {
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

/** The writer for this message: the person's own, or one per submission when there is no key. */
export function writerFor(env: Env, message: LeadMessage): DurableObjectStub<LeadWriter> {
  const key = dedupKey(message.draft)
  const name = key ? keyName(key) : `submission:${message.id}`
  return env.LEAD_WRITER.get(env.LEAD_WRITER.idFromName(name)) as DurableObjectStub<LeadWriter>
}

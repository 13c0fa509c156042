/**
 * What travels through the queue: one accepted submission. Sources make it,
 * the consumer and the operator read it, the submission log stores it; so it
 * lives here, at the bottom, beside the LeadDraft.
 */
import type { LeadDraft, Owner } from './draft'

/** Where a submission came from, for logs, the operator and a replay's re-mapping; never for the CRM writer. */
export interface Origin {
  /** `form`, or a webhook source's id (`typeform`, `stripe`). */
  source: string
  /** The form id, Typeform form id or Stripe event type. */
  form: string
}

/**
 * What the source received, kept so a replay can map it again under the
 * configuration of the day (a field fixed in wrangler.toml takes effect).
 */
export type SourceInput =
  | { kind: 'form'; fields: [string, string[]][]; url: string; referer?: string }
  | { kind: 'webhook'; body: string }

/**
 * What to read back from the sender's platform when the webhook carries only an id (ad
 * platforms: Meta's `leadgen_id`): the consumer turns it into a draft (LeadReader).
 * `id` stays a string: such ids exceed 2^53. `hints`: what the notification said besides.
 */
export interface LeadRef {
  id: string
  hints?: Record<string, string>
}

/** The lead as the source mapped it, or (ad platforms) what to fetch: replay and redelivery read it again. */
export type Payload = { draft: LeadDraft; input?: SourceInput; fetch?: undefined } | { fetch: LeadRef; input?: SourceInput; draft?: undefined }

/**
 * What reading a LeadRef back gave: a draft; a reason to settle it `ignored` (the lead no
 * longer exists); or a wait that spends no attempt (`alert`: the operator must act, e.g. a
 * revoked token, said in `reason` with the fix).
 */
export type LeadRead =
  | { draft: LeadDraft }
  | { ignored: string }
  | { wait: string; retryAfter: number; alert?: true }

/** Reads a queued LeadRef back from the platform of the endpoint `origin.source`. Injected by index.ts: sources sit above delivery. */
export type LeadReader = (env: Env, origin: Origin, ref: LeadRef, receivedAt: Date) => Promise<LeadRead>

export interface LeadMessage {
  v: 2
  /** The submission id the sender was given; also the idempotency key of the write. */
  id: string
  receivedAt: string
  origin: Origin
  /** Bumped by every replay: an outcome reported for an older generation no longer changes the log. */
  gen: number
  /** Failed attempts spent before this message was sent again (waits for the CRM's rate don't count). */
  spent?: number
  /** The lead; absent when it was too large for a queue message and waits in D1 (`submissions.payload`). */
  payload?: Payload
}

/** Messages queued by the previous version (`v: 1`, the draft inline) are still read. */
export type AnyLeadMessage = LeadMessage | { v: 1; id: string; receivedAt: string; origin: Origin; draft: LeadDraft }

export const upgrade = (m: AnyLeadMessage): LeadMessage =>
  m.v === 1 ? { v: 2, id: m.id, receivedAt: m.receivedAt, origin: m.origin, gen: 0, payload: { draft: m.draft } } : m

/** The CRM records one submission wrote, per object: what the log keeps and the operator sees. */
export interface CrmRecordIds {
  lead?: string
  contact?: string
  company?: string
  event?: string
}

/** The outcome of one write, as the Durable Object reports it (RPC keeps plain data only). */
export type WriteOutcome =
  | {
      ok: true
      action: 'created' | 'updated' | 'unchanged'
      records: CrmRecordIds
      /** The queue brought a submission already written, or (`double`) the person sent the same fields again within minutes. */
      repeat: boolean
      double?: true
      /** Identifiers of the draft the record did not take (a public form matched to an existing record); see identity ledger. */
      refused?: string[]
      /** What was written otherwise than sent (a field the CRM refused or dropped, an event it would not take): each says where the value went. */
      warnings?: string[]
      /** The draft's unlinked identifiers (LeadDraft.unlinked) that a record created for the person carries: now the person's. */
      carried?: string[]
      /** Who a record it created belongs to, and by which part of the source's owner plan. */
      owner?: Owner
    }
  | {
      ok: false
      error: string
      retryable: boolean
      status?: number
      retryAfter?: number
      /** The person was merged into another before this write committed: resolve again and write there. */
      reroute?: true
      /** Held back by the connection's rate (a 429, or no slot soon): not a failed attempt. */
      paced?: true
      /** The person's writer was erased (an erasure ran first): the submission is dropped, never written. */
      erased?: true
      /** The CRM object the connection does not support (a setting must change). */
      unsupported?: 'lead' | 'contact' | 'company' | 'event'
    }

import type { LeadDraft } from '../lead/draft'

/** What travels through the queue: one accepted submission. */
export interface LeadMessage {
  v: 1
  /** The submission id the sender was given; also the idempotency key of the write. */
  id: string
  receivedAt: string
  /** Where it came from, for logs and the operator, never for the CRM writer. */
  origin: { source: string; form: string }
  draft: LeadDraft
}

/** The outcome of one write, as the Durable Object reports it (RPC keeps plain data only). */
export type WriteOutcome =
  | { ok: true; action: 'created' | 'updated' | 'unchanged'; leadId: string; repeat: boolean }
  | { ok: false; error: string; retryable: boolean; status?: number; retryAfter?: number }

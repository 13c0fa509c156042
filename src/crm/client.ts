/**
 * The one way this Worker reaches Unified: the SDK's standalone functions on a
 * lean core. Retries are the delivery pipeline's job (crm/errors.ts decides),
 * so the SDK never repeats a call on its own: a repeated create could duplicate.
 */
import { UnifiedToCore } from '@unified-api/typescript-sdk/core.js'
import { CrmError } from './errors'
import type { Capabilities } from './support'

/** A Unified call that hangs longer than this is a retryable timeout. */
export const REQUEST_TIMEOUT_MS = 10_000

/** The pace of a connection (delivery/crm-gate.ts): every call waits for a permit, and says when the CRM limited it. */
export interface Pace {
  /** Waits for this call's slot; throws Paced (errors.ts) when it is too far off to hold. */
  before(): Promise<void>
  /** The call was just sent: where the pace counts starts, it learns when (not awaited). */
  sent?(): void
  /** A rate limit (429, or a 403 saying so), with its Retry-After if any, the per-minute allowance it names, if any, and when the refused call was sent. */
  limited(retryAfterSeconds: number | undefined, perMinute?: number, sentAt?: number): Promise<void>
  /** A 503 without Retry-After: back off. */
  busy(sentAt?: number): Promise<void>
}

export interface CrmTarget {
  core: UnifiedToCore
  connectionId: string
  /** How long one call may take before it is a (retryable) timeout. */
  timeoutMs: number
  pace?: Pace
  /** What the connection's integration supports; absent: nothing assumed (support.ts). */
  caps?: Capabilities
}

export interface CrmSettings {
  UNIFIED_API_KEY?: string
  UNIFIED_CONNECTION_ID?: string
  UNIFIED_API_URL?: string
  /** Optional override of REQUEST_TIMEOUT_MS (tests use a short one). */
  UNIFIED_TIMEOUT_MS?: string
}

/**
 * The target of one connection (a source's own, else UNIFIED_CONNECTION_ID). Throws a retryable
 * CrmError when the connection is not configured: leads wait in the queue until it is.
 */
export function crmTarget(env: CrmSettings, connection = env.UNIFIED_CONNECTION_ID, pace?: Pace): CrmTarget {
  if (!env.UNIFIED_API_KEY) {
    throw new CrmError('UNIFIED_API_KEY is not set, so leads wait in the queue: set it with `npx wrangler secret put UNIFIED_API_KEY`', true)
  }
  if (!connection) {
    throw new CrmError('UNIFIED_CONNECTION_ID is not set, so leads wait in the queue: set it under [vars] in wrangler.toml', true)
  }
  const timeoutMs = Number(env.UNIFIED_TIMEOUT_MS) || REQUEST_TIMEOUT_MS
  const core = new UnifiedToCore({
    security: { jwt: env.UNIFIED_API_KEY },
    serverURL: env.UNIFIED_API_URL || undefined,
    timeoutMs,
    retryConfig: { strategy: 'none' },
  })
  return { core, connectionId: connection, timeoutMs, ...(pace ? { pace } : {}) }
}

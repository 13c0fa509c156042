/**
 * What a failed Unified call means for delivery: try again later (429, 5xx,
 * timeouts, network) or never (4xx, validation). Classified from the SDK's
 * own error objects, so no status or message is guessed.
 */
export class CrmError extends Error {
  override name = 'CrmError'
  constructor(
    message: string,
    /** Worth another attempt later. */
    readonly retryable: boolean,
    /** HTTP status from Unified, when there was a response. */
    readonly status?: number,
    /** Seconds Unified asked us to wait (Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

const RETRYABLE_CLIENT_ERRORS = new Set(['ConnectionError', 'RequestTimeoutError', 'RequestAbortedError', 'UnexpectedClientError'])

/** Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000))
}

/** The CRM's own words, shortened: Unified answers errors as JSON or text. */
function crmMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: unknown }
    const text = parsed.message ?? parsed.error
    if (typeof text === 'string') return text.slice(0, 500)
  } catch {
    // not JSON: fall through to the text itself
  }
  return body.slice(0, 500)
}

/** What an operator should check, for the failures that are usually configuration. */
function hint(operation: string, status?: number): string {
  if (status === 401 || status === 403) return ' (check UNIFIED_API_KEY and UNIFIED_CONNECTION_ID)'
  if (status === 404 && operation === 'list leads') return ' (check UNIFIED_CONNECTION_ID)'
  if (status === undefined) return ' (is Unified reachable at UNIFIED_API_URL?)'
  return ''
}

export function classify(operation: string, error: unknown): CrmError {
  if (error instanceof CrmError) return error
  const e = error as { name?: string; message?: string; statusCode?: number; body?: string; headers?: Headers }
  if (typeof e?.statusCode === 'number') {
    const status = e.statusCode
    const retryable = status === 408 || status === 425 || status === 429 || status >= 500
    const detail = crmMessage(e.body ?? '') || e.message || 'no detail'
    return new CrmError(
      `${operation}: Unified answered ${status}: ${detail}${hint(operation, status)}`,
      retryable,
      status,
      parseRetryAfter(e.headers?.get('retry-after')),
    )
  }
  const name = e?.name ?? 'Error'
  const retryable = RETRYABLE_CLIENT_ERRORS.has(name)
  return new CrmError(`${operation}: ${name}: ${e?.message ?? String(error)}${retryable ? hint(operation) : ''}`, retryable)
}

/**
 * What a failed Unified call means for delivery: try again later (429, 5xx,
 * timeouts, network, an answer the SDK could not read) or never (other 4xx,
 * 501). Classified from the SDK's own error objects, so no status is guessed.
 *
 * The message is stored in the submission log and shown to the operator, so it
 * says which operation failed, the status and the error's class, and never
 * what the CRM answered as such: a CRM's response body is personal data (it
 * may quote the lead, or another person's record). The CRM's own reason rides
 * along unmasked (`reason`) for the writer, who alone knows the submission's
 * values, to mask (refusal.ts) before anything keeps it.
 *
 * A rate limit is read as CRMs send it, not only as a 429: a 403 whose words
 * say a request limit was exceeded (Salesforce's REQUEST_LIMIT_EXCEEDED, which
 * Unified passes on) is one too, and a 503 without a Retry-After is a CRM too
 * busy to say when: both are waited out at the connection's pace, not failures.
 */
import type { ObjectName } from './objects/name'
import { reasonOf } from './refusal'

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
    /** The object the CRM does not implement (501, or a 4xx saying so): a setting must change, not the weather. */
    readonly unsupported?: ObjectName,
    /** The CRM's own words (Unified's error `message`), unmasked: kept only through maskReason (refusal.ts), never logged. */
    readonly reason?: string,
    /** A rate limit (429, or a 403 saying so) or a busy CRM (503 without Retry-After): paced, never a failed attempt. */
    readonly limit?: Limit,
  ) {
    super(message)
  }
}

/** The object an operation ("create lead", "list companies") is about. */
export function objectOf(operation: string): ObjectName | undefined {
  const word = operation.split(' ').at(-1) ?? ''
  const found = (['lead', 'contact', 'company', 'event'] as const).find((o) => word === o || word === `${o}s` || (o === 'company' && word === 'companies'))
  return found
}

/** `rate`: the CRM (or Unified) refused for the rate or allowance; `busy`: unavailable, with no word on when to come back. */
export type Limit = 'rate' | 'busy'

/** A 403's words that mean a request limit, not a refused key (the body is read for this only, never kept). */
const SAYS_LIMIT = /request[_ ]limit[_ ]exceeded|rate[_ ]limit|too many requests/i

/** What a refusal says of the CRM's pace: a rate limit, a busy CRM, or nothing (an ordinary error). */
export function limitOf(status: number | undefined, body: string | undefined, retryAfter: number | undefined): Limit | undefined {
  if (status === 429 || (status === 403 && SAYS_LIMIT.test(body ?? ''))) return 'rate'
  if (status === 503 && retryAfter === undefined) return 'busy'
  return undefined
}

/**
 * Unified refused our credentials for the connection (a 401, or a 403 that is not a rate limit):
 * no lead of that connection can be written until someone fixes it, so the connection is held.
 */
export const refusesCredentials = (status: number | undefined, limit?: Limit): boolean => status === 401 || (status === 403 && limit === undefined)

/** Unified's words for its workspace limit (docs.unified.to/guides/rate_limits_and_retries): "…; max requests per minute: N". */
const SAYS_PER_MINUTE = /max(?:imum)? requests per minute:\s*(\d+)/i

/** The per-minute allowance a rate-limit refusal names, when it names one (the body is read for this only, never kept). */
export function perMinuteOf(body: string | undefined): number | undefined {
  const n = Number(SAYS_PER_MINUTE.exec(body ?? '')?.[1])
  return Number.isInteger(n) && n > 0 ? n : undefined
}

/** A 4xx whose words say the integration lacks the feature; the body is read for this only, never kept. */
const SAYS_UNSUPPORTED = /not (implemented|supported)|unsupported (object|method|operation)/i

const RETRYABLE_CLIENT_ERRORS = new Set(['ConnectionError', 'RequestTimeoutError', 'RequestAbortedError', 'UnexpectedClientError'])

/** Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000))
}

/** What an operator should check, for the failures that are usually configuration. */
function hint(operation: string, status?: number, limit?: Limit): string {
  if (limit === 'rate') return ": the CRM's request limit (waited out at the connection's pace)"
  if (limit === 'busy') return ': the CRM is busy (backing off)'
  if (status === 401 || status === 403) return ' (check UNIFIED_API_KEY and UNIFIED_CONNECTION_ID)'
  if (status === 404 && operation.startsWith('list')) return ' (check UNIFIED_CONNECTION_ID)'
  if (status === 501) return ': the CRM behind this connection does not support this object or method (Not Implemented); see README "Troubleshooting"'
  if (status === undefined) return ' (is Unified reachable at UNIFIED_API_URL?)'
  return ''
}

/** Statuses worth another try. 501 is not among the 5xx that are: the integration lacks the feature, and will tomorrow too. */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || (status >= 500 && status !== 501)

/**
 * The call was answered and refused: nothing it asked for happened. What a create whose answer
 * never came may have done is known only from the create's own answer like this one, never
 * from another call's (a 429 on a search says nothing about an earlier create).
 */
export const refusedOutright = (error: unknown): boolean =>
  error instanceof CrmError && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 408

export function classify(operation: string, error: unknown): CrmError {
  if (error instanceof CrmError) return error
  const e = error as { name?: string; statusCode?: number; headers?: Headers; body?: string }
  const name = e?.name ?? 'Error'
  if (name === 'ResponseValidationError') {
    // A 2xx the SDK could not read (a record with a null where its model wants a string, say): the CRM may answer
    // differently next time, and nothing was lost, so try again; never store what it answered.
    return new CrmError(`${operation}: Unified answered ${e.statusCode ?? 200} with a record the SDK could not read (ResponseValidationError)`, true, e.statusCode)
  }
  if (typeof e?.statusCode === 'number') {
    const status = e.statusCode
    const retryAfter = parseRetryAfter(e.headers?.get('retry-after'))
    const limit = limitOf(status, e.body, retryAfter)
    const unsupported = status === 501 || (status >= 400 && status < 500 && !limit && SAYS_UNSUPPORTED.test(e.body ?? ''))
    return new CrmError(
      `${operation}: Unified answered ${status} (${name})${hint(operation, unsupported ? 501 : status, limit)}`,
      isRetryableStatus(status) || limit !== undefined,
      status,
      retryAfter,
      unsupported ? objectOf(operation) : undefined,
      reasonOf(e.body),
      limit,
    )
  }
  const retryable = RETRYABLE_CLIENT_ERRORS.has(name)
  return new CrmError(`${operation}: ${name}${retryable ? hint(operation) : ''}`, retryable)
}

/**
 * Held back by the connection's pace (its rate, or a Retry-After): not a
 * failure. The submission comes back through the queue in `retryAfter`
 * seconds, and the attempt is not counted.
 */
export class Paced extends CrmError {
  override name = 'Paced'
  constructor(retryAfter: number) {
    super(`waiting ${retryAfter}s for the CRM's rate limit`, true, 429, retryAfter, undefined, undefined, 'rate')
  }
}

/**
 * Unified's error body, `{statusCode, error, message}`: the status, its reason
 * phrase, and what went wrong (for a CRM's refusal, the CRM's own words). The
 * SDK hands the body over as text on its error (`body`), beside `statusCode`.
 */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export interface UnifiedError {
  statusCode: number
  error: string
  message: string
}

export const errorBody = (status: number, message: string): UnifiedError => ({ statusCode: status, error: REASONS[status] ?? 'Error', message })

/** Answers with Unified's error body. */
export const unifiedError = (c: Context, status: number, message: string, headers: Record<string, string> = {}) =>
  c.json(errorBody(status, message), status as ContentfulStatusCode, headers)

/** What an integration answers for an object or method it lacks. */
export const notImplemented = (c: Context) => unifiedError(c, 501, 'Not implemented')

/** What Unified answers for a connection whose credentials the CRM refuses (its auth expired or was revoked). */
export const refusedCredentials = (c: Context) => unifiedError(c, 401, 'Unauthorized: the connection\u2019s credentials were refused by the integration; reauthorize the connection')

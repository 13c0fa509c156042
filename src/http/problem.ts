/**
 * Every error answer is RFC 9457 `application/problem+json` for machines, or a
 * short readable page for a person whose browser posted a form. One error
 * type (ProblemError), one renderer, one place (app.onError) that uses them.
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { escapeHtml, page } from './html'

export interface InvalidParam {
  name: string
  reason: string
}

export interface Problem {
  /** A stable, machine-readable id; becomes the `type` URI `urn:lead-intake:problem:<type>`. */
  type: string
  title: string
  status: ContentfulStatusCode
  detail?: string
  'invalid-params'?: InvalidParam[]
  [extension: string]: unknown
}

export class ProblemError extends HTTPException {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.status, { message: problem.detail ?? problem.title })
  }
}

export const problem = (
  status: ContentfulStatusCode,
  type: string,
  title: string,
  rest: Omit<Problem, 'status' | 'type' | 'title'> = {},
  headers: Record<string, string> = {},
) => new ProblemError({ type, title, status, ...rest }, headers)

/** A temporary refusal: 503 with Retry-After, so the sender (a webhook provider, a browser's retry) keeps the submission and tries again. */
export const retryLater = (type: string, title: string, detail: string, seconds = 60) =>
  problem(503, type, title, { detail }, { 'retry-after': String(seconds) })

/** A person's browser posting a form, rather than a script that reads JSON. */
export function wantsHtml(c: Context): boolean {
  // A webhook sender is never a person, even when it posts a form (Jotform's multipart).
  if (c.req.path.startsWith('/webhooks/')) return false
  const type = c.req.header('content-type') ?? ''
  const accept = c.req.header('accept') ?? ''
  if (type.includes('json') || accept.includes('application/json') || accept.includes('problem+json')) return false
  return c.req.method === 'POST' && (type.includes('form') || accept.includes('text/html'))
}

export function renderProblem(c: Context, error: ProblemError): Response {
  const { problem: p, headers } = error
  if (wantsHtml(c)) {
    const items = (p['invalid-params'] ?? [])
      .map((i) => `<li><strong>${escapeHtml(i.name)}</strong>: ${escapeHtml(i.reason)}</li>`)
      .join('')
    const body = page(p.title, `<p>${escapeHtml(p.detail ?? '')}</p>${items ? `<ul>${items}</ul>` : ''}<p><a href="javascript:history.back()">Go back</a></p>`)
    return c.html(body, p.status, headers)
  }
  const body = JSON.stringify({ ...p, type: `urn:lead-intake:problem:${p.type}`, instance: c.req.path })
  return c.body(body, p.status, { ...headers, 'content-type': 'application/problem+json' })
}

/** Hono's own HTTPExceptions (body limit, CORS…) become problems too. */
export function toProblemError(error: HTTPException): ProblemError {
  if (error instanceof ProblemError) return error
  const status = error.status as ContentfulStatusCode
  const titles: Record<number, [string, string]> = {
    400: ['bad-request', 'Bad request'],
    401: ['unauthorized', 'Unauthorized'],
    403: ['forbidden', 'Forbidden'],
    413: ['payload-too-large', 'Request body too large'],
    415: ['unsupported-media-type', 'Unsupported content type'],
  }
  const [type, title] = titles[status] ?? ['http-error', 'Request failed']
  return problem(status, type, title, { detail: error.message || title })
}

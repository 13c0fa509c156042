/**
 * The route table. A request goes: middleware → a source route (forms here,
 * webhooks in sources/webhooks.ts) → guards (guards/*) → acceptLead
 * (delivery/enqueue.ts) → an answer. The CRM is only touched later, by the
 * queue consumer; /operator reads what happened.
 */
import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import { contextStorage } from 'hono/context-storage'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { ConfigError, formById } from './config'
import { acceptLead, recordUnqueued } from './delivery/enqueue'
import { files } from './files/route'
import { keepUpload, linkUpload } from './files/upload'
import { checkOrigin } from './guards/origin'
import { checkRateLimit } from './guards/rate-limit'
import { TOKEN_FIELD, verifyTurnstile } from './guards/turnstile'
import type { AppEnv } from './http/context'
import { escapeHtml, page } from './http/html'
import { problem, ProblemError, renderProblem, retryLater, toProblemError, wantsHtml } from './http/problem'
import { loadPhoneMetadata } from './lead/identity'
import { log, requestLog } from './log'
import { readiness } from './operator/readiness'
import { operator } from './operator/routes'
import { consentSha256 } from './sources/consent'
import { type FormFiles, formInput, readFields, toDraft } from './sources/form'
import { webhooks } from './sources/webhooks'

/** Forms are small; anything larger is not a lead (and would not fit a queue message). */
export const MAX_BODY_BYTES = 64 * 1024

// strict: false so /operator/ and /operator, /healthz/ and /healthz are the same page.
export const app = new Hono<AppEnv>({ strict: false })

app.use(requestId(), contextStorage(), requestLog())
// The attribution snippet (/a.js) is the one resource other sites load: it may be embedded cross-origin.
const SNIPPET = '/a.js'
const defaultHeaders = secureHeaders()
const snippetHeaders = secureHeaders({ crossOriginResourcePolicy: 'cross-origin' })
app.use((c, next) => (c.req.path === SNIPPET ? snippetHeaders(c, next) : defaultHeaders(c, next)))
// Forms, webhooks and the operator's search read phone numbers (lead/identity.ts says why this is a load).
app.use(async (c, next) => {
  try {
    await loadPhoneMetadata(c.env.ASSETS)
  } catch (error) {
    log('error', 'phone metadata not loaded', { error: (error as Error).message })
    throw retryLater('unavailable', 'lead-intake is starting', 'Its phone number rules could not be read; try again shortly.', 5)
  }
  await next()
})

/** Liveness; with `?ready`, whether this deployment can take and write leads (schema, settings), without secrets. */
app.get('/healthz', async (c) => {
  if (c.req.query('ready') === undefined) return c.json({ status: 'ok' })
  const report = await readiness(c.env)
  return c.json(report, report.status === 'ready' ? 200 : 503)
})

app.get('/thanks', (c) =>
  c.html(
    page(
      'Thank you',
      '<p>We received your message and will be in touch soon.</p>' + (c.env.DEMO_PAGE === 'true' ? '<p><a href="/demo">Back to the demo</a></p>' : ''),
    ),
  ),
)

/**
 * The demo page (static/demo.html), when DEMO_PAGE is "true" (`npm run dev` sets it): a static
 * asset, with its "your CRM" linked to DEMO_LEADS_URL when that is set.
 */
app.get('/demo', async (c) => {
  if (c.env.DEMO_PAGE !== 'true') throw problem(404, 'not-found', 'Not found', { detail: 'The demo page is off (DEMO_PAGE).' })
  // /demo is static/demo.html (assets serve an .html file at its name without the extension).
  // Asked unconditionally: a 304 to the browser's If-None-Match would have no page to rewrite.
  const asset = await c.env.ASSETS.fetch(c.req.url)
  const res = new Response(asset.body, { status: asset.status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } })
  const leads = c.env.DEMO_LEADS_URL
  if (!leads) return res
  const link = `<a id="leads" href="${escapeHtml(leads)}">the leads written to the (stand-in) CRM</a>`
  return new HTMLRewriter().on('#crm', { element: (el) => void el.setInnerContent(link, { html: true }) }).transform(res)
})

/**
 * The attribution snippet (static/a.js, README "Attribution"), for the customer's own pages:
 * an hour in caches, a day more while it revalidates, by the asset's ETag.
 */
app.get(SNIPPET, async (c) => {
  const asset = await c.env.ASSETS.fetch(c.req.raw)
  const headers = new Headers(asset.headers)
  headers.set('content-type', 'text/javascript; charset=utf-8')
  headers.set('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
  return new Response(asset.body, { status: asset.status, headers })
})

/** The form a /forms/:formId request names, or undefined (also when the config is broken: onError reports that). */
const formOf = (c: Context<AppEnv>, formId: string) => {
  try {
    return formById(c.env, formId)
  } catch {
    return undefined
  }
}

app.use(
  '/forms/:formId',
  cors({
    // Per form: any origin, or only its allowed_origins (others get no CORS headers, so browsers refuse).
    origin: (origin, c) => {
      const allowed = formOf(c, c.req.param('formId') ?? '')?.allowed_origins ?? []
      return allowed.length === 0 ? '*' : allowed.includes(origin) ? origin : null
    },
    allowMethods: ['POST'],
    allowHeaders: ['content-type', 'accept'],
    maxAge: 86400,
  }),
  // A form that takes a file takes its size on top (the file itself is checked against max_bytes).
  (c, next) => {
    const maxSize = MAX_BODY_BYTES + (formOf(c, c.req.param('formId') ?? '')?.files?.max_bytes ?? 0)
    return bodyLimit({
      maxSize,
      onError: () => {
        throw problem(413, 'payload-too-large', 'Request body too large', { detail: `The limit is ${maxSize} bytes.` })
      },
    })(c, next)
  },
)

app.post('/forms/:formId', async (c) => {
  const formId = c.req.param('formId')
  const config = formById(c.env, formId)
  if (!config) {
    throw problem(404, 'unknown-form', 'Unknown form', { detail: `No form "${formId.slice(0, 64)}" is configured.` })
  }
  const browser = wantsHtml(c)
  const ip = c.req.header('cf-connecting-ip')
  const origin = { source: 'form', form: formId }
  checkOrigin(config, c.req.header('origin'), browser)
  if (config.rate_limit) await checkRateLimit(c.env.FORM_RATE_LIMIT, formId, ip)
  const uploads: FormFiles = new Map()
  const fields = await readFields(c, config.files ? uploads : undefined)
  const succeed = (id: string) =>
    browser ? c.redirect(config.thank_you_url ?? new URL('/thanks', c.req.url).href, 303) : c.json({ id, status: 'accepted' }, 202)
  if (config.honeypot && fields.get(config.honeypot)?.some((v) => v.trim())) {
    // A bot: answered exactly like a person, so it learns nothing; logged as spam, written nowhere.
    return succeed(recordUnqueued(c, origin, 'spam'))
  }
  // A file: 413/415 before anything is kept, linked on the note under the submission's id (files/upload.ts).
  const id = crypto.randomUUID()
  const file = config.files ? await linkUpload(c.env, config.files, uploads, fields, id, new URL(c.req.url).origin) : undefined
  const request = { url: c.req.url, referer: c.req.header('referer') }
  const draft = toDraft(config, fields, request, formId, await consentSha256(config.consent))
  // After validation: a Turnstile token is single-use, so a typo must not spend it.
  if (config.turnstile) await verifyTurnstile(c.env, fields.get(TOKEN_FIELD)?.[0], ip)
  await keepUpload(c.env, c.executionCtx, id, file, () => acceptLead(c, origin, { draft, input: formInput(fields, request) }, config.consent?.text, id))
  c.set('submission', id) // on the request's log line
  return succeed(id)
})

app.route('/webhooks', webhooks)

app.route('/files', files)

app.route('/operator', operator)

app.notFound(() => {
  throw problem(404, 'not-found', 'Not found', { detail: 'No such endpoint.' })
})

app.onError((error, c) => {
  if (error instanceof HTTPException) return renderProblem(c, toProblemError(error))
  // Unexpected: log the kind of failure (never the request's data) and answer without a stack trace.
  const config = error instanceof ConfigError
  log('error', config ? 'configuration error' : 'unhandled error', {
    route: c.req.routePath,
    error: config ? error.message : error.name,
  })
  const p = config
    ? problem(500, 'configuration-error', 'lead-intake is misconfigured', { detail: `${error.message}, then deploy again.` })
    : problem(500, 'internal-error', 'Something went wrong', { detail: 'The error was logged; please try again later.' })
  return renderProblem(c, p as ProblemError)
})

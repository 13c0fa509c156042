/**
 * The route table. A request goes: middleware → a source route (sources/*)
 * → enqueueLead (delivery/) → an answer. The CRM is only touched later, by
 * the queue consumer.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { ConfigError, loadForms } from './config'
import { acceptLead } from './delivery/enqueue'
import { page } from './http/html'
import { problem, ProblemError, renderProblem, toProblemError, wantsHtml } from './http/problem'
import { log } from './log'
import { operator } from './operator/routes'
import { readFields, toDraft } from './sources/form'

/** Forms are small; anything larger is not a lead (and would not fit a queue message). */
export const MAX_BODY_BYTES = 64 * 1024

export type AppEnv = { Bindings: Env }

// strict: false so /operator/ and /operator, /healthz/ and /healthz are the same page.
export const app = new Hono<AppEnv>({ strict: false })

app.use(requestId())
app.use(secureHeaders())

app.get('/healthz', (c) => c.json({ status: 'ok' }))

app.get('/thanks', (c) => c.html(page('Thank you', '<p>We received your message and will be in touch soon.</p>')))

app.use(
  '/forms/*',
  cors({ origin: '*', allowMethods: ['POST'], allowHeaders: ['content-type', 'accept'], maxAge: 86400 }),
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw problem(413, 'payload-too-large', 'Request body too large', { detail: `The limit is ${MAX_BODY_BYTES} bytes.` })
    },
  }),
)

app.post('/forms/:formId', async (c) => {
  const formId = c.req.param('formId')
  const config = loadForms(c.env)[formId]
  if (!config) {
    throw problem(404, 'unknown-form', 'Unknown form', { detail: `No form "${formId.slice(0, 64)}" is configured.` })
  }
  const fields = await readFields(c)
  const draft = toDraft(config, fields, { url: c.req.url, referer: c.req.header('referer') })
  const id = await acceptLead(c, { source: 'form', form: formId }, draft)
  log('info', 'submission accepted', { requestId: c.get('requestId'), source: 'form', form: formId, submission: id })
  if (wantsHtml(c)) return c.redirect(config.thank_you_url ?? new URL('/thanks', c.req.url).href, 303)
  return c.json({ id, status: 'accepted' }, 202)
})

app.route('/operator', operator)

app.notFound(() => {
  throw problem(404, 'not-found', 'Not found', { detail: 'No such endpoint.' })
})

app.onError((error, c) => {
  if (error instanceof HTTPException) return renderProblem(c, toProblemError(error))
  // Unexpected: log the kind of failure (never the request's data) and answer without a stack trace.
  const config = error instanceof ConfigError
  log('error', config ? 'configuration error' : 'unhandled error', {
    requestId: c.get('requestId'),
    route: c.req.routePath,
    error: config ? error.message : error.name,
  })
  const p = config
    ? problem(500, 'configuration-error', 'lead-intake is misconfigured', { detail: `${error.message}. Fix wrangler.toml and redeploy.` })
    : problem(500, 'internal-error', 'Something went wrong', { detail: 'The error was logged; please try again later.' })
  return renderProblem(c, p as ProblemError)
})

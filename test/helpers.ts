/** Shared test helpers: the Worker through HTTP, and the Unified stand-in's control surface. */
import { env, exports } from 'cloudflare:workers'
import { inject } from 'vitest'
import { type Fault, isCrmOperation, standinClient, type WireInput } from '../standin/client'

export const standinUrl = inject('standinUrl')
const CONNECTION = 'conn-test'

export type { WireLead } from '../standin/client'

/** The stand-in's own client, for what the shortcuts below do not cover (other objects, connections' profiles). */
export const client = standinClient(standinUrl)

/**
 * The writers' memory of the CRM (record ids, double-submit fingerprints) goes with the CRM:
 * a test that empties the stand-in also empties every writer, as a fresh CRM would find them.
 */
async function forgetWriters() {
  const { runInDurableObject, listDurableObjectIds } = await import('cloudflare:test')
  for (const id of await listDurableObjectIds(env.LEAD_WRITER)) {
    await runInDurableObject(env.LEAD_WRITER.get(id), (_writer, state) => state.storage.deleteAll())
  }
  // What each connection's integration supports is read again from the stand-in (a test may give it another integration).
  for (const id of await listDurableObjectIds(env.CRM_GATE)) {
    await runInDurableObject(env.CRM_GATE.get(id), (_gate, state) => state.storage.delete('capabilities'))
  }
}

/** Shortcuts for the test connection's leads. */
export const standin = {
  reset: async () => {
    await client.reset()
    await forgetWriters()
  },
  leads: () => client.records(CONNECTION, 'lead'),
  /** Calls to the CRM per operation; Unified's own reads of the connection and its integration (once a day) are not among them. */
  counters: async () =>
    Object.fromEntries(Object.entries(await client.counters(CONNECTION)).filter(([op]) => isCrmOperation(op))),
  faults: (faults: Fault[]) => client.faults(faults),
  /** Stores a lead as if the CRM already had it (not counted as a call). */
  seed: (lead: WireInput<'lead'>) => client.seed(CONNECTION, 'lead', lead),
}

export const leadsWithEmail = async (email: string) =>
  (await standin.leads()).filter((l) => l.emails?.some((e) => e.email === email))

/** A client network of its own per request (the rate limit counts IPv6 clients by /64), so it only meets tests that ask for it. */
const randomIp = () => `2001:db8:${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}::1`

/** A request to the Worker under test, through its real fetch handler. */
export const request = (path: string, init: RequestInit = {}) => {
  const headers = new Headers(init.headers)
  if (!headers.has('cf-connecting-ip')) headers.set('cf-connecting-ip', randomIp())
  return exports.default.fetch(new Request(`https://intake.example${path}`, { redirect: 'manual', ...init, headers }))
}

export const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })

export const postForm = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  request(path, { method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'text/html', ...headers } })

/** Polls until `check` returns a value that is not undefined/false, or fails after `ms`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, ms = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Waits until the lead writers have finished every given submission. */
export async function waitForDelivery(ids: string[], ms = 20_000): Promise<void> {
  await waitFor(async () => {
    const done = await Promise.all(ids.map((id) => isDelivered(id)))
    return done.every(Boolean)
  }, ms, `delivery of ${ids.length} submission(s)`)
}

const isDelivered = async (id: string) => {
  const { runInDurableObject, listDurableObjectIds } = await import('cloudflare:test')
  for (const doId of await listDurableObjectIds(env.LEAD_WRITER)) {
    const stub = env.LEAD_WRITER.get(doId)
    const hit = await runInDurableObject(stub, async (_i, state) => (await state.storage.get(`done:${id}`)) !== undefined)
    if (hit) return true
  }
  return false
}

export const unique = (prefix = 'lead') => `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.com`

export const OPERATOR_TOKEN = 'test-operator-token'

/** The operator API, authenticated. */
export const operatorApi = (path: string, init: RequestInit = {}) =>
  request(`/operator${path}`, { ...init, headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, ...init.headers } })

export type LogRow = { id: string; state: string; attempts: number; crm_lead_id: string | null; action: string | null; last_error: string | null }

export const submission = async (id: string): Promise<LogRow | undefined> => {
  const res = await operatorApi(`/submissions/${id}`)
  return res.status === 200 ? ((await res.json()) as LogRow) : undefined
}

/** Waits until the submission log shows `state` for `id`. */
export const waitForState = (id: string, state: string, ms = 30_000) =>
  waitFor(async () => {
    const row = await submission(id)
    return row?.state === state ? row : undefined
  }, ms, `submission ${id} to be ${state}`)

/**
 * The Worker's fetch with `overrides` on the test env. LEADS records what is
 * sent (and delivers nothing) unless `realQueue` is set or `overrides` brings its own.
 */
export async function fetchWith(path: string, init: RequestInit = {}, overrides: Record<string, unknown> = {}, { realQueue = false } = {}) {
  const { createExecutionContext, waitOnExecutionContext } = await import('cloudflare:test')
  const worker = (await import('../src/index')).default
  const sent: unknown[] = []
  const spy = { send: async (m: unknown) => void sent.push(m) }
  const req = new Request(`https://intake.example${path}`, { redirect: 'manual', ...init })
  if (!req.headers.has('cf-connecting-ip')) req.headers.set('cf-connecting-ip', randomIp())
  const ctx = createExecutionContext()
  const res = await worker.fetch(req, { ...env, ...(realQueue ? {} : { LEADS: spy }), ...overrides } as unknown as Env, ctx)
  await waitOnExecutionContext(ctx)
  return { res, sent }
}

/** A webhook delivery: POST `body` as JSON with the provider's signature header when one is given. */
export const webhookInit = (header: string, body: string, signature?: string, type = 'application/json'): RequestInit => ({
  method: 'POST',
  body,
  headers: { 'content-type': type, ...(signature ? { [header]: signature } : {}) },
})

/** The current Typeform secret in vitest.config.ts (the first one there is a retired one, as during a rotation). */
export const TYPEFORM_SECRET = 'my-webook-secret'

/** HMAC-SHA256 with Web Crypto, independent of the code under test (src/sources/signature.ts): how the providers sign. */
export async function hmac(key: string | Uint8Array, message: string): Promise<Uint8Array> {
  const raw = typeof key === 'string' ? new TextEncoder().encode(key) : key
  const cryptoKey = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, new TextEncoder().encode(message)))
}
export const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
export const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b))

/** Signs as Typeform does, independently of the code under test: sha256= + base64(HMAC-SHA256). */
export const signTypeform = async (body: string, secret = TYPEFORM_SECRET): Promise<string> => `sha256=${b64(await hmac(secret, body))}`

/** The current Stripe secret in vitest.config.ts. */
export const STRIPE_SECRET = 'whsec_test_current_9b2f'

/** Signs with Stripe's own library (its async variant: inside workerd it uses Web Crypto). */
export async function signStripe(payload: string, secret = STRIPE_SECRET): Promise<string> {
  const { default: Stripe } = await import('stripe')
  return Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp: Math.floor(Date.now() / 1000) })
}

/** POSTs a signed delivery to a webhook source through the Worker and returns its answer's id (200 accepted expected by callers). */
export const postWebhook = (source: 'typeform' | 'stripe', body: string, signature: string) =>
  request(`/webhooks/${source}`, webhookInit(source === 'typeform' ? 'typeform-signature' : 'stripe-signature', body, signature))

/** The submission ids in a 202/200 answer. */
export const idOf = async (res: Response): Promise<string> => {
  if (res.status !== 202 && res.status !== 200) throw new Error(`expected 2xx, got ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

/** A timeline note's answers: its description's `name: value` lines (the submission id among them, as `lead-intake submission`). */
export const noteAnswers = (event: { note?: { description?: string } }): Record<string, string> =>
  Object.fromEntries(
    (event.note?.description ?? '').split('\n').flatMap((line) => {
      const at = line.indexOf(': ')
      return at > 0 ? [[line.slice(0, at), line.slice(at + 2)]] : []
    }),
  )

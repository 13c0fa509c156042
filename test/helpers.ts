/** Shared test helpers: the Worker through HTTP, and the Unified stand-in's control surface. */
import { env, exports } from 'cloudflare:workers'
import { inject } from 'vitest'

export const standinUrl = inject('standinUrl')
const CONNECTION = 'conn-test'

export type WireLead = {
  id: string
  name?: string
  first_name?: string
  last_name?: string
  company_name?: string
  emails?: { email: string; type?: string }[]
  telephones?: { telephone: string; type?: string }[]
  metadata?: { slug: string; value: unknown; format?: string; id?: string }[]
  source?: string
  status?: string
  created_at?: string
}

async function control<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${standinUrl}/_standin${path}`, init)
  if (!res.ok) throw new Error(`stand-in ${path}: ${res.status}`)
  return (await res.json()) as T
}

export const standin = {
  reset: () => control('/reset', { method: 'POST' }),
  leads: () => control<WireLead[]>(`/${CONNECTION}/leads`),
  counters: () => control<Record<string, number>>(`/counters?connection=${CONNECTION}`),
  faults: (faults: unknown[]) =>
    control('/faults', { method: 'POST', body: JSON.stringify(faults), headers: { 'content-type': 'application/json' } }),
  /** Seeds a lead as if the CRM already had it, through the stand-in's own API. */
  async seed(lead: Omit<WireLead, 'id'>): Promise<WireLead> {
    const res = await fetch(`${standinUrl}/crm/${CONNECTION}/lead`, {
      method: 'POST',
      body: JSON.stringify(lead),
      headers: { 'content-type': 'application/json', authorization: 'Bearer seed' },
    })
    return (await res.json()) as WireLead
  },
}

export const leadsWithEmail = async (email: string) =>
  (await standin.leads()).filter((l) => l.emails?.some((e) => e.email === email))

/** A client address of its own per request, so the per-IP rate limit only meets tests that ask for it. */
const randomIp = () => `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`

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

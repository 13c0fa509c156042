/**
 * What the bench scenarios share: the context the runner (bench/run.ts) hands
 * each one, the result each hands back, and the small helpers more than one of
 * them needs (posting forms, waiting for the queue, counting leads and calls,
 * table cells). Nothing here holds state between calls: what a run remembers
 * lives in the runner's context.
 */
import { type Call, isCrmOperation, type StandinClient, type WireLead, standinClient } from '../standin/client.ts'

// ------------------------------------------------------------- the contract

export const SCENARIO_NAMES = ['bundle', 'calls', 'throughput', 'faults', 'burst', 'crms', 'cost', 'load'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

/** A running local stack (the stand-in + `wrangler dev`) as a scenario sees it. */
export interface BenchStack {
  /** Names the stack in bench/out/wrangler-dev.log. */
  name: string
  workerUrl: string
  standinUrl: string
  /** The Unified connection id the Worker writes to (UNIFIED_CONNECTION_ID). */
  connectionId: string
  /** The stand-in's control surface and CRM routes (standin/client.ts). */
  standin: StandinClient
  /** What the Worker runs: the bundle scenario's default build, or src/. */
  served: string
  stop(): Promise<void>
}

export interface StackRequest {
  name: string
  connectionId: string
  /** Extra Worker vars (wrangler dev --var). */
  vars?: Record<string, string>
}

export interface BenchContext {
  /** Unique per `npm run bench`: a tag for emails, so no two runs' leads look alike. */
  run: string
  /** The project root. */
  root: string
  /** bench/out: the JSON results and wrangler's log. */
  outDir: string
  /** A scratch directory, removed when the bench ends. */
  tmpDir: string
  /** Aborted when the scenario's time limit is reached or the bench is interrupted. */
  signal: AbortSignal
  /**
   * The local Worker the calls and throughput scenarios share (connection `bench`), started on
   * first use and stopped by the runner before a scenario that starts Workers of its own.
   */
  sharedStack(): Promise<BenchStack>
  /** A local Worker of the scenario's own, with fresh state; the runner stops it if the scenario does not. */
  startStack(request: StackRequest): Promise<BenchStack>
  /** From now on, local Workers serve this build instead of src/ (the bundle scenario sets it). */
  serveBuild(script: string): void
  /** The next fake visitor address, unique within the run (one per form post, see `postForm`). */
  visitorIp(): string
  /** A progress note on stderr (the tables go to stdout). */
  progress(message: string): void
}

export interface ScenarioResult<Data> {
  /** Every target of the scenario is met (a scenario with an unmeasured part does not meet its target). */
  meetsTarget: boolean
  /** The scenario's table, as printed. */
  lines: string[]
  /** Everything measured, for bench/out/*.json. */
  data: Data
  /** What could not be measured (the bench then exits non-zero); empty when all was. */
  unmeasured: string[]
}

/** One scenario: measures, then describes what it measured. Throws only when nothing could be measured. */
export type Scenario<Data> = (ctx: BenchContext) => Promise<ScenarioResult<Data>>

/** Keep wrangler local: no telemetry, no update check (the banner). */
export const WRANGLER_QUIET = { WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true' }

// ------------------------------------------------------------------ timing

/** Resolves after `ms`; rejects as soon as `signal` is aborted, so no scenario outlives its limit. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** A request's signal: its own timeout, and the scenario's limit. */
export const within = (ms: number, signal?: AbortSignal): AbortSignal =>
  signal ? AbortSignal.any([AbortSignal.timeout(ms), signal]) : AbortSignal.timeout(ms)

// ------------------------------------------------------------ HTTP helpers

/** A stand-in client whose every call gives up after 10 s (the bench must not hang on a stuck stand-in). */
export const benchStandin = (url: string, signal?: AbortSignal): StandinClient =>
  standinClient(url, { fetch: (input, init) => fetch(input, { ...init, signal: within(10_000, signal) }) })

export async function getJson<T>(url: string, init: RequestInit = {}, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { ...init, signal: within(5000, signal) })
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status}`)
  return (await res.json()) as T
}

export type FormBody = Record<string, string>

/**
 * POST /forms/contact. JSON asks for JSON (202 with the submission id); urlencoded is a
 * browser's post (303 to the thank-you page). `ip` is the fake client address (cf-connecting-ip):
 * one per post, so the per-IP rate limit meets real traffic's spread.
 */
export function postForm(
  workerUrl: string,
  body: FormBody,
  { ip, encoding = 'json', signal, form = 'contact' }: { ip: string; encoding?: 'json' | 'urlencoded'; signal?: AbortSignal; form?: string },
): Promise<Response> {
  const url = `${workerUrl}/forms/${form}`
  if (encoding === 'json') {
    return fetch(url, {
      signal,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'cf-connecting-ip': ip },
      body: JSON.stringify(body),
    })
  }
  return fetch(url, {
    signal,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': ip },
    body: new URLSearchParams(body).toString(),
    redirect: 'manual',
  })
}

export interface Posted {
  /** The submission id of each post answered 202, by email. */
  accepted: Map<string, string>
  /** When each accepted post was sent (epoch ms), by email. */
  sentAt: Map<string, number>
  /** Other answers, by status ("failed": no answer). */
  refused: Record<string, number>
  /** From the first post sent to the last answer. */
  ms: number
}

/** Posts every body (each with an `email`) as JSON to `form`, `concurrency` at a time. */
export async function postAll(ctx: BenchContext, workerUrl: string, bodies: FormBody[], concurrency: number, form = 'contact'): Promise<Posted> {
  const accepted = new Map<string, string>()
  const sentAt = new Map<string, number>()
  const refused: Record<string, number> = {}
  let next = 0
  const t0 = Date.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let body = bodies[next++]; body; body = bodies[next++]) {
        const email = body.email ?? ''
        const sent = Date.now()
        try {
          const res = await postForm(workerUrl, body, { ip: ctx.visitorIp(), signal: within(10_000, ctx.signal), form })
          const answer = (await res.json().catch(() => undefined)) as { id?: string } | undefined
          if (res.status === 202 && answer?.id) {
            accepted.set(email, answer.id)
            sentAt.set(email, sent)
          } else refused[res.status] = (refused[res.status] ?? 0) + 1
        } catch {
          if (ctx.signal.aborted) throw ctx.signal.reason
          refused.failed = (refused.failed ?? 0) + 1
        }
      }
    }),
  )
  return { accepted, sentAt, refused, ms: Date.now() - t0 }
}

// ---------------------------------------------------- the Worker's own log

/** A row of the Worker's submission log (GET /operator/submissions), as far as the bench reads it. */
export interface WorkerSubmission {
  id: string
  state: string
  attempts: number
  action: string | null
  last_error: string | null
  updated_at: number
}

/** States in which a write for the submission may still come; every other state is final (written, failed, …). */
const UNSETTLED = new Set(['queued', 'retrying'])

/**
 * Polls the Worker's submission log (operator API, needs its OPERATOR_TOKEN) until every
 * submission in `ids` is settled, or `deadline`. The stand-in alone cannot tell when a write
 * is over: a lead whose create lost its answer sits in the CRM long before the Worker's retry
 * confirms it. (A fresh Worker: the newest 500 rows hold all of `ids`.)
 */
export async function settleSubmissions(
  ctx: BenchContext,
  workerUrl: string,
  token: string,
  ids: Set<string>,
  deadline: number,
): Promise<{ submissions: WorkerSubmission[]; timedOut: boolean }> {
  for (;;) {
    const { submissions } = await getJson<{ submissions: WorkerSubmission[] }>(
      `${workerUrl}/operator/submissions?limit=500`,
      { headers: { authorization: `Bearer ${token}` } },
      ctx.signal,
    )
    const mine = submissions.filter((s) => ids.has(s.id))
    const settled = mine.length === ids.size && mine.every((s) => !UNSETTLED.has(s.state))
    if (settled || Date.now() > deadline) return { submissions: mine, timedOut: !settled }
    await sleep(500, ctx.signal)
  }
}

// ------------------------------------------------------ the stand-in's view

export type Counters = Record<string, number>

export const totalCalls = (counters: Counters): number => Object.values(counters).reduce((a, b) => a + b, 0)

/** Unified's own reads of a connection and its integration (once a day) are not calls to the CRM. */
export const isCrmCall = isCrmOperation

/** CRM calls per operation made between two counter readings (operations with none left out). */
export function callsBetween(after: Counters, before: Counters): Counters {
  const out: Counters = {}
  for (const [op, n] of Object.entries(after)) if (isCrmCall(op) && n - (before[op] ?? 0) > 0) out[op] = n - (before[op] ?? 0)
  return out
}

/**
 * Waits until the queue consumer is done with a post: the connection's counters moved and
 * then stood still for 2 s (or never moved in 10 s), and `until` holds. Returns the counters.
 */
export async function settleCounters(
  ctx: BenchContext,
  stack: BenchStack,
  before: Counters,
  until: () => Promise<boolean> = async () => true,
): Promise<Counters> {
  const start = Date.now()
  let last = JSON.stringify(before)
  let lastChange: number | undefined
  for (;;) {
    await sleep(200, ctx.signal)
    const now = await stack.standin.counters(stack.connectionId)
    const text = JSON.stringify(now)
    if (text !== last) {
      last = text
      lastChange = Date.now()
    }
    const quiet = lastChange ? Date.now() - lastChange >= 2000 : Date.now() - start >= 10_000
    if (quiet && (await until())) return now
    if (Date.now() - start > 30_000) throw new Error('the queue consumer did not settle within 30 s')
  }
}

/** A lead's emails, lower-cased. */
export const emailsOf = (lead: WireLead): string[] => (lead.emails ?? []).map((e) => String(e.email).toLowerCase())

export interface LeadCount {
  written: number
  duplicates: number
  lost: number
  /** Leads in the CRM that carry none of the emails. */
  otherLeads: number
  /** A few names to start a diagnosis from, not the whole list. */
  duplicatedEmails: string[]
  lostEmails: string[]
}

/** Per email in the stand-in: written = has a lead, duplicates = leads beyond one, lost = has none. */
export function countLeads(leads: WireLead[], emails: string[]): LeadCount {
  const perEmail = new Map(emails.map((e) => [e, 0]))
  let other = 0
  for (const lead of leads) {
    const mine = new Set(emailsOf(lead).filter((e) => perEmail.has(e)))
    if (mine.size === 0) other++
    for (const e of mine) perEmail.set(e, (perEmail.get(e) ?? 0) + 1)
  }
  const entries = [...perEmail]
  return {
    written: entries.filter(([, n]) => n > 0).length,
    duplicates: entries.reduce((sum, [, n]) => sum + Math.max(0, n - 1), 0),
    lost: entries.filter(([, n]) => n === 0).length,
    otherLeads: other,
    duplicatedEmails: entries.filter(([, n]) => n > 1).map(([e]) => e).slice(0, 10),
    lostEmails: entries.filter(([, n]) => n === 0).map(([e]) => e).slice(0, 10),
  }
}

export type CallsByOperation = Record<string, { calls: number; byStatus: Record<string, number> }>

/** Calls per operation, and per answer status within it. */
export function callsByOperation(calls: Call[]): CallsByOperation {
  const out: CallsByOperation = {}
  for (const c of calls) {
    const op = (out[c.op] ??= { calls: 0, byStatus: {} })
    op.calls++
    op.byStatus[c.status] = (op.byStatus[c.status] ?? 0) + 1
  }
  return out
}

// ---------------------------------------------------------------- numbers

/** Nearest-rank percentile of an ascending list (Infinity stands for "not yet"). */
export const percentile = (sorted: number[], p: number): number | undefined =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

export const kib = (bytes: number): number => bytes / 1024

// ----------------------------------------------------------- table cells

export const verdict = (ok: boolean): string => (ok ? 'ok' : 'target missed')

/** A right-aligned number cell; '-' when there is none. */
export const num = (n: number | undefined, width: number, digits = 1): string =>
  (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width)

export const sec = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`)

/** "k1 v1, k2 v2" from an object, each pair through `fmt`. */
export const list = <V extends string | number>(o: Record<string, V>, fmt = (k: string, v: V) => `${k} ${v}`): string =>
  Object.entries(o)
    .map(([k, v]) => fmt(k, v))
    .join(', ')

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error))

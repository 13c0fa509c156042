/**
 * `npm run bench`: three numbers that keep lead-intake honest.
 *
 * a) The deployable bundle (`wrangler deploy --dry-run`): raw and gzip size of
 *    the Worker script, built with wrangler's default conditions (what
 *    `wrangler deploy` ships) and again with the SDK's TypeScript "source"
 *    export condition added. Target: ≤ 90 KiB gzip.
 * b) A local Worker (`wrangler dev` + the Unified stand-in, as `npm run dev`,
 *    serving the default build from a): requests/s and latency of form posts
 *    (JSON and urlencoded, unique emails, one fake client IP each) next to
 *    GET /healthz, in alternating rounds, with queue delivery idled so only the
 *    request path is measured. Target: form ≥ 70% of healthz.
 * c) Unified calls per lead, from the stand-in's counters: a new lead, a
 *    changed repeat, an identical repeat. Targets: ≤ 2, ≤ 2, ≤ 1.
 * d) Never lose a lead: a second local Worker (short retry delays) takes form
 *    posts while the stand-in answers 503 to everything, then one 429 with
 *    Retry-After, then creates whose answers are lost; counted per email in
 *    the stand-in once the Worker's own log says each submission is settled.
 *    Targets: every accepted lead written, 0 duplicates, 0 lost.
 *
 * Prints a table and writes bench/out/bench-<time>.json (and latest.json).
 * Everything runs on loopback. Exits non-zero only when something could not be
 * measured; a missed target prints "target missed".
 */
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import { ensureModernNode, ROOT, runWrangler, startLocalStack } from '../scripts/local-stack.ts'

await ensureModernNode()

const OUT = path.join(ROOT, 'bench', 'out')
/** wrangler's esbuild conditions when WRANGLER_BUILD_CONDITIONS is unset (it replaces them, comma-separated). */
const WRANGLER_DEFAULT_CONDITIONS = ['workerd', 'worker', 'browser']
const SDK_SOURCE_CONDITION = '@unified-api/typescript-sdk/source'
const TARGET = { gzipKiB: 90, formVsHealthz: 0.7, calls: { new: 2, changed: 2, identical: 1 }, faults: { duplicates: 0, lost: 0 } }
/** Up to `perEndpoint` requests each, in `rounds` alternating rounds; no new round after `budgetMs`. */
const LOAD = { perEndpoint: 2000, concurrency: 20, rounds: 20, warmup: 100, budgetMs: 60_000 }
/** How long the stand-in holds each Unified call during the throughput run (see throughput()). */
const HOLD_MS = 8000
/**
 * The fault run: `leads` posts during an outage of `outageMs`; after it, one 429 asking for
 * `retryAfterSeconds`, then the first `lostResponses` creates lose their answer. No new poll of
 * the Worker's log after `settleBudgetMs` from recovery.
 */
const FAULTS = { leads: 200, concurrency: 20, outageMs: 15_000, retryAfterSeconds: 2, lostResponses: 10, settleBudgetMs: 60_000 }
/**
 * Retries from 1 s (not 10), and enough attempts that the outage dead-letters nothing; a 2 s call
 * timeout, so a lost create's wait before searching again (6 timeouts) is 12 s, not 60: the run ends in seconds.
 */
const FAULT_VARS = { DELIVERY_BASE_DELAY_SECONDS: '1', DELIVERY_MAX_ATTEMPTS: '25', UNIFIED_TIMEOUT_MS: '2000' }
const TIME_LIMIT_MS = 230_000
/** Keep wrangler local: no telemetry, no update check (the banner). */
const QUIET = { WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true' }
const CONNECTION_ID = 'bench'
const RUN = Date.now().toString(36)

const started = new Date()
const result = { startedAt: started.toISOString(), node: process.versions.node, targets: TARGET, load: LOAD, faultLoad: FAULTS, errors: [] }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const kib = (bytes) => bytes / 1024
const verdict = (ok) => (ok ? 'ok' : 'target missed')

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lead-intake-bench-'))
let stack
let finishing = false
async function finish(code) {
  if (finishing) return
  finishing = true
  await stack?.stop()
  rmSync(tmp, { recursive: true, force: true })
  process.exit(code)
}
process.on('SIGINT', () => finish(130))
process.on('SIGTERM', () => finish(143))
setTimeout(() => {
  console.error(`bench: gave up after ${TIME_LIMIT_MS / 1000} s`)
  finish(1)
}, TIME_LIMIT_MS).unref()

// ---------------------------------------------------------------- a) bundle

/** Package of an esbuild input path: "src", "hono", "zod/v4", "@unified-api/typescript-sdk (dist)". */
function packageOf(input) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/)
  if (!m) return 'project'
  const [, name, rest] = m
  if (name === 'zod') return `zod/${rest.match(/^(v\d|mini|v4-mini)/)?.[1] ?? rest.split('/')[0]}`
  if (name === '@unified-api/typescript-sdk') return `${name} (${rest.startsWith('src/') ? 'src' : rest.startsWith('dist/') ? 'dist' : 'root'})`
  return name
}

/** Builds with `wrangler deploy --dry-run` into `dir` (kept: the local Worker serves the default build). */
async function measureBundle(label, conditions, dir) {
  const metafile = path.join(dir, 'meta.json')
  const output = await runWrangler(['deploy', '--dry-run', '--outdir', dir, '--metafile', metafile], {
    env: { ...QUIET, WRANGLER_BUILD_CONDITIONS: conditions?.join(',') },
  })
  let rawBytes = 0
  let gzipBytes = 0
  const files = readdirSync(dir).filter((f) => /\.(m?js|cjs)$/.test(f))
  for (const file of files) {
    const bytes = readFileSync(path.join(dir, file))
    rawBytes += bytes.length
    gzipBytes += gzipSync(bytes).length
  }
  const byPackage = {}
  const meta = JSON.parse(readFileSync(metafile, 'utf8'))
  for (const out of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs ?? {})) {
      const pkg = packageOf(input)
      byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput
    }
  }
  const largest = Object.entries(byPackage).sort((a, b) => b[1] - a[1])
  const sdk = largest.map(([p]) => p.match(/typescript-sdk \((\w+)\)/)?.[1]).filter((f) => f && f !== 'root')
  const upload = output.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/)
  return {
    label,
    conditions: conditions ?? WRANGLER_DEFAULT_CONDITIONS,
    conditionsFrom: conditions ? 'WRANGLER_BUILD_CONDITIONS' : 'wrangler default',
    files,
    rawBytes,
    gzipBytes,
    wranglerReport: upload ? { totalUploadKiB: Number(upload[1]), gzipKiB: Number(upload[2]) } : undefined,
    sdkBuiltFrom: sdk.length ? sdk.join('+') : 'none',
    bytesByPackage: Object.fromEntries(largest),
    meetsTarget: kib(gzipBytes) <= TARGET.gzipKiB,
  }
}

// ---------------------------------------------------------- helpers for b, c

async function getJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status}`)
  return res.json()
}

/** One fake visitor per form post (RFC 2544's benchmarking range), so the per-IP rate limit meets real traffic's spread. */
let visitor = 0
const visitorIp = () => {
  const n = visitor++
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`
}

const postJson = (workerUrl, body, signal) =>
  fetch(`${workerUrl}/forms/contact`, {
    signal,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'cf-connecting-ip': visitorIp() },
    body: JSON.stringify(body),
  })

const postUrlencoded = (workerUrl, body, signal) =>
  fetch(`${workerUrl}/forms/contact`, {
    signal,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': visitorIp() },
    body: new URLSearchParams(body).toString(),
    redirect: 'manual',
  })

// ------------------------------------------------------ c) calls per lead

const total = (counters) => Object.values(counters).reduce((a, b) => a + b, 0)
function diff(after, before) {
  const out = {}
  for (const [op, n] of Object.entries(after)) if (n - (before[op] ?? 0) > 0) out[op] = n - (before[op] ?? 0)
  return out
}

/**
 * Waits until the queue consumer is done with a post: the counters moved and
 * then stood still for 2 s (or never moved in 10 s), and `until` holds.
 */
async function settle(counterUrl, before, until = async () => true) {
  const start = Date.now()
  let last = JSON.stringify(before)
  let lastChange
  for (;;) {
    await sleep(200)
    const now = await getJson(counterUrl)
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

async function callsPerLead({ workerUrl, standinUrl }) {
  const counterUrl = `${standinUrl}/_standin/counters?connection=${CONNECTION_ID}`
  await getJson(`${standinUrl}/_standin/reset`, { method: 'POST' })
  const email = `calls-${RUN}@example.com`
  const first = { email, first_name: 'Ada', last_name: 'Lovelace', message: 'First message' }
  // Changes the CRM record: company fills an empty field and the message custom field is replaced.
  // (A new first_name would not: names are fill_if_empty, so that repeat would count as identical.)
  const changed = { ...first, company: 'Analytical Engines', message: 'Second message' }
  const steps = [
    ['new', 'new lead', first],
    ['changed', 'changed repeat', changed],
    ['identical', 'identical repeat', changed],
  ]
  const written = async () => {
    const leads = await getJson(`${standinUrl}/_standin/${CONNECTION_ID}/leads`)
    return leads.some((l) => (l.emails ?? []).some((e) => e.email === email))
  }
  const out = {}
  for (const [key, label, body] of steps) {
    const before = await getJson(counterUrl)
    const res = await postJson(workerUrl, body)
    const answer = await res.text()
    if (res.status !== 202) throw new Error(`${label}: POST /forms/contact answered ${res.status}: ${answer.slice(0, 200)}`)
    const after = await settle(counterUrl, before, key === 'new' ? written : undefined)
    const calls = diff(after, before)
    out[key] = { label, calls: total(calls), byOperation: calls, target: TARGET.calls[key], meetsTarget: total(calls) <= TARGET.calls[key] }
  }
  return out
}

// ----------------------------------------------------------- b) throughput

/** `n` requests, `concurrency` at a time; latencies in ms. */
async function burst(n, concurrency, send, expect) {
  const latencies = []
  const statuses = {}
  let errors = 0
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++
        const s = performance.now()
        try {
          const res = await send(AbortSignal.timeout(10_000))
          await res.arrayBuffer()
          statuses[res.status] = (statuses[res.status] ?? 0) + 1
          if (res.status !== expect) errors++
        } catch {
          statuses.failed = (statuses.failed ?? 0) + 1
          errors++
        }
        latencies.push(performance.now() - s)
      }
    }),
  )
  return { ms: performance.now() - t0, latencies, statuses, errors }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

async function throughput({ workerUrl, standinUrl }) {
  const lead = (tag) => (i) => ({
    email: `bench-${RUN}-${tag}${i}@example.com`,
    first_name: 'Ada',
    last_name: 'Lovelace',
    company: 'Analytical Engines',
    message: 'A benchmark lead',
  })
  const json = lead('j')
  const form = lead('u')
  let seq = 0 // unique emails across warm-up and rounds
  const endpoints = [
    { key: 'healthz', label: 'GET /healthz', expect: 200, send: (signal) => fetch(`${workerUrl}/healthz`, { signal }) },
    { key: 'formJson', label: 'POST form (JSON)', expect: 202, send: (signal) => postJson(workerUrl, json(seq++), signal) },
    { key: 'formUrlencoded', label: 'POST form (urlencoded)', expect: 303, send: (signal) => postUrlencoded(workerUrl, form(seq++), signal) },
  ]
  // Locally the queue consumer runs in the same workerd as the routes: left alone it would spend the
  // run writing the thousands of leads posted here and skew both endpoints by however far it got.
  // Every Unified call now waits HOLD_MS (under the SDK's 10 s timeout), so delivery idles on timers.
  await getJson(`${standinUrl}/_standin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ latency_ms: HOLD_MS }]),
  })
  for (const e of endpoints) await burst(LOAD.warmup, LOAD.concurrency, e.send, e.expect)

  const acc = Object.fromEntries(endpoints.map((e) => [e.key, { ms: 0, latencies: [], statuses: {}, errors: 0 }]))
  const perRound = LOAD.perEndpoint / LOAD.rounds
  const t0 = Date.now()
  let rounds = 0
  for (let round = 0; round < LOAD.rounds && Date.now() - t0 < LOAD.budgetMs; round++, rounds++) {
    // Rotate the order each round, so drift and noise (GC, the queue consumer catching up) hit every endpoint.
    for (let k = 0; k < endpoints.length; k++) {
      const e = endpoints[(round + k) % endpoints.length]
      const r = await burst(perRound, LOAD.concurrency, e.send, e.expect)
      const a = acc[e.key]
      a.ms += r.ms
      a.latencies.push(...r.latencies)
      a.errors += r.errors
      for (const [s, n] of Object.entries(r.statuses)) a.statuses[s] = (a.statuses[s] ?? 0) + n
    }
  }
  const out = { rounds, requestsPerRound: perRound, stoppedByBudget: rounds < LOAD.rounds, unifiedCallsHeldMs: HOLD_MS }
  for (const e of endpoints) {
    const a = acc[e.key]
    const sorted = a.latencies.sort((x, y) => x - y)
    out[e.key] = {
      label: e.label,
      requests: sorted.length,
      rps: sorted.length / (a.ms / 1000),
      p50ms: percentile(sorted, 50),
      p99ms: percentile(sorted, 99),
      statuses: a.statuses,
      errors: a.errors,
    }
  }
  for (const key of ['formJson', 'formUrlencoded']) {
    out[key].vsHealthz = out[key].rps / out.healthz.rps
    out[key].meetsTarget = out[key].vsHealthz >= TARGET.formVsHealthz
  }
  const failing = endpoints.filter((e) => out[e.key].errors > out[e.key].requests * 0.01)
  if (failing.length) {
    throw Object.assign(new Error(`unexpected answers: ${failing.map((e) => `${e.label} ${JSON.stringify(out[e.key].statuses)}`).join('; ')}`), { partial: out })
  }
  return out
}

// ------------------------------------------------------------ d) fault run

const setFaults = (standinUrl, faults) =>
  getJson(`${standinUrl}/_standin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) })

/** Posts every body, `concurrency` at a time: the submission id of each post answered 202, by email, and a count of other answers. */
async function postAll(workerUrl, bodies, concurrency) {
  const accepted = new Map()
  const refused = {}
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]
        try {
          const res = await postJson(workerUrl, body, AbortSignal.timeout(10_000))
          const answer = await res.json().catch(() => undefined)
          if (res.status === 202 && answer?.id) accepted.set(body.email, answer.id)
          else refused[res.status] = (refused[res.status] ?? 0) + 1
        } catch {
          refused.failed = (refused.failed ?? 0) + 1
        }
      }
    }),
  )
  return { accepted, refused }
}

/** Written (acknowledged) or dead-lettered: no write for the submission is still to come. */
const SETTLED = new Set(['written', 'failed'])

/**
 * Polls the Worker's submission log (operator API) until every submission in `ids` is settled, or
 * `deadline`. The stand-in alone cannot tell when the run is over: a lead whose create lost its
 * answer sits in the CRM long before the Worker's retry confirms it, and that retry is the write
 * that could duplicate it. (The Worker is fresh, so the newest 500 rows hold all of `ids`.)
 */
async function settleSubmissions(workerUrl, token, ids, deadline) {
  for (;;) {
    const { submissions } = await getJson(`${workerUrl}/operator/submissions?limit=500`, { headers: { authorization: `Bearer ${token}` } })
    const mine = submissions.filter((s) => ids.has(s.id))
    const settled = mine.length === ids.size && mine.every((s) => SETTLED.has(s.state))
    if (settled || Date.now() > deadline) return { submissions: mine, timedOut: !settled }
    await sleep(500)
  }
}

/** Per email in the stand-in: written = has a lead, duplicates = leads beyond one, lost = has none. */
function countLeads(leads, emails) {
  const perEmail = new Map(emails.map((e) => [e, 0]))
  let other = 0
  for (const lead of leads) {
    const mine = new Set((lead.emails ?? []).map((e) => String(e.email).toLowerCase()).filter((e) => perEmail.has(e)))
    if (mine.size === 0) other++
    for (const e of mine) perEmail.set(e, perEmail.get(e) + 1)
  }
  const entries = [...perEmail]
  return {
    written: entries.filter(([, n]) => n > 0).length,
    duplicates: entries.reduce((sum, [, n]) => sum + Math.max(0, n - 1), 0),
    lost: entries.filter(([, n]) => n === 0).length,
    otherLeads: other,
    // A few names to start a diagnosis from, not the whole list.
    duplicatedEmails: entries.filter(([, n]) => n > 1).map(([e]) => e).slice(0, 10),
    lostEmails: entries.filter(([, n]) => n === 0).map(([e]) => e).slice(0, 10),
  }
}

/** Calls per operation, and per answer status within it. */
function callsByOperation(calls) {
  const out = {}
  for (const c of calls) {
    const op = (out[c.op] ??= { calls: 0, byStatus: {} })
    op.calls++
    op.byStatus[c.status] = (op.byStatus[c.status] ?? 0) + 1
  }
  return out
}

/** Calls already under way when the 429 came (one batch's writers search together) may land this late. */
const PAUSE_GRACE_MS = 500

/** Unified calls that arrived while the 429's Retry-After ran (after the grace). Target: 0, for every writer. */
function callsDuringPause(calls) {
  const limited = calls.find((c) => c.status === 429)
  if (!limited) return undefined
  const from = limited.at + PAUSE_GRACE_MS
  const until = limited.at + FAULTS.retryAfterSeconds * 1000
  const calls429 = calls.filter((c) => c.at > from && c.at < until).length
  return { at: new Date(limited.at).toISOString(), seconds: FAULTS.retryAfterSeconds, calls: calls429, meetsTarget: calls429 === 0 }
}

/** What the Worker's log says: states, actions, attempts, and the errors of dead-lettered leads. */
function workerView(submissions) {
  const count = (key) => submissions.reduce((o, s) => ((o[s[key] ?? 'none'] = (o[s[key] ?? 'none'] ?? 0) + 1), o), {})
  const attempts = submissions.map((s) => s.attempts)
  return {
    byState: count('state'),
    byAction: count('action'),
    attempts: { max: Math.max(0, ...attempts), mean: attempts.reduce((a, b) => a + b, 0) / (attempts.length || 1) },
    failures: submissions.filter((s) => s.state === 'failed').map((s) => s.last_error).slice(0, 5),
  }
}

async function faultRun({ workerUrl, standinUrl }, token) {
  await getJson(`${standinUrl}/_standin/reset`, { method: 'POST' })
  const recoveredAt = Date.now() + FAULTS.outageMs
  await setFaults(standinUrl, [
    // The outage: every Unified call answers 503 until recoveredAt (the stand-in runs in this process: one clock).
    { status: 503, until_ms: recoveredAt },
    // Then the first call is told to wait: every writer of the connection must hold off, not just the one that asked.
    { status: 429, retry_after: String(FAULTS.retryAfterSeconds), times: 1 },
    // Then creates are done but their answers lost: the retry must find those leads, not create them again.
    { operations: ['lead.create'], lose_response: true, times: FAULTS.lostResponses },
  ])
  const emails = Array.from({ length: FAULTS.leads }, (_, i) => `fault-${RUN}-${i}@example.com`)
  const bodies = emails.map((email) => ({ email, first_name: 'Ada', last_name: 'Lovelace', message: 'Posted during an outage' }))
  const t0 = Date.now()
  const { accepted, refused } = await postAll(workerUrl, bodies, FAULTS.concurrency)
  const postedMs = Date.now() - t0
  const ids = new Set(accepted.values())
  const { submissions, timedOut } = await settleSubmissions(workerUrl, token, ids, recoveredAt + FAULTS.settleBudgetMs)

  const leads = await getJson(`${standinUrl}/_standin/${CONNECTION_ID}/leads`)
  const calls = (await getJson(`${standinUrl}/_standin/calls`)).filter((c) => c.connection === CONNECTION_ID)
  // Only accepted posts are the Worker's to write; a refused one was told to try again.
  const count = countLeads(leads, [...accepted.keys()])
  const ours = leads.filter((l) => (l.emails ?? []).some((e) => accepted.has(String(e.email).toLowerCase())))
  const lastLeadAt = Math.max(...ours.map((l) => Date.parse(l.created_at)))
  const settledAt = Math.max(...submissions.filter((s) => s.state === 'written').map((s) => s.updated_at))
  const byOperation = callsByOperation(calls)
  const sinceRecovery = (at) => (Number.isFinite(at) ? Math.max(0, at - recoveredAt) : undefined)
  return {
    vars: FAULT_VARS,
    posts: { sent: bodies.length, accepted: accepted.size, refused, postedMs, beforeRecovery: t0 + postedMs < recoveredAt },
    recoveredAt: new Date(recoveredAt).toISOString(),
    leads: { ...count, inStandin: leads.length },
    target: { written: accepted.size, ...TARGET.faults },
    meetsTarget: !timedOut && count.written === accepted.size && count.duplicates === TARGET.faults.duplicates && count.lost === TARGET.faults.lost,
    // The CRM's side (the last lead's created_at) and the Worker's (its last `written` in the log).
    recovery: { lastLeadWrittenMs: sinceRecovery(lastLeadAt), workerSettledMs: sinceRecovery(settledAt), timedOut },
    creates: { calls: byOperation['lead.create']?.calls ?? 0, byStatus: byOperation['lead.create']?.byStatus ?? {}, leads: ours.length },
    unifiedCalls: byOperation,
    retryAfter: callsDuringPause(calls),
    worker: workerView(submissions),
  }
}

// -------------------------------------------------------------------- run

async function part(name, fn) {
  try {
    return await fn()
  } catch (error) {
    result.errors.push({ part: name, message: error.message })
    console.error(`bench: ${name} failed: ${error.message}`)
    return error.partial
  }
}

mkdirSync(OUT, { recursive: true })
const stamp = started.toISOString().replace(/[:.]/g, '-')

const defaultBuild = path.join(tmp, 'default')
result.bundle = await part('bundle', async () => [
  await measureBundle('default', undefined, defaultBuild),
  await measureBundle('sdk-source', [...WRANGLER_DEFAULT_CONDITIONS, SDK_SOURCE_CONDITION], path.join(tmp, 'sdk-source')),
])

// The local Worker serves the default build measured above (what `wrangler deploy` ships), so
// edits to src/ or wrangler.toml during the run cannot reload it halfway.
const script = result.bundle ? path.join(defaultBuild, 'index.js') : undefined
const devLog = path.join(OUT, 'wrangler-dev.log')
const logStream = createWriteStream(devLog)
const stackOptions = { standinPort: 0, workerPort: 0, connectionId: CONNECTION_ID, output: logStream, env: QUIET, script, watchConfig: false }
stack = await part('local worker', () => startLocalStack({ ...stackOptions, persistTo: path.join(tmp, 'state') }))
result.localWorker = { served: script ? 'the default build (wrangler dev --no-bundle)' : 'src/ (wrangler dev)' }
if (stack) {
  // Calls first: the throughput run leaves thousands of leads in the queue.
  result.callsPerLead = await part('calls per lead', () => callsPerLead(stack))
  result.throughput = await part('throughput', () => throughput(stack))
  await stack.stop()
}
// A Worker of its own, with fresh state (the throughput run's backlog would bury these leads) and
// short retry delays. The operator token is thrown away with it; it lets the run read the Worker's log.
result.faults = await part('fault run', async () => {
  const token = crypto.randomUUID()
  stack = await startLocalStack({ ...stackOptions, persistTo: path.join(tmp, 'state-faults'), vars: { ...FAULT_VARS, OPERATOR_TOKEN: token } })
  try {
    return await faultRun(stack, token)
  } finally {
    await stack.stop()
  }
})
logStream.end()
result.finishedAt = new Date().toISOString()

// ------------------------------------------------------------------ report

const lines = []
const num = (n, w, d = 1) => (n === undefined ? '-' : n.toFixed(d)).padStart(w)
lines.push(`lead-intake bench, ${result.startedAt} (node ${process.versions.node})`, '')
if (result.bundle) {
  lines.push(`Bundle: wrangler deploy --dry-run          raw KiB  gzip KiB  SDK from   target <= ${TARGET.gzipKiB} KiB gzip`)
  for (const b of result.bundle) {
    const name = b.label === 'default' ? 'default (what wrangler deploy ships)' : '+ the SDK\'s "source" condition'
    lines.push(`  ${name.padEnd(39)}${num(kib(b.rawBytes), 8)}${num(kib(b.gzipBytes), 10)}  ${b.sdkBuiltFrom.padEnd(9)}  ${verdict(b.meetsTarget)}`)
  }
  lines.push(`  (second build: WRANGLER_BUILD_CONDITIONS=${[...WRANGLER_DEFAULT_CONDITIONS, SDK_SOURCE_CONDITION].join(',')})`)
  const top = Object.entries(result.bundle[0].bytesByPackage).slice(0, 4)
  lines.push(`  largest in default build (KiB before gzip): ${top.map(([p, n]) => `${p} ${kib(n).toFixed(0)}`).join(', ')}`, '')
}
if (result.throughput) {
  const t = result.throughput
  const budget = t.stoppedByBudget ? ` (time budget ${LOAD.budgetMs / 1000} s: stopped after round ${t.rounds} of ${LOAD.rounds})` : ''
  lines.push(`Local Worker, ${result.localWorker.served}: concurrency ${LOAD.concurrency}, ${t.rounds} alternating rounds of ${t.requestsPerRound}${budget};`)
  lines.push(`  queue delivery idled (stand-in holds Unified calls ${HOLD_MS / 1000} s), so only the request path is measured`)
  lines.push('  endpoint                  req/s   p50 ms   p99 ms  errors  vs healthz')
  for (const key of ['healthz', 'formJson', 'formUrlencoded']) {
    const e = t[key]
    if (!e) continue
    const ratio = e.vsHealthz === undefined ? '' : `  ${(e.vsHealthz * 100).toFixed(0).padStart(5)}%  ${verdict(e.meetsTarget)} (>= ${TARGET.formVsHealthz * 100}%)`
    lines.push(`  ${e.label.padEnd(24)}${num(e.rps, 7, 0)}${num(e.p50ms, 9)}${num(e.p99ms, 9)}${String(e.errors).padStart(8)}${ratio}`)
  }
  lines.push('')
}
if (result.callsPerLead) {
  lines.push('Unified calls per lead (stand-in counters)')
  for (const c of Object.values(result.callsPerLead)) {
    const ops = Object.entries(c.byOperation).map(([op, n]) => `${op} ${n}`).join(', ') || 'none'
    lines.push(`  ${c.label.padEnd(18)}${String(c.calls).padStart(3)}  ${`(${ops})`.padEnd(34)} ${verdict(c.meetsTarget)} (<= ${c.target})`)
  }
  lines.push('')
}
if (result.faults) {
  const f = result.faults
  const vars = Object.entries(f.vars).map(([k, v]) => `${k}=${v}`).join(', ')
  const row = (label, n, rest = '') => lines.push(`  ${label.padEnd(22)}${String(n).padStart(5)}  ${rest}`.trimEnd())
  const exactly = (n, target, eg = []) => `${verdict(n === target)} (= ${target})${eg.length ? `  e.g. ${eg.slice(0, 3).join(', ')}` : ''}`
  const sec = (ms) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`)
  const list = (o, fmt = (k, n) => `${k} ${n}`) => Object.entries(o).map(([k, n]) => fmt(k, n)).join(', ')
  const late = f.posts.beforeRecovery ? '' : ' (posting outlasted the outage)'
  lines.push(`Fault run, a second local Worker (${vars}): ${f.posts.sent} form posts in ${sec(f.posts.postedMs)}${late}`)
  lines.push(`  while every Unified call answers 503 for ${FAULTS.outageMs / 1000} s; then one 429 (Retry-After: ${FAULTS.retryAfterSeconds}), then ${FAULTS.lostResponses} creates lose their answer`)
  const refused = list(f.posts.refused)
  row('posts accepted (202)', f.posts.accepted, `of ${f.posts.sent}${refused ? ` (other answers: ${refused})` : ''}`)
  row('leads written', f.leads.written, exactly(f.leads.written, f.target.written))
  row('duplicates', f.leads.duplicates, exactly(f.leads.duplicates, f.target.duplicates, f.leads.duplicatedEmails))
  row('lost', f.leads.lost, exactly(f.leads.lost, f.target.lost, f.leads.lostEmails))
  const timedOut = f.recovery.timedOut ? `; gave up ${FAULTS.settleBudgetMs / 1000} s after recovery, the Worker's log is not settled` : ''
  lines.push(`  recovery to last lead ${sec(f.recovery.lastLeadWrittenMs).padStart(7)}  in the CRM; ${sec(f.recovery.workerSettledMs)} to the Worker's last "written"${timedOut}`)
  row('lead.create calls', f.creates.calls, `for ${f.creates.leads} leads (${list(f.creates.byStatus, (s, n) => `${n} answered ${s}`) || 'none'})`)
  if (f.retryAfter) row('calls in Retry-After', f.retryAfter.calls, `${verdict(f.retryAfter.meetsTarget)} (= 0 in the ${f.retryAfter.seconds} s asked for, after ${PAUSE_GRACE_MS} ms for calls under way)`)
  lines.push(`  Unified calls         ${Object.entries(f.unifiedCalls).map(([op, c]) => `${op} ${c.calls} (${list(c.byStatus, (s, n) => `${s}: ${n}`)})`).join('; ') || 'none'}`)
  const w = f.worker
  lines.push(`  Worker's log          ${list(w.byState)} (actions: ${list(w.byAction)}); attempts mean ${w.attempts.mean.toFixed(1)}, max ${w.attempts.max}`)
  for (const e of w.failures) lines.push(`    dead-lettered: ${e}`)
  lines.push('')
}
const jsonFile = path.join(OUT, `bench-${stamp}.json`)
writeFileSync(jsonFile, JSON.stringify(result, null, 2) + '\n')
writeFileSync(path.join(OUT, 'latest.json'), JSON.stringify(result, null, 2) + '\n')
lines.push(`JSON: ${path.relative(process.cwd(), jsonFile)} (and bench/out/latest.json); wrangler dev output: ${path.relative(process.cwd(), devLog)}`)
if (result.errors.length) lines.push(`Could not measure: ${result.errors.map((e) => e.part).join(', ')}`)
console.log(lines.join('\n'))
await finish(result.errors.length ? 1 : 0)

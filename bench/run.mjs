/**
 * `npm run bench`: three numbers that keep lead-intake honest.
 *
 * a) The deployable bundle (`wrangler deploy --dry-run`): raw and gzip size of
 *    the Worker script, built with wrangler's default conditions (what
 *    `wrangler deploy` ships) and again with the SDK's TypeScript "source"
 *    export condition added. Target: ≤ 60 KiB gzip.
 * b) A local Worker (`wrangler dev` + the Unified stand-in, as `npm run dev`,
 *    serving the default build from a): requests/s and latency of form posts
 *    (JSON and urlencoded, unique emails, one fake client IP each) next to
 *    GET /healthz, in alternating rounds, with queue delivery idled so only the
 *    request path is measured. Target: form ≥ 70% of healthz.
 * c) Unified calls per lead, from the stand-in's counters: a new lead, a
 *    changed repeat, an identical repeat. Targets: ≤ 2, ≤ 2, ≤ 1.
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
import { ensureModernNode, ROOT, runWrangler, startLocalStack } from '../scripts/local-stack.mjs'

await ensureModernNode()

const OUT = path.join(ROOT, 'bench', 'out')
/** wrangler's esbuild conditions when WRANGLER_BUILD_CONDITIONS is unset (it replaces them, comma-separated). */
const WRANGLER_DEFAULT_CONDITIONS = ['workerd', 'worker', 'browser']
const SDK_SOURCE_CONDITION = '@unified-api/typescript-sdk/source'
const TARGET = { gzipKiB: 60, formVsHealthz: 0.7, calls: { new: 2, changed: 2, identical: 1 } }
/** Up to `perEndpoint` requests each, in `rounds` alternating rounds; no new round after `budgetMs`. */
const LOAD = { perEndpoint: 2000, concurrency: 20, rounds: 20, warmup: 100, budgetMs: 60_000 }
/** How long the stand-in holds each Unified call during the throughput run (see throughput()). */
const HOLD_MS = 8000
const TIME_LIMIT_MS = 170_000
/** Keep wrangler local: no telemetry, no update check (the banner). */
const QUIET = { WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true' }
const CONNECTION_ID = 'bench'
const RUN = Date.now().toString(36)

const started = new Date()
const result = { startedAt: started.toISOString(), node: process.versions.node, targets: TARGET, load: LOAD, errors: [] }
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
stack = await part('local worker', () =>
  startLocalStack({
    standinPort: 0,
    workerPort: 0,
    connectionId: CONNECTION_ID,
    persistTo: path.join(tmp, 'state'),
    output: logStream,
    env: QUIET,
    script,
    watchConfig: false,
  }),
)
result.localWorker = { served: script ? 'the default build (wrangler dev --no-bundle)' : 'src/ (wrangler dev)' }
if (stack) {
  // Calls first: the throughput run leaves thousands of leads in the queue.
  result.callsPerLead = await part('calls per lead', () => callsPerLead(stack))
  result.throughput = await part('throughput', () => throughput(stack))
  await stack.stop()
}
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
const jsonFile = path.join(OUT, `bench-${stamp}.json`)
writeFileSync(jsonFile, JSON.stringify(result, null, 2) + '\n')
writeFileSync(path.join(OUT, 'latest.json'), JSON.stringify(result, null, 2) + '\n')
lines.push(`JSON: ${path.relative(process.cwd(), jsonFile)} (and bench/out/latest.json); wrangler dev output: ${path.relative(process.cwd(), devLog)}`)
if (result.errors.length) lines.push(`Could not measure: ${result.errors.map((e) => e.part).join(', ')}`)
console.log(lines.join('\n'))
await finish(result.errors.length ? 1 : 0)

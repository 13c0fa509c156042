/**
 * A burst against a CRM that rations its calls. The stand-in grants R calls a
 * second per connection (429 + Retry-After past it) and answers every call after
 * 100 ms. 300 distinct people are posted as fast as the Worker accepts them;
 * then: drain time (first post → the last person in the CRM) against the ideal
 * (calls needed ÷ R, where calls needed are the calls the stand-in served, not
 * the 429s), 429s as a share of all calls, Unified calls per person, and the
 * p50/p99 time from a person's post to their record in the CRM.
 *
 * Each configuration runs on a local Worker and connection of its own:
 * - R = 10, no configuration: drain ≤ 1.3× ideal, 429s ≤ 3 % of calls, ≤ 2.1 calls per person
 * - R = 10, UNIFIED_MAX_CALLS_PER_SECOND=10 (the Worker's pacer): drain ≤ 1.15× ideal, 0 429s
 * - R = 50, no configuration: drain ≤ 1.3× ideal (the Worker's own pace and pipeline must
 *   not be the bottleneck when the CRM is generous)
 * Each has a time budget from its first post; a run not drained by then reports
 * how far it got and "target missed: not drained in N s".
 *
 * And a double submit (on the R = 50 Worker, before its burst): the same fields
 * for the same person twice, 250 ms apart; the Unified calls the second post
 * caused (the pair's calls minus a single post's). Target: 0.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { WireLead } from '../../standin/client.ts'
import {
  type BenchContext,
  type BenchStack,
  type CallsByOperation,
  type Counters,
  type FormBody,
  type ScenarioResult,
  callsBetween,
  callsByOperation,
  countLeads,
  emailsOf,
  errorMessage,
  list,
  num,
  postAll,
  postForm,
  sec,
  settleSubmissions,
  sleep,
  totalCalls,
  verdict,
} from '../lib.ts'

const PEOPLE = 300
/** Posts in flight at once: enough that the Worker, not the bench, sets the pace of intake. */
const CONCURRENCY = 20
/** The stand-in's answer time for every call of the connection. */
const LATENCY_MS = 100
/** The double submit's second post follows the first's answer after this long ("within a second"). */
const DOUBLE_GAP_MS = 250
/** The queue whose batching shapes the burst (read from wrangler.toml, not changed). */
const QUEUE = 'lead-intake-leads'

interface RunTargets {
  /** Drain time as a multiple of the ideal. */
  drainVsIdeal?: number
  /** 429s as a share of all calls. */
  share429?: number
  /** 429s in all. */
  calls429?: number
  /** All calls (429s included) ÷ people written. */
  callsPerPerson?: number
}

interface RunSpec {
  key: 'r10' | 'r10-paced' | 'r50'
  label: string
  rate: number
  /** Extra Worker vars. */
  vars: Record<string, string>
  budgetMs: number
  targets: RunTargets
  doubleSubmit: boolean
}

const RUNS: RunSpec[] = [
  {
    key: 'r10',
    label: 'R = 10, no configuration',
    rate: 10,
    vars: {},
    budgetMs: 150_000,
    targets: { drainVsIdeal: 1.3, share429: 0.03, callsPerPerson: 2.1 },
    doubleSubmit: false,
  },
  {
    key: 'r10-paced',
    label: 'R = 10, UNIFIED_MAX_CALLS_PER_SECOND=10',
    rate: 10,
    vars: { UNIFIED_MAX_CALLS_PER_SECOND: '10' },
    budgetMs: 150_000,
    targets: { drainVsIdeal: 1.15, calls429: 0 },
    doubleSubmit: false,
  },
  { key: 'r50', label: 'R = 50, no configuration', rate: 50, vars: {}, budgetMs: 60_000, targets: { drainVsIdeal: 1.3 }, doubleSubmit: true },
]

/**
 * The shipped contact form without its timeline event: the targets (≤ 2.1 calls a person) count
 * the lead's own calls, as before timelines existed; an event adds exactly one call a person.
 */
const BURST_FORMS = JSON.stringify({
  contact: {
    fields: { email: 'email', first_name: 'first_name', last_name: 'last_name', company: 'company_name', phone: 'phone' },
    metadata: [{ field: 'message', slug: 'message', format: 'TEXTAREA' }],
    timeline: false,
  },
})

export interface BurstRun {
  label: string
  connectionId: string
  rate: number
  latencyMs: number
  vars: Record<string, string>
  budgetMs: number
  targets: RunTargets
  posts: { sent: number; accepted: number; refused: Record<string, number>; postedMs: number }
  /** Every accepted person is in the CRM. */
  drained: boolean
  written: number
  duplicates: number
  /** First post → the last person in the CRM (or the last served call answered, if later); when drained. */
  drainMs: number | undefined
  /** First post → drained, or → the end of the budget. */
  elapsedMs: number
  /** Calls the stand-in served (not 429): what the people needed when nothing is refused. */
  callsNeeded: number
  calls: number
  calls429: number
  share429: number
  /** callsNeeded ÷ R: the fastest the CRM allows. */
  idealMs: number
  drainVsIdeal: number | undefined
  /** All calls ÷ people written. */
  callsPerPerson: number | undefined
  peoplePerSecond: number
  servedCallsPerSecond: number
  /** Post → CRM over all accepted people; null when that share of people was not written in the run. */
  postToCrm: { p50Ms: number | null; p99Ms: number | null }
  byOperation: CallsByOperation
  checks: Partial<Record<keyof RunTargets, boolean>>
  meetsTarget: boolean
}

export interface DoubleSubmit {
  /** The Worker's answers to the two posts. */
  answers: number[]
  gapMs: number
  /** A single post of a new person: its calls. */
  single: Counters
  /** The same person posted twice: the pair's calls. */
  pair: Counters
  /** The pair's calls beyond a single post's: what the second post caused. */
  second: Counters
  secondCalls: number
  timedOut: boolean
  meetsTarget: boolean
}

export interface BurstData {
  people: number
  concurrency: number
  latencyMs: number
  queue: Record<string, string> | undefined
  runs: Partial<Record<RunSpec['key'], BurstRun>>
  doubleSubmit: DoubleSubmit | undefined
}

/** The consumer settings of `queue` in wrangler.toml (a [[queues.consumers]] table's `key = value` lines). */
function queueSettings(root: string, queue: string): Record<string, string> | undefined {
  const toml = readFileSync(path.join(root, 'wrangler.toml'), 'utf8')
  for (const table of toml.split(/^\[/m)) {
    if (!table.startsWith('[queues.consumers]]')) continue
    const values = Object.fromEntries([...table.matchAll(/^(\w+)\s*=\s*(.+?)\s*$/gm)].map(([, k = '', v = '']) => [k, v.replace(/^"(.*)"$/, '$1')]))
    if (values.queue === queue) return values
  }
  return undefined
}

/** Waits until the connection's counters have stood still for 2 s (at most `maxMs`): calls still under way are counted too. */
async function quiet(ctx: BenchContext, stack: BenchStack, maxMs = 15_000): Promise<void> {
  const start = Date.now()
  let last = ''
  let since = start
  while (Date.now() - start < maxMs) {
    const text = JSON.stringify(await stack.standin.counters(stack.connectionId))
    if (text !== last) {
      last = text
      since = Date.now()
    } else if (Date.now() - since >= 2000) return
    await sleep(250, ctx.signal)
  }
}

const subtract = (a: Counters, b: Counters): Counters =>
  Object.fromEntries(Object.entries(a).flatMap(([op, n]) => (n - (b[op] ?? 0) > 0 ? [[op, n - (b[op] ?? 0)]] : [])))

/** One post of `body`: the answer's status and, when accepted, the submission id. */
async function postOne(ctx: BenchContext, stack: BenchStack, body: FormBody): Promise<{ status: number; id?: string }> {
  const res = await postForm(stack.workerUrl, body, { ip: ctx.visitorIp(), signal: ctx.signal })
  const answer = (await res.json().catch(() => undefined)) as { id?: string } | undefined
  return { status: res.status, id: res.status === 202 ? answer?.id : undefined }
}

async function doubleSubmit(ctx: BenchContext, stack: BenchStack, token: string): Promise<DoubleSubmit> {
  ctx.progress('burst: double submit')
  const person = (email: string): FormBody => ({ email, first_name: 'Grace', last_name: 'Hopper', company: 'Navy', message: 'Submitted twice' })
  const settle = async (ids: (string | undefined)[]) => {
    const known = new Set(ids.filter((id): id is string => !!id))
    const { timedOut } = await settleSubmissions(ctx, stack.workerUrl, token, known, Date.now() + 30_000)
    await quiet(ctx, stack)
    return timedOut
  }
  const c0 = await stack.standin.counters(stack.connectionId)
  const once = await postOne(ctx, stack, person(`once-${ctx.run}@example.com`))
  if (once.status !== 202) throw new Error(`double submit: a single post answered ${once.status}`)
  const singleTimedOut = await settle([once.id])
  const c1 = await stack.standin.counters(stack.connectionId)

  const twice = person(`twice-${ctx.run}@example.com`)
  const first = await postOne(ctx, stack, twice)
  await sleep(DOUBLE_GAP_MS, ctx.signal)
  const second = await postOne(ctx, stack, twice)
  // The second post may be answered otherwise one day (refused as a repeat): only accepted posts are waited for.
  const pairTimedOut = await settle([first.id, second.id])
  const c2 = await stack.standin.counters(stack.connectionId)

  const single = callsBetween(c1, c0)
  const pair = callsBetween(c2, c1)
  const extra = subtract(pair, single)
  return {
    answers: [first.status, second.status],
    gapMs: DOUBLE_GAP_MS,
    single,
    pair,
    second: extra,
    secondCalls: totalCalls(extra),
    timedOut: singleTimedOut || pairTimedOut,
    meetsTarget: totalCalls(extra) === 0 && !singleTimedOut && !pairTimedOut,
  }
}

/** The burst itself on a ready stack: posts, waits until drained or the budget is spent, then reads the stand-in. */
async function burstOn(ctx: BenchContext, stack: BenchStack, spec: RunSpec): Promise<BurstRun> {
  const { standin, connectionId } = stack
  ctx.progress(`burst: ${spec.label}: ${PEOPLE} people (budget ${spec.budgetMs / 1000} s)`)
  const emails = Array.from({ length: PEOPLE }, (_, i) => `burst-${spec.key}-${ctx.run}-${i}@example.com`)
  const bodies = emails.map((email, i) => ({ email, first_name: 'Ada', last_name: `Burst ${i}`, message: 'One of a burst' }))
  const t0 = Date.now()
  const posted = await postAll(ctx, stack.workerUrl, bodies, CONCURRENCY)
  const people = [...posted.accepted.keys()]
  const deadline = t0 + spec.budgetMs

  let leads: WireLead[]
  let written: number
  for (;;) {
    leads = await standin.records(connectionId, 'lead')
    written = countLeads(leads, people).written
    if (written === people.length || Date.now() >= deadline) break
    await sleep(500, ctx.signal)
  }
  const drained = written === people.length
  const elapsedEnd = Date.now()
  if (drained) {
    // Calls after a person's create (none today) belong to the drain too.
    await quiet(ctx, stack)
    leads = await standin.records(connectionId, 'lead')
  }
  const count = countLeads(leads, people)
  const calls = (await standin.calls()).filter((c) => c.connection === connectionId && c.at >= t0)
  const calls429 = calls.filter((c) => c.status === 429).length
  const callsNeeded = calls.length - calls429

  // When each person reached the CRM: their lead's created_at (the first, should there be two).
  const createdAt = new Map<string, number>()
  for (const lead of leads) {
    const at = Date.parse(lead.created_at ?? '')
    if (!Number.isFinite(at)) continue
    for (const e of emailsOf(lead)) {
      const earlier = createdAt.get(e)
      if (posted.sentAt.has(e) && (earlier === undefined || at < earlier)) createdAt.set(e, at)
    }
  }
  const lastWrite = Math.max(...createdAt.values())
  const lastServed = Math.max(...calls.filter((c) => c.status !== 429).map((c) => c.at + LATENCY_MS))
  const drainMs = drained ? Math.max(lastWrite, lastServed) - t0 : undefined
  const elapsedMs = drainMs ?? elapsedEnd - t0
  // Not written in the run: later than anything measured (Infinity), so a percentile that falls there is unknown.
  const latencies = people.map((e) => (createdAt.get(e) ?? Infinity) - (posted.sentAt.get(e) ?? t0)).sort((a, b) => a - b)
  const pct = (p: number): number | null => {
    const v = latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]
    return v === undefined || !Number.isFinite(v) ? null : v
  }
  const idealMs = (callsNeeded / spec.rate) * 1000
  const drainVsIdeal = drainMs === undefined || idealMs === 0 ? undefined : drainMs / idealMs
  const share429 = calls.length ? calls429 / calls.length : 0
  const callsPerPerson = count.written ? calls.length / count.written : undefined

  const t = spec.targets
  const checks: BurstRun['checks'] = {}
  if (t.drainVsIdeal !== undefined) checks.drainVsIdeal = drainVsIdeal !== undefined && drainVsIdeal <= t.drainVsIdeal
  if (t.share429 !== undefined) checks.share429 = share429 <= t.share429
  if (t.calls429 !== undefined) checks.calls429 = calls429 <= t.calls429
  if (t.callsPerPerson !== undefined) checks.callsPerPerson = callsPerPerson !== undefined && callsPerPerson <= t.callsPerPerson
  return {
    label: spec.label,
    connectionId,
    rate: spec.rate,
    latencyMs: LATENCY_MS,
    vars: spec.vars,
    budgetMs: spec.budgetMs,
    targets: spec.targets,
    posts: { sent: bodies.length, accepted: people.length, refused: posted.refused, postedMs: posted.ms },
    drained,
    written: count.written,
    duplicates: count.duplicates,
    drainMs,
    elapsedMs,
    callsNeeded,
    calls: calls.length,
    calls429,
    share429,
    idealMs,
    drainVsIdeal,
    callsPerPerson,
    peoplePerSecond: count.written / (elapsedMs / 1000),
    servedCallsPerSecond: callsNeeded / (elapsedMs / 1000),
    postToCrm: { p50Ms: pct(50), p99Ms: pct(99) },
    byOperation: callsByOperation(calls),
    checks,
    meetsTarget: Object.values(checks).every(Boolean),
  }
}

/** The lines of one run's block. */
function describeRun(r: BurstRun): string[] {
  const lines: string[] = []
  const row = (label: string, value: string, note = '', check?: boolean, target?: string) =>
    lines.push(`    ${label.padEnd(18)}${value.padStart(9)}  ${check === undefined ? '' : `${verdict(check)} (${target})  `}${note}`.trimEnd())
  const refused = list(r.posts.refused)
  lines.push(
    `  ${r.label}: ${r.posts.accepted} of ${r.posts.sent} posts accepted in ${sec(r.posts.postedMs)}${refused ? ` (other answers: ${refused})` : ''}; budget ${r.budgetMs / 1000} s`,
  )
  if (r.drained) row('drain', sec(r.drainMs), 'first post → the last person in the CRM')
  else {
    const miss = r.checks.drainVsIdeal === undefined ? 'not drained' : 'target missed: not drained'
    lines.push(`    drain             ${miss} in ${r.budgetMs / 1000} s (${r.written} of ${r.posts.accepted} people written)`)
  }
  row('ideal', sec(r.idealMs), `${r.callsNeeded} calls served ÷ R ${r.rate}${r.drained ? '' : ' (so far)'}`)
  if (r.drained) row('drain ÷ ideal', `${num(r.drainVsIdeal, 0, 2)}×`, '', r.checks.drainVsIdeal, `<= ${r.targets.drainVsIdeal}×`)
  row('rate', `${r.servedCallsPerSecond.toFixed(1)}/s`, `calls served (R ${r.rate}); ${r.peoplePerSecond.toFixed(2)} people written/s`)
  const target429 = r.targets.share429 !== undefined ? `<= ${r.targets.share429 * 100} %` : `= ${r.targets.calls429}`
  const check429 = r.checks.share429 ?? r.checks.calls429
  row('429s', `${(r.share429 * 100).toFixed(1)} %`, `${r.calls429} of ${r.calls} calls`, check429, target429)
  const ops = Object.entries(r.byOperation).map(([op, c]) => `${op} ${c.calls}${c.byStatus['429'] ? ` (${c.byStatus['429']} refused)` : ''}`)
  const note = `${r.calls} calls ÷ ${r.written} people: ${ops.join(', ') || 'none'}${r.drained ? '' : '; some for people not yet written'}`
  row('calls per person', num(r.callsPerPerson, 0, 2), note, r.checks.callsPerPerson, `<= ${r.targets.callsPerPerson}`)
  const p = (ms: number | null) => (ms === null ? `> ${sec(r.elapsedMs)}` : sec(ms))
  row('post → CRM p50', p(r.postToCrm.p50Ms), `p99 ${p(r.postToCrm.p99Ms)}`)
  if (r.duplicates) row('duplicates', String(r.duplicates), 'leads beyond one per person')
  return lines
}

export async function burst(ctx: BenchContext): Promise<ScenarioResult<BurstData>> {
  const queue = queueSettings(ctx.root, QUEUE)
  const runs: BurstData['runs'] = {}
  let double: DoubleSubmit | undefined
  const unmeasured: string[] = []
  // BURST_RUNS=r50 (or r10,r10-paced…) measures only those runs: for working on one of them.
  const only = process.env.BURST_RUNS?.split(',')
  for (const spec of RUNS) {
    if (only && !only.includes(spec.key)) {
      unmeasured.push(`${spec.label}: left out (BURST_RUNS)`)
      continue
    }
    // A connection per run (and a Worker per run: the connection id is a Worker var), so runs don't mix.
    const connectionId = `burst-${spec.key}-${ctx.run}`
    const token = crypto.randomUUID()
    try {
      const stack = await ctx.startStack({ name: `burst-${spec.key}`, connectionId, vars: { FORMS: BURST_FORMS, ...spec.vars, OPERATOR_TOKEN: token } })
      try {
        await stack.standin.connection(connectionId, { rate_limit: { calls_per_second: spec.rate }, latency_ms: LATENCY_MS })
        if (spec.doubleSubmit) {
          try {
            double = await doubleSubmit(ctx, stack, token)
          } catch (error) {
            if (ctx.signal.aborted) throw error
            unmeasured.push(`double submit: ${errorMessage(error)}`)
          }
        }
        runs[spec.key] = await burstOn(ctx, stack, spec)
      } finally {
        // A run that did not drain leaves a backlog: it goes with its Worker.
        await stack.stop()
      }
    } catch (error) {
      if (ctx.signal.aborted) throw error
      unmeasured.push(`${spec.label}: ${errorMessage(error)}`)
    }
  }

  const lines = [
    `Burst: ${PEOPLE} distinct people posted at once (${CONCURRENCY} at a time), a local Worker and connection per run;`,
    `  the stand-in grants R calls/s per connection (429 + Retry-After past it) and answers each call after ${LATENCY_MS} ms`,
    `  queue ${QUEUE} (wrangler.toml): max_batch_size ${queue?.max_batch_size ?? '?'}, max_batch_timeout ${queue?.max_batch_timeout ?? '?'} s`,
  ]
  for (const spec of RUNS) {
    const r = runs[spec.key]
    if (r) lines.push(...describeRun(r))
    else lines.push(`  ${spec.label}: not measured`)
  }
  if (double) {
    const ops = list(double.second) || 'none'
    lines.push(
      `  double submit (R = 50 Worker): the same fields for one person twice, ${double.gapMs} ms apart (answers ${double.answers.join(', ')})`,
      `    the second post caused ${double.secondCalls} Unified call${double.secondCalls === 1 ? '' : 's'} (${ops})  ${verdict(double.meetsTarget)} (= 0)` +
        `; a single post ${totalCalls(double.single)}, the pair ${totalCalls(double.pair)}${double.timedOut ? '; the Worker had not settled in 30 s' : ''}`,
    )
  } else lines.push('  double submit: not measured')
  const judged = [runs.r10, runs['r10-paced'], runs.r50]
  return {
    meetsTarget: unmeasured.length === 0 && judged.every((r) => r?.meetsTarget === true) && double?.meetsTarget === true,
    lines,
    data: { people: PEOPLE, concurrency: CONCURRENCY, latencyMs: LATENCY_MS, queue, runs, doubleSubmit: double },
    unmeasured,
  }
}

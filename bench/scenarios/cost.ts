/**
 * What a lead costs: per submission, the units Cloudflare bills (Worker invocations, Durable Object
 * requests, queue operations, D1 queries with the rows read and written D1's own `meta` reports, R2
 * operations) and the Unified calls, counted by the Worker itself (src/meter.ts, on only with
 * METER_OPERATIONS = "true") on a local Worker of its own, for a new person, an identical repeat and
 * a burst of new people. Then 10,000 and 1,000,000 leads a month priced at Cloudflare's published
 * prices (PRICES below: which, from where, read when), next to what a Zapier plan charges for the
 * same leads, and how far one deployment goes (LIMITS: the platform's documented limits against the
 * counts). No target: the numbers are for README "What it costs" and "Limits".
 */
import { type BenchContext, type Counters, type ScenarioResult, callsBetween, getJson, num, postForm, settleCounters, sleep, totalCalls } from '../lib.ts'

/** The meter's keys (src/meter.ts). */
type Meter = {
  invocations: number
  durableObjectRequests: number
  queueOperations: number
  d1Queries: number
  d1RowsRead: number
  d1RowsWritten: number
  r2ClassA: number
  r2ClassB: number
}

/**
 * Cloudflare's Workers Paid prices (USD), from developers.cloudflare.com's pricing pages for Workers,
 * Durable Objects, Queues, D1 and R2, as stored by the search tool and read on 2026-12-04: what a
 * month includes, and the price per million beyond it. The $5 a month is the Workers Paid plan.
 */
export const PRICES = {
  read: '2026-12-04',
  base: 5,
  invocations: { included: 10e6, perMillion: 0.3 },
  durableObjectRequests: { included: 1e6, perMillion: 0.15 },
  queueOperations: { included: 1e6, perMillion: 0.4 },
  d1RowsRead: { included: 25e9, perMillion: 0.001 },
  d1RowsWritten: { included: 50e6, perMillion: 1.0 },
  r2ClassA: { included: 1e6, perMillion: 4.5 },
  r2ClassB: { included: 10e6, perMillion: 0.36 },
} as const

/**
 * Zapier bills a task per successful action step; a form → CRM Zap that finds or creates the person
 * and adds a note runs 2 to 3 actions a lead. The one plan price in the stored sources is a
 * third-party quote of Zapier's Professional plan ($89 a month for 5,000 tasks, overage at 1.25× the
 * task's price, capped at 3× the plan's tasks: arment.com's FAQ and help.zapier.com "How pay-per-task
 * billing works"); zapier.com/pricing itself can't be read from here. Formspree's plans are not in
 * the stored sources, so it is not priced.
 */
export const ZAPIER = { planPrice: 89, planTasks: 5000, overage: 1.25, tasksPerLead: 2 } as const

/**
 * Documented limits that bound one deployment (developers.cloudflare.com, read 2026-12-04): a D1
 * database holds 10 GB and runs its queries one at a time (so its throughput is 1 / query time: at
 * 1 ms a query, 1,000 queries a second); a queue takes 5,000 messages a second; one Durable Object
 * serves about 1,000 requests a second (its soft limit), and each connection's pace is one object.
 */
export const LIMITS = { d1QueriesPerSecondAt1ms: 1000, d1Bytes: 10 * 1024 ** 3, queueMessagesPerSecond: 5000, objectRequestsPerSecond: 1000 } as const

const FORMS = { lead: { rate_limit: false, fields: { company: 'company_name' } } }
const BURST = 50

export interface StepCost {
  label: string
  submissions: number
  /** Per submission. */
  perLead: Meter & { unifiedCalls: number }
  unifiedByOperation: Counters
}

export interface CostData {
  served: string
  steps: Record<'new' | 'repeat' | 'burst', StepCost>
  prices: typeof PRICES
  monthly: { leads: number; cloudflare: number; lines: Record<string, number>; zapier: number; zapierWithinPlan: boolean }[]
  limits: { submissionsPerSecond: number; firstLimit: string }
}

const per = (m: Meter, n: number): Meter => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v / n])) as Meter

/** The Worker's counts since the last read, without the request that reads them (one invocation). */
async function readMeter(workerUrl: string, token: string, signal: AbortSignal): Promise<Meter> {
  const m = await getJson<Meter>(`${workerUrl}/operator/meter?reset=1`, { headers: { authorization: `Bearer ${token}` } }, signal)
  return { ...m, invocations: m.invocations - 1 }
}

/** A month of `leads` at the per-lead counts, priced; the included amounts are the plan's, not per lead. */
export function priceMonth(perLead: Meter, leads: number) {
  const lines: Record<string, number> = {}
  for (const key of ['invocations', 'durableObjectRequests', 'queueOperations', 'd1RowsRead', 'd1RowsWritten', 'r2ClassA', 'r2ClassB'] as const) {
    const { included, perMillion } = PRICES[key]
    lines[key] = (Math.max(0, perLead[key] * leads - included) / 1e6) * perMillion
  }
  const cloudflare = PRICES.base + Object.values(lines).reduce((a, b) => a + b, 0)
  const tasks = leads * ZAPIER.tasksPerLead
  const perTask = ZAPIER.planPrice / ZAPIER.planTasks
  // Within 3× the plan's tasks: the plan plus overage. Past it Zaps stop, and a larger plan (not in the stored
  // sources) is needed: priced at the quoted plan's own price a task, a floor rather than a quote.
  const withinCap = tasks <= 3 * ZAPIER.planTasks
  const zapier = withinCap ? ZAPIER.planPrice + Math.max(0, tasks - ZAPIER.planTasks) * perTask * ZAPIER.overage : tasks * perTask
  return { leads, cloudflare, lines, zapier, zapierWithinPlan: withinCap }
}

export async function cost(ctx: BenchContext): Promise<ScenarioResult<CostData>> {
  const token = `bench-cost-${ctx.run}`
  const stack = await ctx.startStack({ name: 'cost', connectionId: 'bench-cost', vars: { FORMS: JSON.stringify(FORMS), OPERATOR_TOKEN: token, METER_OPERATIONS: 'true' } })
  ctx.progress('cost: operations per submission (new person, identical repeat, a burst of 50 new people)')
  const person = (i: number | string) => ({
    email: `cost-${i}-${ctx.run}@cost-${ctx.run}.example.org`,
    first_name: 'Ada',
    last_name: `Lovelace ${i}`,
    company: 'Analytical Engines',
    message: 'Please call me back',
  })
  const post = async (body: Record<string, string>) => {
    const res = await postForm(stack.workerUrl, body, { ip: ctx.visitorIp(), signal: ctx.signal, form: 'lead' })
    const text = await res.text()
    if (res.status !== 202) throw new Error(`POST /forms/lead answered ${res.status}: ${text.slice(0, 200)}`)
  }
  const step = async (label: string, bodies: Record<string, string>[]): Promise<StepCost> => {
    // Nothing else runs meanwhile: the counts are the step's alone.
    await readMeter(stack.workerUrl, token, ctx.signal)
    const before = await stack.standin.counters(stack.connectionId)
    await Promise.all(bodies.map(post))
    const after = await settleCounters(ctx, stack, before)
    // Bookkeeping after the last CRM call (the log row's outcome) is done within the quiet time settleCounters waits.
    await sleep(500, ctx.signal)
    const meter = await readMeter(stack.workerUrl, token, ctx.signal)
    const byOperation = callsBetween(after, before)
    const n = bodies.length
    return { label, submissions: n, perLead: { ...per(meter, n), unifiedCalls: totalCalls(byOperation) / n }, unifiedByOperation: byOperation }
  }

  // Warm-up: the isolate, the phone metadata, the connection's support data (read once a day).
  await step('warm-up', [person('warm')])
  const steps = {
    new: await step('new person', [person('one')]),
    repeat: await step('identical repeat', [person('one')]),
    burst: await step(`burst of ${BURST} new people`, Array.from({ length: BURST }, (_, i) => person(`burst-${i}`))),
  }
  await stack.stop()

  // A month of new people (the dearest case): every lead a new person.
  const monthly = [10_000, 1_000_000].map((leads) => priceMonth(steps.new.perLead, leads))
  // D1 runs one query at a time: the deployment's sustained rate is bounded by its queries a submission.
  const d1Bound = LIMITS.d1QueriesPerSecondAt1ms / Math.max(1, steps.burst.perLead.d1Queries)
  const objectBound = LIMITS.objectRequestsPerSecond / Math.max(1, steps.burst.perLead.unifiedCalls)
  const bounds = [
    { what: `D1 (one query at a time, ~1 ms each: ${num(steps.burst.perLead.d1Queries, 0, 1)} queries a submission)`, perSecond: d1Bound },
    { what: `the connection's pace object (~1,000 requests/s, one a Unified call)`, perSecond: objectBound },
    { what: 'the queue (5,000 messages/s)', perSecond: LIMITS.queueMessagesPerSecond / Math.max(1, steps.burst.perLead.queueOperations / 3) },
  ].sort((a, b) => a.perSecond - b.perSecond)
  const limits = { submissionsPerSecond: bounds[0]!.perSecond, firstLimit: bounds[0]!.what }

  const cols = ['invocations', 'durableObjectRequests', 'queueOperations', 'd1Queries', 'd1RowsRead', 'd1RowsWritten', 'r2ClassA', 'r2ClassB', 'unifiedCalls'] as const
  const heads = ['invoc', 'DO req', 'queue ops', 'D1 q', 'rows rd', 'rows wr', 'R2 A', 'R2 B', 'Unified']
  const lines = [`Cost of a lead (counted by the Worker, METER_OPERATIONS; local Worker: ${stack.served}), per submission`]
  lines.push(`  ${''.padEnd(26)}${heads.map((h) => h.padStart(10)).join('')}`)
  for (const s of Object.values(steps)) lines.push(`  ${s.label.padEnd(26)}${cols.map((c) => num(s.perLead[c], 10, 1)).join('')}`)
  lines.push(`  Priced at Cloudflare's published Workers Paid prices (read ${PRICES.read}), every lead a new person:`)
  for (const m of monthly) {
    const parts = Object.entries(m.lines).filter(([, v]) => v > 0).map(([k, v]) => `${k} $${v.toFixed(2)}`).join(', ') || 'all within the included amounts'
    const zapier = `Zapier ${m.zapierWithinPlan ? '≈' : '≥'} $${m.zapier.toFixed(0)}${m.zapierWithinPlan ? '' : ' (past the quoted plan\'s 3× task cap: its price a task, as a floor)'}`
    lines.push(`    ${m.leads.toLocaleString('en').padStart(9)} leads/month: Cloudflare $${m.cloudflare.toFixed(2)} ($5 plan + ${parts}); ${zapier} (${ZAPIER.tasksPerLead} tasks a lead)`)
  }
  lines.push('    CPU time, Durable Object duration and storage are not counted here (see README "What it costs").')
  lines.push(`  How far one deployment goes: ~${limits.submissionsPerSecond.toFixed(0)} submissions/s sustained, first bound: ${limits.firstLimit}`)
  for (const b of bounds.slice(1)) lines.push(`    then ~${b.perSecond.toFixed(0)}/s: ${b.what}`)
  return { meetsTarget: true, lines, data: { served: stack.served, steps, prices: PRICES, monthly, limits }, unmeasured: [] }
}

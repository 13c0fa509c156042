/**
 * How far the local stack goes: form posts offered at a rising rate (STEPS, STEP_MS each, a new person
 * and a fake client address each post, sent on a schedule whether or not the last was answered), to a
 * Worker of its own whose CRM limits nothing and answers every call after LATENCY_MS, until a limit
 * shows. Per step: the posts answered 202 per second, the answers' p50/p99, the answers that were not
 * 202, the people written to the CRM per second, and the backlog (accepted, not yet written) at the
 * step's end. A limit shows where
 * - the intake: a post answered other than 202, or its p99 over INTAKE_P99_MS, or fewer answered than
 *   offered (the Worker can't keep up with what arrives);
 * - delivery: the backlog grew by more than a tenth of what the step accepted and by more than
 *   BACKLOG_SECONDS of arrivals (what is in flight: the queue's batch timeout, the CRM's answers): the
 *   consumer writes fewer people a second than arrive; the queue holds them, nothing is lost, they wait;
 * - the CRM: a 429 (none expected: the stand-in limits nothing here).
 * The steps go on past a delivery limit (the queue is there to absorb it) and stop at the intake's.
 * No target: where the limits are and what they are, for README "Limits". Locally Miniflare runs one
 * consumer batch at a time, where Cloudflare runs up to max_concurrency: the delivery figure is the
 * local stack's, a floor for a deployment's.
 */
import { performance } from 'node:perf_hooks'
import { type BenchContext, type ScenarioResult, num, percentile, postForm, sleep, within } from '../lib.ts'

/** Posts offered a second, step by step. */
const STEPS = [10, 20, 40, 80, 160, 320]
const STEP_MS = 8000
/** The CRM's answer time for every call. */
const LATENCY_MS = 50
/** An answer slower than this at p99 is the intake at its limit (a person waits on the form). */
const INTAKE_P99_MS = 1000
/** Posts in flight at once, at most: past it the bench, not the Worker, would be what waits (the rest are not sent). */
const MAX_IN_FLIGHT = 512
/** Arrivals a backlog may hold without delivery falling behind: a batch waits up to 1 s (max_batch_timeout), then its calls. */
const BACKLOG_SECONDS = 2

const FORMS = { lead: { rate_limit: false, timeline: false } }

export interface LoadStep {
  offered: number
  sent: number
  /** Not sent: MAX_IN_FLIGHT posts were waiting for their answers. */
  notSent: number
  accepted: number
  /** Answers other than 202, by status ("failed": no answer). */
  refused: Record<string, number>
  acceptedPerSecond: number
  p50Ms: number | undefined
  p99Ms: number | undefined
  /** People written to the CRM (lead.create served) during the step, a second. */
  writtenPerSecond: number
  /** Accepted in all so far, not yet written, at the step's end. */
  backlog: number
  calls429: number
  limits: ('intake' | 'delivery' | 'crm')[]
}

export interface LoadData {
  served: string
  latencyMs: number
  stepMs: number
  steps: LoadStep[]
  /** The first step at which each limit showed (offered posts/s), if it did. */
  first: { intake?: number; delivery?: number; crm?: number }
}

export async function load(ctx: BenchContext): Promise<ScenarioResult<LoadData>> {
  const stack = await ctx.startStack({ name: 'load', connectionId: `bench-load-${ctx.run}`, vars: { FORMS: JSON.stringify(FORMS) } })
  const steps: LoadStep[] = []
  const first: LoadData['first'] = {}
  try {
    await stack.standin.connection(stack.connectionId, { latency_ms: LATENCY_MS })
    let acceptedTotal = 0
    let n = 0
    const created = async () => (await stack.standin.counters(stack.connectionId))['lead.create'] ?? 0
    const refusedCalls = async () => Object.values(await stack.standin.counters(stack.connectionId, { status: 429 })).reduce((a, b) => a + b, 0)
    // Warm-up: the isolate, the connection's support data.
    const warm = await postForm(stack.workerUrl, { email: `load-warm-${ctx.run}@load.example.org` }, { ip: ctx.visitorIp(), signal: ctx.signal, form: 'lead' })
    if (warm.status !== 202) throw new Error(`POST /forms/lead answered ${warm.status}: ${(await warm.text()).slice(0, 200)}`)
    await warm.arrayBuffer()
    acceptedTotal += 1
    await sleep(1000, ctx.signal)
    for (const offered of STEPS) {
      ctx.progress(`load: ${offered} posts/s for ${STEP_MS / 1000} s`)
      const createdBefore = await created()
      const refused429Before = await refusedCalls()
      const latencies: number[] = []
      const refused: Record<string, number> = {}
      let accepted = 0
      let inFlight = 0
      let sent = 0
      let notSent = 0
      const pending: Promise<void>[] = []
      const t0 = performance.now()
      const total = Math.round((offered * STEP_MS) / 1000)
      for (let i = 0; i < total; i++) {
        // On schedule (an open loop): post i goes at i / offered s, whatever the answers before it.
        const due = t0 + (i * 1000) / offered
        const wait = due - performance.now()
        if (wait > 1) await sleep(wait, ctx.signal)
        if (inFlight >= MAX_IN_FLIGHT) {
          notSent += 1
          continue
        }
        inFlight += 1
        sent += 1
        const body = { email: `load-${n++}-${ctx.run}@load-${ctx.run}.example.org`, first_name: 'Ada', last_name: `Load ${n}`, message: 'A question' }
        const start = performance.now()
        pending.push(
          postForm(stack.workerUrl, body, { ip: ctx.visitorIp(), signal: within(10_000, ctx.signal), form: 'lead' })
            .then(async (res) => {
              await res.arrayBuffer()
              latencies.push(performance.now() - start)
              if (res.status === 202) accepted += 1
              else refused[res.status] = (refused[res.status] ?? 0) + 1
            })
            .catch(() => {
              if (ctx.signal.aborted) throw ctx.signal.reason
              refused.failed = (refused.failed ?? 0) + 1
            })
            .finally(() => {
              inFlight -= 1
            }),
        )
      }
      await Promise.all(pending)
      const elapsed = Math.max(STEP_MS, performance.now() - t0)
      const written = (await created()) - createdBefore
      acceptedTotal += accepted
      const backlog = acceptedTotal - (await created())
      const previousBacklog = steps.at(-1)?.backlog ?? 0
      const sorted = latencies.sort((a, b) => a - b)
      const p99 = percentile(sorted, 99)
      const calls429 = (await refusedCalls()) - refused429Before
      const limits: LoadStep['limits'] = []
      const acceptedPerSecond = (accepted * 1000) / elapsed
      if (Object.keys(refused).length || notSent || (p99 ?? 0) > INTAKE_P99_MS || acceptedPerSecond < offered * 0.9) limits.push('intake')
      if (backlog - previousBacklog > Math.max(accepted / 10, offered * BACKLOG_SECONDS)) limits.push('delivery')
      if (calls429 > 0) limits.push('crm')
      for (const l of limits) first[l] ??= offered
      steps.push({
        offered,
        sent,
        notSent,
        accepted,
        refused,
        acceptedPerSecond,
        p50Ms: percentile(sorted, 50),
        p99Ms: p99,
        writtenPerSecond: (written * 1000) / elapsed,
        backlog,
        calls429,
        limits,
      })
      if (limits.includes('intake')) break
    }
  } finally {
    await stack.stop()
  }

  const lines = [
    `Load: form posts offered at a rising rate (${STEP_MS / 1000} s a step, new people), a local Worker of its own (${stack.served});`,
    `  the stand-in limits nothing and answers each call after ${LATENCY_MS} ms. A limit: intake (an answer not 202, p99 > ${INTAKE_P99_MS} ms,`,
    `  or < 90 % of the offered posts answered), delivery (the backlog grows by > 10 % of the step and > ${BACKLOG_SECONDS} s of arrivals), the CRM (a 429);`,
    `  "not sent": ${MAX_IN_FLIGHT} posts were waiting for their answers.`,
    `  ${'offered/s'.padEnd(10)}${'202/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'not 202'.padStart(9)}${'not sent'.padStart(10)}${'written/s'.padStart(11)}${'backlog'.padStart(9)}  limit`,
  ]
  for (const s of steps) {
    const notAccepted = Object.values(s.refused).reduce((a, b) => a + b, 0)
    lines.push(
      `  ${String(s.offered).padEnd(10)}${num(s.acceptedPerSecond, 8)}${num(s.p50Ms, 9)}${num(s.p99Ms, 9)}${String(notAccepted).padStart(9)}${String(s.notSent).padStart(10)}${num(s.writtenPerSecond, 11)}${String(s.backlog).padStart(9)}  ${s.limits.join(', ') || '-'}`,
    )
  }
  const shown = Object.entries(first).sort((a, b) => a[1] - b[1])
  if (shown.length === 0) lines.push(`  No limit showed up to ${STEPS.at(-1)} posts/s.`)
  else {
    const [what, at] = shown[0]!
    const step = steps.find((s) => s.offered === at)!
    const where =
      what === 'delivery'
        ? `delivery: the consumer wrote ${num(step.writtenPerSecond, 0, 1)} people/s while ${num(step.acceptedPerSecond, 0, 1)}/s arrived (Miniflare runs one batch at a time)`
        : what === 'intake'
          ? `the intake: ${num(step.acceptedPerSecond, 0, 1)} posts/s answered 202, p99 ${num(step.p99Ms, 0, 0)} ms`
          : 'the CRM: it answered 429'
    lines.push(`  First limit at ${at} posts/s offered: ${where}.`)
    for (const [w, a] of shown.slice(1)) lines.push(`  Then ${w} at ${a} posts/s.`)
  }
  return { meetsTarget: true, lines, data: { served: stack.served, latencyMs: LATENCY_MS, stepMs: STEP_MS, steps, first }, unmeasured: [] }
}

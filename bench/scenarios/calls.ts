/**
 * Unified calls per lead, from the stand-in's counters: a new lead, a changed
 * repeat, an identical repeat, each posted once the one before has settled.
 * Targets: ≤ 2, ≤ 2, ≤ 1.
 *
 * Runs on the shared local Worker before the throughput scenario, which leaves
 * thousands of leads in its queue.
 */
import { type BenchContext, type Counters, type ScenarioResult, callsBetween, emailsOf, postForm, settleCounters, totalCalls, verdict } from '../lib.ts'

const TARGET = { new: 2, changed: 2, identical: 1 }

type Step = keyof typeof TARGET

export interface StepCalls {
  label: string
  calls: number
  byOperation: Counters
  target: number
  meetsTarget: boolean
}

export interface CallsData {
  served: string
  target: typeof TARGET
  steps: Record<Step, StepCalls>
}

export async function calls(ctx: BenchContext): Promise<ScenarioResult<CallsData>> {
  const stack = await ctx.sharedStack()
  ctx.progress('calls: a new lead, a changed repeat, an identical repeat')
  await stack.standin.reset()
  const email = `calls-${ctx.run}@example.com`
  const first = { email, first_name: 'Ada', last_name: 'Lovelace', message: 'First message' }
  // Changes the CRM record: company fills an empty field and the message custom field is replaced.
  // (A new first_name would not: names are fill_if_empty, so that repeat would count as identical.)
  const changed = { ...first, company: 'Analytical Engines', message: 'Second message' }
  const written = async () => (await stack.standin.records(stack.connectionId, 'lead')).some((l) => emailsOf(l).includes(email))

  /** Posts `body`, waits until its calls are over, and counts them. */
  const step = async (key: Step, label: string, body: Record<string, string>): Promise<StepCalls> => {
    const before = await stack.standin.counters(stack.connectionId)
    const res = await postForm(stack.workerUrl, body, { ip: ctx.visitorIp(), signal: ctx.signal })
    const answer = await res.text()
    if (res.status !== 202) throw new Error(`${label}: POST /forms/contact answered ${res.status}: ${answer.slice(0, 200)}`)
    const after = await settleCounters(ctx, stack, before, key === 'new' ? written : undefined)
    const byOperation = callsBetween(after, before)
    const n = totalCalls(byOperation)
    return { label, calls: n, byOperation, target: TARGET[key], meetsTarget: n <= TARGET[key] }
  }
  // One after another: each step's calls are counted once the one before has settled.
  const results: Record<Step, StepCalls> = {
    new: await step('new', 'new lead', first),
    changed: await step('changed', 'changed repeat', changed),
    identical: await step('identical', 'identical repeat', changed),
  }

  const lines = [`Unified calls per lead (stand-in counters; local Worker: ${stack.served})`]
  for (const c of Object.values(results)) {
    const ops = Object.entries(c.byOperation).map(([op, n]) => `${op} ${n}`).join(', ') || 'none'
    lines.push(`  ${c.label.padEnd(18)}${String(c.calls).padStart(3)}  ${`(${ops})`.padEnd(34)} ${verdict(c.meetsTarget)} (<= ${c.target})`)
  }
  return {
    meetsTarget: Object.values(results).every((c) => c.meetsTarget),
    lines,
    data: { served: stack.served, target: TARGET, steps: results },
    unmeasured: [],
  }
}

/**
 * Unified calls per submission, by what a form writes (README "What gets written"), from the
 * stand-in's counters: a new person, a changed repeat, a repeat that changes nothing on the
 * records, and a double submit (the same fields again within minutes), each posted once the one
 * before has settled. Every submission also goes on the record's timeline (one event).
 *
 * Targets (issue "Leads and contacts"): `lead` 2 / 1 as before, plus 1 for the event;
 * `contact+lead` with `company` ≤ 6 for a new person, ≤ 3 for a repeat; a double submit 0.
 * The `contact+lead` form says `leads_need_contacts = true` (as an operator of a CRM that holds no
 * lead without a contact would): a contact just made gets its lead without a lead search.
 * Runs on a local Worker of its own, whose FORMS are the two modes.
 */
import { type BenchContext, type Counters, type ScenarioResult, callsBetween, emailsOf, postForm, settleCounters, totalCalls, verdict } from '../lib.ts'

/** The two modes measured, as forms of the Worker under test. */
const FORMS = {
  lead: { rate_limit: false, fields: { company: 'company_name' } },
  both: { rate_limit: false, write: 'contact+lead', company: true, leads_need_contacts: true, fields: { company: 'company_name' } },
}

type Mode = keyof typeof FORMS
type Step = 'new' | 'changed' | 'repeat' | 'double'

const TARGET: Record<Mode, Record<Step, number>> = {
  lead: { new: 3, changed: 3, repeat: 2, double: 0 },
  both: { new: 6, changed: 5, repeat: 3, double: 0 },
}

const LABELS: Record<Step, string> = {
  new: 'new person',
  changed: 'changed repeat',
  repeat: 'unchanged repeat',
  double: 'double submit',
}

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
  modes: Record<Mode, Record<Step, StepCalls>>
}

export async function calls(ctx: BenchContext): Promise<ScenarioResult<CallsData>> {
  const stack = await ctx.startStack({ name: 'calls', connectionId: 'bench-calls', vars: { FORMS: JSON.stringify(FORMS) } })
  ctx.progress('calls: per mode, a new person, a changed repeat, an unchanged repeat and a double submit')

  const measure = async (mode: Mode, phone: string): Promise<Record<Step, StepCalls>> => {
    const email = `calls-${mode}-${ctx.run}@calls-${ctx.run}.example.org` // a company domain, new to the CRM
    const first = { email, first_name: 'Ada', last_name: 'Lovelace', company: 'Analytical Engines', message: 'First message' }
    // A new phone changes the records (one per mode: a number two people share joins them); another message only goes on the timeline.
    const changed = { ...first, phone, message: 'Second message' }
    const unchanged = { ...changed, message: 'Third message' }
    const written = async () => (await stack.standin.records(stack.connectionId, mode === 'lead' ? 'lead' : 'contact')).some((l) => emailsOf(l).includes(email))
    const step = async (key: Step, body: Record<string, string>): Promise<StepCalls> => {
      const before = await stack.standin.counters(stack.connectionId)
      const res = await postForm(stack.workerUrl, body, { ip: ctx.visitorIp(), signal: ctx.signal, form: mode })
      const answer = await res.text()
      if (res.status !== 202) throw new Error(`${mode} ${key}: POST /forms/${mode} answered ${res.status}: ${answer.slice(0, 200)}`)
      const after = await settleCounters(ctx, stack, before, key === 'new' ? written : undefined)
      const byOperation = callsBetween(after, before)
      const n = totalCalls(byOperation)
      return { label: LABELS[key], calls: n, byOperation, target: TARGET[mode][key], meetsTarget: n <= TARGET[mode][key] }
    }
    // One after another: each step's calls are counted once the one before has settled.
    return {
      new: await step('new', first),
      changed: await step('changed', changed),
      repeat: await step('repeat', unchanged),
      double: await step('double', unchanged),
    }
  }
  const modes = { lead: await measure('lead', '+44 20 7946 0018'), both: await measure('both', '+44 20 7946 0019') }

  const lines = [`Unified calls per submission (stand-in counters; local Worker: ${stack.served}; every submission adds one timeline event)`]
  for (const [mode, steps] of Object.entries(modes)) {
    lines.push(`  ${mode === 'lead' ? 'write = "lead"' : 'write = "contact+lead", company = true, leads_need_contacts = true'}`)
    for (const c of Object.values(steps)) {
      const ops = Object.entries(c.byOperation).map(([op, n]) => `${op} ${n}`).join(', ') || 'none'
      lines.push(`    ${c.label.padEnd(18)}${String(c.calls).padStart(3)}  ${`(${ops})`.padEnd(92)} ${verdict(c.meetsTarget)} (<= ${c.target})`)
    }
  }
  await stack.stop()
  return {
    meetsTarget: Object.values(modes).every((steps) => Object.values(steps).every((c) => c.meetsTarget)),
    lines,
    data: { served: stack.served, target: TARGET, modes },
    unmeasured: [],
  }
}

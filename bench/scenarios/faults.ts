/**
 * Never lose a lead: a local Worker of its own (fresh state, short retry
 * delays) takes form posts while the stand-in answers 503 to everything, then
 * one 429 with Retry-After, then creates whose answers are lost; counted per
 * email in the stand-in once the Worker's own log says each submission is
 * settled. Targets: every accepted lead written, 0 duplicates, 0 lost, and no
 * call while the Retry-After runs.
 */
import type { Call } from '../../standin/client.ts'
import {
  type BenchContext,
  type CallsByOperation,
  type LeadCount,
  type ScenarioResult,
  type WorkerSubmission,
  callsByOperation,
  countLeads,
  emailsOf,
  list,
  postAll,
  sec,
  settleSubmissions,
  verdict,
} from '../lib.ts'

const TARGET = { duplicates: 0, lost: 0 }
/**
 * `leads` posts during an outage of `outageMs`; after it, one 429 asking for `retryAfterSeconds`,
 * then the first `lostResponses` creates lose their answer. No new poll of the Worker's log after
 * `settleBudgetMs` from recovery.
 */
const FAULTS = { leads: 200, concurrency: 20, outageMs: 15_000, retryAfterSeconds: 2, lostResponses: 10, settleBudgetMs: 60_000 }
/**
 * Retries from 1 s (not 10), and enough attempts that the outage dead-letters nothing; a 2 s call
 * timeout, so a lost create's wait before searching again (6 timeouts) is 12 s, not 60: the run ends in seconds.
 */
const FAULT_VARS = { DELIVERY_BASE_DELAY_SECONDS: '1', DELIVERY_MAX_ATTEMPTS: '25', UNIFIED_TIMEOUT_MS: '2000' }
/** Calls already under way when the 429 came (one batch's writers search together) may land this late. */
const PAUSE_GRACE_MS = 500

export interface RetryAfterCheck {
  at: string
  seconds: number
  /** Unified calls that arrived while the Retry-After ran (after the grace). */
  calls: number
  meetsTarget: boolean
}

export interface WorkerView {
  byState: Record<string, number>
  byAction: Record<string, number>
  attempts: { max: number; mean: number }
  /** The errors of (up to five) dead-lettered leads. */
  failures: (string | null)[]
}

export interface FaultsData {
  served: string
  load: typeof FAULTS
  vars: typeof FAULT_VARS
  posts: { sent: number; accepted: number; refused: Record<string, number>; postedMs: number; beforeRecovery: boolean }
  recoveredAt: string
  leads: LeadCount & { inStandin: number }
  target: typeof TARGET & { written: number }
  /** The CRM's side (the last lead's created_at) and the Worker's (its last `written` in the log), from recovery. */
  recovery: { lastLeadWrittenMs: number | undefined; workerSettledMs: number | undefined; timedOut: boolean }
  creates: { calls: number; byStatus: Record<string, number>; leads: number }
  unifiedCalls: CallsByOperation
  retryAfter: RetryAfterCheck | undefined
  worker: WorkerView
}

/** Unified calls that arrived while the 429's Retry-After ran (after the grace). Target: 0, for every writer. */
function callsDuringPause(calls: Call[]): RetryAfterCheck | undefined {
  const limited = calls.find((c) => c.status === 429)
  if (!limited) return undefined
  const from = limited.at + PAUSE_GRACE_MS
  const until = limited.at + FAULTS.retryAfterSeconds * 1000
  const n = calls.filter((c) => c.at > from && c.at < until).length
  return { at: new Date(limited.at).toISOString(), seconds: FAULTS.retryAfterSeconds, calls: n, meetsTarget: n === 0 }
}

/** What the Worker's log says: states, actions, attempts, and the errors of dead-lettered leads. */
function workerView(submissions: WorkerSubmission[]): WorkerView {
  const count = (key: 'state' | 'action') =>
    submissions.reduce<Record<string, number>>((o, s) => ((o[s[key] ?? 'none'] = (o[s[key] ?? 'none'] ?? 0) + 1), o), {})
  const attempts = submissions.map((s) => s.attempts)
  return {
    byState: count('state'),
    byAction: count('action'),
    attempts: { max: Math.max(0, ...attempts), mean: attempts.reduce((a, b) => a + b, 0) / (attempts.length || 1) },
    failures: submissions.filter((s) => s.state === 'failed').map((s) => s.last_error).slice(0, 5),
  }
}

export async function faults(ctx: BenchContext): Promise<ScenarioResult<FaultsData>> {
  // The operator token is thrown away with the Worker; it lets the run read the Worker's log.
  const token = crypto.randomUUID()
  const stack = await ctx.startStack({ name: 'faults', connectionId: 'bench', vars: { ...FAULT_VARS, OPERATOR_TOKEN: token } })
  const { standin, connectionId } = stack
  ctx.progress(`faults: ${FAULTS.leads} posts during a ${FAULTS.outageMs / 1000} s outage, then a 429 and lost answers`)
  await standin.reset()
  const recoveredAt = Date.now() + FAULTS.outageMs
  await standin.faults([
    // The outage: every Unified call answers 503 until recoveredAt (the stand-in runs in this process: one clock).
    { status: 503, until_ms: recoveredAt },
    // Then the first call is told to wait: every writer of the connection must hold off, not just the one that asked.
    { status: 429, retry_after: String(FAULTS.retryAfterSeconds), times: 1 },
    // Then creates are done but their answers lost: the retry must find those leads, not create them again.
    { operations: ['lead.create'], lose_response: true, times: FAULTS.lostResponses },
  ])
  const emails = Array.from({ length: FAULTS.leads }, (_, i) => `fault-${ctx.run}-${i}@example.com`)
  const bodies = emails.map((email) => ({ email, first_name: 'Ada', last_name: 'Lovelace', message: 'Posted during an outage' }))
  const t0 = Date.now()
  const { accepted, refused, ms: postedMs } = await postAll(ctx, stack.workerUrl, bodies, FAULTS.concurrency)
  const ids = new Set(accepted.values())
  const { submissions, timedOut } = await settleSubmissions(ctx, stack.workerUrl, token, ids, recoveredAt + FAULTS.settleBudgetMs)

  const leads = await standin.records(connectionId, 'lead')
  const calls = (await standin.calls()).filter((c) => c.connection === connectionId)
  // Only accepted posts are the Worker's to write; a refused one was told to try again.
  const count = countLeads(leads, [...accepted.keys()])
  const ours = leads.filter((l) => emailsOf(l).some((e) => accepted.has(e)))
  const lastLeadAt = Math.max(...ours.map((l) => Date.parse(l.created_at ?? '')))
  const settledAt = Math.max(...submissions.filter((s) => s.state === 'written').map((s) => s.updated_at))
  const byOperation = callsByOperation(calls)
  const sinceRecovery = (at: number) => (Number.isFinite(at) ? Math.max(0, at - recoveredAt) : undefined)
  const f: FaultsData = {
    served: stack.served,
    load: FAULTS,
    vars: FAULT_VARS,
    posts: { sent: bodies.length, accepted: accepted.size, refused, postedMs, beforeRecovery: t0 + postedMs < recoveredAt },
    recoveredAt: new Date(recoveredAt).toISOString(),
    leads: { ...count, inStandin: leads.length },
    target: { written: accepted.size, ...TARGET },
    recovery: { lastLeadWrittenMs: sinceRecovery(lastLeadAt), workerSettledMs: sinceRecovery(settledAt), timedOut },
    creates: { calls: byOperation['lead.create']?.calls ?? 0, byStatus: byOperation['lead.create']?.byStatus ?? {}, leads: ours.length },
    unifiedCalls: byOperation,
    retryAfter: callsDuringPause(calls),
    worker: workerView(submissions),
  }
  const meetsTarget = !timedOut && count.written === accepted.size && count.duplicates === TARGET.duplicates && count.lost === TARGET.lost

  const lines: string[] = []
  const row = (label: string, n: number, rest = '') => lines.push(`  ${label.padEnd(22)}${String(n).padStart(5)}  ${rest}`.trimEnd())
  const exactly = (n: number, target: number, eg: string[] = []) =>
    `${verdict(n === target)} (= ${target})${eg.length ? `  e.g. ${eg.slice(0, 3).join(', ')}` : ''}`
  const vars = list(FAULT_VARS, (k, v) => `${k}=${v}`)
  const late = f.posts.beforeRecovery ? '' : ' (posting outlasted the outage)'
  lines.push(`Fault run, a local Worker of its own (${vars}): ${f.posts.sent} form posts in ${sec(f.posts.postedMs)}${late}`)
  lines.push(
    `  while every Unified call answers 503 for ${FAULTS.outageMs / 1000} s; then one 429 (Retry-After: ${FAULTS.retryAfterSeconds}), then ${FAULTS.lostResponses} creates lose their answer`,
  )
  const refusedText = list(f.posts.refused)
  row('posts accepted (202)', f.posts.accepted, `of ${f.posts.sent}${refusedText ? ` (other answers: ${refusedText})` : ''}`)
  row('leads written', f.leads.written, exactly(f.leads.written, f.target.written))
  row('duplicates', f.leads.duplicates, exactly(f.leads.duplicates, f.target.duplicates, f.leads.duplicatedEmails))
  row('lost', f.leads.lost, exactly(f.leads.lost, f.target.lost, f.leads.lostEmails))
  const gaveUp = timedOut ? `; gave up ${FAULTS.settleBudgetMs / 1000} s after recovery, the Worker's log is not settled` : ''
  lines.push(
    `  recovery to last lead ${sec(f.recovery.lastLeadWrittenMs).padStart(7)}  in the CRM; ${sec(f.recovery.workerSettledMs)} to the Worker's last "written"${gaveUp}`,
  )
  row('lead.create calls', f.creates.calls, `for ${f.creates.leads} leads (${list(f.creates.byStatus, (s, n) => `${n} answered ${s}`) || 'none'})`)
  if (f.retryAfter) {
    row(
      'calls in Retry-After',
      f.retryAfter.calls,
      `${verdict(f.retryAfter.meetsTarget)} (= 0 in the ${f.retryAfter.seconds} s asked for, after ${PAUSE_GRACE_MS} ms for calls under way)`,
    )
  }
  const ops = Object.entries(f.unifiedCalls).map(([op, c]) => `${op} ${c.calls} (${list(c.byStatus, (s, n) => `${s}: ${n}`)})`)
  lines.push(`  Unified calls         ${ops.join('; ') || 'none'}`)
  const w = f.worker
  lines.push(`  Worker's log          ${list(w.byState)} (actions: ${list(w.byAction)}); attempts mean ${w.attempts.mean.toFixed(1)}, max ${w.attempts.max}`)
  for (const e of w.failures) lines.push(`    dead-lettered: ${e}`)
  return { meetsTarget, lines, data: f, unmeasured: [] }
}

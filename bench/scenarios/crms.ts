/**
 * What lead-intake writes to each kind of CRM (issue 19): one local Worker, one form and one
 * connection per stand-in integration profile (standin/integrations/), each form configured as a
 * user of that CRM would configure it (PROFILES). Per profile:
 *
 * - CRM calls (the stand-in's counters, Unified's own `connection.get` / `integration.list` left
 *   out) of a new person, an identical repeat and a changed repeat, on an empty CRM, each posted
 *   once the one before is settled. "Identical" means identical record fields: the repeat brings
 *   another `message` (a timeline-only field), since the same fields again within 10 minutes are a
 *   double submit, which costs nothing by design (the calls scenario measures that). The changed
 *   repeat adds a phone.
 * - A 200-person mixed run (some without a last name, a company or a first name, some with a
 *   phone, a title, a website, a full name only): written, failed (grouped by the row's
 *   `last_error`), warned (rows whose `GET /operator/submissions/<id>` has warnings), CRM calls.
 * - Silently dropped fields: for every written submission, each submitted value must be on the
 *   record (lead, contact or company), on the submission's note (the NOTE event, or the record's
 *   `lead_intake_note` custom field where the CRM takes no note), or named in a warning.
 *
 * Targets (issue 19): 0 silently dropped fields; 0 `lead.update`/`contact.update` on an identical
 * repeat; <= 3 calls for a new person where the form writes a lead only (write = "auto" on a CRM
 * with leads).
 */
import type { ConnectionInput, IntegrationName, WireContact, WireEvent, WireLead } from '../../standin/client.ts'
import {
  type BenchContext,
  type BenchStack,
  type Counters,
  type FormBody,
  type ScenarioResult,
  type WorkerSubmission,
  callsBetween,
  isCrmCall,
  getJson,
  list,
  postAll,
  postForm,
  settleSubmissions,
  totalCalls,
  verdict,
  within,
} from '../lib.ts'

const MIXED_PEOPLE = 200
const CONCURRENCY = 8
const TARGET = { newPersonLeadMode: 3, identicalUpdates: 0, silentlyDropped: 0 }
/** Short retries, few attempts: a refusal that is retried settles as failed within the run, not in hours. */
const VARS = { DELIVERY_BASE_DELAY_SECONDS: '1', DELIVERY_MAX_ATTEMPTS: '4', UNIFIED_TIMEOUT_MS: '5000' }
/** How long a step, and a mixed run after its last post, may take to settle in the Worker's log. */
const STEP_SETTLE_MS = 60_000
const MIXED_SETTLE_MS = 180_000
/** The custom field a submission's note goes to where the CRM takes no note (src/crm/writer.ts NOTE_FIELD). */
const NOTE_FIELD = 'lead_intake_note'

interface ProfileSetup {
  /** Form keys a user of this CRM would set, beyond the bench's own (fields, rate_limit). */
  form: Record<string, unknown>
  /** The connection's settings in the stand-in (the CRM account as the user has it). */
  connection?: Omit<ConnectionInput, 'integration'>
  /** What the table says about the setup. */
  note: string
  /** The form writes a lead only (the new-person target applies). */
  leadMode: boolean
}

/** Each profile's form as its user would configure it; the message goes on the timeline only. */
const PROFILES: Record<IntegrationName, ProfileSetup> = {
  standin: { form: {}, note: 'write = "auto" (defaults)', leadMode: true },
  salesforce: {
    form: { status: 'Open - Not Contacted', defaults: { last_name: 'Unknown', company_name: 'Not provided' } },
    note: 'write = "auto", status = "Open - Not Contacted", defaults = { last_name = "Unknown", company_name = "Not provided" }',
    leadMode: true,
  },
  hubspot: { form: {}, note: 'write = "auto" (no leads: a contact)', leadMode: false },
  pipedrive: {
    form: { write: 'contact+lead' },
    note: 'write = "contact+lead" (a Pipedrive lead must hang off a person or organization)',
    leadMode: false,
  },
  closeio: { form: {}, note: 'write = "auto" (defaults)', leadMode: true },
  minimal: { form: {}, note: 'write = "auto" (defaults)', leadMode: true },
}

const NAMES = Object.keys(PROFILES) as IntegrationName[]
const connectionOf = (profile: IntegrationName) => `bench-crms-${profile}`

const FORMS = Object.fromEntries(
  NAMES.map((p) => [p, { rate_limit: false, fields: { company: 'company_name' }, connection: connectionOf(p), ...PROFILES[p].form }]),
)

// ------------------------------------------------------------------ people

const FIRST = ['Ada', 'Grace', 'Alan', 'Hedy', 'Linus', 'Radia', 'Tim', 'Barbara']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Lamarr', 'Torvalds', 'Perlman', 'Lee']

/** Person `i` of the mixed run: every one has an email and a message; the rest varies (see the top comment). */
function mixedPerson(i: number, run: string): FormBody {
  const company = i % 20
  const domain = i % 4 === 3 ? 'gmail.com' : `co${company}-${run}.example.org`
  const body: FormBody = { email: `mixed${i}-${run}@${domain}`, message: `Question ${i}: do you ship to Lisbon?` }
  if (i % 10 === 3) body.name = `${FIRST[i % FIRST.length]} ${LAST[i % LAST.length]}`
  else {
    if (i % 9 !== 4) body.first_name = FIRST[i % FIRST.length]!
    if (i % 5 !== 0) body.last_name = LAST[i % LAST.length]!
  }
  if (i % 3 !== 0) body.company = `Company ${company} ${run}`
  // Ofcom's drama range, 020 7946 0000-0999: unique per person (the steps use 09xx).
  if (i % 2 === 0) body.phone = `+44 20 7946 ${String(i).padStart(4, '0')}`
  if (i % 7 === 0) body.title = 'CTO'
  if (i % 4 === 1) body.website = `https://${domain}`
  return body
}

// ------------------------------------------------------- the Worker's side

interface Row extends WorkerSubmission {
  crm_ids?: string | null
  warnings?: string[]
}

interface RecordIds {
  lead?: string
  contact?: string
  company?: string
  event?: string
}

const idsOf = (row: Row): RecordIds => (row.crm_ids ? (JSON.parse(row.crm_ids) as RecordIds) : {})

/** Each row in full (its warnings are only on the single row's view), `CONCURRENCY` at a time. */
async function detailed(ctx: BenchContext, stack: BenchStack, token: string, rows: WorkerSubmission[]): Promise<Row[]> {
  const out: Row[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let row = rows[next++]; row; row = rows[next++]) {
        out.push(await getJson<Row>(`${stack.workerUrl}/operator/submissions/${row.id}`, { headers: { authorization: `Bearer ${token}` } }, ctx.signal))
      }
    }),
  )
  return out
}

// ---------------------------------------------------- silently dropped fields

interface CrmView {
  leads: Map<string, WireLead>
  contacts: Map<string, WireContact>
  companies: Map<string, { name?: string | null }>
  events: Map<string, WireEvent>
}

async function crmView(stack: BenchStack, connection: string): Promise<CrmView> {
  const byId = <T extends { id: string }>(records: T[]) => new Map(records.map((r) => [r.id, r]))
  return {
    leads: byId(await stack.standin.records(connection, 'lead')),
    contacts: byId(await stack.standin.records(connection, 'contact')),
    companies: byId(await stack.standin.records(connection, 'company')),
    events: byId(await stack.standin.records(connection, 'event')),
  }
}

/** "name: value" lines, as the note is written (src/crm/timeline.ts noteText). */
const noteAnswers = (text: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (text ?? '').split('\n').flatMap((line) => {
      const at = line.indexOf(': ')
      return at > 0 ? [[line.slice(0, at), line.slice(at + 2)]] : []
    }),
  )

const digits = (s: unknown) => String(s ?? '').replace(/\D/g, '')
const bareUrl = (s: unknown) => String(s ?? '').toLowerCase().replace(/^https?:\/\//, '').replace(/^www\./, '').replace(/\/+$/, '')
const same = (a: unknown, b: string) => typeof a === 'string' && a.trim().toLowerCase() === b.trim().toLowerCase()
const hasWord = (a: unknown, word: string) => typeof a === 'string' && a.toLowerCase().split(/\s+/).includes(word.toLowerCase())

type PersonRecord = Partial<WireLead & WireContact>

/** Whether a submitted field's value is on one of the person's records. */
function onRecord(field: string, value: string, records: PersonRecord[], company: { name?: string | null } | undefined): boolean {
  const meta = records.flatMap((r) => r.metadata ?? []).filter((m) => m.slug !== NOTE_FIELD)
  if (meta.some((m) => same(m.value, value))) return true
  return records.some((r) => {
    switch (field) {
      case 'email':
        return (r.emails ?? []).some((e) => same(e.email, value))
      case 'phone':
        return (r.telephones ?? []).some((t) => digits(t.telephone) === digits(value))
      case 'first_name':
      case 'last_name':
        return same(r[field], value) || hasWord(r.name, value)
      case 'name':
        return same(r.name, value) || same(`${r.first_name ?? ''} ${r.last_name ?? ''}`, value)
      case 'company':
        return same(r.company_name, value) || same(r.company, value) || same(company?.name, value)
      case 'title':
        return same(r.title, value)
      case 'website':
        return (r.link_urls ?? []).some((u) => bareUrl(u) === bareUrl(value))
      default:
        return false
    }
  })
}

/** How a warning names each submitted field (src/crm/person.ts: wire names, kept.ts describeDropped). */
const WARNING_TERMS: Record<string, string[]> = {
  email: ['emails', 'an email address'],
  phone: ['telephones', 'a phone number'],
  first_name: ['first_name', 'name'],
  last_name: ['last_name', 'name'],
  name: ['name', 'first_name', 'last_name'],
  company: ['company_name', 'company'],
  title: ['title', 'custom field title'],
  website: ['link_urls'],
  message: ['custom field message'],
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const names = (warning: string, term: string) => new RegExp(`(^|[\\s(,])${escape(term)}([:,)\\s]|$)`).test(warning)
/**
 * A warning that the note went nowhere: it covers every field the records don't hold ("its fields
 * (email, message, …) are in the submission log only", or the note's custom field refused).
 */
const coversAll = (warning: string) =>
  warning.includes("fields beyond the record's") || /^timeline note: .*its fields \(.*\) are in the submission log only/.test(warning) || names(warning, `custom field ${NOTE_FIELD}`)

export interface DropCheck {
  /** Submitted values checked (written submissions only). */
  values: number
  onRecord: number
  onNote: number
  /** Named by a warning about that field. */
  warned: number
  /** Covered only by a warning that the note went nowhere (see coversAll). */
  warnedInGeneral: number
  silentlyDropped: number
  /** Per submitted field: how many values were found where (record, note, warned, warnedInGeneral, silentlyDropped). */
  byField: Record<string, Record<string, number>>
  /** A few, as "field (what was written)": the bench's own made-up values are not shown. */
  examples: string[]
}

function checkDrops(checks: { body: FormBody; row: Row }[], crm: CrmView): DropCheck {
  const out: DropCheck = { values: 0, onRecord: 0, onNote: 0, warned: 0, warnedInGeneral: 0, silentlyDropped: 0, byField: {}, examples: [] }
  const count = (field: string, where: 'onRecord' | 'onNote' | 'warned' | 'warnedInGeneral' | 'silentlyDropped') => {
    out[where]++
    const f = (out.byField[field] ??= {})
    f[where] = (f[where] ?? 0) + 1
  }
  for (const { body, row } of checks) {
    if (row.state !== 'written') continue
    const ids = idsOf(row)
    const records: PersonRecord[] = []
    const lead = ids.lead ? crm.leads.get(ids.lead) : undefined
    const contact = ids.contact ? crm.contacts.get(ids.contact) : undefined
    if (lead) records.push(lead)
    if (contact) records.push(contact)
    const company = ids.company ? crm.companies.get(ids.company) : undefined
    const event = ids.event ? crm.events.get(ids.event) : undefined
    const kept = records.flatMap((r) => r.metadata ?? []).find((m) => m.slug === NOTE_FIELD)
    const note = noteAnswers(event?.note?.description ?? (typeof kept?.value === 'string' ? kept.value : undefined))
    const warnings = row.warnings ?? []
    for (const [field, value] of Object.entries(body)) {
      out.values++
      if (onRecord(field, value, records, company)) count(field, 'onRecord')
      else if (same(note[field], value)) count(field, 'onNote')
      else if (warnings.some((w) => (WARNING_TERMS[field] ?? [field]).some((t) => names(w, t)))) count(field, 'warned')
      else if (warnings.some(coversAll)) count(field, 'warnedInGeneral')
      else {
        count(field, 'silentlyDropped')
        const where = [ids.lead && 'lead', ids.contact && 'contact', event ? 'note' : kept ? 'note field' : 'no note'].filter(Boolean).join('+')
        if (out.examples.length < 5) out.examples.push(`${field} (${where})`)
      }
    }
  }
  return out
}

// ------------------------------------------------------------ one profile

export interface StepCalls {
  calls: number
  byOperation: Counters
  state: string
  updates: number
}

export interface MixedRun {
  posted: number
  accepted: number
  refused: Record<string, number>
  timedOut: boolean
  byState: Record<string, number>
  /** Failed rows by their `last_error`. */
  failed: Record<string, number>
  warned: number
  /** Warnings by their text (they name fields, never values), most frequent first. */
  warnings: Record<string, number>
  calls: number
  byOperation: Counters
}

export interface ProfileResult {
  profile: IntegrationName
  connection: string
  setup: string
  /** What the new person's submission wrote (lead, contact, company, event). */
  wrote: string[]
  steps: { new: StepCalls; identical: StepCalls; changed: StepCalls }
  mixed: MixedRun
  drops: DropCheck
  targets: { newPerson: number | undefined; identicalUpdates: number; silentlyDropped: number }
  meets: { newPerson: boolean; identicalUpdates: boolean; silentlyDropped: boolean }
}

/** Calls to the CRM: Unified's own reads of the connection and its integration (daily) are not the CRM's. */
const crmOnly = (counters: Counters): Counters =>
  Object.fromEntries(Object.entries(counters).filter(([op]) => isCrmCall(op)))

const tally = <T>(items: T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]))
}

async function measureProfile(ctx: BenchContext, stack: BenchStack, token: string, profile: IntegrationName, phoneSuffix: number): Promise<ProfileResult> {
  const connection = connectionOf(profile)
  const setup = PROFILES[profile]
  const counters = async () => crmOnly(await stack.standin.counters(connection))
  const settled = async (ids: Set<string>, budgetMs: number) => {
    const { submissions, timedOut } = await settleSubmissions(ctx, stack.workerUrl, token, ids, Date.now() + budgetMs)
    return { rows: await detailed(ctx, stack, token, submissions), timedOut }
  }

  // Steps on an empty CRM, each once the one before is settled in the Worker's log (its event is written by then).
  const email = `step-${profile}-${ctx.run}@crms-${ctx.run}.example.org`
  const first: FormBody = { email, first_name: 'Ada', last_name: 'Lovelace', company: 'Analytical Engines', message: 'First message' }
  const identical: FormBody = { ...first, message: 'Second message' }
  const changed: FormBody = { ...first, phone: `+44 20 7946 ${String(900 + phoneSuffix).padStart(4, '0')}`, message: 'Third message' }
  const checks: { body: FormBody; row: Row }[] = []
  const step = async (label: string, body: FormBody): Promise<StepCalls & { row: Row }> => {
    const before = await counters()
    const res = await postForm(stack.workerUrl, body, { ip: ctx.visitorIp(), signal: within(10_000, ctx.signal), form: profile })
    const answer = (await res.json().catch(() => undefined)) as { id?: string } | undefined
    if (res.status !== 202 || !answer?.id) throw new Error(`${profile} ${label}: POST /forms/${profile} answered ${res.status}`)
    const { rows, timedOut } = await settled(new Set([answer.id]), STEP_SETTLE_MS)
    const row = rows[0]
    if (!row || timedOut) throw new Error(`${profile} ${label}: not settled in ${STEP_SETTLE_MS / 1000} s`)
    checks.push({ body, row })
    const byOperation = callsBetween(await counters(), before)
    return { calls: totalCalls(byOperation), byOperation, state: row.state, updates: (byOperation['lead.update'] ?? 0) + (byOperation['contact.update'] ?? 0), row }
  }
  ctx.progress(`crms: ${profile}: new person, identical repeat, changed repeat`)
  const { row: newRow, ...newStep } = await step('new person', first)
  const { row: _identicalRow, ...identicalStep } = await step('identical repeat', identical)
  const { row: _changedRow, ...changedStep } = await step('changed repeat', changed)
  const wrote = Object.keys(idsOf(newRow))

  ctx.progress(`crms: ${profile}: ${MIXED_PEOPLE} mixed people`)
  const bodies = Array.from({ length: MIXED_PEOPLE }, (_, i) => mixedPerson(i, ctx.run))
  const before = await counters()
  const bodyOf = new Map(bodies.map((b) => [b.email!, b]))
  const posted = await postAll(ctx, stack.workerUrl, bodies, CONCURRENCY, profile)
  const { rows, timedOut } = await settled(new Set(posted.accepted.values()), MIXED_SETTLE_MS)
  const byOperation = callsBetween(await counters(), before)
  const emailOf = new Map([...posted.accepted].map(([e, id]) => [id, e]))
  for (const row of rows) checks.push({ body: bodyOf.get(emailOf.get(row.id) ?? '') ?? {}, row })
  const failedRows = rows.filter((r) => r.state === 'failed')
  const mixed: MixedRun = {
    posted: bodies.length,
    accepted: posted.accepted.size,
    refused: posted.refused,
    timedOut,
    byState: tally(rows, (r) => r.state),
    failed: tally(failedRows, (r) => r.last_error ?? 'no reason kept'),
    warned: rows.filter((r) => r.warnings?.length).length,
    warnings: tally(rows.flatMap((r) => r.warnings ?? []), (w) => w),
    calls: totalCalls(byOperation),
    byOperation,
  }
  const drops = checkDrops(checks, await crmView(stack, connection))
  const targets = { newPerson: setup.leadMode ? TARGET.newPersonLeadMode : undefined, identicalUpdates: TARGET.identicalUpdates, silentlyDropped: TARGET.silentlyDropped }
  return {
    profile,
    connection,
    setup: setup.note,
    wrote,
    steps: { new: newStep, identical: identicalStep, changed: changedStep },
    mixed,
    drops,
    targets,
    meets: {
      newPerson: targets.newPerson === undefined || (newStep.state === 'written' && newStep.calls <= targets.newPerson),
      identicalUpdates: identicalStep.updates <= targets.identicalUpdates,
      silentlyDropped: drops.silentlyDropped <= targets.silentlyDropped && !timedOut,
    },
  }
}

// ---------------------------------------------------------------- the table

const ops = (c: Counters) => list(c) || 'none'
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

function table(results: ProfileResult[], served: string): string[] {
  const lines = [
    `What each CRM accepts (issue 19): one local Worker (${served}, ${list(VARS, (k, v) => `${k}=${v}`)}), one form and connection per stand-in profile;`,
    `  CRM calls from the stand-in's counters (Unified's connection/integration reads left out); steps on an empty CRM; "identical" = same record fields, another message`,
  ]
  for (const r of results) {
    const s = r.steps
    lines.push(`  ${r.profile}: ${r.setup}; the new person wrote ${r.wrote.join(', ') || 'nothing'}`)
    const newTarget = r.targets.newPerson === undefined ? 'no target (not lead mode)' : `${verdict(r.meets.newPerson)} (<= ${r.targets.newPerson} in lead mode)`
    lines.push(`    new person        ${String(s.new.calls).padStart(3)}  ${`(${ops(s.new.byOperation)}) ${s.new.state}`.padEnd(70)} ${newTarget}`)
    lines.push(
      `    identical repeat  ${String(s.identical.calls).padStart(3)}  ${`(${ops(s.identical.byOperation)}) ${s.identical.state}`.padEnd(70)} ${verdict(r.meets.identicalUpdates)} (${s.identical.updates} updates, target ${r.targets.identicalUpdates})`,
    )
    lines.push(`    changed repeat    ${String(s.changed.calls).padStart(3)}  (${ops(s.changed.byOperation)}) ${s.changed.state}`)
    const m = r.mixed
    const refused = list(m.refused)
    lines.push(
      `    ${m.posted} mixed: ${m.accepted} accepted${refused ? ` (other answers: ${refused})` : ''}; ${list(m.byState)}; warned ${m.warned}; ${(m.calls / Math.max(1, m.accepted)).toFixed(1)} calls per person (${ops(m.byOperation)})${m.timedOut ? `; not settled within ${MIXED_SETTLE_MS / 1000} s` : ''}`,
    )
    for (const [reason, n] of Object.entries(m.failed).slice(0, 3)) lines.push(`      failed ${String(n).padStart(3)}: ${cut(reason, 150)}`)
    for (const [warning, n] of Object.entries(m.warnings).slice(0, 4)) lines.push(`      warning ${String(n).padStart(3)}: ${cut(warning, 150)}`)
    const d = r.drops
    lines.push(
      `    silently dropped  ${String(d.silentlyDropped).padStart(3)}  of ${d.values} values (on the record ${d.onRecord}, on the note ${d.onNote}, named in a warning ${d.warned}, under a warning that the note went nowhere ${d.warnedInGeneral})${d.examples.length ? ` e.g. ${d.examples.join(', ')}` : ''}  ${verdict(r.meets.silentlyDropped)} (= ${r.targets.silentlyDropped})`,
    )
  }
  return lines
}

export interface CrmsData {
  served: string
  vars: typeof VARS
  people: number
  target: typeof TARGET
  forms: typeof FORMS
  profiles: ProfileResult[]
}

export async function crms(ctx: BenchContext): Promise<ScenarioResult<CrmsData>> {
  const token = crypto.randomUUID()
  const stack = await ctx.startStack({ name: 'crms', connectionId: 'bench-crms', vars: { FORMS: JSON.stringify(FORMS), OPERATOR_TOKEN: token, ...VARS } })
  // The CRM accounts behind the connections, before the Worker first reads what they support.
  for (const profile of NAMES) await stack.standin.connection(connectionOf(profile), { integration: profile, ...PROFILES[profile].connection })
  const profiles: ProfileResult[] = []
  const unmeasured: string[] = []
  for (const [i, profile] of NAMES.entries()) {
    try {
      profiles.push(await measureProfile(ctx, stack, token, profile, i))
    } catch (error) {
      if (ctx.signal.aborted) throw error
      unmeasured.push(`${profile}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  await stack.stop()
  return {
    meetsTarget: unmeasured.length === 0 && profiles.every((p) => Object.values(p.meets).every(Boolean)),
    lines: table(profiles, stack.served),
    data: { served: stack.served, vars: VARS, people: MIXED_PEOPLE, target: TARGET, forms: FORMS, profiles },
    unmeasured,
  }
}

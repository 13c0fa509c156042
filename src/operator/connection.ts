/**
 * `GET /operator/connection` (and `npm run check-connection`): every
 * connection the configured sources write to, with its integration and what
 * that integration can do per object (Unified's support data, crm/support.ts),
 * what each source needs of it, and the setting to change where it can't.
 * Where the support data says nothing of an object (it could not be read, or
 * does not list the object), the object is probed read-only (crm/probe.ts).
 * Every line says which of the two it comes from.
 */
import { loadForms, planOf, UNSUPPORTED_FIX, whereConfigured } from '../config'
import { crmTarget, type CrmSettings } from '../crm/client'
import { readCapabilities } from '../crm/integration'
import type { ObjectName } from '../crm/objects/name'
import { type ObjectProbe, probeConnection } from '../crm/probe'
import { MAX_CANDIDATES } from '../crm/search'
import { type Capabilities, fallback, type Level, type ObjectSupport } from '../crm/support'
import { NOTE_FIELD } from '../crm/writer'
import type { WritePlan } from '../lead/draft'
import { endpoints } from '../sources/registry'

export interface SourcePlan {
  /** "form \"contact\" ([vars.FORMS.contact])", "[vars.STRIPE]". */
  source: string
  plan: WritePlan
}

export interface SourceCheck {
  source: string
  /** The objects this source writes on this CRM (`auto` resolved). */
  writes: string[]
  /** What will fail, and the setting that fixes it; each says where it comes from. */
  problems: string[]
  /** What works, but not as well as it could (or not as the source may expect); each says where it comes from. */
  notes: string[]
}

export const METHODS = ['list', 'get', 'create', 'update', 'remove'] as const

/** One object of the connection, as Unified's support data says or, where that says nothing, as the read-only probe found it. */
export interface ObjectReport {
  object: ObjectName
  /** `unified`: the integration's published support; `probe`: two read-only list calls (Unified said nothing of it). */
  from: 'unified' | 'probe'
  /** The methods the integration has for it (from `unified`). */
  methods?: Record<(typeof METHODS)[number], Level>
  /** A list filtered by `query` (email and name), `limit` honoured, `offset` honoured (from `unified`). */
  query?: Level
  limit?: Level
  offset?: Level
  /** The fields a write keeps (`outbound_fields`; from `unified`, where Unified lists them). */
  writes?: string[]
  /** The fields a write must carry (from `unified`, where Unified says). */
  requires?: string[]
  /** Whether it can be listed (from `probe`): `no` when the CRM answers 501. */
  readable?: ObjectProbe['readable']
  /** Whether a list honours `query` (from `probe`). */
  searchable?: ObjectProbe['searchable']
  /** Status, operation and error class of a failed probe call (never a response body). */
  error?: string
}

export interface ConnectionReport {
  connection: string
  /** The connection's integration (`integration_type`), when Unified said. */
  integration?: string
  /** `unified`: the integration's support data was read; `fallback`: it could not be, so nothing is assumed and every object was probed. */
  support: 'unified' | 'fallback'
  /** Why the support data could not be read (now), when it could not. */
  supportError?: string
  objects: ObjectReport[]
  /** The connection could not be checked at all (no key…): why. */
  error?: string
  sources: SourceCheck[]
}

/** Reads a connection's capabilities; never throws (a failure is the fallback, saying why). */
export type CapabilitiesReader = (connection: string) => Promise<Capabilities>

/** The vars sources are configured by; none of them need be in wrangler.toml (webhook secrets and configs are read by name). */
type SourceVars = CrmSettings & { FORMS?: unknown }

/** Every configured source with what it writes: each form, Typeform and Stripe once their secret or config is set, each `[vars.WEBHOOKS.<id>]`. */
export function sourcePlans(env: SourceVars): SourcePlan[] {
  const plans: SourcePlan[] = Object.entries(loadForms(env)).map(([id, c]) => ({
    source: whereConfigured({ source: 'form', form: id }),
    plan: planOf(c),
  }))
  for (const e of endpoints(env)) {
    const vars = env as Record<string, unknown>
    if (e.builtIn && !vars[e.secret] && !vars[e.builtIn]) continue
    plans.push({ source: whereConfigured({ source: e.id, form: '' }), plan: planOf(e.config) })
  }
  return plans
}

/** Unified says nothing of this object: every method and list option unknown (not listed in its support map, or not read). */
const silent = (o: ObjectSupport) => [...METHODS, 'query', 'limit', 'offset'].every((k) => o[k as keyof ObjectSupport] === 'unknown')

const fromUnified = (object: ObjectName, o: ObjectSupport): ObjectReport => ({
  object,
  from: 'unified',
  methods: { list: o.list, get: o.get, create: o.create, update: o.update, remove: o.remove },
  query: o.query,
  limit: o.limit,
  offset: o.offset,
  ...(o.writes ? { writes: o.writes } : {}),
  ...(o.requires ? { requires: o.requires } : {}),
})

const fromProbe = (p: ObjectProbe): ObjectReport => ({ object: p.object, from: 'probe', readable: p.readable, searchable: p.searchable, ...(p.error ? { error: p.error } : {}) })

/** What a line of the check rests on, said after it. */
const per = (o: ObjectReport | undefined) => (o?.from === 'unified' ? ' (Unified’s support data)' : o ? ' (read-only probe)' : '')

/** The CRM has no such records to make: by its support (create not supported) or by the probe (the object answers 501). */
const lacks = (o: ObjectReport | undefined) => o?.methods?.create === 'no' || o?.readable === 'no'

/** How a person is found in this object: `query`, by the CRM's search; `pages`, by reading every record; `no`, not at all; `unknown`. */
function findsBy(o: ObjectReport | undefined): 'query' | 'pages' | 'no' | 'unknown' {
  if (!o) return 'unknown'
  if (o.from === 'unified') return o.query === 'yes' ? 'query' : o.query === 'no' ? (o.methods?.list === 'no' ? 'no' : 'pages') : 'unknown'
  return o.searchable === 'yes' ? 'query' : o.searchable === 'ignores query' ? 'pages' : o.searchable === 'no' ? 'no' : 'unknown'
}

/** How far a search without `query` reads (crm/search.ts): 2,000 candidates, in pages of 100 or of the CRM's own size where it ignores `limit`. */
const budget = (o: ObjectReport | undefined) =>
  `up to ${MAX_CANDIDATES.toLocaleString('en-US')}${o?.limit === 'no' ? ', in pages of the size the CRM picks' : ''}`

/** A write keeps this field: yes unless Unified lists the object's fields without it. */
const keeps = (o: ObjectReport | undefined, field: string) => !o?.writes || o.writes.includes(field)

/** The fields of a person a source most often brings, as Unified names them on each object. */
const PERSON_FIELDS = {
  lead: ['emails', 'telephones', 'first_name', 'last_name', 'company_name', 'title'],
  contact: ['emails', 'telephones', 'first_name', 'last_name', 'title'],
} as const

/** Links a note takes, in the order a reader would name them. */
const NOTE_LINKS = [
  ['contact_ids', 'contact'],
  ['company_ids', 'company'],
  ['lead_ids', 'lead'],
] as const

function check(source: SourcePlan, objects: ObjectReport[]): SourceCheck {
  const problems: string[] = []
  const notes: string[] = []
  const at = (name: ObjectName) => objects.find((o) => o.object === name)
  const where = source.source
  const { plan } = source
  const lead = at('lead')
  // `auto` resolves as the writer resolves it: a lead unless the CRM is known to have none.
  const person =
    plan.write === 'auto'
      ? lacks(lead)
        ? { lead: false, contact: true }
        : { lead: true, contact: false }
      : { lead: plan.write !== 'contact', contact: plan.write !== 'lead' }
  if (plan.write === 'auto') {
    const why = lacks(lead) ? 'this CRM can’t create leads' : lead?.from === 'unified' && lead.methods?.create === 'yes' ? 'this CRM can create leads' : 'the default; a contact if the CRM answers it has no leads'
    notes.push(`write = "auto" writes a ${person.lead ? 'lead' : 'contact'} here (${why})${per(lead)}`)
  }
  const writes: ObjectName[] = [...(person.contact ? (['contact'] as const) : []), ...(person.lead ? (['lead'] as const) : []), ...(plan.company ? (['company'] as const) : []), ...(plan.timeline ? (['event'] as const) : [])]
  for (const name of ['contact', 'lead'] as const) {
    if (!person[name]) continue
    const o = at(name)
    if (lacks(o)) {
      problems.push((plan.write === 'auto' ? 'this CRM can create neither leads nor contacts: a source can’t write here' : UNSUPPORTED_FIX[name](where)) + per(o))
      continue
    }
    const finds = findsBy(o)
    if (finds === 'no') problems.push(`this CRM can’t search ${name}s, so lead-intake can’t tell a new person from a known one${per(o)}`)
    if (finds === 'pages')
      notes.push(`search by query not supported on ${name}s: lead-intake reads every ${name} (${budget(o)}) to find a person it has not seen, and fails a submission past that; people it has seen are found by its identity ledger${per(o)}`)
    if (o?.methods?.get === 'no') notes.push(`this CRM can’t read a ${name} back: a known person’s ${name} is not updated by later submissions (each says so in its warnings)${per(o)}`)
    else if (o?.methods?.update === 'no') notes.push(`this CRM can’t update a ${name}: a known person’s ${name} keeps what it has; what later submissions change is in their warnings${per(o)}`)
    const unwritten = PERSON_FIELDS[name].filter((f) => !keeps(o, f))
    if (unwritten.length) notes.push(`this CRM doesn’t write ${unwritten.join(', ')} on a ${name}: a submission’s ${unwritten.length === 1 ? 'value is' : 'values are'} not sent there (each submission says so in its warnings)${per(o)}`)
    if (!keeps(o, 'metadata')) notes.push(`this CRM writes no custom fields on a ${name}: consent, UTM and other custom fields are not written (each submission says so in its warnings)${per(o)}`)
    if (plan.owner && !keeps(o, 'user_id')) notes.push(`this CRM doesn’t write user_id on a ${name}: owner on ${where} has no effect there (each submission says so in its warnings)${per(o)}`)
    const unkept = Object.keys(plan.defaults ?? {}).filter((f) => !keeps(o, f))
    if (unkept.length)
      notes.push(`this CRM doesn’t write ${unkept.join(', ')} on a ${name}: ${unkept.map((f) => `defaults.${f}`).join(', ')} on ${where} ${unkept.length === 1 ? 'has' : 'have'} no effect there${per(o)}`)
  }
  if (plan.owner) {
    // Unified's CRM API has no users endpoint (its SDK neither), so the ids can only be named, not checked.
    const ids = [...new Set([plan.owner.user_id, ...(plan.owner.round_robin ?? []), ...(plan.owner.rules ?? []).flatMap((r) => [r.user_id, ...(r.round_robin ?? [])])].filter(Boolean))]
    notes.push(`owner: lead-intake can’t check that ${ids.join(', ')} ${ids.length === 1 ? 'is a user' : 'are users'} of this CRM (Unified lists no CRM users); a wrong id fails each create with the CRM’s reason`)
  }
  if (plan.company) {
    const o = at('company')
    if (lacks(o)) notes.push(`this CRM has no companies: people are linked to theirs by company name only${per(o)}`)
    else if (findsBy(o) === 'no') notes.push(`this CRM can’t search companies: people are linked to theirs by company name only${per(o)}`)
    else if (findsBy(o) === 'pages') notes.push(`search by query not supported on companies: lead-intake reads every company (${budget(o)}) to find one${per(o)}`)
  }
  if (plan.timeline) {
    const o = at('event')
    const primary = person.lead ? 'lead' : 'contact'
    const kept = keeps(at(primary), 'metadata') ? `it is kept in the ${primary}’s custom field ${NOTE_FIELD}` : 'its fields beyond the record’s are in the submission log only (until retention)'
    const linked = NOTE_LINKS.filter(([field, object]) => keeps(o, field) && (object === 'company' ? plan.company : person[object]))
    if (o?.methods?.create === 'no') {
      notes.push(`this CRM has no timeline notes: ${kept}; set timeline = false on ${where} if that is not wanted${per(o)}`)
    } else if (lacks(o)) {
      // Known from the probe only: the writer still tries the note, and the CRM's refusal becomes a warning.
      notes.push(
        `this CRM has no timeline notes: each submission’s note is refused (a warning on the submission) and its fields beyond the record’s are in the submission log only (until retention); set timeline = false on ${where} if that is not wanted${per(o)}`,
      )
    } else if (!linked.length) {
      const takes = NOTE_LINKS.filter(([field]) => keeps(o, field)).map(([, object]) => object)
      const fix = [...(takes.includes('contact') && !person.contact ? ['write = "contact+lead"'] : []), ...(takes.includes('company') ? ['company = true'] : [])]
      notes.push(`this CRM links a note only to a ${takes.join(' or ')}: ${kept}${fix.length ? `; for the note, set ${fix.join(', or ')} on ${where}` : ''}${per(o)}`)
    }
  }
  return { source: where, writes, problems, notes }
}

/** Reads the support data straight from Unified (a script, or no gate at hand); a failure is the fallback. */
const direct =
  (env: SourceVars): CapabilitiesReader =>
  async (connection) => {
    try {
      return await readCapabilities(crmTarget(env, connection))
    } catch (error) {
      return fallback((error as Error).message)
    }
  }

/** Checks each connection the sources use, one after another: its support data (two Unified calls), and two read-only calls per object it says nothing of. */
export async function checkConnections(env: SourceVars, read: CapabilitiesReader = direct(env)): Promise<ConnectionReport[]> {
  const plans = sourcePlans(env)
  const byConnection = new Map<string, SourcePlan[]>()
  for (const p of plans) {
    const connection = p.plan.connection || env.UNIFIED_CONNECTION_ID || ''
    byConnection.set(connection, [...(byConnection.get(connection) ?? []), p])
  }
  if (byConnection.size === 0) byConnection.set(env.UNIFIED_CONNECTION_ID || '', [])
  const reports: ConnectionReport[] = []
  for (const [connection, sources] of byConnection) {
    const caps = await read(connection)
    const head = {
      connection,
      ...(caps.integration ? { integration: caps.integration } : {}),
      support: caps.from,
      ...(caps.error ? { supportError: caps.error } : {}),
    }
    const names = Object.keys(caps.objects) as ObjectName[]
    const unknown = names.filter((n) => caps.from === 'fallback' || silent(caps.objects[n]))
    try {
      const probed = unknown.length ? await probeConnection(crmTarget(env, connection), unknown) : []
      const objects = names.map((n) => {
        const p = probed.find((x) => x.object === n)
        return p ? fromProbe(p) : fromUnified(n, caps.objects[n])
      })
      reports.push({ ...head, objects, sources: sources.map((s) => check(s, objects)) })
    } catch (error) {
      reports.push({ ...head, objects: [], error: (error as Error).message, sources: sources.map((s) => check(s, [])) })
    }
  }
  return reports
}

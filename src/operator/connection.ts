/**
 * `GET /operator/connection` (and `npm run check-connection`): every
 * connection the configured sources write to, probed read-only (crm/probe.ts),
 * with what each source needs of it and the setting to change where the CRM
 * can't give it.
 */
import { loadForms, planOf, UNSUPPORTED_FIX, whereConfigured } from '../config'
import { crmTarget, type CrmSettings } from '../crm/client'
import { type ObjectProbe, probeConnection } from '../crm/probe'
import { type Capabilities, personObjects } from '../crm/support'
import type { WritePlan } from '../lead/draft'
import { endpoints } from '../sources/registry'

export interface SourcePlan {
  /** "form \"contact\" ([vars.FORMS.contact])", "[vars.STRIPE]". */
  source: string
  plan: WritePlan
}

export interface SourceCheck {
  source: string
  /** The objects this source writes, as it is configured. */
  writes: string[]
  /** What will fail, and the setting that fixes it. */
  problems: string[]
  /** What works, but not as well as it could. */
  notes: string[]
}

export interface ConnectionReport {
  connection: string
  objects: ObjectProbe[]
  /** The probe could not run (no key, Unified unreachable): why. */
  error?: string
  sources: SourceCheck[]
}

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

const objectsOf = (p: WritePlan, caps?: Capabilities): ('lead' | 'contact' | 'company' | 'event')[] => [
  ...(personObjects(p.write, caps).contact ? (['contact'] as const) : []),
  ...(personObjects(p.write, caps).lead ? (['lead'] as const) : []),
  ...(p.company ? (['company'] as const) : []),
  ...(p.timeline ? (['event'] as const) : []),
]

function check(source: SourcePlan, objects: ObjectProbe[]): SourceCheck {
  const problems: string[] = []
  const notes: string[] = []
  const writes = objectsOf(source.plan)
  for (const name of writes) {
    const probe = objects.find((o) => o.object === name)
    if (!probe || probe.readable === 'error') continue
    if (probe.readable === 'no') {
      if (name === 'company') notes.push('this CRM has no companies: people are linked to theirs by company name only')
      else problems.push(UNSUPPORTED_FIX[name](source.source))
    } else if (name === 'event') {
      // Events are only created, never searched.
    } else if (probe.searchable === 'no') {
      if (name === 'company') notes.push('this CRM can’t search companies: people are linked to theirs by company name only')
      else problems.push(`this CRM can’t search ${name}s, so lead-intake can’t tell a new person from a known one`)
    } else if (probe.searchable === 'ignores query') {
      notes.push(`this CRM’s ${name} search ignores its query: lead-intake reads every ${name} (up to 2,000) to find a person, and fails a submission past that`)
    }
  }
  return { source: source.source, writes, problems, notes }
}

/** Probes each connection the sources use (one after another, eight calls each). */
export async function checkConnections(env: SourceVars): Promise<ConnectionReport[]> {
  const plans = sourcePlans(env)
  const byConnection = new Map<string, SourcePlan[]>()
  for (const p of plans) {
    const connection = p.plan.connection || env.UNIFIED_CONNECTION_ID || ''
    byConnection.set(connection, [...(byConnection.get(connection) ?? []), p])
  }
  if (byConnection.size === 0) byConnection.set(env.UNIFIED_CONNECTION_ID || '', [])
  const reports: ConnectionReport[] = []
  for (const [connection, sources] of byConnection) {
    try {
      const objects = await probeConnection(crmTarget(env, connection))
      reports.push({ connection, objects, sources: sources.map((s) => check(s, objects)) })
    } catch (error) {
      reports.push({ connection, objects: [], error: (error as Error).message, sources: sources.map((s) => ({ source: s.source, writes: objectsOf(s.plan), problems: [], notes: [] })) })
    }
  }
  return reports
}

/**
 * The integrations a connection can be behind, and the restrictions
 * (`profiles`) that narrow one further. A restricted integration is another
 * integration: its type names both (`salesforce+no-leads`), so what
 * `/unified/integration?type=` serves for a connection always says what that
 * connection does.
 */
import type { Profile } from '../state.ts'
import { closeio } from './closeio.ts'
import { hubspot } from './hubspot.ts'
import { minimal } from './minimal.ts'
import { pipedrive } from './pipedrive.ts'
import { salesforce } from './salesforce.ts'
import { standin } from './standin.ts'
import type { IntegrationProfile, ObjectProfile } from './types.ts'

export type { IntegrationProfile, ObjectProfile } from './types.ts'

/** Every integration, keyed by its type; `standin` (permissive) first, the default. */
export const INTEGRATIONS = { standin, salesforce, hubspot, pipedrive, closeio, minimal } satisfies Record<string, IntegrationProfile>
export type IntegrationName = keyof typeof INTEGRATIONS

export const isIntegration = (type: unknown): type is IntegrationName => typeof type === 'string' && Object.hasOwn(INTEGRATIONS, type)

const mapObjects = (p: IntegrationProfile, f: (kind: string, o: ObjectProfile) => ObjectProfile | undefined): IntegrationProfile['objects'] =>
  Object.fromEntries(
    Object.entries(p.objects).flatMap(([kind, o]) => {
      const next = o && f(kind, o)
      return next ? [[kind, next]] : []
    }),
  )

const withoutQuery = (o: ObjectProfile, unsupported: 'ignored' | 'refused'): ObjectProfile => ({
  ...o,
  list: { ...o.list, options: o.list.options.filter((x) => x !== 'query'), unsupported_query: unsupported },
})

/** What each restriction takes away, as data; `full` takes nothing. */
const RESTRICTIONS: Record<Exclude<Profile, 'full'>, (p: IntegrationProfile) => IntegrationProfile['objects']> = {
  'no-leads': (p) => mapObjects(p, (kind, o) => (kind === 'lead' ? undefined : o)),
  'query-ignored': (p) => mapObjects(p, (_, o) => withoutQuery(o, 'ignored')),
  'no-company-search': (p) => mapObjects(p, (kind, o) => (kind === 'company' ? withoutQuery(o, 'refused') : o)),
  'no-form-events': (p) => mapObjects(p, (kind, o) => (kind === 'event' ? { ...o, outbound: o.outbound.filter((f) => f !== 'form') } : o)),
}

/** The integration behind a connection: its base with its restrictions applied, under a type naming them all. */
export function integrationOf(base: string, profiles: readonly Profile[]): IntegrationProfile {
  const start = isIntegration(base) ? INTEGRATIONS[base] : standin
  const restrictions = profiles.filter((p): p is Exclude<Profile, 'full'> => p !== 'full')
  return restrictions.reduce<IntegrationProfile>(
    (p, r) => ({ ...p, type: `${p.type}+${r}`, objects: RESTRICTIONS[r](p) }),
    start,
  )
}

/** The integration a type names (`hubspot`, `standin+no-leads`…), or undefined. */
export function integrationByType(type: string): IntegrationProfile | undefined {
  const [base = '', ...restrictions] = type.split('+')
  if (!isIntegration(base) || restrictions.some((r) => r === 'full' || !(r in RESTRICTIONS))) return undefined
  return integrationOf(base, restrictions as Profile[])
}

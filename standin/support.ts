/**
 * Unified's own answers about a connection, in the SDK's wire shapes: the
 * Connection (`GET /unified/connection/{id}`, SDK shared/connection.ts) and
 * the Integration with its `support` map per object (`GET /unified/integration`,
 * SDK shared/integration.ts and integrationsupport.ts), built from an
 * integration's table, so what is served is what the stand-in does.
 */
import { type IntegrationProfile, type ObjectProfile } from './integrations/index.ts'
import { METHODS } from './integrations/types.ts'
import { OBJECTS } from './objects.ts'
import { inboundFields } from './rules.ts'
import type { Json, Kind } from './state.ts'

const flag = (yes: boolean) => (yes ? 'supported' : 'not-supported')

/** The support map's key for an object (`crm_lead`…), as the SDK's object types name them. */
export const supportKey = (kind: Kind) => `crm_${kind}`

/** One object's IntegrationSupport. */
function supportOf(kind: Kind, o: ObjectProfile): Json {
  const options = ['query', 'limit', 'offset', ...Object.keys(OBJECTS[kind].filters)]
  const inbound = inboundFields(o)
  return {
    methods: Object.fromEntries(METHODS.map((m) => [m, o.methods.includes(m)])),
    raw_objects: o.raw_objects,
    ...Object.fromEntries(options.map((x) => [`list_${x}`, flag((o.list.options as string[]).includes(x))])),
    // Only where `query` is taken does it search anything.
    search_email: flag(o.list.options.includes('query') && o.search.includes('email')),
    search_name: flag(o.list.options.includes('query') && o.search.includes('name')),
    search_domain: flag(o.list.options.includes('query') && o.search.includes('domain')),
    outbound_fields: Object.fromEntries(OBJECTS[kind].fields.map((f) => [f, flag(o.outbound.includes(f))])),
    inbound_fields: Object.fromEntries(
      ['id', 'created_at', 'updated_at', ...OBJECTS[kind].fields].map((f) => [f, flag(inbound === 'all' || inbound.includes(f))]),
    ),
  }
}

/** The Integration object. */
export function integrationWire(p: IntegrationProfile): Json {
  return {
    type: p.type,
    name: p.name,
    categories: ['crm'],
    is_active: true,
    ...(p.rate_limit_description ? { rate_limit_description: p.rate_limit_description } : {}),
    support: Object.fromEntries(Object.entries(p.objects).map(([kind, o]) => [supportKey(kind as Kind), supportOf(kind as Kind, o!)])),
  }
}

/** The Connection object: its integration, and permissions for the objects that integration has. */
export function connectionWire(id: string, p: IntegrationProfile): Json {
  const permissions = Object.entries(p.objects).flatMap(([kind, o]) => [
    `crm_${kind}_read`,
    ...(o!.methods.some((m) => m === 'create' || m === 'update' || m === 'remove') ? [`crm_${kind}_write`] : []),
  ])
  return {
    id,
    integration_type: p.type,
    integration_name: p.name,
    categories: ['crm'],
    permissions,
    environment: 'Production',
    workspace_id: 'standin',
    is_paused: false,
  }
}

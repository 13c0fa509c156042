/**
 * What a connection's CRM accepts, as data: Unified publishes each
 * integration's support per object (`GET /unified/integration?type=…`'s
 * `support` map: methods, list options, which fields a write keeps), and the
 * writer plans every call from it instead of an `if` per CRM. What Unified does
 * not say stays `unknown`, and unknown means "behave as before": try it, and
 * learn from the answer.
 */
import type { IntegrationSupport } from '@unified-api/typescript-sdk/sdk/models/shared/integrationsupport.js'
import type { WriteMode } from '../lead/draft'
import type { ObjectName } from './objects/name'

export type Level = 'yes' | 'no' | 'unknown'

export interface ObjectSupport {
  list: Level
  get: Level
  create: Level
  update: Level
  remove: Level
  /** `query` filters the list (Unified promises emails and names only). */
  query: Level
  /** `limit` is honoured: where it isn't, the CRM picks its page size, and a short page is not the end. */
  limit: Level
  offset: Level
  /** Wire names of the fields a write keeps (`outbound_fields`); undefined when Unified does not say. */
  writes?: string[]
  /** Wire names of the fields a write must carry (`supported-required`). */
  requires?: string[]
  /** Wire names of the fields a read shows (`inbound_fields`): what a write's answer can be checked against. */
  reads?: string[]
}

export interface Capabilities {
  /** The connection's integration (`integration_type`), when known. */
  integration?: string
  /** `unified`: read from Unified's support data; `fallback`: not known (yet), so nothing is assumed. */
  from: 'unified' | 'fallback'
  objects: Record<ObjectName, ObjectSupport>
  /** When it was read (epoch ms). */
  at: number
  /** Why the support could not be read, when it could not. */
  error?: string
}

/** Unified's support map keys, per object lead-intake writes. */
export const SUPPORT_KEYS: Record<ObjectName, string> = { lead: 'crm_lead', contact: 'crm_contact', company: 'crm_company', event: 'crm_event' }

const UNKNOWN: ObjectSupport = { list: 'unknown', get: 'unknown', create: 'unknown', update: 'unknown', remove: 'unknown', query: 'unknown', limit: 'unknown', offset: 'unknown' }
/** An object the integration does not implement at all. */
const ABSENT: ObjectSupport = { list: 'no', get: 'no', create: 'no', update: 'no', remove: 'no', query: 'no', limit: 'no', offset: 'no', writes: [] }

/** Nothing known: every object tried as before. */
export const fallback = (error?: string, integration?: string, at = Date.now()): Capabilities => ({
  ...(integration ? { integration } : {}),
  from: 'fallback',
  objects: { lead: UNKNOWN, contact: UNKNOWN, company: UNKNOWN, event: UNKNOWN },
  at,
  ...(error ? { error } : {}),
})

/** "supported", "supported-required" → yes; "not-supported" → no; anything else (absent, a value Unified adds later) → unknown. */
const level = (v: string | undefined): Level => (v === 'supported' || v === 'supported-required' ? 'yes' : v === 'not-supported' ? 'no' : 'unknown')

/** A method named in `methods` with true/false; absent is unknown, not false (the key names are inferred from Unified's docs). */
const method = (methods: Record<string, boolean> | undefined, name: string): Level =>
  methods && typeof methods[name] === 'boolean' ? (methods[name] ? 'yes' : 'no') : 'unknown'

/** Of the SDK's IntegrationSupport, what this module reads (crm/integration.ts parses no more than this). */
export type SupportOf = Pick<IntegrationSupport, 'methods' | 'listQuery' | 'listLimit' | 'listOffset' | 'outboundFields' | 'inboundFields'>

function objectSupport(s: SupportOf | undefined): ObjectSupport {
  if (!s) return UNKNOWN
  const fields = s.outboundFields
  const writes = fields ? Object.entries(fields).filter(([, v]) => v !== 'not-supported').map(([k]) => k) : undefined
  const requires = fields ? Object.entries(fields).filter(([, v]) => v === 'supported-required').map(([k]) => k) : undefined
  const reads = s.inboundFields ? Object.entries(s.inboundFields).filter(([, v]) => v !== 'not-supported').map(([k]) => k) : undefined
  return {
    list: method(s.methods, 'list'),
    get: method(s.methods, 'get'),
    create: method(s.methods, 'create'),
    update: method(s.methods, 'update'),
    remove: method(s.methods, 'remove'),
    query: level(s.listQuery),
    limit: level(s.listLimit),
    offset: level(s.listOffset),
    ...(writes?.length ? { writes } : {}),
    ...(requires?.length ? { requires } : {}),
    ...(reads?.length ? { reads } : {}),
  }
}

/** The capabilities of an integration from its `support` map; an object Unified lists no support for is unknown. */
export function capabilitiesOf(integration: string, support: Record<string, SupportOf> | undefined, at = Date.now()): Capabilities {
  // Where Unified lists some CRM objects of an integration, one it leaves out is one it doesn't implement (HubSpot's leads).
  const listsCrm = Object.values(SUPPORT_KEYS).some((k) => support?.[k])
  const objects = Object.fromEntries(
    (Object.keys(SUPPORT_KEYS) as ObjectName[]).map((o) => {
      const s = support?.[SUPPORT_KEYS[o]]
      return [o, s ? objectSupport(s) : listsCrm ? ABSENT : UNKNOWN]
    }),
  ) as Record<ObjectName, ObjectSupport>
  return { integration, from: 'unified', objects, at }
}

/** The integration can't create this object, by its own published support. */
export const cannot = (caps: Capabilities | undefined, object: ObjectName, what: 'create' | 'update' | 'list' | 'get' | 'remove'): boolean =>
  caps?.objects[object][what] === 'no'

/** A write of `field` (its wire name) to `object` is kept by the integration: yes unless Unified lists the object's fields without it. */
export const keeps = (caps: Capabilities | undefined, object: ObjectName, field: string): boolean => {
  const writes = caps?.objects[object].writes
  return !writes || writes.includes(field)
}

/**
 * The person-like records a write mode makes on this CRM. `auto`: a lead where the CRM can create
 * leads, else a contact; and where its leads can't hold an email but its contacts can (a lead that
 * hangs off a person), a contact and a lead linked to it, so the person is findable.
 */
export function personObjects(mode: WriteMode, caps: Capabilities | undefined): { lead: boolean; contact: boolean } {
  if (mode !== 'auto') return { lead: mode !== 'contact', contact: mode !== 'lead' }
  if (cannot(caps, 'lead', 'create')) return { lead: false, contact: true }
  if (!keeps(caps, 'lead', 'emails') && keeps(caps, 'contact', 'emails') && !cannot(caps, 'contact', 'create')) return { lead: true, contact: true }
  return { lead: true, contact: false }
}

/** A record read back shows `field` (its wire name): yes unless Unified lists the object's readable fields without it. */
export const shows = (caps: Capabilities | undefined, object: ObjectName, field: string): boolean => {
  const reads = caps?.objects[object].reads
  return !reads || reads.includes(field)
}

/** By its support data, the CRM holds no lead without a contact (a lead must name its contact): a contact just made has none. */
export const leadsNeedContacts = (caps: Capabilities | undefined): boolean => !!caps?.objects.lead.requires?.includes('contact_id')

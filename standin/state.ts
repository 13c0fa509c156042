/**
 * What the stand-in remembers: records per connection, faults, the call log,
 * and each connection's settings (integration, restrictions, limits, latency).
 */
import { GraphState } from './graph.ts'
import { LinkedInState } from './linkedin.ts'
import { SinkState } from './sinks.ts'

export type Json = Record<string, unknown>

export const KINDS = ['lead', 'contact', 'company', 'event'] as const
export type Kind = (typeof KINDS)[number]
/** A CRM call, or one of Unified's own: reading a connection, listing integrations. */
export type Operation = `${Kind}.${'list' | 'get' | 'create' | 'update' | 'remove'}` | 'connection.get' | 'integration.list'

/**
 * A switchable fault. Matches calls by operation (all when absent) and fires
 * `times` times (forever when absent) or until `until_ms` (epoch ms).
 * - status: answer this status instead (e.g. 500, 503, 429) and do nothing
 * - retry_after: with status, the Retry-After header to send
 * - latency_ms: wait this long before answering
 * - lose_response: do the write, then answer 504 as if the response was lost
 */
export interface Fault {
  operations?: Operation[]
  status?: number
  retry_after?: string
  latency_ms?: number
  lose_response?: boolean
  times?: number
  until_ms?: number
}

export interface Call {
  op: Operation
  connection: string
  id?: string
  query?: string
  status: number
  at: number
}

/**
 * Restrictions on the integration behind a connection (integrations/index.ts
 * applies them). Real CRMs differ, and Unified passes that on (501 for what an
 * integration lacks), so the Worker must be tested against more than the happy
 * CRM. Profiles combine.
 * - full: no restriction (the default)
 * - no-leads: every lead route answers 501 {"message":"Not implemented"}
 * - query-ignored: list endpoints ignore `query` (filters and paging still apply)
 * - no-company-search: listing companies with a `query` answers 501
 * - no-form-events: writing an event of type FORM answers 400 {"message":"Unsupported event type"}
 */
export const PROFILES = ['full', 'no-leads', 'query-ignored', 'no-company-search', 'no-form-events'] as const
export type Profile = (typeof PROFILES)[number]

/** A connection's settings as `/_standin/connections/{id}` shows them (settings.ts reads them). */
export interface ConnectionSettings {
  /** The integration behind it (integrations/): `standin` (permissive, the default), `salesforce`, `hubspot`, … */
  integration: string
  /** Never empty: `["full"]` when nothing is restricted. */
  profiles: Profile[]
  /**
   * Unified's own limit: calls allowed in any 1-second window and/or any rolling 60 s (Unified's workspace limit is per
   * minute; every CRM call counts), past either 429 with Retry-After; null: unlimited. `retry_after: false` leaves the
   * header out (Unified's docs do not promise one on its workspace limit): the 429's words are then all a client has.
   */
  rate_limit: { calls_per_second?: number; calls_per_minute?: number; retry_after?: boolean } | null
  /** The CRM's own allowance: calls in a rolling window (null: never renewed); past it, refused as the integration refuses. */
  request_limit: { calls: number; window_seconds: number | null } | null
  /** Added to every CRM call of the connection before it answers. */
  latency_ms: number
  /** Custom properties the account has: where the integration wants them to exist, metadata slugs must be among them. */
  properties: string[]
  /** Restricted picklists' values per field, replacing the integration's (an org's own Lead Status). */
  picklists: Record<string, string[]>
  /** Records per page where the integration ignores `limit`; null: its own page size. */
  page_size: number | null
}

export const DEFAULT_SETTINGS: ConnectionSettings = {
  integration: 'standin',
  profiles: ['full'],
  rate_limit: null,
  request_limit: null,
  latency_ms: 0,
  properties: [],
  picklists: {},
  page_size: null,
}

type Records = Record<Kind, Map<string, Json>>

export class StandinState {
  connections = new Map<string, Records>()
  settings = new Map<string, ConnectionSettings>()
  faults: Fault[] = []
  calls: Call[] = []
  /** Connections whose credentials are refused now (a revoked key, an expired token): every call of theirs answers 401. */
  refused = new Set<string>()
  /** Meta's Graph, for lead reads (graph.ts). */
  graph = new GraphState()
  /** LinkedIn's lead reads (linkedin.ts). */
  linkedin = new LinkedInState()
  /** Receivers for the Worker's notifications (sinks.ts). */
  sinks = new SinkState()
  /** Per limit (`rate:<connection>`, `allowance:<connection>`), when its admitted calls arrived. */
  #admitted = new Map<string, number[]>()
  #seq = 0

  connection(id: string): Records {
    let c = this.connections.get(id)
    if (!c) this.connections.set(id, (c = { lead: new Map(), contact: new Map(), company: new Map(), event: new Map() }))
    return c
  }

  settingsOf(id: string): ConnectionSettings {
    return this.settings.get(id) ?? DEFAULT_SETTINGS
  }

  newId(): string {
    this.#seq += 1
    return `${Date.now().toString(16)}${this.#seq.toString(16).padStart(8, '0')}`
  }

  reset(): void {
    this.connections.clear()
    this.settings.clear()
    this.#admitted.clear()
    this.faults = []
    this.calls = []
    this.refused.clear()
    this.graph.reset()
    this.linkedin.reset()
    this.sinks.reset()
  }

  /** Calls per operation; `status` counts only calls answered with it (e.g. 429). */
  counters(connection?: string, status?: number): Record<string, number> {
    const out: Record<string, number> = {}
    for (const call of this.calls) {
      if (connection && call.connection !== connection) continue
      if (status !== undefined && call.status !== status) continue
      out[call.op] = (out[call.op] ?? 0) + 1
    }
    return out
  }

  /**
   * Admits a call under a sliding-window limit of `calls` per `windowMs`, or
   * returns the milliseconds until a slot frees (Infinity when the window never
   * rolls). Refused calls take no slot, as a limiter would not charge a call it
   * turned away.
   */
  admit(key: string, calls: number, windowMs: number, now = Date.now()): number | undefined {
    const recent = (this.#admitted.get(key) ?? []).filter((t) => now - t < windowMs)
    this.#admitted.set(key, recent)
    if (recent.length >= calls) return recent.length ? recent[0]! + windowMs - now : windowMs
    recent.push(now)
    return undefined
  }

  /** The fault for this call, if any; spends one of its `times`. */
  takeFault(op: Operation): Fault | undefined {
    const now = Date.now()
    const fault = this.faults.find(
      (f) =>
        (!f.operations || f.operations.includes(op)) &&
        (f.times === undefined || f.times > 0) &&
        (f.until_ms === undefined || now < f.until_ms),
    )
    if (fault && fault.times !== undefined) fault.times -= 1
    return fault
  }
}


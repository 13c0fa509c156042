/**
 * What the stand-in remembers: records per connection, faults, the call log,
 * and each connection's settings (capability profiles, rate limit, latency).
 */

export type Json = Record<string, unknown>

export const KINDS = ['lead', 'contact', 'company', 'event'] as const
export type Kind = (typeof KINDS)[number]
export type Operation = `${Kind}.${'list' | 'get' | 'create' | 'update' | 'remove'}`

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
 * What an integration behind a connection can do. Real CRMs differ, and
 * Unified passes that on (501 for what an integration lacks), so the Worker
 * must be tested against more than the happy CRM. Profiles combine.
 * - full: everything works (the default; no restriction)
 * - no-leads: every lead route answers 501 {"message":"Not implemented"}
 * - query-ignored: list endpoints ignore `query` (filters and paging still apply)
 * - no-company-search: listing companies with a `query` answers 501
 * - no-form-events: writing an event of type FORM answers 400 {"message":"Unsupported event type"}
 */
export const PROFILES = ['full', 'no-leads', 'query-ignored', 'no-company-search', 'no-form-events'] as const
export type Profile = (typeof PROFILES)[number]

/** A connection's settings as `/_standin/connections/{id}` shows them. */
export interface ConnectionSettings {
  /** Never empty: `["full"]` when nothing is restricted. */
  profiles: Profile[]
  /** Calls allowed in any 1-second window (every CRM call counts); null: unlimited. */
  rate_limit: { calls_per_second: number } | null
  /** Added to every CRM call of the connection before it answers. */
  latency_ms: number
}

const DEFAULT_SETTINGS: ConnectionSettings = { profiles: ['full'], rate_limit: null, latency_ms: 0 }

type Records = Record<Kind, Map<string, Json>>

export class StandinState {
  connections = new Map<string, Records>()
  settings = new Map<string, ConnectionSettings>()
  faults: Fault[] = []
  calls: Call[] = []
  /** Per connection, when its admitted calls arrived (for the sliding-window rate limit). */
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

  has(id: string, profile: Profile): boolean {
    return this.settingsOf(id).profiles.includes(profile)
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
   * Admits a call under the connection's rate limit, or returns the seconds
   * until a slot frees (the Retry-After). Refused calls take no slot, as a
   * token-per-call limiter would not charge a call it turned away.
   */
  admit(connection: string, now = Date.now()): number | undefined {
    const limit = this.settingsOf(connection).rate_limit
    if (!limit) return undefined
    const recent = (this.#admitted.get(connection) ?? []).filter((t) => now - t < 1000)
    this.#admitted.set(connection, recent)
    if (recent.length >= limit.calls_per_second) return Math.max(1, Math.ceil((recent[0]! + 1000 - now) / 1000))
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

/** Reads a connection's settings from `POST /_standin/connections/{id}`'s body; a string is what is wrong. */
export function parseSettings(body: unknown): ConnectionSettings | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object'
  const { profile, profiles = [], rate_limit = null, latency_ms = 0 } = body as Json
  const named = [...(profile === undefined ? [] : [profile]), ...(Array.isArray(profiles) ? profiles : [profiles])]
  const unknown = named.filter((p) => !PROFILES.includes(p as Profile))
  if (unknown.length) return `unknown profile(s) ${JSON.stringify(unknown)}; known: ${PROFILES.join(', ')}`
  const restricted = [...new Set(named as Profile[])].filter((p) => p !== 'full')
  if (rate_limit !== null) {
    const r = (rate_limit as Json | undefined)?.calls_per_second
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) return 'rate_limit.calls_per_second must be a whole number >= 1 (or rate_limit null)'
  }
  if (typeof latency_ms !== 'number' || !(latency_ms >= 0)) return 'latency_ms must be a number >= 0'
  return {
    profiles: restricted.length ? restricted : ['full'],
    rate_limit: rate_limit === null ? null : { calls_per_second: (rate_limit as { calls_per_second: number }).calls_per_second },
    latency_ms,
  }
}

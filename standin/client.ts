/**
 * A small typed client for the stand-in: its control surface, Unified's CRM
 * routes and Unified's own connection and integration routes. Only `fetch`, so
 * it runs in workerd tests and in Node scripts alike.
 *
 *   const standin = standinClient(standinUrl)
 *   await standin.reset()
 *   await standin.connection('conn-test', { profiles: ['no-leads'], rate_limit: { calls_per_second: 5 } })
 *   await standin.connection('conn-sf', { integration: 'salesforce', request_limit: { calls: 3 } })
 *   const lead = await standin.seed('conn-test', 'lead', { first_name: null, emails: [{ email: 'a@example.com' }] })
 *   const { status, data } = await standin.crm('conn-test', 'contact').list({ query: 'ada', limit: 10 })
 */
import type { IntegrationName } from './integrations/index.ts'
import type { Call, ConnectionSettings, Fault, Kind, Operation, Profile } from './state.ts'
import type { Received as SinkReceived } from './sinks.ts'

export type { Call, ConnectionSettings, Fault, IntegrationName, Kind, Operation, Profile, SinkReceived }

// --- Unified's wire records, snake_case as the SDK's CrmLead/CrmContact/CrmCompany/CrmEvent schemas name them.
// Scalars may be null: a CRM can hold an empty field, and the stand-in keeps what it is given.

/** A call to the CRM, not Unified's own read of a connection or its integration (made once a day, never paced): what call counts count. */
export const isCrmOperation = (op: string): boolean => !op.startsWith('connection.') && !op.startsWith('integration.')

export interface WireEmail {
  email?: string
  type?: 'WORK' | 'HOME' | 'OTHER' | (string & {})
}
export interface WireTelephone {
  telephone: string
  type?: 'WORK' | 'HOME' | 'OTHER' | 'FAX' | 'MOBILE' | (string & {})
}
export interface WireMetadata {
  id?: string
  slug?: string
  namespace?: string
  format?: string
  value?: unknown
  extra_data?: unknown
}
export interface WireAddress {
  address1?: string
  address2?: string
  city?: string
  region?: string
  region_code?: string
  postal_code?: string
  country?: string
  country_code?: string
}

interface WireCommon {
  id: string
  created_at?: string
  updated_at?: string
  user_id?: string | null
  raw?: Record<string, unknown>
}

export interface WireLead extends WireCommon {
  name?: string | null
  first_name?: string | null
  last_name?: string | null
  company_name?: string | null
  company_id?: string | null
  contact_id?: string | null
  creator_user_id?: string | null
  emails?: WireEmail[]
  telephones?: WireTelephone[]
  link_urls?: string[]
  metadata?: WireMetadata[]
  address?: WireAddress
  source?: string | null
  status?: string | null
  is_active?: boolean | null
}

export interface WireContact extends WireCommon {
  name?: string | null
  first_name?: string | null
  last_name?: string | null
  title?: string | null
  department?: string | null
  company?: string | null
  company_ids?: string[]
  deal_ids?: string[]
  emails?: WireEmail[]
  telephones?: WireTelephone[]
  link_urls?: string[]
  metadata?: WireMetadata[]
  address?: WireAddress
  image_url?: string | null
}

export interface WireCompany extends WireCommon {
  name?: string | null
  description?: string | null
  industry?: string | null
  employees?: number | null
  timezone?: string | null
  is_active?: boolean | null
  domains?: string[]
  websites?: string[]
  tags?: string[]
  contact_ids?: string[]
  deal_ids?: string[]
  emails?: WireEmail[]
  telephones?: WireTelephone[]
  link_urls?: string[]
  metadata?: WireMetadata[]
  address?: WireAddress
}

export type WireEventType = 'NOTE' | 'EMAIL' | 'TASK' | 'MEETING' | 'CALL' | 'MARKETING_EMAIL' | 'FORM' | 'PAGE_VIEW'

export interface WireFormField {
  name?: string
  type?: string
  required?: boolean
  options?: { label?: string; value?: string }[]
}

export interface WireEvent extends WireCommon {
  type?: WireEventType | (string & {})
  lead_ids?: string[]
  contact_ids?: string[]
  company_ids?: string[]
  deal_ids?: string[]
  note?: { title?: string; description?: string }
  form?: { name?: string; fields?: WireFormField[]; redirect_url?: string; archived_at?: string }
  email?: { subject?: string; body?: string; from?: string; to?: string[]; cc?: string[]; attachment_file_ids?: string[] }
  marketing_email?: { name?: string; subject?: string; body?: string; from?: string; to?: string[]; cc?: string[] }
  meeting?: { title?: string; description?: string; start_at?: string; end_at?: string }
  call?: { description?: string; duration?: number; start_at?: string }
  task?: { name?: string; description?: string; status?: string; priority?: string; due_at?: string }
  page_view?: { url?: string; count?: number; average?: number }
}

export interface WireRecords {
  lead: WireLead
  contact: WireContact
  company: WireCompany
  event: WireEvent
}

/** What a record is written with: no id, and any scalar may be null. */
export type WireInput<K extends Kind> = { [F in keyof Omit<WireRecords[K], 'id'>]?: WireRecords[K][F] | null }

/** The list parameters Unified documents (filters per object as in the SDK's List…Request). */
export interface ListParams {
  query?: string
  limit?: number
  offset?: number
  updated_gte?: string
  user_id?: string
  company_id?: string
  contact_id?: string
  lead_id?: string
  deal_id?: string
  type?: string
}

/** `POST /_standin/connections/{id}`: replaces the connection's settings; what is left out goes back to its default. */
export interface ConnectionInput {
  /** The integration behind it (default `standin`, the permissive one). */
  integration?: IntegrationName
  /** Restrictions on top of it. */
  profiles?: Profile[]
  /** Unified's limit: past it in any second or any rolling 60 s, 429 with Retry-After. */
  rate_limit?: { calls_per_second?: number; calls_per_minute?: number; retry_after?: boolean } | null
  /** The CRM's own allowance (no window: never renewed); past it, refused as the integration refuses (Salesforce: 403). */
  request_limit?: { calls: number; window_seconds?: number | null } | null
  latency_ms?: number
  /** Custom properties the account has (a HubSpot-like integration refuses metadata slugs outside them). */
  properties?: string[]
  /** Picklist values per field, replacing the integration's (e.g. `{status: ['New', 'Working']}`). */
  picklists?: Record<string, string[]>
  /** Records per page where the integration ignores `limit`. */
  page_size?: number | null
}

/** What `/_standin/connections/{id}` shows: the settings and the integration type they make. */
export type ConnectionView = ConnectionSettings & { id: string; integration_type: string }

/** Unified's error body. */
export interface UnifiedErrorBody {
  statusCode: number
  error: string
  message: string
}

/** A call's answer: `data` when 2xx; otherwise Unified's error body and its `message`. */
export interface Answer<T> {
  status: number
  headers: Headers
  data?: T
  message?: string
  error?: UnifiedErrorBody
}

/** `GET /unified/connection/{id}`, as on the wire (the SDK's Connection, snake_case). */
export interface WireConnection {
  id?: string
  integration_type: string
  integration_name?: string
  categories: string[]
  permissions: string[]
  environment?: string
  workspace_id?: string
  is_paused?: boolean
}

/** One object's IntegrationSupport, as on the wire. */
export interface WireSupport {
  methods?: Record<string, boolean>
  raw_objects?: string[]
  inbound_fields?: Record<string, string>
  outbound_fields?: Record<string, string>
  [flag: `list_${string}` | `search_${string}`]: string | undefined
}

/** `GET /unified/integration`'s items, as on the wire (the SDK's Integration). */
export interface WireIntegration {
  type: string
  name: string
  categories: string[]
  is_active?: boolean
  rate_limit_description?: string
  support?: Record<string, WireSupport>
}

/** `GET /unified/integration`'s parameters, as the SDK sends them. */
export interface IntegrationParams {
  type?: string
  categories?: string[]
  limit?: number
  offset?: number
}

type Fetch = (url: string, init?: RequestInit) => Response | Promise<Response>

const search = (q: URLSearchParams) => (q.toString() ? `?${q}` : '')

const PLURAL: Record<Kind, string> = { lead: 'leads', contact: 'contacts', company: 'companies', event: 'events' }

/**
 * `baseUrl`: where the stand-in listens. `fetch`: another way to reach it
 * (e.g. a Hono app's `request`, no network). `apiKey`: sent on CRM calls.
 */
export function standinClient(baseUrl: string, options: { fetch?: Fetch; apiKey?: string } = {}) {
  const send: Fetch = options.fetch ?? ((url, init) => fetch(url, init))
  const root = baseUrl.replace(/\/$/, '')
  const auth = `Bearer ${options.apiKey ?? 'standin-client'}`

  const json = (method: string, body?: unknown): RequestInit =>
    body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }

  /** Control calls throw on failure: a test should not go on against a stand-in it could not set up. */
  async function control<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await send(`${root}/_standin${path}`, init)
    if (!res.ok) throw new Error(`stand-in ${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }

  async function crmCall<T>(path: string, init: RequestInit): Promise<Answer<T>> {
    const res = await send(`${root}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: auth } })
    const text = await res.text()
    const body = text ? (JSON.parse(text) as unknown) : undefined
    if (res.ok) return { status: res.status, headers: res.headers, data: body as T }
    const error = body as UnifiedErrorBody | undefined
    return { status: res.status, headers: res.headers, message: error?.message, error }
  }

  const e = encodeURIComponent

  return {
    url: root,
    reset: () => control<{ ok: true }>('/reset', json('POST')),
    /** Replaces the faults (an empty list clears them). */
    faults: (list: Fault[]) => control<{ ok: true; faults: Fault[] }>('/faults', json('POST', list)),
    /** Calls per operation, of one connection or all; `status` counts only calls answered with it (e.g. 429). */
    counters: (connection?: string, filter: { status?: number } = {}) => {
      const q = new URLSearchParams()
      if (connection) q.set('connection', connection)
      if (filter.status !== undefined) q.set('status', String(filter.status))
      return control<Record<string, number>>(`/counters${search(q)}`)
    },
    calls: () => control<Call[]>('/calls'),
    records: <K extends Kind>(connection: string, object: K) => control<WireRecords[K][]>(`/${e(connection)}/${PLURAL[object]}`),
    /** Stores a record as if the CRM already had it: not counted, and no profile, limit or fault applies. */
    seed: <K extends Kind>(connection: string, object: K, record: WireInput<K>) =>
      control<WireRecords[K]>(`/${e(connection)}/${PLURAL[object]}`, json('POST', record)),
    /** The notification receivers (sinks.ts): what one got, and telling it to fail. */
    sinks: {
      received: (name: string) => control<SinkReceived[]>(`/sinks/${e(name)}`),
      fail: (name: string, f: { status?: number; times?: number } = {}) => control<{ ok: true }>(`/sinks/${e(name)}/fail`, json('POST', f)),
    },
    /** With `settings`, replaces the connection's settings; without, reads them. */
    connection: (id: string, settings?: ConnectionInput) =>
      control<ConnectionView>(`/connections/${e(id)}`, settings ? json('POST', settings) : undefined),

    /** Refuses the connection's credentials (every call of it answers 401), or takes them again. */
    credentials: (id: string, refused: boolean) =>
      control<{ id: string; refused: boolean }>(`/connections/${e(id)}/credentials`, json('POST', { refused })),

    /** Unified's own routes: a connection (with its integration type) and the integrations' support data. */
    unified: {
      connection: (id: string) => crmCall<WireConnection>(`/unified/connection/${e(id)}`, { method: 'GET' }),
      integrations: (params: IntegrationParams = {}) => {
        const q = new URLSearchParams()
        for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one))
        return crmCall<WireIntegration[]>(`/unified/integration${search(q)}`, { method: 'GET' })
      },
    },

    /** Unified's CRM routes for one connection and object, as the Worker calls them (counted, limited, faulted). */
    crm<K extends Kind>(connection: string, object: K) {
      const base = `/crm/${e(connection)}/${object}`
      type R = WireRecords[K]
      return {
        list: (params: ListParams = {}) => {
          const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))
          return crmCall<R[]>(`${base}${search(q)}`, { method: 'GET' })
        },
        create: (record: WireInput<K>) => crmCall<R>(base, json('POST', record)),
        get: (id: string) => crmCall<R>(`${base}/${e(id)}`, { method: 'GET' }),
        update: (id: string, fields: WireInput<K>) => crmCall<R>(`${base}/${e(id)}`, json('PUT', fields)),
        patch: (id: string, fields: WireInput<K>) => crmCall<R>(`${base}/${e(id)}`, json('PATCH', fields)),
        remove: (id: string) => crmCall<null>(`${base}/${e(id)}`, { method: 'DELETE' }),
      }
    },
  }
}

export type StandinClient = ReturnType<typeof standinClient>

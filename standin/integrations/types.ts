/**
 * What an integration behind a Unified connection is, as data: per object what
 * Unified's support data says (methods, list options, search, writable
 * fields) and the CRM's own rules that no support flag carries (required
 * fields, picklists, links, what it keeps). One table per integration, one
 * file each; rules.ts and support.ts read them, so no code asks which CRM it is.
 */
import type { SearchPart } from '../objects.ts'
import type { Kind } from '../state.ts'

export const METHODS = ['list', 'get', 'create', 'update', 'remove'] as const
export type Method = (typeof METHODS)[number]

/** List parameters, named as Unified's `list_<option>` support flags name them. */
export type ListOption = 'query' | 'limit' | 'offset' | 'updated_gte' | 'user_id' | 'company_id' | 'contact_id' | 'lead_id' | 'deal_id' | 'type'

/** A CRM's message; `{name}` placeholders are filled in (see rules.ts). */
export type Message = string

export interface ObjectProfile {
  /** The CRM's own object behind it (Unified's `raw_objects`). */
  raw_objects: string[]
  /** What Unified implements for it; any other method answers 501. */
  methods: Method[]
  list: {
    /** The list parameters the integration takes; any other is ignored, as Unified ignores them. */
    options: ListOption[]
    /** A `query` it does not take: ignored (the usual), or refused with 501. */
    unsupported_query?: 'ignored' | 'refused'
    /** Records per page where `limit` is not an option: the CRM picks its own page size. */
    page_size?: number
  }
  /** What `query` matches, where `query` is an option. */
  search: SearchPart[]
  /** Fields it writes (Unified's `outbound_fields`); the rest of a write is dropped without a word. */
  outbound: string[]
  /** Fields it reads back (`inbound_fields`); default: what it writes plus id and timestamps. `all`: whatever is stored. */
  inbound?: string[] | 'all'
  /** How many entries of a list field the CRM keeps (one email, two phones…); the rest are dropped without a word. */
  keep?: Record<string, number>
  /** Fields a record cannot be without, each with the CRM's own name for it; `{fields}`: the missing ones' names. */
  required?: { fields: Record<string, string>; message: Message }
  /** Restricted picklists: the values (a connection may replace them), the value a create without one gets, `{value}`: the refused one. */
  picklists?: Record<string, { values: string[]; default?: string; message: Message }>
  /** At least one of these must be set (a lead's person or organization, a note's record). */
  link?: { any_of: string[]; message: Message }
  /**
   * Custom fields (metadata slugs) must be properties the account has (the connection's `properties`); `{slug}`: the
   * unknown one, or with `entry`, `{entries}`: every unknown one, each as `entry` says, comma-separated (HubSpot lists them all).
   */
  known_properties?: { message: Message; entry?: Message }
}

export interface IntegrationProfile {
  /** Unified's integration type (the connection's `integration_type`). */
  type: string
  name: string
  /** Where its facts come from; what none of them says is modelled, and said so beside it. */
  sources: string[]
  rate_limit_description?: string
  /** How the CRM answers a call past its own allowance (the connection's `request_limit`). */
  over_limit: { status: number; message: Message; retry_after: boolean }
  /** Objects it has; any other answers 501 on every route. */
  objects: Partial<Record<Kind, ObjectProfile>>
}

/**
 * A Close-like integration (type `closeio`, as Unified names it). Unified's
 * Close page gives its company (a Close "lead") and its lead (a Close "contact
 * lead") `limit` and `offset` as their only list options: a `query` is
 * ignored, and so are `updated_gte` and filters, so a list answers every
 * record, page by page. The contact and the timeline are modelled the same
 * way (Close contacts belong to one Close lead; activities hang off one).
 */
import type { IntegrationProfile, ObjectProfile } from './types.ts'

const ALL_METHODS: ObjectProfile['methods'] = ['list', 'get', 'create', 'update', 'remove']

export const closeio: IntegrationProfile = {
  type: 'closeio',
  name: 'Close (stand-in)',
  sources: [
    'docs.unified.to/integrations/closeio.md (CRM COMPANY and CRM LEAD: methods, list options, company fields)',
    'Close API: contacts and activities belong to a lead (a company here)',
  ],
  rate_limit_description: 'Requests per second per API key and endpoint group; past it, 429 with Retry-After',
  over_limit: { status: 429, message: 'Too Many Requests', retry_after: true },
  objects: {
    lead: {
      raw_objects: ['contact', 'lead'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset'] },
      search: [],
      outbound: ['address', 'company_id', 'company_name', 'emails', 'link_urls', 'name', 'status', 'telephones'],
    },
    contact: {
      raw_objects: ['contact'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset'] },
      search: [],
      outbound: ['company_ids', 'emails', 'link_urls', 'name', 'telephones', 'title'],
      keep: { company_ids: 1 },
    },
    company: {
      raw_objects: ['lead'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset'] },
      search: [],
      // As Unified's page has them: websites are written but not read back.
      outbound: ['address', 'name', 'websites'],
      inbound: ['address', 'created_at', 'id', 'name', 'updated_at'],
    },
    event: {
      raw_objects: ['activity'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset', 'company_id', 'contact_id', 'type'] },
      search: [],
      outbound: ['type', 'note', 'email', 'task', 'meeting', 'call', 'contact_ids', 'company_ids', 'user_id'],
      // Close names the missing lead_id in a field error; the wording is modelled.
      link: { any_of: ['company_ids', 'contact_ids'], message: 'lead_id: This field is required.' },
    },
  },
}

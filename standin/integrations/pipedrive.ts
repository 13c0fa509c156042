/**
 * A Pipedrive-like integration (type `pipedrive`). The organization (company)
 * follows Unified's Pipedrive page as far as it could be read (methods, list
 * options, readable fields; its writable list is cut off after "metadata,
 * nam…"). The rest follows Pipedrive's own API: a lead is named (title) and
 * "always has to be linked to a person or an organization or both", and holds
 * no emails or phones of its own (they live on the person); a person takes many
 * emails and phones, and its search looks at phones too; a note "must be
 * associated with at least one organization, person, deal, lead or project".
 */
import type { IntegrationProfile, ObjectProfile } from './types.ts'

const ALL_METHODS: ObjectProfile['methods'] = ['list', 'get', 'create', 'update', 'remove']

export const pipedrive: IntegrationProfile = {
  type: 'pipedrive',
  name: 'Pipedrive (stand-in)',
  sources: [
    'docs.unified.to/integrations/pipedrive.md (CRM COMPANY: methods, list options, readable fields)',
    'Pipedrive API, POST /v1/leads: a lead always has to be linked to a person or an organization or both; title required',
    'Pipedrive API, POST /v1/notes: a note must be associated with at least one organization, person, deal, lead or project',
  ],
  rate_limit_description: 'Token-based daily budget and burst limits per company; past them, 429',
  over_limit: { status: 429, message: 'Request over limit', retry_after: true },
  objects: {
    lead: {
      raw_objects: ['leads'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id', 'company_id', 'contact_id'] },
      // Pipedrive's lead search looks at the title (and notes, custom fields): a lead has no email to find.
      search: ['name'],
      outbound: ['company_id', 'contact_id', 'metadata', 'name', 'user_id'],
      // The wording is modelled; Pipedrive's own for a missing title was not found.
      required: { fields: { name: 'title' }, message: 'Validation failed: {fields} is required' },
      link: { any_of: ['contact_id', 'company_id'], message: 'One of the "person_id" or "organization_id" must be set.' },
    },
    contact: {
      raw_objects: ['persons'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id', 'company_id'] },
      search: ['email', 'name', 'phone'],
      outbound: ['company_ids', 'emails', 'first_name', 'last_name', 'metadata', 'name', 'telephones', 'title', 'user_id'],
      // One organization per person.
      keep: { company_ids: 1 },
    },
    company: {
      raw_objects: ['organization'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte'] },
      search: ['name'],
      // Beyond "metadata, nam…" (the page's list is cut off): modelled from the readable fields.
      outbound: ['address', 'domains', 'employees', 'industry', 'metadata', 'name', 'user_id', 'websites'],
      inbound: ['address', 'created_at', 'domains', 'employees', 'id', 'industry', 'is_active', 'metadata', 'name', 'updated_at', 'user_id', 'websites'],
    },
    event: {
      raw_objects: ['notes', 'activities'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset', 'updated_gte', 'lead_id', 'contact_id', 'company_id', 'deal_id', 'type'] },
      search: [],
      outbound: ['type', 'note', 'email', 'task', 'meeting', 'call', 'lead_ids', 'contact_ids', 'company_ids', 'deal_ids', 'user_id'],
      link: { any_of: ['lead_ids', 'contact_ids', 'company_ids', 'deal_ids'], message: 'Note must be associated with at least one organization, person, deal, lead or project.' },
    },
  },
}

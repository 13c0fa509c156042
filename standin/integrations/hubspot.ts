/**
 * A HubSpot-like integration (type `hubspot`). Unified's HubSpot page could be
 * read only for its messaging objects (see the fixture), so this follows
 * HubSpot's own API: no lead object here (every lead route answers 501), a
 * custom property must exist before a value is written to it (400
 * PROPERTY_DOESNT_EXIST naming it; the connection's `properties` are the
 * account's), a contact keeps its primary email and two phones, a company one
 * domain, and a note must be associated with a contact, company or deal.
 * List options are modelled; search is email and name, plus a company's domain.
 */
import type { IntegrationProfile, ObjectProfile } from './types.ts'

const ALL_METHODS: ObjectProfile['methods'] = ['list', 'get', 'create', 'update', 'remove']
const knownProperties = {
  message: 'Property values were not valid: [{entries}]',
  entry: '{"isValid":false,"message":"Property \\"{slug}\\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"{slug}"}',
}

export const hubspot: IntegrationProfile = {
  type: 'hubspot',
  name: 'HubSpot (stand-in)',
  sources: [
    'docs.unified.to/integrations/hubspot.md (categories and auth only; its CRM sections were not readable)',
    "HubSpot CRM API: writing a property that doesn't exist answers 400 with PROPERTY_DOESNT_EXIST, one entry per unknown property",
    'docs.unified.to/crm/event/model: an event is always associated with a deal, contact, or company',
  ],
  rate_limit_description: 'Requests per 10 seconds per app and account; past it, 429',
  over_limit: { status: 429, message: 'You have reached your secondly limit.', retry_after: false },
  objects: {
    contact: {
      raw_objects: ['contacts'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id', 'company_id', 'deal_id'] },
      search: ['email', 'name'],
      outbound: ['address', 'company', 'company_ids', 'deal_ids', 'emails', 'first_name', 'last_name', 'link_urls', 'metadata', 'name', 'telephones', 'title', 'user_id'],
      // email; phone and mobilephone; website.
      keep: { emails: 1, telephones: 2, link_urls: 1 },
      known_properties: knownProperties,
    },
    company: {
      raw_objects: ['companies'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id', 'contact_id', 'deal_id'] },
      search: ['name', 'domain'],
      outbound: ['address', 'contact_ids', 'deal_ids', 'description', 'domains', 'employees', 'industry', 'metadata', 'name', 'telephones', 'timezone', 'user_id', 'websites'],
      // domain; phone; website.
      keep: { domains: 1, telephones: 1, websites: 1 },
      known_properties: knownProperties,
    },
    event: {
      raw_objects: ['notes', 'emails', 'tasks', 'meetings', 'calls'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset', 'updated_gte', 'contact_id', 'company_id', 'deal_id', 'type'] },
      search: [],
      // Unified's writable types, NOTE, EMAIL, TASK, MEETING and CALL; FORM is read-only.
      outbound: ['type', 'note', 'email', 'task', 'meeting', 'call', 'contact_ids', 'company_ids', 'deal_ids', 'user_id'],
      // The wording is modelled; HubSpot's message for it was not found.
      link: { any_of: ['contact_ids', 'company_ids', 'deal_ids'], message: 'A note must be associated with at least one contact, company or deal' },
    },
  },
}

/**
 * A minimal integration (type `minimal`), after Unified's HelloLeads page
 * (its lead: List and Create only, `offset` its only list option): lead,
 * contact and company can be listed and created, nothing else (get, update and
 * remove answer 501); a list ignores `query`, `updated_gte` and `limit` and
 * answers the CRM's own page size; one email and one phone are kept; there is
 * no timeline at all (every event route answers 501).
 */
import type { IntegrationProfile, ObjectProfile } from './types.ts'

const LIST_CREATE: ObjectProfile['methods'] = ['list', 'create']
/** HelloLeads does not publish its page size: a small one, so paging is exercised. */
const PAGE_SIZE = 20

export const minimal: IntegrationProfile = {
  type: 'minimal',
  name: 'Minimal CRM (stand-in)',
  sources: ['docs.unified.to/integrations/helloleads.md (CRM LEAD: List and Create, list option offset only)'],
  over_limit: { status: 429, message: 'Too Many Requests', retry_after: false },
  objects: {
    lead: {
      raw_objects: ['lead'],
      methods: LIST_CREATE,
      list: { options: ['offset'], page_size: PAGE_SIZE },
      search: [],
      outbound: ['address', 'company_name', 'emails', 'first_name', 'last_name', 'link_urls', 'metadata', 'name', 'telephones'],
      keep: { emails: 1, telephones: 1 },
    },
    contact: {
      raw_objects: ['contact'],
      methods: LIST_CREATE,
      list: { options: ['offset'], page_size: PAGE_SIZE },
      search: [],
      outbound: ['address', 'company', 'emails', 'first_name', 'last_name', 'name', 'telephones', 'title'],
      keep: { emails: 1, telephones: 1 },
    },
    company: {
      raw_objects: ['company'],
      methods: LIST_CREATE,
      list: { options: ['offset'], page_size: PAGE_SIZE },
      search: [],
      outbound: ['address', 'domains', 'name', 'telephones', 'websites'],
      keep: { telephones: 1 },
    },
  },
}

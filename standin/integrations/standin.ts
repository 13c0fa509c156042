/**
 * The permissive integration (type `standin`), every connection's default:
 * every object and method, every list option, a wide search (names, emails,
 * phones, company names, domains, event text), every field written and kept.
 * It proves the plumbing; the realistic profiles beside it prove the product.
 */
import { OBJECTS } from '../objects.ts'
import type { IntegrationProfile, ObjectProfile } from './types.ts'

const ALL_METHODS: ObjectProfile['methods'] = ['list', 'get', 'create', 'update', 'remove']
const BASE_OPTIONS: ObjectProfile['list']['options'] = ['query', 'limit', 'offset', 'updated_gte', 'user_id']

export const standin: IntegrationProfile = {
  type: 'standin',
  name: 'Unified stand-in (permissive)',
  sources: ['the stand-in itself: no real CRM behaves like this'],
  over_limit: { status: 429, message: 'Too Many Requests', retry_after: true },
  objects: {
    lead: {
      raw_objects: ['lead'],
      methods: ALL_METHODS,
      list: { options: [...BASE_OPTIONS, 'company_id', 'contact_id'] },
      search: ['name', 'email', 'phone', 'company'],
      outbound: OBJECTS.lead.fields,
      inbound: 'all',
    },
    contact: {
      raw_objects: ['contact'],
      methods: ALL_METHODS,
      list: { options: [...BASE_OPTIONS, 'company_id', 'deal_id'] },
      search: ['name', 'email', 'phone', 'company'],
      outbound: OBJECTS.contact.fields,
      inbound: 'all',
    },
    company: {
      raw_objects: ['company'],
      methods: ALL_METHODS,
      list: { options: [...BASE_OPTIONS, 'contact_id', 'deal_id'] },
      search: ['name', 'domain'],
      outbound: OBJECTS.company.fields,
      inbound: 'all',
    },
    event: {
      raw_objects: ['event'],
      methods: ALL_METHODS,
      list: { options: [...BASE_OPTIONS, 'company_id', 'contact_id', 'lead_id', 'deal_id', 'type'] },
      search: ['text'],
      // Every event type, FORM included: the permissive CRM writes what Unified's model can hold.
      outbound: OBJECTS.event.fields,
      inbound: 'all',
    },
  },
}

/**
 * A Salesforce-like integration (type `salesforce`). Unified's Salesforce page
 * could not be read (see the fixture's README), so this follows Salesforce's own
 * API rules: a Lead needs LastName and Company, Lead Status is a restricted
 * picklist ("New" is not in the default one), a Lead keeps one Email and two
 * phones (Phone, MobilePhone), an Account has no email, a Note hangs off one
 * parent record, and a call past the org's API allowance is refused with
 * `403 REQUEST_LIMIT_EXCEEDED` (Unified passes it on). List options and search
 * (email and name, as Unified promises for `query`) are modelled.
 */
import type { IntegrationProfile, ObjectProfile } from './types.ts'

const ALL_METHODS: ObjectProfile['methods'] = ['list', 'get', 'create', 'update', 'remove']
const required = (fields: Record<string, string>) => ({ fields, message: 'REQUIRED_FIELD_MISSING: Required fields are missing: [{fields}]' })

export const salesforce: IntegrationProfile = {
  type: 'salesforce',
  name: 'Salesforce (stand-in)',
  sources: [
    'Salesforce Lead object: LastName and Company required, Status a restricted picklist (Open - Not Contacted, Working - Contacted, Closed - Converted, Closed - Not Converted)',
    'Salesforce API limits: over the allowance, 403 REQUEST_LIMIT_EXCEEDED (docs.unified.to/guides/rate_limits_and_retries: passed through)',
    'docs.unified.to/reference/pagination: query filters by email or name',
  ],
  rate_limit_description: 'API requests per rolling 24 hours per org; past it, 403 REQUEST_LIMIT_EXCEEDED',
  over_limit: { status: 403, message: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.', retry_after: false },
  objects: {
    lead: {
      raw_objects: ['Lead'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id'] },
      search: ['email', 'name'],
      // Name is compound (FirstName, LastName); ConvertedAccountId/ConvertedContactId are read-only.
      outbound: ['address', 'company_name', 'emails', 'first_name', 'last_name', 'link_urls', 'metadata', 'name', 'source', 'status', 'telephones', 'user_id'],
      inbound: ['id', 'created_at', 'updated_at', 'address', 'company_id', 'company_name', 'contact_id', 'emails', 'first_name', 'last_name', 'link_urls', 'metadata', 'name', 'source', 'status', 'telephones', 'user_id'],
      // Email; Phone and MobilePhone; Website.
      keep: { emails: 1, telephones: 2, link_urls: 1 },
      required: required({ last_name: 'LastName', company_name: 'Company' }),
      picklists: {
        status: {
          values: ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'],
          default: 'Open - Not Contacted',
          message: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Lead Status: bad value for restricted picklist field: {value}',
        },
      },
    },
    contact: {
      raw_objects: ['Contact'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id', 'company_id'] },
      search: ['email', 'name'],
      outbound: ['address', 'company_ids', 'department', 'emails', 'first_name', 'last_name', 'metadata', 'name', 'telephones', 'title', 'user_id'],
      // Email; Phone and MobilePhone; one AccountId.
      keep: { emails: 1, telephones: 2, company_ids: 1 },
      required: required({ last_name: 'LastName' }),
    },
    company: {
      raw_objects: ['Account'],
      methods: ALL_METHODS,
      list: { options: ['query', 'limit', 'offset', 'updated_gte', 'user_id'] },
      // An Account has no email to search by.
      search: ['name'],
      outbound: ['address', 'description', 'employees', 'industry', 'metadata', 'name', 'telephones', 'user_id', 'websites'],
      keep: { telephones: 1, websites: 1 },
      required: required({ name: 'Name' }),
    },
    event: {
      raw_objects: ['Note'],
      methods: ALL_METHODS,
      list: { options: ['limit', 'offset', 'updated_gte', 'lead_id', 'contact_id', 'company_id', 'deal_id'] },
      search: [],
      // NOTE only: the other types' parts are not written, so those types are refused.
      outbound: ['type', 'note', 'lead_ids', 'contact_ids', 'company_ids', 'deal_ids', 'user_id'],
      link: { any_of: ['lead_ids', 'contact_ids', 'company_ids', 'deal_ids'], message: 'REQUIRED_FIELD_MISSING: Required fields are missing: [ParentId]' },
    },
  },
}

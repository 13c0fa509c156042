/**
 * A CRM object lead-intake writes (lead, contact, company, event): one small
 * module per object implements this over the SDK's standalone functions, and
 * the writers (person.ts, company.ts, timeline.ts) are generic over it.
 */
import type { CrmTarget } from '../client'
import type { ObjectName } from './name'

export type { ObjectName }

export interface ListQuery {
  query?: string
  limit: number
  offset: number
  /** Unified's list filters (`contact_id`, `lead_id`, `company_id`, `type`), as the SDK names them. */
  filters?: { contactId?: string; leadId?: string; companyId?: string; type?: string }
}

/** What lead-intake does with every object: search it and add to it. */
export interface CrmObject<R extends { id?: string }> {
  name: ObjectName
  list(t: CrmTarget, q: ListQuery): Promise<R[]>
  create(t: CrmTarget, record: R): Promise<R>
}

/** An object lead-intake also keeps up to date (the person's lead and contact). */
export interface EditableObject<R extends { id?: string }> extends CrmObject<R> {
  /** Undefined when the CRM no longer has it (404). */
  get(t: CrmTarget, id: string): Promise<R | undefined>
  patch(t: CrmTarget, id: string, patch: Partial<R>): Promise<R>
}

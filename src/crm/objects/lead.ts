/** Unified's CrmLead. */
import { crmCreateCrmLead } from '@unified-api/typescript-sdk/funcs/crmCreateCrmLead.js'
import { crmGetCrmLead } from '@unified-api/typescript-sdk/funcs/crmGetCrmLead.js'
import { crmListCrmLeads } from '@unified-api/typescript-sdk/funcs/crmListCrmLeads.js'
import { crmPatchCrmLead } from '@unified-api/typescript-sdk/funcs/crmPatchCrmLead.js'
import { type CrmLead, CrmLead$inboundSchema } from '@unified-api/typescript-sdk/sdk/models/shared/crmlead.js'
import { listReader, paced, reader, statusOf, unwrap } from '../sdk'
import type { EditableObject } from './types'

const one = reader(CrmLead$inboundSchema)
const many = listReader(one)

export const lead: EditableObject<CrmLead> = {
  name: 'lead',
  list: async (t, q) =>
    unwrap('list leads', await paced(t, () => crmListCrmLeads(t.core, { connectionId: t.connectionId, query: q.query, limit: q.limit, offset: q.offset, ...q.filters })), many),
  get: async (t, id) => {
    const res = await paced(t, () => crmGetCrmLead(t.core, { connectionId: t.connectionId, id }))
    return statusOf(res) === 404 ? undefined : unwrap('get lead', res, one)
  },
  create: async (t, record) => unwrap('create lead', await paced(t, () => crmCreateCrmLead(t.core, { connectionId: t.connectionId, crmLead: record })), one),
  patch: async (t, id, patch) => unwrap('update lead', await paced(t, () => crmPatchCrmLead(t.core, { connectionId: t.connectionId, id, crmLead: patch })), one),
}

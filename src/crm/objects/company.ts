/** Unified's CrmCompany. */
import { companyCreateCrmCompany } from '@unified-api/typescript-sdk/funcs/companyCreateCrmCompany.js'
import { companyListCrmCompanies } from '@unified-api/typescript-sdk/funcs/companyListCrmCompanies.js'
import { type CrmCompany, CrmCompany$inboundSchema } from '@unified-api/typescript-sdk/sdk/models/shared/crmcompany.js'
import { listReader, paced, reader, unwrap } from '../sdk'
import type { CrmObject } from './types'

const one = reader(CrmCompany$inboundSchema)
const many = listReader(one)

export const company: CrmObject<CrmCompany> = {
  name: 'company',
  list: async (t, q) =>
    unwrap('list companies', await paced(t, () => companyListCrmCompanies(t.core, { connectionId: t.connectionId, query: q.query, limit: q.limit, offset: q.offset })), many),
  create: async (t, record) => unwrap('create company', await paced(t, () => companyCreateCrmCompany(t.core, { connectionId: t.connectionId, crmCompany: record })), one),
}

/** Unified's CrmContact. */
import { contactCreateCrmContact } from '@unified-api/typescript-sdk/funcs/contactCreateCrmContact.js'
import { contactGetCrmContact } from '@unified-api/typescript-sdk/funcs/contactGetCrmContact.js'
import { contactListCrmContacts } from '@unified-api/typescript-sdk/funcs/contactListCrmContacts.js'
import { contactPatchCrmContact } from '@unified-api/typescript-sdk/funcs/contactPatchCrmContact.js'
import { type CrmContact, CrmContact$inboundSchema } from '@unified-api/typescript-sdk/sdk/models/shared/crmcontact.js'
import { listReader, paced, reader, statusOf, unwrap } from '../sdk'
import type { EditableObject } from './types'

const one = reader(CrmContact$inboundSchema)
const many = listReader(one)

export const contact: EditableObject<CrmContact> = {
  name: 'contact',
  list: async (t, q) =>
    unwrap(
      'list contacts',
      await paced(t, () => contactListCrmContacts(t.core, { connectionId: t.connectionId, query: q.query, limit: q.limit, offset: q.offset, companyId: q.filters?.companyId })),
      many,
    ),
  get: async (t, id) => {
    const res = await paced(t, () => contactGetCrmContact(t.core, { connectionId: t.connectionId, id }))
    return statusOf(res) === 404 ? undefined : unwrap('get contact', res, one)
  },
  create: async (t, record) => unwrap('create contact', await paced(t, () => contactCreateCrmContact(t.core, { connectionId: t.connectionId, crmContact: record })), one),
  patch: async (t, id, patch) => unwrap('update contact', await paced(t, () => contactPatchCrmContact(t.core, { connectionId: t.connectionId, id, crmContact: patch })), one),
}

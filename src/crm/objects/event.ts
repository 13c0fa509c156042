/** Unified's CrmEvent: each submission on the record's timeline. */
import { eventCreateCrmEvent } from '@unified-api/typescript-sdk/funcs/eventCreateCrmEvent.js'
import { eventListCrmEvents } from '@unified-api/typescript-sdk/funcs/eventListCrmEvents.js'
import { type CrmEvent, CrmEvent$inboundSchema } from '@unified-api/typescript-sdk/sdk/models/shared/crmevent.js'
import { listReader, paced, reader, unwrap } from '../sdk'
import type { CrmObject } from './types'

const one = reader(CrmEvent$inboundSchema)
const many = listReader(one)

export const event: CrmObject<CrmEvent> = {
  name: 'event',
  list: async (t, q) =>
    unwrap('list events', await paced(t, () => eventListCrmEvents(t.core, { connectionId: t.connectionId, query: q.query, limit: q.limit, offset: q.offset, ...q.filters })), many),
  create: async (t, record) => unwrap('create event', await paced(t, () => eventCreateCrmEvent(t.core, { connectionId: t.connectionId, crmEvent: record })), one),
}

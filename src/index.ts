/** The Worker: HTTP in (app.ts), queue out (delivery/consumer.ts), one writer per person (LeadWriter). */
import { app } from './app'
import { handleBatch } from './delivery/consumer'
import type { LeadMessage } from './delivery/message'

export { LeadWriter } from './delivery/lead-writer'

export default {
  fetch: app.fetch,
  queue: handleBatch,
} satisfies ExportedHandler<Env, LeadMessage>

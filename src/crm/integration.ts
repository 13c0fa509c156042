/**
 * Reads a connection's integration and what it supports, through the SDK:
 * `GET /unified/connection/{id}` names the integration (`integration_type`),
 * `GET /unified/integration?type=…` carries its `support` map. Two calls, made
 * once a day per connection (delivery/crm-gate.ts keeps the answer). Imported
 * statically: a dynamic import() would make the bundler keep the SDK's whole
 * model barrel (1 MB), where a static one keeps only what these two calls use.
 */
import { unifiedGetUnifiedConnection } from '@unified-api/typescript-sdk/funcs/unifiedGetUnifiedConnection.js'
import { unifiedListUnifiedIntegrations } from '@unified-api/typescript-sdk/funcs/unifiedListUnifiedIntegrations.js'
import type { CrmTarget } from './client'
import { classify } from './errors'
import { type Capabilities, capabilitiesOf } from './support'

/** The connection's capabilities; throws a CrmError saying which call failed. */
export async function readCapabilities(t: CrmTarget): Promise<Capabilities> {
  const connection = await unifiedGetUnifiedConnection(t.core, { id: t.connectionId })
  if (!connection.ok) throw classify('read connection', connection.error)
  const type = connection.value.integrationType
  const listed = await unifiedListUnifiedIntegrations(t.core, { type, categories: ['crm'] })
  if (!listed.ok) throw classify('read integration support', listed.error)
  const integration = listed.value.find((i) => i.type === type)
  return capabilitiesOf(type, integration?.support)
}

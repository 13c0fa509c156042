/**
 * Reads a connection's integration and what it supports, through the SDK:
 * `GET /unified/connection/{id}` names the integration (`integration_type`),
 * `GET /unified/integration?type=…` carries its `support` map. Two calls, made
 * once a day per connection (delivery/crm-gate.ts keeps the answer). The SDK's
 * integration model is large, so it is loaded when first needed, not at every
 * cold start.
 */
import type { CrmTarget } from './client'
import { classify } from './errors'
import { type Capabilities, capabilitiesOf } from './support'

/** The connection's capabilities; throws a CrmError saying which call failed. */
export async function readCapabilities(t: CrmTarget): Promise<Capabilities> {
  const [{ unifiedGetUnifiedConnection }, { unifiedListUnifiedIntegrations }] = await Promise.all([
    import('@unified-api/typescript-sdk/funcs/unifiedGetUnifiedConnection.js'),
    import('@unified-api/typescript-sdk/funcs/unifiedListUnifiedIntegrations.js'),
  ])
  const connection = await unifiedGetUnifiedConnection(t.core, { id: t.connectionId })
  if (!connection.ok) throw classify('read connection', connection.error)
  const type = connection.value.integrationType
  const listed = await unifiedListUnifiedIntegrations(t.core, { type, categories: ['crm'] })
  if (!listed.ok) throw classify('read integration support', listed.error)
  const integration = listed.value.find((i) => i.type === type)
  return capabilitiesOf(type, integration?.support)
}

/**
 * Reads a connection's integration and what it supports: `GET /unified/connection/{id}` names the
 * integration (`integration_type`), `GET /unified/integration?type=…` carries its `support` map. Two
 * calls, made once a day per connection (delivery/crm-gate.ts keeps the answer).
 *
 * Through the SDK's own request machinery (its core's request building, auth, timeout and error
 * matching: the same steps as its `unifiedGetUnifiedConnection` and `unifiedListUnifiedIntegrations`
 * functions), but with a response model of our own that keeps only what lead-intake reads. The SDK's
 * `Integration` and `Connection` models validate the support map and permissions of every API
 * category Unified has (ATS, HRIS, …): about 9 KiB gzip of the Worker's 128 KiB budget for data this
 * Worker never reads. The types are still the SDK's.
 */
import type { UnifiedToCore } from '@unified-api/typescript-sdk/core.js'
import { encodeFormQuery, encodeSimple } from '@unified-api/typescript-sdk/lib/encodings.js'
import { matchStatusCode } from '@unified-api/typescript-sdk/lib/http.js'
import * as M from '@unified-api/typescript-sdk/lib/matchers.js'
import { extractSecurity, resolveGlobalSecurity } from '@unified-api/typescript-sdk/lib/security.js'
import type { IntegrationSupport } from '@unified-api/typescript-sdk/sdk/models/shared/integrationsupport.js'
import { z } from 'zod/v3'
import type { CrmTarget } from './client'
import { classify } from './errors'
import { type Capabilities, capabilitiesOf, type SupportOf } from './support'

/** One GET the way the SDK's functions make it; the answer parsed by `schema`, or the SDK's own error. */
async function get<T>(core: UnifiedToCore, operationID: string, path: string, query: string | undefined, schema: z.ZodType<T, z.ZodTypeDef, unknown>) {
  const security = resolveGlobalSecurity(await extractSecurity(core._options.security))
  const context = {
    options: core._options,
    baseURL: core._baseURL ?? '',
    operationID,
    oAuth2Scopes: null,
    resolvedSecurity: security,
    securitySource: core._options.security,
    retryConfig: core._options.retryConfig || { strategy: 'none' as const },
    retryCodes: ['429', '500', '502', '503', '504'],
  }
  const request = core._createRequest(context, {
    security,
    method: 'GET',
    path,
    headers: new Headers({ Accept: 'application/json' }),
    ...(query ? { query } : {}),
    body: null,
    userAgent: core._options.userAgent,
    timeoutMs: core._options.timeoutMs || -1,
  })
  if (!request.ok) return request
  const done = await core._do(request.value, {
    context,
    isErrorStatusCode: (status: number) => matchStatusCode({ status } as Response, ['4XX', '5XX']),
    retryConfig: context.retryConfig,
    retryCodes: context.retryCodes,
  })
  if (!done.ok) return done
  const [result] = await M.match<T, Error>(M.json(200, schema), M.fail('4XX'), M.fail('5XX'))(done.value, request.value)
  return result
}

const level = z.string()
/** Of an integration's support per object, what support.ts reads (camelCase, as the SDK's model names it). */
const objectSupport = z
  .object({
    methods: z.record(z.boolean()).optional(),
    list_query: level.optional(),
    list_limit: level.optional(),
    list_offset: level.optional(),
    outbound_fields: z.record(level).optional(),
    inbound_fields: z.record(level).optional(),
  })
  .transform(
    (s): SupportOf => ({
      methods: s.methods,
      listQuery: s.list_query as IntegrationSupport['listQuery'],
      listLimit: s.list_limit as IntegrationSupport['listLimit'],
      listOffset: s.list_offset as IntegrationSupport['listOffset'],
      outboundFields: s.outbound_fields,
      inboundFields: s.inbound_fields,
    }),
  )
const connectionSchema = z.object({ integration_type: z.string() })
/** Only the CRM objects' entries of `support`: the other categories' are neither read nor validated. */
const integrationsSchema = z.array(
  z.object({
    type: z.string(),
    support: z.object({ crm_lead: objectSupport.optional(), crm_contact: objectSupport.optional(), crm_company: objectSupport.optional(), crm_event: objectSupport.optional() }).optional(),
  }),
)

/** The connection's capabilities; throws a CrmError saying which call failed. */
export async function readCapabilities(t: CrmTarget): Promise<Capabilities> {
  const path = `/unified/connection/${encodeSimple('id', t.connectionId, { explode: false, charEncoding: 'percent' })}`
  const connection = await get(t.core, 'getUnifiedConnection', path, undefined, connectionSchema)
  if (!connection.ok) throw classify('read connection', connection.error)
  const type = connection.value.integration_type
  const listed = await get(t.core, 'listUnifiedIntegrations', '/unified/integration', encodeFormQuery({ categories: ['crm'], type }), integrationsSchema)
  if (!listed.ok) throw classify('read integration support', listed.error)
  const integration = listed.value.find((i) => i.type === type)
  return capabilitiesOf(type, integration?.support as Record<string, SupportOf> | undefined)
}
